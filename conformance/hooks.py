"""The hooks the conformance plugin calls, for report consumers (and any other plugin) to implement.

    pytest_conformance_started(record, item)  a case begins, in the process that runs it: its new CaseRecord (a
                                              progress line subscribes to its event stream)
    pytest_conformance_record(record, item)   a case ended, in the process that ran it: its complete CaseRecord
    pytest_conformance_assessed(assessment, config)
                                              the run is assessed, once, in the controller (before the terminal
                                              summary): the Assessment every report is built from
    pytest_conformance_meta(config)           the controller's run metadata is made: each feature returns its part
                                              (a dict), merged into results.json's "meta"
"""

from __future__ import annotations

import pytest


@pytest.hookspec
def pytest_conformance_started(record, item) -> None:
    """A conformance case begins (called in the process that runs it, before its setup)."""


@pytest.hookspec
def pytest_conformance_record(record, item) -> None:
    """A conformance case ended (called in the process that ran it, before its teardown report is made)."""


@pytest.hookspec
def pytest_conformance_assessed(assessment, config) -> None:
    """The run's assessment is complete (called once, in the controller process)."""


@pytest.hookspec
def pytest_conformance_meta(config) -> dict:  # type: ignore[empty-body]
    """The part of the run's metadata a feature knows (called once, in the controller, when the run is assessed)."""
