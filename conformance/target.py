"""The target: which servers the suite tests and how to reach them.

A target file is TOML: one table per protocol (its reader lives with the protocol: `conformance/<protocol>/
settings.py`, named by the protocol's descriptor) and the run's own `[delivery]` table (below). Every key is
checked: an unknown key or table anywhere is an error, so nothing a user configured is silently ignored.
Secrets never live in the file: each user names the environment variable that holds its password or key.

    [delivery]                   # optional: the callback receiver
    listen_host = "127.0.0.1"    # where the receiver listens
    listen_port = 0              # 0 = any free port
    public_url = "http://ci-runner:8765"   # how the servers reach it (default: http://listen_host:port)
    deadline = 10                # seconds to wait for an expected delivery
    quiet_window = 2             # seconds of silence that show nothing is delivered
    multiplier = 1               # scales both, for slow staging servers

    [generation]                 # optional: the generated (Hypothesis) cases
    profile = "ci"               # dev | ci | certify (conformance.generation.GENERATION_PROFILES)
    seed = 1234                  # a fixed seed (default: none; ci is derandomised, dev and certify random)

    [run]                        # optional: the run itself
    interrupt_grace = 7          # seconds from a first SIGINT or SIGTERM to the end of the run: cleanup, then
                                 # the reports (conformance.interruption); more for a slow server whose CI waits

    waivers = "waivers.toml"     # optional, at the top (before any table): the run's waivers file
                                 # (conformance.waivers), relative to the target file

Without a file, `target_for_url(protocol, url)` builds a target for one protocol whose users come from the
environment (`CONFORMANCE_<PROTOCOL>_...` variables, see each protocol's settings module).

Every problem is a `TargetError` whose text is one line: "<source>: [table] key: what is wrong".
Passwords appear in no message and no repr; `Target.secrets()` lists them so the HTTP layer can redact them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance import protocols, tables
from conformance.generation import DEFAULT_GENERATION_PROFILE, GENERATION_PROFILES
from conformance.interruption import DEFAULT_GRACE, RESERVE
from conformance.tables import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT, Invalid, where

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TIMEOUT",
    "DeliverySettings",
    "RunSettings",
    "Target",
    "TargetError",
    "load_target",
    "target_for_url",
    "target_from_mapping",
]

_DELIVERY_KEYS = ("listen_host", "listen_port", "public_url", "deadline", "quiet_window", "multiplier")
_GENERATION_KEYS = ("profile", "seed")
_RUN_KEYS = ("interrupt_grace",)


class TargetError(ValueError):
    """A target that cannot be used; str() is one line starting with the source (file path)."""


@dataclass(frozen=True)
class DeliverySettings:
    """The callback receiver: where it listens, how targets reach it, how long to wait for deliveries."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    public_url: str | None = None
    deadline: float = 10.0       # seconds to wait for an expected delivery
    quiet_window: float = 2.0    # seconds of silence that show nothing is delivered
    multiplier: float = 1.0      # scales both, for slow staging servers


@dataclass(frozen=True)
class GenerationSettings:
    """The generated cases: the profile (how many examples, derandomised or seeded) and the seed."""

    profile: str = DEFAULT_GENERATION_PROFILE
    seed: int | None = None


@dataclass(frozen=True)
class RunSettings:
    """The run itself: how long it has, after a first SIGINT or SIGTERM, to clean up and write its reports."""

    interrupt_grace: float = DEFAULT_GRACE


class Target:
    """Everything the suite tests: per protocol its settings (or None), the delivery settings, and `source` (the
    target file's path, or "--base-url"). `target.vidicore` is the VidiCore settings, and so on for every
    protocol of `conformance.protocols`. Immutable."""

    __slots__ = ("_sections", "delivery", "generation", "run", "source", "waivers")

    def __init__(self, source: str, delivery: DeliverySettings | None = None,
                 generation: GenerationSettings | None = None, waivers: str | None = None,
                 run: RunSettings | None = None, **sections: Any) -> None:
        unknown = sorted(set(sections) - set(protocols.NAMES))
        if unknown:
            raise TypeError(f"Target() got unknown protocol(s) {unknown}; known: {', '.join(protocols.NAMES)}")
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "delivery", delivery)
        object.__setattr__(self, "generation", generation)
        object.__setattr__(self, "waivers", waivers)  # the waivers file's path (absolute), or None
        object.__setattr__(self, "run", run if run is not None else RunSettings())
        object.__setattr__(self, "_sections", {name: sections[name] for name in protocols.NAMES
                                               if sections.get(name) is not None})

    def __getattr__(self, name: str) -> Any:
        if name in protocols.BY_NAME:
            return self._sections.get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Target is immutable")

    def __repr__(self) -> str:
        named = ", ".join(f"{name}={settings!r}" for name, settings in self._sections.items())
        return f"Target(source={self.source!r}, {named}, delivery={self.delivery!r})"

    def settings(self, protocol: str) -> Any | None:
        """The settings of `protocol`, or None when the target does not name it."""
        return self._sections.get(protocol)

    @property
    def protocols(self) -> tuple[str, ...]:
        """The protocols the target names, in the order of `conformance.protocols`."""
        return tuple(self._sections)

    def with_settings(self, protocol: str, settings: Any) -> Target:
        """A copy that also names `protocol` (for a `--<protocol>-url` given next to a file)."""
        return Target(self.source, self.delivery, self.generation, self.waivers, self.run,
                      **{**self._sections, protocol: settings})

    def secrets(self) -> frozenset[str]:
        """Every password and secret key, for the HTTP layer to redact everywhere."""
        return frozenset().union(*(settings.secrets() for settings in self._sections.values()))


