"""The reference Spectra S3 server (NOTES §2): `SpectraApp`, mounted at the server root.

Modules, each importing only those listed before it: `users` (users and the request signature), `behaviour` (the
settings the faults change), `delivery` (naming conventions and the delivered payload), `store` (registrations,
buckets, jobs), `errors` (the error answers), `jobs` (the job engine: buckets, bulk-put jobs, their completion, the
deliveries it sends through `conformance.reference.dispatch` and their bookkeeping), `app` (the WSGI app: routing,
authentication, registrations and every answer's HTTP shape).
"""

from .app import SpectraApp

__all__ = ["SpectraApp"]
