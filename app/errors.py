"""One error taxonomy for Salon, rendered in one place.

Services raise ``AppError`` (or a subclass); ``init_app`` registers the one
handler that turns it, and every HTTP error, into HTML or JSON depending on
what the request asked for.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error a user can act on: a message, an HTTP status and details."""

    status = 400

    def __init__(self, message: str, status: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, **self.details}


class BadRequest(AppError):
    status = 400


class Unauthorized(AppError):
    status = 401


class Forbidden(AppError):
    status = 403


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class TooLarge(AppError):
    status = 413


class UnsupportedType(AppError):
    status = 415


class TooManyRequests(AppError):
    status = 429
