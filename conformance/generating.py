"""Generated cases in a run (a feature plugin): the generation profile and seed, and the fixtures a generated case asks.

The generation profile (`conformance.generation.GENERATION_PROFILES`: how hard the generated cases search) is the
command line's run profile's (`--profile`, `conformance.selection.RUN_PROFILES`), else the target file's
`[generation] profile`, else ci; the seed is `--seed`, else `[generation] seed`, else none (ci is derandomised,
dev and certify draw at random and keep failures in the example database).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from conformance import generation, selection
from conformance.check import Check
from conformance.generation import DEFAULT_GENERATION_PROFILE, GENERATION_PROFILES, GenerationProfile
from conformance.options import Option, add_to
from conformance.run import RECORD_KEY, process_run

SEED = Option("conformance_seed", "seed of the generated cases (with ci it replaces derandomisation)",
              pytest="--conformance-seed", cli=("--seed",), metavar="N", type=int,
              default_text="[generation] seed, else none: ci is derandomised, dev and certify draw at random and "
                           "keep failures in reports/hypothesis, tried first next time")
OPTIONS = (SEED,)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_to(parser, OPTIONS)


def settings_of(config: pytest.Config) -> tuple[GenerationProfile, int | None]:
    """The run's generation profile and seed."""
    chosen = process_run(config).target
    table = chosen.generation if chosen is not None else None
    run_profile = selection.run_profile(config)
    name = (run_profile.generation if run_profile else None) or (table.profile if table else None) \
        or DEFAULT_GENERATION_PROFILE
    seed = config.getoption(SEED.dest, None)
    if seed is None and table is not None:
        seed = table.seed
    profile = GENERATION_PROFILES[name]
    if seed is not None and profile.derandomize:  # a seed given with ci replaces its derandomisation
        profile = dataclasses.replace(profile, derandomize=False)
    return profile, seed


def pytest_conformance_meta(config: pytest.Config) -> dict[str, Any]:
    profile, seed = settings_of(config)
    return {"generation": {"profile": profile.name, "seed": seed}}


def replay(config: pytest.Config) -> tuple[str, int | None]:
    """The profile name and seed that replay a generated case (for its rerun command)."""
    profile, seed = settings_of(config)
    return profile.name, seed


@pytest.fixture
def generation_settings(request: pytest.FixtureRequest) -> tuple[GenerationProfile, int | None]:
    """The run's generation profile and seed (`settings_of`)."""
    return settings_of(request.config)


@pytest.fixture
def generation_for(request: pytest.FixtureRequest, check: Check,
                   generation_settings: tuple[GenerationProfile, int | None]) -> Callable[[str], generation.Generation]:
    """`generation_for(protocol)`: the case's `Generation` (its property runs one example at a time)."""
    profile, seed = generation_settings
    record = request.node.stash[RECORD_KEY]

    def make(protocol: str) -> generation.Generation:
        return generation.Generation(profile, seed, check, record.rerun,
                                     database_dir=str(request.config.rootpath / generation.DATABASE_DIR))
    return make
