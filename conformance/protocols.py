"""The protocols the suite certifies: the one list (each protocol package's `PROTOCOL` descriptor).

A new protocol is one descriptor in its package plus the package itself (settings, client, documents,
triggers, cases), its catalogue file and its reference app; adding it here is the only other step.
"""

from __future__ import annotations

from conformance.descriptor import Protocol
from conformance.spectra import PROTOCOL as SPECTRA
from conformance.vidicore import PROTOCOL as VIDICORE

PROTOCOLS: tuple[Protocol, ...] = (VIDICORE, SPECTRA)
BY_NAME: dict[str, Protocol] = {protocol.name: protocol for protocol in PROTOCOLS}
NAMES: tuple[str, ...] = tuple(BY_NAME)


def get(name: str) -> Protocol:
    """The descriptor of `name`; ValueError naming the known ones otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(NAMES)}") from None
