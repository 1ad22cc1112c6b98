"""`conformance cleanup`: remove what earlier runs left on a target (a run that was killed, a runner that vanished,
a cleanup the server refused).

    conformance cleanup --target FILE [--ledger FILE] [--dry-run] [--older-than DURATION]

What it removes, on each server the target file names: every entry the ledger (default `reports/ledger.jsonl`)
still holds open for that server, and whatever listing the server finds carrying the suite's run marker
(`conformance-<token>`: notifications and registrations whose URL or document holds it, buckets named by it; each
protocol's `sweeper` module knows how to list and remove its kinds, in its `ORDER`). Nothing else: never a thing
without the marker or a ledger entry, so it is safe on a shared staging server. `--older-than 2h` keeps what runs
that began less than two hours ago made (the run token says when its run began: `conformance.names.started`), so a
run still going elsewhere is safe; `--dry-run` lists and removes nothing. The ledger is then told what went and
compacted to what is still left.

It prints one line per thing ("removed:", "could not remove: ... : why", "kept:", or "would remove:") and a summary.
Exit 0 when nothing is left, 1 when something is (or, with --dry-run, would be removed), 2 on bad input (one line).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import Any

from conformance.status import ExitCode

EMBEDDED = "embedded reference server"  # conformance.run.EMBEDDED: what was there went with its run's process

DEFAULT_LEDGER = os.path.join("reports", "ledger.jsonl")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """`90`, `90s`, `15m`, `2h`, `1d` in seconds (argparse type)."""
    found = _DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90s, 15m, 2h or 1d, got {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def add_command(commands: Any) -> None:
    cleanup = commands.add_parser(
        "cleanup", help="remove what earlier runs left on a target (ledger entries, and anything carrying the "
                        "run marker)",
        epilog="exit codes: 0 nothing is left; 1 something is left (with --dry-run: something would be removed); "
               "2 bad input")
    cleanup.add_argument("--target", required=True, metavar="FILE", help="the target file naming the servers and "
                         "their users (secrets from the environment, as for `conformance run`)")
    cleanup.add_argument("--ledger", metavar="FILE", help=f"the ledger of earlier runs (default: {DEFAULT_LEDGER}; "
                         "without one, only what carries the run marker is found)")
    cleanup.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing "
                         "(default: off)")
    cleanup.add_argument("--older-than", type=duration, metavar="DURATION", help="only what runs that began at "
                         "least this long ago made (90s, 15m, 2h, 1d): a run still going stays safe "
                         "(default: every run's)")
    cleanup.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from conformance import ledger, protocols
    from conformance.target import TargetError, load_target

    def error(message: str) -> int:
        print(f"conformance cleanup: error: {message}", file=sys.stderr)
        return ExitCode.ERROR

    try:
        target = load_target(args.target)
    except TargetError as exc:
        return error(str(exc))
    path = args.ledger or DEFAULT_LEDGER
    entries: list[ledger.Entry] = []
    if args.ledger or os.path.exists(path):
        try:
            entries = [entry for entry in ledger.read(path) if entry.open]
        except ledger.LedgerError as exc:
            return error(str(exc))
    sweep = Sweep(args, target, entries, time.time())
    origin = f"ledger {path} ({len(entries)} open)" if args.ledger or os.path.exists(path) else \
        f"no ledger at {path}"
    print(f"conformance cleanup: {target.source}: {origin}, and each server listed for the run marker"
          + (" (dry run: nothing is removed)" if args.dry_run else ""))
    for name in target.protocols:
        sweep.protocol(protocols.get(name), target.settings(name))
    elsewhere = [entry for entry in entries if entry.entry not in sweep.seen and entry.origin != EMBEDDED]
    if elsewhere:
        print(f"not on this target ({len(elsewhere)}, kept in the ledger): "
              + "; ".join(sorted({f'{entry.protocol} {entry.base_url}' for entry in elsewhere})))
    if sweep.events and not args.dry_run:
        try:
            ledger.append(path, sweep.events)
            ledger.compact(path, gone=lambda entry: entry.origin == EMBEDDED)
        except ledger.LedgerError as exc:
            print(f"conformance cleanup: {exc}", file=sys.stderr)
    return sweep.finish()


class Sweep:
    """One cleanup over every server of a target: what it removed, could not, kept, and the ledger's events."""

    def __init__(self, args: argparse.Namespace, target: Any, entries: list[Any], now: float) -> None:
        self.args, self.target, self.entries, self.now = args, target, entries, now
        self.removed = self.left = self.kept = 0
        self.events: list[dict[str, Any]] = []
        self.seen: set[str] = set()  # ledger entries of a server of this target

    def protocol(self, protocol: Any, settings: Any) -> None:
        from conformance.http import HttpClient
        from conformance.ledger import public_url

        base = public_url(settings.base_url).rstrip("/")
        http = HttpClient(settings.base_url, timeout=settings.timeout, verify=settings.verify,
                          max_body_bytes=settings.max_body_bytes, secrets=self.target.secrets())
        try:
            module = protocol.sweeper_module()
            sweeper = module.Sweeper(http, settings)
            listed = [entry for entry in self.entries if entry.protocol == protocol.name
                      and entry.base_url.rstrip("/") == base and entry.origin != EMBEDDED]
            self.seen.update(entry.entry for entry in listed)
            known = {entry.path for entry in listed}
            found = [entry for entry in sweeper.marked() if entry.path not in known]
            for problem in dict.fromkeys(sweeper.problems):  # what could not be listed may still be there
                self.left += 1
                print(f"could not list: {protocol.name} {base}: {problem}")
            order = {kind: number for number, kind in enumerate(module.ORDER)}
            things = sorted(listed + found, key=lambda entry: order.get(entry.kind, len(order)))
            removed: set[str] = set()
            for entry in things:
                self.one(sweeper, entry, removed)
        finally:
            http.close()

    def one(self, sweeper: Any, entry: Any, removed: set[str]) -> None:
        from conformance.names import started

        source = "from the ledger" if not entry.entry.startswith("marked:") else "found by its run marker"
        what = f"{entry.describe()}  ({entry.run}, {source})"
        began = started(entry.run) or (entry.made_at if not entry.entry.startswith("marked:") else None)
        if self.args.older_than is not None:
            if began is None:
                self.kept += 1
                print(f"kept: {what}: its run's age is unknown (--older-than)")
                return
            if self.now - began < self.args.older_than:
                self.kept += 1
                print(f"kept: {what}: its run began {_ago(self.now - began)} ago (--older-than)")
                return
        if self.args.dry_run:
            self.left += 1
            print(f"would remove: {what}")
            return
        why = sweeper.remove(entry, removed)
        ledgered = not entry.entry.startswith("marked:")
        if why is None:
            self.removed += 1
            removed.add(entry.entry)
            print(f"removed: {what}")
            if ledgered:
                self.events.append({"event": "removed", "run": entry.run, "entry": entry.entry, "at": time.time()})
        else:
            self.left += 1
            print(f"could not remove: {what}: {why}")
            if ledgered:
                self.events.append({"event": "left", "run": entry.run, "entry": entry.entry, "at": time.time(),
                                    "why": f"conformance cleanup: {why}"})

    def finish(self) -> int:
        kept = f", {self.kept} kept (younger than --older-than, or of unknown age)" if self.kept else ""
        if self.args.dry_run:
            print(f"conformance cleanup (dry run): {self.left} would be removed{kept}; nothing was removed")
        else:
            print(f"conformance cleanup: {self.removed} removed, {self.left} could not be removed{kept}")
        return ExitCode.FAILED if self.left else ExitCode.OK


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
