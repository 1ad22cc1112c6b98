"""Named behaviours of the reference server: conforming ways a real server differs from the reference's defaults,
in what it lets a client set up (how it resolves users, what a bucket needs). Switched on like faults
(`conformance run --behaviour NAME`, plugin `--reference-behaviour NAME`, `conformance serve --behaviour NAME`), but
no requirement breaks: the suite must adapt its set-up and stay CONFORMANT against each (the project's tests run it
so).

A behaviour is data, as a fault is: the settings of the protocol's behaviour dataclass it changes
(`conformance.reference.faults.behaviour` applies faults and behaviours together; `check_settings` checks both).
`target` holds what the reference adds to the target file it describes while the behaviour is on (a key a vendor
of such a server would have to set). This module imports nothing from the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DATA_POLICY_ID = "b6a2e7f4-3c1d-4e5f-8a9b-0c1d2e3f4a5b"  # the one data policy of the reference Spectra server


@dataclass(frozen=True)
class Behaviour:
    name: str
    protocol: str
    description: str
    settings: tuple[tuple[str, Any], ...] = ()  # (behaviour setting, its value while the behaviour is on)
    target: tuple[tuple[str, Any], ...] = ()    # keys the reference's own target section then carries

    @property
    def changes(self) -> Mapping[str, Any]:
        return dict(self.settings)


_ALL = (
    Behaviour("blackpearl-users", "spectra",
              "users are resolved as BlackPearl does (NOTES §2.1): GET /_rest_/user/{name or Id}; an access id "
              "answers 404; the list GET /_rest_/user shows each user's Id, Name and AuthId (and SecretKey)",
              settings=(("user_lookup_by_access_id", False),)),
    Behaviour("no-default-data-policy", "spectra",
              "users have no default data policy: a bucket created without data_policy_id is refused 400 "
              f"(the server's one data policy is {DATA_POLICY_ID})",
              settings=(("default_data_policy", False),), target=(("data_policy_id", DATA_POLICY_ID),)),
    Behaviour("cache-busy", "spectra",
              "an object's first PUT answers 503 Service Unavailable with Retry-After: 1, as BlackPearl does while it "
              "allocates cache for a job's chunk; the PUT after it is taken",
              settings=(("cache_busy_seconds", 1),)),
)

BEHAVIOURS: dict[str, Behaviour] = {item.name: item for item in _ALL}


def resolve(names: Iterable[str] | str) -> frozenset[str]:
    """The set of behaviour names, checked; a string may hold several separated by commas.

    Raises ValueError("unknown behaviour 'x'; known: a, b") for a name no behaviour has.
    """
    return checked(names, BEHAVIOURS, "behaviour")


def checked(names: Iterable[str] | str, known: Mapping[str, Any], noun: str) -> frozenset[str]:
    """`names` (or one string of names separated by commas) as a set, each one a key of `known`; ValueError
    naming the unknown one and every known one otherwise. (Faults are resolved the same way.)"""
    if isinstance(names, str):
        names = names.split(",")
    wanted = frozenset(name.strip() for name in names if name.strip())
    for name in sorted(wanted):
        if name not in known:
            raise ValueError(f"unknown {noun} {name!r}; known: {', '.join(sorted(known))}")
    return wanted


def for_protocol(protocol: str) -> list[Behaviour]:
    return [item for item in BEHAVIOURS.values() if item.protocol == protocol]
