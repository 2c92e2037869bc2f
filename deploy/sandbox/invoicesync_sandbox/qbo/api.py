"""The Accounting API routes under `/v3/company/{realmId}/`: auth, limits, replay, dispatch."""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from invoicesync_sandbox.core.app import current_state
from invoicesync_sandbox.core.tokens import TokenExpired, TokenInvalid

from . import batch, cdc
from .faults import QboFault, fault_body, invalid_value, unsupported_operation
from .notifications import notification
from .operations import create_entity, delete_entity, read_entity, update_entity, void_entity
from .query import parse_query, run_query
from .state import JSON_TYPE, QboState
from .store import ENTITY_SEGMENTS, QboCompany, StoredResponse
from .wire import InvalidJson, dump_json, dump_xml, load_json
from .writes import WriteContext

REQUEST_ID_MAX = 50
XML_TYPE = "application/xml;charset=UTF-8"
BATCH_REQUEST_ID_MAX = 36
WEBHOOK_SOURCE = "intuit.invoicesync-sandbox"

api = Blueprint("qbo_api", __name__, url_prefix="/v3/company/<realm_id>")


def _state() -> QboState:
    return current_state()  # type: ignore[return-value]


def _company() -> QboCompany:
    return g.qbo_company


@api.url_value_preprocessor
def _take_realm(_endpoint: str | None, values: dict | None) -> None:
    g.realm_id = (values or {}).pop("realm_id", "")


@api.before_request
def _admit() -> Response | None:
    """Bearer token for this realm, a usable minorversion, then the per-realm limits."""
    state = _state()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    try:
        grant = state.tokens.check_access(token)
    except TokenExpired:
        return state.error_response(401, f"Token expired: {token[:12]}...")
    except TokenInvalid:
        return state.error_response(401, "Token invalid")
    company = state.store.company(g.realm_id)
    if grant.subject.get("realm_id") != g.realm_id or company is None:
        return state.error_response(401, f"Token is not valid for realm {g.realm_id}")
    if g.realm_id in state.revoked_realms:
        # Error 120 "Authorization Failure" (user lost access to the company or its
        # subscription): a 401 that a fresh token does not cure, while refresh still works
        # (shared/reference/qbo.md §9, error-code table row 120).
        return state.error_response(
            401, "AuthorizationFailure: the app has no access to this company"
        )
    g.qbo_company = company
    minor = request.args.get("minorversion")
    if minor is not None and not minor.isdigit():
        return _fault_response(invalid_value("minorversion", f"Invalid minorversion: {minor}"))
    rules = [state.minute_rule]
    if request.path.rstrip("/").endswith("/batch"):
        rules.append(state.batch_rule)
    if state.limiter.hit(f"qbo:{g.realm_id}", rules) is not None:
        return state.error_response(429, "ThrottleExceeded")
    # The per-second limit counts per realm *and* app; the per-minute one per realm.
    per_app = f"qbo:{g.realm_id}:{grant.client_id}"
    if state.limiter.hit(per_app, [state.second_rule]) is not None:
        return state.error_response(429, "ThrottleExceeded")
    if state.limiter.enabled and not state.concurrency.enter(g.realm_id):
        return state.error_response(429, "ThrottleExceeded")
    g.qbo_slot = True
    return None


@api.teardown_request
def _release(_error: BaseException | None) -> None:
    if g.pop("qbo_slot", False):
        _state().concurrency.leave(g.realm_id)


@api.errorhandler(QboFault)
def _fault(fault: QboFault) -> Response:
    return _fault_response(fault)


def _fault_response(fault: QboFault) -> Response:
    company = getattr(g, "qbo_company", None)
    now = _state().clock.now()
    time = company.time(now) if company else now.isoformat(timespec="milliseconds")
    return _encoded(fault_body(fault, time), fault.status)


def _respond(body: dict, status: int = 200) -> Response:
    return _encoded({**body, "time": _company().time(_state().clock.now())}, status)


def _encoded(body: dict, status: int) -> Response:
    """JSON when the client asks for it, else XML, as QBO does."""
    if "application/json" in request.headers.get("Accept", ""):
        return Response(dump_json(body), status, content_type=JSON_TYPE)
    return Response(dump_xml(body), status, content_type=XML_TYPE)


