"""Batch replies: per-element errors with summarizeErrors=false, one 400 for the lot otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import Response, jsonify

from invoicesync_sandbox.xero import errors
from invoicesync_sandbox.xero.wire import envelope, plain


@dataclass
class ElementResult:
    record: dict
    messages: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.messages)


def element_reply(result: ElementResult, error_flag: str | None) -> dict:
    """`error_flag` is HasErrors or HasValidationErrors; Allocations carry neither."""
    body = dict(result.record)
    body["StatusAttributeString"] = "ERROR" if result.failed else "OK"
    if error_flag:
        body[error_flag] = result.failed
    if result.failed:
        body["ValidationErrors"] = [{"Message": message} for message in result.messages]
    return body


def batch_response(
    results: list[ElementResult],
    collection: str,
    error_flag: str | None,
    *,
    summarize_errors: bool,
    now: datetime,
) -> Response:
    """Valid elements are already stored; only the reply differs between the two modes."""
    if summarize_errors and any(r.failed for r in results):
        return errors.validation_exception(
            [plain(element_reply(r, error_flag)) for r in results if r.failed]
        )
    return jsonify(envelope(now, collection, [element_reply(r, error_flag) for r in results]))


def summarize_errors_requested(args) -> bool:
    """Defaults to true on Xero's side: a failing batch is a 400 unless this is false.
    `args` are the documented query parameters (`g.checked.query`): an operation that does
    not take `summarizeErrors` answers a failing element with the 400."""
    value = next((v for k, v in args.items() if k.lower() == "summarizeerrors"), "true")
    return value.lower() != "false"