# --- public entry points -------------------------------------------------------------------------------------


def load_target(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Target:
    """Read a target file; relative paths in it (ca_bundle) are relative to the file's folder."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise _error(source, "file not found") from None
    except IsADirectoryError:
        raise _error(source, "is a directory, expected a TOML file") from None
    except PermissionError:
        raise _error(source, "cannot be read: permission denied") from None
    except UnicodeDecodeError:
        raise _error(source, "not valid TOML: the file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as problem:
        raise _error(source, f"not valid TOML: {problem}") from None
    except OSError as problem:
        raise _error(source, f"cannot be read: {problem.strerror or problem}") from None
    return _build(data, source, env, os.path.dirname(os.path.abspath(source)))


def target_from_mapping(data: Mapping[str, Any], source: str, env: Mapping[str, str] | None = None) -> Target:
    """Check an already parsed target; relative paths in it are relative to the current folder."""
    return _build(data, source, env, os.getcwd())


def target_for_url(protocol: str, base_url: str, env: Mapping[str, str] | None = None) -> Target:
    """A target for one protocol at `base_url` (`--<protocol>-url`), its users from the environment."""
    source = "--base-url"
    module = protocols.get(protocol).settings_module()
    try:
        settings = module.from_environment(base_url, os.environ if env is None else env)
    except Invalid as problem:
        raise _error(source, str(problem)) from None
    return Target(source, **{protocol: settings})


# --- reading -------------------------------------------------------------------------------------------------


def _error(source: str, message: str) -> TargetError:
    return TargetError(" ".join(f"{source}: {message}".splitlines()))


def _build(data: Any, source: str, env: Mapping[str, str] | None, base_dir: str) -> Target:
    context = tables.Context(env=os.environ if env is None else env, base_dir=base_dir)
    readers = {protocol.name: protocol.settings_module().read_table for protocol in protocols.PROTOCOLS}
    readers["delivery"] = _read_delivery
    readers["generation"] = _read_generation
    readers["waivers"] = _read_waivers
    readers["run"] = _read_run
    try:
        if not isinstance(data, Mapping):
            raise Invalid("", f"expected a table at the top level, got {tables.shown(data)}")
        for name, value in data.items():
            if name not in readers:
                raise tables.unknown((), name, value, tuple(readers))
        sections = {name: read(data[name], context) for name, read in readers.items() if name in data}
        if not any(name in sections for name in protocols.NAMES):
            raise Invalid("", "nothing to test; expected one of these tables: "
                              + ", ".join(f"[{name}]" for name in readers if name != "waivers"))
    except Invalid as problem:
        raise _error(source, str(problem)) from None
    return Target(source, **sections)


def _read_delivery(value: Any, context: tables.Context) -> DeliverySettings:
    path = ("delivery",)
    values = tables.table(value, path, _DELIVERY_KEYS)
    defaults = DeliverySettings()
    port = values.get("listen_port", 0)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise Invalid(where(path, "listen_port"), f"expected a port number 0-65535 (0 = any free port), "
                                                  f"got {tables.shown(port)}")
    public = values.get("public_url")
    if public is not None:
        public = tables.base_url(public, where(path, "public_url"), "http://vs.example.com:8080/API")
    return DeliverySettings(
        listen_host=tables.text(values, path, "listen_host", defaults.listen_host),
        listen_port=port,
        public_url=public,
        deadline=tables.seconds(values, path, "deadline", defaults.deadline),
        quiet_window=tables.seconds(values, path, "quiet_window", defaults.quiet_window),
        multiplier=tables.seconds(values, path, "multiplier", defaults.multiplier),
    )


def _read_generation(value: Any, context: tables.Context) -> GenerationSettings:
    path = ("generation",)
    values = tables.table(value, path, _GENERATION_KEYS)
    profile = values.get("profile", GenerationSettings.profile)
    if profile not in GENERATION_PROFILES:
        raise Invalid(where(path, "profile"), f"expected one of {', '.join(GENERATION_PROFILES)}, "
                                              f"got {tables.shown(profile)}")
    seed = values.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32):
        raise Invalid(where(path, "seed"), f"expected an integer 0 to 4294967295, got {tables.shown(seed)}")
    return GenerationSettings(profile=profile, seed=seed)


def _read_run(value: Any, context: tables.Context) -> RunSettings:
    path = ("run",)
    values = tables.table(value, path, _RUN_KEYS)
    grace = tables.seconds(values, path, "interrupt_grace", DEFAULT_GRACE)
    if grace <= RESERVE:
        raise Invalid(where(path, "interrupt_grace"), f"expected more than {RESERVE:g} seconds (kept for the reports "
                                                      f"after the cleanup), got {tables.shown(grace)}")
    return RunSettings(interrupt_grace=grace)


def _read_waivers(value: Any, context: tables.Context) -> str:
    """`waivers = "FILE"`: the path of the run's waivers file, relative to the target file; it must exist (its
    entries are read and checked by `conformance.waivers` when the run starts)."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("waivers", f"expected the path of a waivers file (TOML), got {tables.shown(value)}")
    full = os.path.abspath(os.path.join(context.base_dir, os.path.expanduser(value)))
    if not os.path.isfile(full):
        raise Invalid("waivers", f"file not found: {tables.shown(full)}")
    return full
