"""The embedded reference servers: conforming implementations with injectable named faults.

With no target given, the suite starts one (`start()`) and tests it; turning on one fault at a time shows that
each requirement is detectable. `conformance serve` runs one in the foreground (`serve_forever()`).

This package is independent of the suite: nothing here imports from conformance/ outside conformance/reference/,
but the suite's list of protocols (`conformance.protocols`: descriptors, data only), which names each protocol's
reference app.
Its rooms: `server` (the HTTP server, apps by mount), `dispatch` (sending deliveries), `faults` (the registry),
`behaviours` (conforming ways of real servers, switched on by name like faults),
and one sub-package per protocol of the same shape, `vidicore/` and `spectra/` (users, behaviour, store, app).

Fixed, documented test credentials (never use them anywhere real), password = "<username>-secret":
admin / admin-secret (every role), reader / reader-secret (every read role), writer / writer-secret (every
write role), norole / norole-secret (no roles), single / single-secret (item read and write only).
`ReferenceServer.env` maps CONFORMANCE_REFERENCE_<USER>_PASSWORD to each password.

Conforming behaviours of real servers (`behaviours`: BlackPearl's user lookup, users without a default data
policy) are switched on by name, like faults: `start(behaviours=["blackpearl-users"])`.

Spectra S3 (`spectra`, mounted at the server root; VidiCore keeps /API when both run): users "admin"
(administrator, access id "YWRtaW4=", secret key "admin-spectra-secret") and "user" (ordinary, "dXNlcg==",
"user-spectra-secret"); `ReferenceServer.env` maps CONFORMANCE_REFERENCE_SPECTRA_<USER>_SECRET to each key.

    with start(faults=["slash-404"]) as server:
        server.urls["vidicore"]      # "http://127.0.0.1:PORT/API"
        server.target_data()         # {"vidicore": {"base_url": ..., "users": {...}, "entities": {...}}}
        server.wait_idle(5.0)        # True once nothing is left that could still send a delivery

    with start(("vidicore", "spectra")) as server:
        server.urls["spectra"]       # "http://127.0.0.1:PORT"
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from conformance.protocols import PROTOCOLS as DESCRIPTORS  # the one list of protocols (data only)

from .behaviours import BEHAVIOURS, Behaviour
from .behaviours import resolve as resolve_behaviours
from .faults import FAULTS, Fault, resolve
from .server import ReferenceServer

__all__ = ["BEHAVIOURS", "FAULTS", "PROTOCOLS", "Behaviour", "Fault", "ReferenceServer", "resolve",
           "resolve_behaviours", "serve_forever", "start"]

# protocol -> the app class (called with faults=...), as each protocol's descriptor names it
PROTOCOLS: dict[str, Callable[..., Any]] = {protocol.name: protocol.app_factory() for protocol in DESCRIPTORS}


def start(protocols: Iterable[str] | str = ("vidicore",), faults: Iterable[str] | str = (),
          host: str = "127.0.0.1", port: int = 0, behaviours: Iterable[str] | str = ()) -> ReferenceServer:
    """Start a reference server for `protocols` with `faults` and the conforming `behaviours`
    (`conformance.reference.behaviours`) on, in a daemon thread; port 0 = a free port.

    Raises ValueError for an unknown protocol, fault or behaviour, or one of a protocol not started.
    """
    wanted = tuple(dict.fromkeys([protocols] if isinstance(protocols, str) else protocols))
    for protocol in wanted:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    if not wanted:
        raise ValueError(f"no protocol given; known: {', '.join(PROTOCOLS)}")
    names = resolve(faults)
    ways = resolve_behaviours(behaviours)
    for name, owner in [*((n, FAULTS[n].protocol) for n in sorted(names)),
                        *((n, BEHAVIOURS[n].protocol) for n in sorted(ways))]:
        if owner not in wanted:
            raise ValueError(f"{'fault' if name in names else 'behaviour'} {name!r} belongs to {owner}, which is "
                             "not started")
    apps = [PROTOCOLS[protocol](faults=frozenset(n for n in names if FAULTS[n].protocol == protocol),
                                behaviours=frozenset(n for n in ways if BEHAVIOURS[n].protocol == protocol))
            for protocol in wanted]
    return ReferenceServer(apps, names, host, port, behaviours=ways)


def serve_forever(protocols: Iterable[str] | str = ("vidicore",), faults: Iterable[str] | str = (),
                  host: str = "127.0.0.1", port: int = 0, out: Callable[[str], Any] = print,
                  behaviours: Iterable[str] | str = ()) -> None:
    """Run a reference server until KeyboardInterrupt, after printing where it is and how to test it."""
    server = start(protocols, faults, host, port, behaviours)
    try:
        for line in describe(server):
            out(line)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def describe(server: ReferenceServer) -> list[str]:
    """What `serve_forever` prints: URLs, faults, and a target file plus variables pointing the suite at it."""
    lines = [f"{protocol} reference server: {url}" for protocol, url in server.urls.items()]
    lines.append(f"faults on: {', '.join(sorted(server.faults)) or 'none'}")
    lines.append(f"behaviours on: {', '.join(sorted(server.behaviours)) or 'none (the reference defaults)'}")
    lines += ["", "To test it, save this as target.toml:", "", *_toml(server.target_data()).splitlines(),
              "", "set the passwords (fixed test credentials):", ""]
    lines += [f"  export {name}={value}" for name, value in sorted(server.env.items())]
    lines += ["", "and run:  conformance run --target target.toml", "", "Ctrl-C stops the server."]
    return lines


def _toml(data: Mapping[str, Any], path: tuple[str, ...] = ()) -> str:
    """A small TOML writer for nested tables of strings (enough for target data)."""
    scalars = {key: value for key, value in data.items() if not isinstance(value, Mapping)}
    tables = {key: value for key, value in data.items() if isinstance(value, Mapping)}
    out = []
    if path and (scalars or not tables):
        out.append(f"[{'.'.join(path)}]")
    out += [f"{key} = {json.dumps(value)}" for key, value in scalars.items()]
    if out:
        out.append("")
    for key, value in tables.items():
        out.append(_toml(value, (*path, key)))
    return "\n".join(out)
