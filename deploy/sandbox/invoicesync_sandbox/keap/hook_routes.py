"""Keap REST v1 hook subscriptions: list, create (with handshake), verify, delete, event keys."""

from flask import Blueprint, Response, jsonify, request

from invoicesync_sandbox.keap.gateway import add_limit_headers, guard_api_request, keap_state
from invoicesync_sandbox.keap.hook_delivery import EVENT_KEYS, handshake
from invoicesync_sandbox.keap.representations import hook_json
from invoicesync_sandbox.keap.store import Hook

hooks_v1 = Blueprint("keap_hooks_v1", __name__, url_prefix="/crm/rest/v1")
hooks_v1.before_request(guard_api_request)
hooks_v1.after_request(add_limit_headers)


def _v1_error(status: int, message: str) -> Response:
    return keap_state().error_response(status, message)


@hooks_v1.get("/hooks/event_keys")
def event_keys() -> Response:
    return jsonify(list(EVENT_KEYS))


@hooks_v1.get("/hooks")
def list_hooks() -> Response:
    return jsonify([hook_json(hook) for hook in keap_state().store.hooks.values()])


def _hook_from_body(key: str) -> Hook | Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _v1_error(400, "Request body must be a JSON object")
    event_key, hook_url = body.get("eventKey"), body.get("hookUrl")
    if event_key not in EVENT_KEYS:
        return _v1_error(400, f"Invalid eventKey: {event_key}")
    if not isinstance(hook_url, str) or not hook_url.startswith(("http://", "https://")):
        return _v1_error(400, "Invalid hookUrl")
    return Hook(key=key, event_key=event_key, hook_url=hook_url)


@hooks_v1.post("/hooks")
def create_hook() -> Response:
    state = keap_state()
    hook = _hook_from_body(state.store.next_hook_key())
    if isinstance(hook, Response):
        return hook
    state.store.hooks[hook.key] = hook
    handshake(hook, state.handshake_timeout_seconds)
    return jsonify(hook_json(hook))


@hooks_v1.get("/hooks/<key>")
def get_hook(key: str) -> Response:
    hook = keap_state().store.hooks.get(key)
    if hook is None:
        return _v1_error(404, f"Hook {key} not found")
    return jsonify(hook_json(hook))


@hooks_v1.put("/hooks/<key>")
def replace_hook(key: str) -> Response:
    state = keap_state()
    if key not in state.store.hooks:
        return _v1_error(404, f"Hook {key} not found")
    hook = _hook_from_body(key)
    if isinstance(hook, Response):
        return hook
    state.store.hooks[key] = hook
    handshake(hook, state.handshake_timeout_seconds)
    return jsonify(hook_json(hook))


@hooks_v1.post("/hooks/<key>/verify")
def verify_hook(key: str) -> Response:
    state = keap_state()
    hook = state.store.hooks.get(key)
    if hook is None:
        return _v1_error(404, f"Hook {key} not found")
    handshake(hook, state.handshake_timeout_seconds)
    return jsonify(hook_json(hook))


@hooks_v1.post("/hooks/<key>/delayedVerify")
def delayed_verify_hook(key: str) -> Response:
    hook = keap_state().store.hooks.get(key)
    if hook is None:
        return _v1_error(404, f"Hook {key} not found")
    if hook.secret and request.headers.get("X-Hook-Secret") == hook.secret:
        hook.status = "Verified"
    return jsonify(hook_json(hook))


@hooks_v1.delete("/hooks/<key>")
def delete_hook(key: str) -> Response | tuple[str, int]:
    if keap_state().store.hooks.pop(key, None) is None:
        return _v1_error(404, f"Hook {key} not found")
    return "", 204
