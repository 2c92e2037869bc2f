"""Flask factory shared by the stand-ins: fault injection, call counting and the control routes."""

import time
import uuid
from datetime import date

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from invoicesync_sandbox.core.state import HIDDEN_HEADERS, SandboxState

CONTROL_PREFIX = "/_sandbox"


def current_state() -> SandboxState:
    """The state of the app serving the current request."""
    return current_app.extensions["sandbox_state"]


def create_sandbox_app(name: str, state: SandboxState, blueprints: list[Blueprint]) -> Flask:
    app = Flask(name)
    app.json.sort_keys = False
    app.extensions["sandbox_state"] = state
    app.register_blueprint(control_blueprint())
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    app.before_request(_inject_faults)
    app.after_request(_log_request)
    app.after_request(_hold_back_answer)
    app.register_error_handler(HTTPException, _http_error)
    return app


def is_control_path(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def _inject_faults() -> Response | None:
    g.request_id = str(uuid.uuid4())
    state = current_state()
    faults = state.faults
    if is_control_path(request.path) or not faults.applies_to(request.path):
        return None
    if faults.storming(state.clock.now()):
        return state.error_response(429, "Too many requests")
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if faults.chance(faults.timeout_rate):
        time.sleep(faults.timeout_seconds)
        return state.error_response(504, "Gateway timeout")
    if faults.chance(faults.error_rate):
        return state.error_response(500, "Internal server error")
    return None


def _hold_back_answer(response: Response) -> Response:
    """`late_answer_seconds`: the view has done its work; only the answer is late."""
    faults = current_state().faults
    if (
        faults.late_answer_seconds
        and not is_control_path(request.path)
        and faults.applies_to(request.path)
    ):
        time.sleep(faults.late_answer_seconds)
    return response


def _log_request(response: Response) -> Response:
    """Count and log provider API calls; control routes stay out of the figures they report."""
    state = current_state()
    request_id = getattr(g, "request_id", None) or str(uuid.uuid4())
    response.headers.setdefault(state.request_id_header, request_id)
    if is_control_path(request.path):
        return response
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    state.count(f"{request.method} {rule}")
    state.record_request(
        {
            "time": state.clock.now().isoformat(),
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("utf-8", "replace"),
            "status": response.status_code,
            "request_id": request_id,
            "headers": {
                key: value
                for key, value in request.headers.items()
                if key.lower() not in HIDDEN_HEADERS
            },
            "body_size": request.content_length or 0,
            # What the client sent, so a test can compare a posted document field for field.
            "body": request.get_json(silent=True) if request.is_json else None,
        }
    )
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if is_control_path(request.path):
        response = jsonify({"error": error.description})
        response.status_code = status
        return response
    return current_state().error_response(status, error.description or error.name)


def _bad_control_request(message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = 400
    return response


def control_blueprint() -> Blueprint:
    control = Blueprint("sandbox_control", __name__, url_prefix=CONTROL_PREFIX)

    @control.post("/reset")
    def reset() -> Response:
        current_state().reset()
        return jsonify({"reset": True})

    @control.post("/token")
    def token() -> Response:
        try:
            return jsonify(current_state().issue_token(request.get_json(force=True) or {}))
        except (KeyError, ValueError) as exc:
            return _bad_control_request(str(exc))

    @control.route("/faults", methods=["GET", "PUT"])
    def faults() -> Response:
        state = current_state()
        if request.method == "PUT":
            try:
                state.faults.update_from_json(request.get_json(force=True) or {}, state.clock.now())
            except (TypeError, ValueError) as exc:
                return _bad_control_request(str(exc))
        return jsonify(state.faults.to_json())

    @control.route("/clock", methods=["GET", "POST"])
    def clock() -> Response:
        state = current_state()
        if request.method == "POST":
            body = request.get_json(force=True) or {}
            if body.get("reset"):
                state.clock.reset()
            state.clock.advance(float(body.get("advance_seconds", 0)))
        return jsonify(
            {"now": state.clock.now().isoformat(), "offset_seconds": state.clock.offset_seconds}
        )

    @control.get("/counters")
    def counters() -> Response:
        return jsonify(dict(current_state().counters))

    @control.get("/requests")
    def requests_log() -> Response:
        limit = request.args.get("limit", default=100, type=int)
        entries = list(current_state().request_log)
        return jsonify(entries[-limit:] if limit > 0 else [])

    @control.put("/limits")
    def limits() -> Response:
        state = current_state()
        body = request.get_json(force=True) or {}
        if "enabled" in body:
            state.limiter.enabled = bool(body["enabled"])
        return jsonify({"enabled": state.limiter.enabled})

    @control.post("/clients")
    def clients() -> Response:
        body = request.get_json(force=True) or {}
        try:
            created_on = body.get("created_on")
            current_state().tokens.register_client(
                body["client_id"],
                body["client_secret"],
                list(body.get("redirect_uris", [])),
                created_on=date.fromisoformat(created_on) if created_on else None,
            )
        except KeyError as exc:
            return _bad_control_request(f"missing field {exc}")
        except (TypeError, ValueError) as exc:
            return _bad_control_request(f"created_on: {exc}")
        return jsonify({"client_id": body["client_id"]}), 201

    @control.get("/webhooks/deliveries")
    def deliveries() -> Response:
        return jsonify(list(current_state().webhooks.deliveries))

    @control.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok", "provider": current_state().name})

    return control
