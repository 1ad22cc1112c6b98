"""Pre-flight: `conformance check`, whether a target is ready for a run, in seconds; and the cheap part of it a
run does before any case (a feature plugin).

    conformance check [PROTOCOL ...] [--target FILE | --base-url URL] [--behaviour NAME ...]

One table per protocol, one row per part of the set-up the suite needs but does not judge, each ready, not ready or
not configured with its reason: the server reachable (identity headers, TLS), each configured user authenticated
(and, for VidiCore, the notification roles it appears to have), each configured entity id there, each set-up path
once (VidiCore: a placeholder item and an import job that ends as readable_uri promises; Spectra: a bucket with the
data policy and a bulk put job, per user; each Spectra user's Id), one real delivery per protocol from the server
to the configured receiver with its latency, and the requirements a run would mark N-A and why. What each row does
is the protocol's (`<protocol>/readiness.py`, named by its descriptor): the cases' own clients and triggers, so a
refused step reads as the BLOCKED line a run would show. Everything the check makes carries its marker and is
removed, also when a step fails (what could not be is a row of its own). It keeps to `BUDGET` seconds against a
reachable server: every wait is cut to what is left.

Exit 0 when every configured part is ready; 2 otherwise (and for bad input), the first problem repeated as the
last line. With no target, the embedded reference server is checked (`--behaviour` as for `conformance run`).

The run's part (`pytest_sessionstart`, controller only, after the spine's reachability probe): each configured
user authenticates (`<protocol>/readiness.py`'s `authenticate`), else the run ends before any case with one line
naming the user and what to check, exit 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import pytest

from conformance import protocols
from conformance.http import HttpClient, Redactor, TransportError, recording
from conformance.names import Names, new_run_token
from conformance.receiver import Receiver
from conformance.run import RUN_KEY
from conformance.setup import Probe, Row, reachable
from conformance.status import ExitCode, Readiness
from conformance.target import DeliverySettings, Target, TargetError, load_target, target_for_url, target_from_mapping

BUDGET = 30.0           # seconds the whole check keeps to against a reachable server
REQUEST_TIMEOUT = 10.0  # seconds per request at most during the check (the target's timeout if shorter)
EMBEDDED = "embedded reference server"


# --- the command --------------------------------------------------------------------------------------------


def add_command(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="pre-flight: is the target ready for a run? (reachable, users, entities, set-up, receiver, "
                      "N-A forecast; within 30 s)",
        epilog="exit codes: 0 every configured part is ready; 2 something is not ready, or bad input")
    check.add_argument("protocols", nargs="*", choices=[[], *protocols.NAMES], metavar="PROTOCOL",
                       help=f"protocols to check: {', '.join(protocols.NAMES)} (default: every one the target names)")
    check.add_argument("--target", metavar="FILE", help="target file (TOML) naming the servers (default: none, the "
                                                        "embedded reference server)")
    check.add_argument("--base-url", help="API root of the server to check (one protocol; users from the "
                                          "environment as for `conformance run`; default: none)")
    check.add_argument("--behaviour", action="append", default=[], metavar="NAME",
                       help="the embedded reference server with a conforming behaviour of real servers on "
                            "(repeatable; default: none)")
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    started = time.monotonic()

    def error(message: str) -> int:
        print(f"conformance check: error: {' '.join(message.split())}", file=sys.stderr)
        return ExitCode.ERROR

    chosen = list(args.protocols)
    if args.base_url and len(chosen) != 1:
        return error("--base-url names one server: choose one protocol (e.g. `conformance check spectra --base-url "
                     "URL`) or use a target file")
    if args.behaviour and (args.target or args.base_url):
        return error("--behaviour applies to the embedded reference server only; it cannot be combined with a "
                     "target file or URL")
    server = None
    try:
        if args.target:
            target = load_target(args.target)
        elif args.base_url:
            target = target_for_url(chosen[0], args.base_url)
        else:
            from conformance import reference  # the command touches the reference server only to start it

            server = reference.start(protocols=protocols.NAMES, behaviours=tuple(args.behaviour))
            target = target_from_mapping(server.target_data(), EMBEDDED, env=server.env)
    except (TargetError, ValueError) as exc:
        return error(str(exc))
    try:
        named = [name for name in chosen or target.protocols if target.settings(name) is not None]
        if not named:
            return error(f"{target.source} names no [{'] or ['.join(chosen)}] server to check")
        tables = check_target(target, named, embedded=server is not None, started=started)
    except OSError as exc:
        return error(f"the receiver cannot listen: {exc}")
    finally:
        if server is not None:
            server.stop()
    for protocol, where, rows in tables:
        print(render(protocol, where, rows))
        print()
    elapsed = time.monotonic() - started
    if not ready(tables):
        print(f"checked {', '.join(p for p, _, _ in tables)} in {elapsed:.1f} s")
    print(last_line(tables, elapsed))
    return ExitCode.OK if ready(tables) else ExitCode.ERROR


Table = tuple[str, str, list[Row]]  # protocol, where (base URL and origin), its rows


def check_target(target: Target, names: Sequence[str], *, embedded: bool, started: float) -> list[Table]:
    """Each protocol's rows (in `names`' order), on one receiver of the check's own."""
    delivery = target.delivery or DeliverySettings()
    redactor = Redactor(target.secrets())
    run = Names(new_run_token(), "check")
    receiver = Receiver(host=delivery.listen_host, port=delivery.listen_port, public_url=delivery.public_url,
                        multiplier=delivery.multiplier, redact=redactor.text, token=run.token)
    receiver.start()
    tables = []
    try:
        for name in names:
            settings: Any = target.settings(name)  # named: the caller chose only protocols the target names
            http = HttpClient(settings.base_url, timeout=min(settings.timeout, REQUEST_TIMEOUT),
                              verify=settings.verify, max_body_bytes=settings.max_body_bytes,
                              secrets=target.secrets())
            probe = Probe(settings, http, run, receiver, delivery, embedded, started + BUDGET)
            try:
                with recording(probe.record):
                    rows = [reachable(probe, settings.base_url, settings.verify)]
                    if rows[0].status is Readiness.READY:
                        rows += protocols.get(name).readiness_module().check(probe)
            except TransportError as exc:  # a server that stopped answering halfway
                rows.append(Row(Readiness.NOT_READY, "answers", f"no answer: {exc}"))
            finally:
                http.close()
            if probe.record.leftovers:
                rows.append(Row(Readiness.NOT_READY, "removal", "could not remove: "
                                                               + "; ".join(probe.record.leftovers)))
            rows = [Row(row.status, row.item, http.redactor.text(row.reason)) for row in rows]
            tables.append((name, f"{settings.base_url} ({EMBEDDED if embedded else target.source})", rows))
    finally:
        receiver.stop()
    return tables


