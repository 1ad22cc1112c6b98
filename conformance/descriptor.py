"""What the suite needs to know about one protocol, in one object: `Protocol`.

Each protocol package (`conformance/<name>/__init__.py`) defines one `Protocol` named `PROTOCOL`;
`conformance.protocols.PROTOCOLS` lists them, and that list is the only list of protocols: the CLI, the plugin,
the target loader, the catalogue and the reference server all read it.

A descriptor is data: names and dotted paths (``"package.module:attribute"``), resolved when used. So importing
it imports none of the protocol's code, and the reference server can read the list without importing the suite.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


def resolve(dotted: str) -> Any:
    """The object a dotted path names: ``"conformance.vidicore.settings:read_table"``."""
    module, _, attribute = dotted.partition(":")
    found: Any = importlib.import_module(module)
    for part in attribute.split(".") if attribute else ():
        found = getattr(found, part)
    return found


@dataclass(frozen=True)
class Protocol:
    """One protocol the suite certifies.

    name: the target file's table (`[vidicore]`), the catalogue file (`catalogue/<name>.toml`, which also holds
        its title), the CLI's word.
    package: the protocol's package; its cases are the test modules below it (`pytest --pyargs <package>`).
    settings: the module with `read_table(value, context)` (the protocol's table of a target file) and
        `from_environment(base_url, env)` (its settings for `--<name>-url`, users from the environment).
    reference_app: the reference server's app for this protocol (called with `faults=`).
    sweeper: the module whose `Sweeper(http, settings)` finds what earlier runs left on a server (`marked()`) and
        removes it (`remove(entry, removed)`), and whose `ORDER` says in which order kinds go (`conformance cleanup`).
    readiness: the module with `check(probe) -> rows` (`conformance check`'s table for this protocol) and
        `authenticate(http, settings, source)` (what a run checks of each user before any case).
    sample: the resource sample of `--conformance-sample` (the detection matrix): a case whose parameter
        `sample_parameter` has a value whose `str()` is not in `sample` is deselected; empty: nothing is.
    environment: how `--<name>-url` finds its users, for help texts.
    url_example: a base URL as a user would write it, for help and error texts.
    """

    name: str
    package: str
    settings: str
    reference_app: str
    environment: str
    url_example: str
    sweeper: str = ""
    readiness: str = ""
    sample: frozenset[str] = frozenset()
    sample_parameter: str = "form"

    @property
    def url_option(self) -> str:
        return f"--{self.name}-url"

    def settings_module(self) -> Any:
        return resolve(self.settings)

    def app_factory(self) -> Any:
        return resolve(self.reference_app)

    def sweeper_module(self) -> Any:
        return resolve(self.sweeper)

    def readiness_module(self) -> Any:
        return resolve(self.readiness or f"{self.package}.readiness")
