"""Protocol conformance test suite for notification APIs (VidiCore notifications, Spectra S3 registrations).

Rooms: the protocol list (`descriptor`, `protocols`), the CLI and plugin (`cli`, `plugin`, `run`, `target`,
`tables`, `names`, `exclusive`, `hooks`: options, target file, run lifecycle), judging (`check`, `record`,
`results`, `judging`, `catalogue`), the one HTTP seam (`http`), documents and validation (`validation`), the
callback receiver (`receiver`), the reports (`reports`: consumers of the run's records), one sub-package per
protocol of the same shape (settings, client, documents, triggers, cases), and `reference` (the embedded
reference server, started by the suite but never imported by its cases). See ARCHITECTURE.md.
"""

__version__ = "0.1.0"
