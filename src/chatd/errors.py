"""Errors that carry their HTTP status and contract code; one handler turns them into JSON.

Services raise these; the API layer and the WebSocket reader translate them, so a rule is
written once and answers the same way over HTTP and over a socket.
"""

from __future__ import annotations

from typing import Any


class ChatdError(Exception):
    status = 500
    code = "internal"
    default_message = "internal error"

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.fields = fields
        self.headers = headers or {}
        super().__init__(self.message)

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        return {"error": error}


class InvalidJson(ChatdError):
    status, code, default_message = 400, "invalid_json", "the body is not valid JSON"


class BadRequest(ChatdError):
    status, code, default_message = 400, "bad_request", "bad request"


class Unauthorized(ChatdError):
    status, code, default_message = 401, "unauthorized", "sign in first"


class AccountDisabled(Unauthorized):
    """The right password for a deactivated account (a wrong one stays `unauthorized`)."""

    code, default_message = "account_disabled", "this account is deactivated; ask an admin"


class Forbidden(ChatdError):
    status, code, default_message = 403, "forbidden", "you may not do that"


class Csrf(ChatdError):
    status, code = 403, "csrf"
    default_message = "cookie-authenticated changes need the X-Chatd-CSRF header"


class NotFound(ChatdError):
    status, code, default_message = 404, "not_found", "not found"


class MethodNotAllowed(ChatdError):
    status, code, default_message = 405, "method_not_allowed", "method not allowed"


class RequestTimeout(ChatdError):
    """Written by the HTTP protocol itself (`api/httpprotocol.py`): the request never came."""

    status, code, default_message = 408, "request_timeout", "the request did not arrive in time"


class Conflict(ChatdError):
    status, code, default_message = 409, "conflict", "conflict"


class PayloadTooLarge(ChatdError):
    status, code, default_message = 413, "payload_too_large", "the body is too large"


class RangeNotSatisfiable(ChatdError):
    status, code = 416, "range_not_satisfiable"
    default_message = "the requested range is outside the file"


class UnsupportedMediaType(ChatdError):
    status, code = 415, "unsupported_media_type"
    default_message = "the body must be application/json"


class ValidationFailed(ChatdError):
    status, code, default_message = 422, "validation_failed", "some fields are not valid"

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__(message, fields=fields)


class RateLimited(ChatdError):
    status, code, default_message = 429, "rate_limited", "too many requests; try again later"

    def __init__(self, retry_after_s: float, message: str | None = None) -> None:
        self.retry_after_s = max(1, int(retry_after_s + 0.999))
        super().__init__(message, headers={"Retry-After": str(self.retry_after_s)})


class HeadersTooLarge(ChatdError):
    """Written by the HTTP protocol itself: the request head passed `server.max_header_bytes`
    or `server.max_headers`."""

    status, code = 431, "headers_too_large"
    default_message = "the request's headers are too large"


class Internal(ChatdError):
    status, code, default_message = 500, "internal", "internal error"


class Unavailable(ChatdError):
    status, code, default_message = 503, "unavailable", "the server cannot do that right now"


class BadGateway(ChatdError):
    status, code = 502, "bad_gateway"
    default_message = "an integration's URL did not answer properly"
