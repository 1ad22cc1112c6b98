"""The Spectra triggers' own decisions: when a busy object put is made again (a 503 whose Retry-After asks for a few
seconds, as BlackPearl answers while it allocates cache for a job's chunk)."""

from __future__ import annotations

import httpx
import pytest

from conformance.http import HttpClient
from conformance.spectra.triggers import retry_after


@pytest.mark.parametrize(("status", "header", "wait"), [(503, "1", 1.0), (503, "0", 0.0), (503, "3600", None),
                                                        (503, "Fri, 02 Jan 2026 03:04:05 GMT", None),
                                                        (429, "1", None), (503, None, None)])
def test_a_busy_object_put_is_made_again_only_after_a_short_retry_after_of_a_503(status, header, wait):
    answers = HttpClient("http://bp.test", transport=httpx.MockTransport(lambda request: httpx.Response(
        status, headers={"Retry-After": header} if header else {})))
    assert retry_after(answers.request("PUT", "b/o")) == wait
