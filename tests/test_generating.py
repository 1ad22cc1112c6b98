"""Tests for conformance.generating: which generation profile and seed a run's generated cases get."""

from __future__ import annotations

import pytest

from conformance import generating
from conformance.target import GenerationSettings, Target
from fakes import Config


def target(profile: str = "ci", seed: int | None = None) -> Target:
    return Target("t.toml", generation=GenerationSettings(profile, seed), vidicore=object())


@pytest.mark.parametrize("options, chosen, expected", [
    ({}, None, ("ci", None, True)),                                        # the default: ci, derandomised
    ({"conformance_profile": "dev"}, None, ("dev", None, False)),           # the run profile names one
    ({"conformance_profile": "smoke"}, target("certify"), ("certify", None, False)),  # smoke names none
    ({}, target("dev", 7), ("dev", 7, False)),                              # the target file's [generation]
    ({"conformance_profile": "certify"}, target("dev", 7), ("certify", 7, False)),  # the command line first
    ({"conformance_seed": 3}, target("dev", 7), ("dev", 3, False)),
    ({"conformance_seed": 5}, None, ("ci", 5, False)),                      # a seed replaces ci's derandomising
])
def test_the_command_line_then_the_target_file_then_ci(options, chosen, expected):
    profile, seed = generating.settings_of(Config(chosen, **options))  # type: ignore[arg-type]
    assert (profile.name, seed, profile.derandomize) == expected


def test_the_run_metadata_and_the_replay_say_the_same():
    config = Config(target("dev", 7))
    assert generating.pytest_conformance_meta(config) == {"generation": {"profile": "dev", "seed": 7}}  # type: ignore[arg-type]
    assert generating.replay(config) == ("dev", 7)  # type: ignore[arg-type]
