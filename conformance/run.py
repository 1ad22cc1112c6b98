"""The run as one test process sees it: its target, names, endpoints, receiver and embedded reference server.

A serial run has one `ProcessRun`; under pytest-xdist every worker has its own (the controller's runs no case).
Each resolves a protocol's endpoint the first time a case needs it: the target's server, or the embedded reference
server, started on a free loopback port (the suite touches the reference package only to start it, and asks it
when it is idle so that "nothing more arrives" waits end early). The process's figures go to the controller as a
`ProcessSummary`.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import protocols
from conformance.http import HttpClient, Redactor, TransportError, recording
from conformance.names import Names
from conformance.record import CaseRecord, ProcessSummary
from conformance.status import ExitCode
from conformance.tables import DEFAULT_CASE_TIMEOUT
from conformance.target import DeliverySettings, Target, target_from_mapping

RUN_KEY = pytest.StashKey["ProcessRun"]()   # the process's run, in config.stash
RECORD_KEY = pytest.StashKey[CaseRecord]()  # a case item's record, while it runs
EMBEDDED = "embedded reference server"
SILENT = ("not run: {protocol}'s server delivered nothing in {after} full waits for a delivery in this process "
          "(nor late); each case that needs its deliveries would only wait in vain (if it is slow rather than "
          "silent, rerun with a larger [delivery] deadline)")
# The embedded server delivers at once and says when it is idle: quiet windows end then, so they can be long.
EMBEDDED_DELIVERY = DeliverySettings(deadline=5.0, quiet_window=2.0)


@dataclass
class Endpoint:
    """A protocol's resolved target: its settings, its HTTP client, and where it came from."""

    settings: Any
    client: HttpClient
    origin: str  # EMBEDDED, or the target file / option it came from

    @property
    def embedded(self) -> bool:
        return self.origin == EMBEDDED


class Silence:
    """What one process learns of each protocol's deliveries, so a server that never delivers costs a few full
    waits, not every one: once `after` waits for a delivery of a protocol ran their whole deadline and got
    nothing, and no delivery of that protocol has arrived at all, later waits of that protocol are cut to
    `short` seconds (the cases record it). One delivery of the protocol, at any time, ends the cutting; the
    assessment then turns the cut cases' failures into BLOCKED (the server was slow, not silent), so a slow but
    working server is never failed by a cut wait. `after=0`: never cut (the embedded server, which delivers at
    once)."""

    def __init__(self, after: int = 2, short: float = 1.0) -> None:
        self.after, self.short = after, short
        self.seen: set[str] = set()
        self.empty: dict[str, int] = {}
        self.paths: dict[str, list[str]] = {}  # protocol -> the mailbox paths its full waits got nothing on
        self._lock = threading.Lock()

    def silent(self, protocol: str, late: Iterable[str] = ()) -> bool:
        """Whether `protocol`'s server counts as silent in this process: `after` full waits for its deliveries got
        nothing, and nothing of it arrived at any time, not even late (`late`: the paths of requests that reached
        mailboxes after their case ended). Then a case that needs its deliveries is not run (`SILENT`): each would
        only wait in vain."""
        with self._lock:
            if self.after <= 0 or protocol in self.seen or self.empty.get(protocol, 0) < self.after:
                return False
            paths = list(self.paths.get(protocol, ()))
        return not any(stray == path or stray.startswith((f"{path}?", f"{path}/")) for stray in late for path in paths)

    def deadline(self, protocol: str, within: float) -> tuple[float, bool]:
        """The wait to use for a wait of `within` seconds, and whether it was cut."""
        with self._lock:
            silent = self.after > 0 and protocol not in self.seen and self.empty.get(protocol, 0) >= self.after
        return (min(within, self.short), within > self.short) if silent else (within, False)

    def waited(self, protocol: str, got_any: bool, cut: bool, path: str = "") -> None:
        with self._lock:
            if got_any:
                self.seen.add(protocol)
            elif not cut:
                self.empty[protocol] = self.empty.get(protocol, 0) + 1
                if path:
                    self.paths.setdefault(protocol, []).append(path)


