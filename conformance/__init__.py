"""Protocol conformance test suite for notification APIs (VidiCore notifications, Spectra S3 registrations).

Rooms: the protocol list (`descriptor`, `protocols`), the run lifecycle (`cli`, `options`, `plugin` — the spine —,
`collection`, `run`, `target`, `tables`, `names`, `hooks`, and the feature plugins `plugin.FEATURES` names),
judging (`status`, `events`, `check`, `record`, `results`, `judging`, `waivers`, `catalogue`), the one HTTP seam
(`http`, `cleanup`), documents and validation (`validation`), the callback receiver (`receiver`), the reports
(`reports`, `terminal`, `resultsfile`, `junit`, `html`, `allure_report`, `diff`), one sub-package per protocol of
the same shape (settings, client, documents, triggers, cases), and `reference` (the embedded reference server,
started by the suite but never imported by its cases). See ARCHITECTURE.md.
"""

__version__ = "0.1.0"
