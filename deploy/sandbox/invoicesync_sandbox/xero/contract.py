"""Checks accounting requests against Xero's own OpenAPI document, compiled once per process."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).with_name("spec") / "xero_accounting.yaml"
SPEC_URI = "urn:xero-accounting"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")

_format_checker = FormatChecker(formats=())


@_format_checker.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuid.UUID(value))


@dataclass(frozen=True)
class ContractProblem:
    """Why a request does not conform; `element` names the offending parameter or body path."""

    kind: str  # "unknown_route" | "parameter" | "body_unreadable" | "body"
    element: str
    message: str


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    parameters: tuple[Parameter, ...]
    body_required: bool
    body_validator: Draft4Validator | None
    collection_key: str | None


@dataclass(frozen=True)
class CheckedRequest:
    """A request that conforms: its operation, path parameters and (possibly wrapped) body."""

    operation: Operation
    path_params: dict[str, str]
    body: Any
    # Only the query parameters the operation documents. Xero reads no others: an undocumented
    # one (say `summarizeErrors` on `POST /Invoices/{InvoiceID}`, whose spec lists only
    # InvoiceID, unitdp and Idempotency-Key: xero_accounting.yaml `updateInvoice`) changes
    # nothing, so the routes must not see it either. Names keep the spec's spelling.
    query: Mapping[str, str] = field(default_factory=dict)


class AccountingContract:
    """The compiled operations of xero_accounting.yaml, ready to check requests."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._spec = spec
        resource = Resource(contents=spec, specification=DRAFT4)
        self._registry = Registry().with_resource(SPEC_URI, resource)
        self._operations = sorted(self._compile_operations(), key=lambda op: -op.literal_segments)

    def operation_for(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for operation in self._operations:
            if operation.method != method.lower():
                continue
            matched = operation.pattern.fullmatch(path)
            if matched:
                return operation, matched.groupdict()
        return None

    def check(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        raw_body: bytes,
    ) -> CheckedRequest | ContractProblem:
        found = self.operation_for(method, path)
        if found is None:
            return ContractProblem("unknown_route", path, f"No such route: {method} {path}")
        operation, path_params = found
        lowered_query = {key.lower(): value for key, value in query.items()}
        lowered_headers = {key.lower(): value for key, value in headers.items()}
        documented = {}
        for parameter in operation.parameters:
            source = lowered_query if parameter.location == "query" else lowered_headers
            if parameter.location not in ("query", "header"):
                continue
            raw = source.get(parameter.name.lower())
            problem = _check_parameter(parameter, raw)
            if problem:
                return problem
            if parameter.location == "query" and raw is not None:
                documented[parameter.name] = raw
        checked = self._check_body(operation, path_params, raw_body)
        if isinstance(checked, CheckedRequest):
            return replace(checked, query=documented)
        return checked

    def _check_body(
        self, operation: Operation, path_params: dict[str, str], raw_body: bytes
    ) -> CheckedRequest | ContractProblem:
        if operation.body_validator is None:
            return CheckedRequest(operation, path_params, None)
        if not raw_body.strip():
            if operation.body_required:
                return ContractProblem(
                    "body_unreadable", "", "JSON request body could not be read, body is empty."
                )
            return CheckedRequest(operation, path_params, None)
        try:
            body = json.loads(raw_body)
        except ValueError as error:
            return ContractProblem(
                "body_unreadable", "", f"JSON request body could not be read, Error: {error}."
            )
        key = operation.collection_key
        if key and isinstance(body, dict) and key not in body:
            # Xero's own documentation posts bare single objects; the API accepts both forms.
            body = {key: [body]}
        elif key is None:
            # ...and the reverse: the spec's deletePayment example wraps its PaymentDelete body.
            body = _unwrap_single(body, operation.template)
        error = best_match(operation.body_validator.iter_errors(body))
        if error is not None:
            return _body_problem(error)
        return CheckedRequest(operation, path_params, body)

    def _compile_operations(self) -> list[Operation]:
        operations = []
        for template, path_item in self._spec["paths"].items():
            shared = path_item.get("parameters", [])
            for method in HTTP_METHODS:
                if method in path_item:
                    operations.append(self._compile(template, method, path_item[method], shared))
        return operations

    def _compile(
        self, template: str, method: str, spec_op: Mapping[str, Any], shared: list
    ) -> Operation:
        parameters = tuple(self._parameter(p) for p in [*shared, *spec_op.get("parameters", [])])
        body_spec = spec_op.get("requestBody")
        validator = None
        collection_key = None
        body_required = False
        if body_spec:
            body_spec = self._resolve(body_spec)
            body_required = bool(body_spec.get("required"))
            schema = body_spec.get("content", {}).get("application/json", {}).get("schema")
            if schema:
                validator = Draft4Validator(
                    _anchor_refs(schema), registry=self._registry, format_checker=_format_checker
                )
                collection_key = self._collection_key(schema)
        segments = template.strip("/").split("/")
        return Operation(
            operation_id=spec_op.get("operationId", ""),
            method=method,
            template=template,
            pattern=_template_pattern(template),
            literal_segments=sum(1 for s in segments if not s.startswith("{")),
            parameters=parameters,
            body_required=body_required,
            body_validator=validator,
            collection_key=collection_key,
        )

    def _parameter(self, spec_param: Mapping[str, Any]) -> Parameter:
        resolved = self._resolve(spec_param)
        return Parameter(
            name=resolved["name"],
            location=resolved["in"],
            required=bool(resolved.get("required")),
            schema=self._resolve(resolved.get("schema", {})),
        )

    def _collection_key(self, schema: Mapping[str, Any]) -> str | None:
        ref = schema.get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        properties = self._resolve(schema).get("properties", {})
        if name in properties and properties[name].get("type") == "array":
            return name
        return None

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            target: Any = self._spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node


def _unwrap_single(body: Any, template: str) -> Any:
    """`{"Payments": [{...}]}` sent to `/Payments/{PaymentID}` means the one object inside."""
    wrapper = template.strip("/").split("/")[0]
    if isinstance(body, dict) and list(body) == [wrapper]:
        items = body[wrapper]
        if isinstance(items, list) and len(items) == 1 and isinstance(items[0], dict):
            return items[0]
    return body


def _anchor_refs(schema: Any) -> Any:
    """Point local `#/...` references at the registered spec document."""
    if isinstance(schema, dict):
        return {
            key: (SPEC_URI + value if key == "$ref" else _anchor_refs(value))
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_anchor_refs(item) for item in schema]
    return schema


def _template_pattern(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(f"/api\\.xro/2\\.0{regex}", re.IGNORECASE)


def _check_parameter(parameter: Parameter, raw: str | None) -> ContractProblem | None:
    if raw is None:
        if parameter.required and parameter.location == "query":
            return ContractProblem(
                "parameter", parameter.name, f"The parameter {parameter.name} is required."
            )
        return None
    schema = parameter.schema
    kind = schema.get("type")
    values = raw.split(",") if kind == "array" else [raw]
    item_schema = schema.get("items", {}) if kind == "array" else schema
    for value in values:
        if not _scalar_conforms(value.strip().strip('"'), item_schema):
            return ContractProblem(
                "parameter",
                parameter.name,
                f"The value '{value}' is not valid for the parameter {parameter.name}.",
            )
    return None


def _scalar_conforms(value: str, schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "integer":
        return re.fullmatch(r"-?\d+", value) is not None
    if kind == "boolean":
        return value.lower() in ("true", "false")
    if kind == "number":
        return re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
    if fmt == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return False
    if fmt == "date-time":
        return parse_http_timestamp(value) is not None
    if "enum" in schema:
        return value in schema["enum"]
    return True


def parse_http_timestamp(value: str) -> datetime | None:
    """Parse If-Modified-Since as Xero accepts it: ISO-8601 (with or without offset) or RFC 1123."""
    from datetime import UTC
    from email.utils import parsedate_to_datetime

    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _body_problem(error: ValidationError) -> ContractProblem:
    element = _element_path(error)
    if error.validator == "type":
        detail = (
            f"Error converting value {json.dumps(error.instance)} to type '{error.validator_value}'"
        )
    elif error.validator == "enum":
        detail = f"Requested value '{error.instance}' was not found"
    else:
        detail = error.message
    return ContractProblem(
        "body", element, f"JSON for post data was invalid, {detail}. Path '{element}'."
    )


def _element_path(error: ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@lru_cache(maxsize=1)
def accounting_contract() -> AccountingContract:
    """The process-wide compiled contract (loading the spec costs a few hundred milliseconds)."""
    with SPEC_PATH.open("rb") as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return AccountingContract(spec)
