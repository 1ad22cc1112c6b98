"""The plain httpx loop: one `httpx.Client`, the given requests one after another, each answer read whole.

    python bench/loop.py REQUESTS.json ROOT    # ROOT: http://host:port the targets are relative to

REQUESTS.json: a list of {"method", "target" (raw path and query), "headers", "body" (latin-1 text)}, as
bench/servers.py recorded them at the server. Prints one JSON line: requests, seconds (perf_counter around the
loop only: no import, no client construction), statuses, the HTTP version of the answers, and the
median / p90 / worst time of one request. Run as its own
process so that the client and the server (in the benchmark's process) do not share one GIL, as the suite's
run does not.
"""

from __future__ import annotations

import json
import sys
import time

import httpx

SKIPPED = {"host", "content-length", "connection", "transfer-encoding"}  # httpx sets these itself


def main(argv: list[str]) -> int:
    path, root = argv
    with open(path, encoding="utf-8") as handle:
        requests = [(r["method"], root + r["target"], {k: v for k, v in r["headers"].items()
                                                        if k.lower() not in SKIPPED},
                     r["body"].encode("latin-1") or None) for r in json.load(handle)]
    statuses, each = [], []
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        started = time.perf_counter()
        for method, url, headers, body in requests:
            before = time.perf_counter()
            response = client.request(method, url, headers=headers, content=body)
            each.append(time.perf_counter() - before)
            statuses.append(response.status_code)
        seconds = time.perf_counter() - started
        version = response.http_version if requests else ""
    each.sort()
    spread = {"median_ms": each[len(each) // 2] * 1000, "p90_ms": each[int(0.9 * (len(each) - 1))] * 1000,
              "max_ms": each[-1] * 1000} if each else {}
    print(json.dumps({"requests": len(requests), "seconds": seconds, "statuses": statuses,
                      "http_version": version, "per_request": spread}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
