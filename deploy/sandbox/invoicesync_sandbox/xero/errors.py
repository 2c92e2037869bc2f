"""Xero's error bodies: validation, query parse, auth problems and not-found."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, jsonify


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def validation_exception(elements: list[dict]) -> Response:
    return _json(
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": elements,
        },
        400,
    )


def single_validation_error(message: str) -> Response:
    return validation_exception([{"ValidationErrors": [{"Message": message}]}])


def post_data_invalid(message: str) -> Response:
    return _json({"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message}, 400)


def query_parse_exception(message: str) -> Response:
    return _json({"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}, 400)


def problem(status: int, title: str, detail: str) -> Response:
    """The problem-details body Xero's gateway returns for 401/403."""
    body = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return _json(body, status)


def unauthorized(detail: str) -> Response:
    return problem(401, "Unauthorized", detail)


def forbidden(detail: str = "AuthenticationUnsuccessful") -> Response:
    return problem(403, "Forbidden", detail)


def not_found(message: str = "The resource you're looking for cannot be found") -> Response:
    response = Response(message, status=404, mimetype="text/plain")
    return response


def request_too_large() -> Response:
    """Xero's web front end refuses an oversized body before the API sees it (IIS 413.0)."""
    page = (
        "<html><body><h3>HTTP Error 413.0 - Request Entity Too Large</h3>"
        "<h4>The page was not displayed because the request entity is too large.</h4>"
        "</body></html>"
    )
    return Response(page, status=413, mimetype="text/html")


def too_many_requests(problem_name: str, retry_after: int, headers: dict[str, str]) -> Response:
    response = Response(f"Rate limit exceeded: {problem_name}", status=429, mimetype="text/plain")
    response.headers.update(headers)
    response.headers["Retry-After"] = str(retry_after)
    response.headers["X-Rate-Limit-Problem"] = problem_name
    return response


def token_error(error: str, status: int = 400) -> Response:
    return _json({"error": error}, status)
