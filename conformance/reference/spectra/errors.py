"""The error answers of the reference Spectra S3 server: what a refused request raises (the app and its job engine
alike), and the app turns into BlackPearl's Error document."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """An error answer: status, BlackPearl's Code word, a message and the id concerned."""

    def __init__(self, status: int, code: str, message: str, resource_id: str = "",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.resource_id = status, code, message, resource_id
        self.headers = dict(headers or {})


def bad_request(message: str, resource_id: str = "") -> ApiError:
    return ApiError(400, "BadRequest", message, resource_id)


def not_found(message: str, resource_id: str = "") -> ApiError:
    return ApiError(404, "NotFound", message, resource_id)