@dataclass
class ProcessRun:
    config: pytest.Config
    target: Target | None
    faults: tuple[str, ...]
    names: Names
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    untargeted: set[str] = field(default_factory=set)  # protocols whose cases were dropped: not in the target
    reference: Any = None
    silence: Silence = field(default_factory=Silence)  # what this process learned of each server's deliveries
    behaviours: tuple[str, ...] = ()  # the embedded reference server's conforming behaviours (--reference-behaviour)
    problem: str | None = None  # a configuration error found at collection (an unknown waiver id): no case runs
    target_sha256: str | None = None  # the target file's, as the controller read it
    _receiver: Any = None

    def named(self, protocol: str) -> bool:
        """Whether the target names `protocol` (else its cases run against the embedded server)."""
        return self.target is not None and self.target.settings(protocol) is not None

    def delivery_settings(self) -> DeliverySettings:
        if self.target is not None and self.target.delivery is not None:
            return self.target.delivery
        return EMBEDDED_DELIVERY if self.target is None else DeliverySettings()

    def case_timeout(self, protocol: str) -> float:
        """Seconds one case of `protocol` may take (its table's `case_timeout`; the default for the embedded
        server)."""
        settings = self.target.settings(protocol) if self.target is not None else None
        return settings.case_timeout if settings is not None else DEFAULT_CASE_TIMEOUT

    def receiver(self):
        """The process's callback receiver, started on first use."""
        if self._receiver is None:
            from conformance.receiver import Receiver

            settings = self.delivery_settings()
            # the secrets of the target (or of the embedded server): inbound evidence is redacted like outbound
            secrets = self.target.secrets() if self.target is not None else frozenset()
            settled = None
            if self.target is None:
                secrets |= frozenset(self._reference().env.values())
                settled = getattr(self._reference(), "wait_idle", None)
            try:
                receiver = Receiver(host=settings.listen_host, port=settings.listen_port,
                                    public_url=settings.public_url, multiplier=settings.multiplier,
                                    redact=Redactor(secrets).text, token=self.names.token, settled=settled)
                receiver.start()
            except OSError as exc:
                pytest.exit(f"the callback receiver cannot listen on {settings.listen_host}:{settings.listen_port}: "
                            f"{exc}", returncode=ExitCode.ERROR)
            self._receiver = receiver
            self.config.add_cleanup(receiver.stop)
        return self._receiver

    def endpoint(self, protocol: str) -> Endpoint:
        if protocol not in self.endpoints:
            self.endpoints[protocol] = self._resolve(protocol)
        return self.endpoints[protocol]

    def _resolve(self, protocol: str) -> Endpoint:
        if self.target is not None and self.named(protocol):
            target, origin = self.target, self.target.source
        else:
            target, origin = self._embedded_target(), EMBEDDED
        settings = target.settings(protocol)
        assert settings is not None  # named, or the embedded server's (every protocol)
        try:
            client = HttpClient(settings.base_url, timeout=settings.timeout, verify=settings.verify,
                                max_body_bytes=settings.max_body_bytes, secrets=target.secrets())
        except (ssl.SSLError, OSError, ValueError) as exc:  # e.g. a ca_bundle that is no PEM file
            pytest.exit(f"{target.source}: [{protocol}] cannot be reached as configured: "
                        f"{' '.join(str(exc).split())}", returncode=ExitCode.ERROR)
        self.config.add_cleanup(client.close)
        _probe(client, settings.base_url)
        return Endpoint(settings, client, origin)

    def _reference(self) -> Any:
        if self.reference is None:
            from conformance import reference  # the suite touches the reference server only to start it

            self.reference = reference.start(protocols=protocols.NAMES, faults=self.faults,
                                             behaviours=self.behaviours)
            self.config.add_cleanup(self.reference.stop)
        return self.reference

    def _embedded_target(self) -> Target:
        server = self._reference()
        return target_from_mapping(server.target_data(), EMBEDDED, env=server.env)

    def summary(self) -> ProcessSummary:
        """This process's figures, for the controller."""
        summary = ProcessSummary(untargeted=sorted(self.untargeted))
        receiver = self._receiver
        if receiver is not None:
            summary.receiver_url = receiver.public_base
            summary.inbound = receiver.total
            strays = receiver.strays
            summary.strays = [str(stray) for stray in strays[:20]]
            summary.late_paths = [stray.path for stray in strays if stray.late]
            summary.latencies = receiver.latencies
        summary.endpoints = {name: {"base_url": e.settings.base_url, "origin": e.origin, "sent": e.client.sent}
                             for name, e in self.endpoints.items()}
        summary.identity = {name: e.client.identity for name, e in self.endpoints.items() if e.client.identity}
        summary.problem = self.problem
        summary.stopped = self.stopped()
        return summary

    def stopped(self) -> dict[str, str]:
        """protocol -> why its target counts as stopped (its circuit breaker opened: no request is sent to it
        any more, and the run ends after the running case)."""
        return {name: f"{e.settings.base_url}: {e.client.stopped}" for name, e in self.endpoints.items()
                if e.client.stopped}


def _probe(client: HttpClient, base_url: str) -> None:
    """Any HTTP answer means reachable; no answer ends the run with exit 2 (an environment error)."""
    with recording(None):  # the probe is no case's evidence
        try:
            client.request("GET", "", label="reachability probe")
        except TransportError as exc:
            pytest.exit(f"target unreachable: {base_url}: {exc}", returncode=ExitCode.ERROR)


def process_run(config: pytest.Config) -> ProcessRun:
    """The process's run (made when the plugin configured it)."""
    return config.stash[RUN_KEY]


def report_leftovers(request: pytest.FixtureRequest, left: list[str]) -> None:
    """What a case's cleanup could not remove goes into its record and report, never silently away."""
    if left:
        record = request.node.stash.get(RECORD_KEY, None)
        if record is not None:
            record.leftovers.extend(left)
        request.node.add_report_section("teardown", "cleanup", "could not remove: " + "; ".join(left))
