"""A pytest config as the feature plugins read it (options and stash), for testing their decisions as units."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.names import Names
from conformance.run import RUN_KEY, ProcessRun
from conformance.target import Target


class Config:
    """`getoption`, `stash`, `option` and nothing else; `workerinput` when it plays a pytest-xdist worker."""

    def __init__(self, target: Target | None = None, faults: tuple[str, ...] = (), **options: Any) -> None:
        self.options = options
        self.stash = pytest.Stash()
        self.option = type("Option", (), dict(options))()
        self.stash[RUN_KEY] = ProcessRun(self, target, faults, Names("t0k3n"))  # type: ignore[arg-type]

    def getoption(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)
