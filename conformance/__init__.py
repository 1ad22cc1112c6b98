"""Protocol conformance test suite for notification APIs (VidiCore notifications, Spectra S3 registrations).

Rooms: `cli` and `plugin` (options, target file, run lifecycle), `http` (the one HTTP seam), `check` and
`results` (per-requirement checks and the stream every report is built from), `catalogue` (requirements as
data), one sub-package per protocol (client, documents, triggers, cases), and `reference` (the embedded
reference server, started by the suite but never imported by its cases). See ARCHITECTURE.md.
"""

__version__ = "0.1.0"
