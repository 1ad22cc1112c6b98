"""The reference VidiCore notification server (NOTES §1): `VidiCoreApp`, mounted at /API.

Modules, each importing only those listed before it: `users` (users and roles), `documents` (the document model,
parsing, rendering), `behaviour` (the settings the faults change), `store` (what the server holds), `jobs` (import
jobs, their scheduler, which notifications an event fires and the request each delivery makes), `app` (the WSGI app).
"""

from .app import VidiCoreApp

__all__ = ["VidiCoreApp"]