def _entity(segment: str) -> str:
    entity = ENTITY_SEGMENTS.get(segment.lower())
    if entity is None:
        raise unsupported_operation(f"Unsupported entity: {segment}")
    return entity


def _body() -> object:
    try:
        return load_json(request.get_data())
    except InvalidJson as exc:
        raise unsupported_operation(f"Request has invalid JSON: {exc}") from exc


def _replayed(limit: int) -> tuple[str | None, Response | None]:
    """The requestid, and the first response given for it when this is a repeat."""
    request_id = request.args.get("requestid")
    if request_id is None:
        return None, None
    if not request_id or len(request_id) > limit:
        raise invalid_value("requestid", f"requestid must be 1 to {limit} characters.")
    stored = _company().replies.get(request_id)
    if stored is None:
        return request_id, None
    return request_id, Response(stored.body, stored.status, content_type=stored.content_type)


def _write(request_id: str | None, run) -> Response:
    """Run a write under the company lock, remember it for its requestid, announce changes."""
    company = _company()
    ctx = WriteContext(
        _state().clock.now(),
        allow_duplicate_doc_number="allowduplicatedocnum" in request.args.get("include", ""),
    )
    with company.lock:
        try:
            response = _respond(run(company, ctx))
        except QboFault as fault:
            response = _fault_response(fault)
        if request_id is not None:
            company.replies[request_id] = StoredResponse(
                response.status_code, response.get_data(as_text=True), response.content_type
            )
    _notify(company, ctx)
    return response


def _notify(company: QboCompany, ctx: WriteContext) -> None:
    state = _state()
    target = state.webhook_target
    if target is None or not ctx.changes:
        return
    message = notification(target, company.realm_id, ctx.changes, WEBHOOK_SOURCE)
    if message is not None:
        body, headers = message
        state.webhooks.deliver(target.url, body, headers)


@api.post("/<segment>")
def write_entity(segment: str) -> Response:
    entity = _entity(segment)
    request_id, replay = _replayed(REQUEST_ID_MAX)
    if replay is not None:
        return replay
    body = _body()
    operation = request.args.get("operation", "").lower()
    include = request.args.get("include", "").lower()
    if operation == "delete":
        action = delete_entity
    elif operation == "void" or (operation == "update" and "void" in include):
        action = void_entity
    elif isinstance(body, dict) and body.get("Id") not in (None, ""):
        action = update_entity
    else:
        action = create_entity
    return _write(request_id, lambda company, ctx: {entity: action(company, entity, body, ctx)})


@api.get("/<segment>/<entity_id>")
def read(segment: str, entity_id: str) -> Response:
    entity = _entity(segment)
    if entity == "CompanyInfo":
        if entity_id != _company().realm_id:
            raise unsupported_operation(f"companyinfo/{entity_id} is not this company")
        entity_id = "1"
    return _respond({entity: read_entity(_company(), entity, entity_id)})


@api.get("/preferences")
def preferences() -> Response:
    return _respond({"Preferences": read_entity(_company(), "Preferences", "1")})


@api.route("/query", methods=["GET", "POST"])
def query() -> Response:
    text = request.args.get("query")
    if request.method == "POST" and not text:
        text = request.get_data(as_text=True)
    if not text:
        raise invalid_value("query", "A query statement is required.")
    return _respond({"QueryResponse": run_query(_company(), parse_query(text))})


@api.post("/batch")
def run_batch() -> Response:
    request_id, replay = _replayed(BATCH_REQUEST_ID_MAX)
    if replay is not None:
        return replay
    items = batch.check_batch(_body(), with_request_id=request_id is not None)
    return _write(
        request_id,
        lambda company, ctx: {"BatchItemResponse": batch.run_batch(company, items, ctx)},
    )


@api.get("/cdc")
def change_data_capture() -> Response:
    company, now = _company(), _state().clock.now()
    since = cdc.parse_changed_since(request.args.get("changedSince"), company, now)
    entities = cdc.parse_entities(request.args.get("entities"))
    return _respond(cdc.change_data_capture(company, entities, since))
