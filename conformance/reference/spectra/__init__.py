"""The reference Spectra S3 server (NOTES §2): `SpectraApp`, mounted at the server root.

Modules, each importing only those above it: `users` (users and the request signature), `delivery` (naming
conventions, the delivered payload and its dispatcher), `store` (registrations, buckets, jobs), `app` (the WSGI app).
"""

from .app import SpectraApp

__all__ = ["SpectraApp"]
