"""Property-based requests from the served OpenAPI document: no input makes the API fail."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from admin.tenant_operations import create_tenant
from invoicesync.domain.canonical import Destination

MAX_EXAMPLES = 8


def _json_error_naming_a_status(ctx, response, case) -> bool | None:
    """Every 4xx answer is the project's JSON error body."""
    if 400 <= response.status_code < 500:
        assert response.json()["error"]["status"] == response.status_code
    return None


def _exercise(api_operation, headers, tenant_id, statuses: list[int]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=api_operation.as_strategy())
    def exercise(case):
        if "tenant_id" in (case.path_parameters or {}):
            case.path_parameters["tenant_id"] = tenant_id
        response = case.call(headers=headers)
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, _json_error_naming_a_status])

    exercise()


def test_no_generated_request_gets_a_server_error(admin):
    tenant, _ = create_tenant(admin.services, "Fuzzed", Destination.XERO)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", admin.client.application)
    operations = [operation.ok() for operation in schema.get_all_operations()]
    failures: list[str] = []
    statuses: list[int] = []

    for api_operation in operations:
        try:
            _exercise(api_operation, admin.headers(), tenant.id, statuses)
        except Exception as exc:  # noqa: BLE001 - try every operation, then report them all
            failures.append(f"{api_operation.method} {api_operation.path}: {exc}")

    assert failures == []
    assert len(statuses) > 2 * len(operations)
    assert any(200 <= status < 300 for status in statuses)
    assert any(status == 400 for status in statuses)
