"""The reference Spectra S3 server (NOTES §2): `SpectraApp`, mounted at the server root.

Modules, each importing only those listed before it: `users` (users and the request signature), `behaviour` (the
settings the faults change), `delivery` (naming conventions and the delivered payload), `store` (registrations,
buckets, jobs), `app` (the WSGI app, which sends deliveries through `conformance.reference.dispatch`).
"""

from .app import SpectraApp

__all__ = ["SpectraApp"]