def render(protocol: str, where: str, rows: Sequence[Row]) -> str:
    """One protocol's table: a heading, then one row per line (status, what, why)."""
    width = max(len(row.item) for row in rows)
    lines = [f"{protocol} — {where}"]
    lines += [f"  {row.status:<16}{row.item:<{width + 2}}{row.reason}" for row in rows]
    return "\n".join(lines)


def ready(tables: Sequence[Table]) -> bool:
    return not any(row.status is Readiness.NOT_READY for _, _, rows in tables for row in rows)


def last_line(tables: Sequence[Table], elapsed: float) -> str:
    """The verdict of the check: ready, or the first problem (CI logs are read from the bottom)."""
    problems = [(protocol, row) for protocol, _, rows in tables for row in rows if row.status is Readiness.NOT_READY]
    if problems:
        protocol, row = problems[0]
        more = f" (and {len(problems) - 1} more above)" if len(problems) > 1 else ""
        return f"check: NOT READY — {protocol} {row.item}: {row.reason}{more}"
    unconfigured = sum(row.status is Readiness.NOT_CONFIGURED for _, _, rows in tables for row in rows)
    return (f"check: READY — every configured part of {', '.join(p for p, _, _ in tables)} is ready "
            f"({elapsed:.1f} s" + (f"; {unconfigured} not configured: see above)" if unconfigured else ")"))


# --- the run's part (a feature plugin) -----------------------------------------------------------------------


@pytest.hookimpl  # after the spine's (tryfirst) reachability probe
def pytest_sessionstart(session: pytest.Session) -> None:
    """Each configured user of each target authenticates, before any case (and any worker) starts: a refused one
    ends the run at once with one line naming it, exit 2."""
    config = session.config
    run = config.stash.get(RUN_KEY, None)
    if run is None or hasattr(config, "workerinput") or run.target is None:
        return
    for name in run.target.protocols:
        endpoint = run.endpoint(name)
        with recording(None):  # no case's evidence
            try:
                line = protocols.get(name).readiness_module().authenticate(endpoint.client, endpoint.settings,
                                                                           run.target.source)
            except TransportError as exc:
                line = f"target unreachable: {endpoint.settings.base_url}: {exc}"
        if line:
            pytest.exit(endpoint.client.redactor.text(line), returncode=ExitCode.ERROR)
