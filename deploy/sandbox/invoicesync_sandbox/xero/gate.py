"""In front of the accounting routes: auth, tenant, limits, contract, idempotency, XML."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, g, request

from invoicesync_sandbox.core.app import current_state
from invoicesync_sandbox.core.tokens import TokenExpired, TokenInvalid
from invoicesync_sandbox.xero import errors
from invoicesync_sandbox.xero.contract import ContractProblem, accounting_contract
from invoicesync_sandbox.xero.scopes import missing_scope
from invoicesync_sandbox.xero.state import APP_MINUTE, DAY, MINUTE, XeroState, connection_key
from invoicesync_sandbox.xero.wire import to_xml

accounting = Blueprint("xero_accounting", __name__, url_prefix="/api.xro/2.0")
WRITE_METHODS = ("PUT", "POST", "PATCH", "DELETE")
# Xero caps a request by size, not by element count: "A single POST to the Accounting or Payroll
# APIs has a size limit of 3.5MB. There is no limit to the number of elements within a request"
# (developer.xero.com/documentation/auth-and-limits/xero-api-limits; ~50 elements per request is
# only the recommended batch, see shared/reference/xero.md §2 "Batch creation", whose 10 MB
# figure is the Files API's). Decimal megabytes: the stricter reading, so a client that fits
# here fits at Xero whichever way "MB" is meant.
MAX_REQUEST_BYTES = 3_500_000


def xero_state() -> XeroState:
    return current_state()  # type: ignore[return-value]


@accounting.before_request
def admit_request() -> Response | None:
    state = xero_state()
    g.now = state.clock.now()
    if (request.content_length or 0) > MAX_REQUEST_BYTES:
        return errors.request_too_large()
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return errors.unauthorized("AuthenticationUnsuccessful")
    try:
        grant = state.tokens.check_access(header[7:].strip())
    except TokenExpired:
        return errors.unauthorized(f"TokenExpired: token expired at {g.now:%m/%d/%Y %H:%M:%S}")
    except TokenInvalid:
        return errors.unauthorized("AuthenticationUnsuccessful")
    tenant_id = request.headers.get("xero-tenant-id", "").strip().lower()
    user_id = grant.subject.get("user_id", "")
    if not tenant_id or not state.store.is_connected(grant.client_id, user_id, tenant_id):
        return errors.forbidden()
    g.grant, g.tenant_id, g.books = grant, tenant_id, state.store.books[tenant_id]
    collection = request.path.removeprefix(accounting.url_prefix or "").strip("/").split("/")[0]
    if missing_scope(request.method, collection, grant.scopes):
        # xero.md §7 "401" (L): a token without the scope is refused as AuthorizationUnsuccessful.
        return errors.forbidden("AuthorizationUnsuccessful")
    limited = _apply_rate_limits(state, grant.client_id, tenant_id)
    if limited is not None:
        return limited
    checked = accounting_contract().check(
        request.method, request.path, request.args, request.headers, request.get_data()
    )
    if isinstance(checked, ContractProblem):
        return _contract_failure(checked)
    g.checked = checked
    if request.method in WRITE_METHODS:
        state.store.lock.acquire()
        g.holds_lock = True
        return _replay_if_idempotent(state, grant.client_id, tenant_id)
    return None


def _apply_rate_limits(state: XeroState, client_id: str, tenant_id: str) -> Response | None:
    """Xero counts "per connection (app × tenant): 5 concurrent calls in flight, 60 calls/
    minute, 5,000 calls/day. App-wide across all tenants: 10,000 calls/minute" (xero.md §6,
    developer.xero.com/faq/limits [FAQ-LIMITS, H]): two apps on one organisation each have
    their own 60/minute; one app's organisations share its 10,000/minute."""
    tenant_key, app_key = connection_key(client_id, tenant_id), f"app:{client_id}"
    g.limit_keys = (tenant_key, app_key)
    violation = state.limiter.hit(app_key, [APP_MINUTE])
    if violation is None:
        violation = state.limiter.hit(tenant_key, [MINUTE, DAY])
    if violation is not None:
        return errors.too_many_requests(
            violation.rule.name, violation.retry_after_seconds, _limit_headers(state)
        )
    if not state.concurrency.enter(tenant_key):
        return errors.too_many_requests("concurrent", 1, _limit_headers(state))
    g.concurrency_key = tenant_key
    return None


def _limit_headers(state: XeroState) -> dict[str, str]:
    tenant_key, app_key = g.limit_keys
    return {
        "X-MinLimit-Remaining": str(state.limiter.remaining(tenant_key, MINUTE)),
        "X-DayLimit-Remaining": str(state.limiter.remaining(tenant_key, DAY)),
        "X-AppMinLimit-Remaining": str(state.limiter.remaining(app_key, APP_MINUTE)),
    }


def _contract_failure(problem: ContractProblem) -> Response:
    if problem.kind == "unknown_route":
        return errors.not_found()
    if problem.kind in ("body", "body_unreadable"):
        return errors.post_data_invalid(problem.message)
    return errors.single_validation_error(problem.message)


def _fingerprint() -> str:
    parts = [request.method, request.path.lower(), json.dumps(sorted(request.args.items()))]
    digest = hashlib.sha256("\n".join(parts).encode())
    digest.update(request.get_data())
    return digest.hexdigest()


def _replay_if_idempotent(state: XeroState, client_id: str, tenant_id: str) -> Response | None:
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None
    if len(key) > 128:
        return errors.single_validation_error("Idempotency-Key must be 128 characters or fewer.")
    scope = (client_id, tenant_id, key)
    stored = state.store.stored_reply(scope, g.now)
    fingerprint = _fingerprint()
    if stored is None:
        g.idempotency = (scope, fingerprint)
        return None
    if stored.fingerprint != fingerprint:
        return errors.single_validation_error(
            f"Idempotency Key: {key} is used with a different request."
        )
    g.replayed = True
    return Response(stored.body, status=stored.status, content_type=stored.content_type)


@accounting.after_request
def finish_response(response: Response) -> Response:
    state = xero_state()
    if "idempotency" in g and not g.get("replayed"):
        scope, fingerprint = g.idempotency
        state.store.remember_reply(
            scope,
            fingerprint,
            response.status_code,
            response.get_data(),
            response.content_type or "application/json",
            g.now,
        )
    if "limit_keys" in g:
        response.headers.update(_limit_headers(state))
    if "application/json" not in request.headers.get("Accept", "") and response.is_json:
        body = response.get_json()
        root = "ApiException" if response.status_code == 400 else "Response"
        response.set_data(to_xml(body, root))
        response.content_type = "text/xml; charset=utf-8"
    return response


@accounting.teardown_request
def release_request(_error: BaseException | None) -> None:
    if g.pop("holds_lock", False):
        xero_state().store.lock.release()
    key = g.pop("concurrency_key", None)
    if key is not None:
        xero_state().concurrency.leave(key)
