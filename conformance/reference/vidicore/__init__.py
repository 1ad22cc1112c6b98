"""The reference VidiCore notification server (NOTES §1): `VidiCoreApp`, mounted at /API.

Modules, each importing only those above it: `users` (users and roles), `documents` (the document model, parsing,
rendering), `store` (what the server holds), `jobs` (import jobs, their
scheduler, and which notifications an event fires), `app` (the WSGI app).
"""

from .app import VidiCoreApp

__all__ = ["VidiCoreApp"]
