"""One API error type, rendered as JSON by one handler."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error answer: `extra` goes into the JSON body, `headers` onto the response (e.g. Retry-After)."""

    def __init__(self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int, dict[str, str]]:
        return jsonify(error.to_dict()), error.status, error.headers

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        status = error.code or 500
        return jsonify({"error": {"code": code, "message": error.description}}), status

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        app.logger.exception("unhandled error")
        return jsonify({"error": {"code": "internal_error", "message": "internal error; see the hub's log"}}), 500
