"""Contract tests for the shared sandbox core: clock, tokens, limits, faults, control routes."""

import threading
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Blueprint, jsonify

from invoicesync_sandbox.core.app import create_sandbox_app
from invoicesync_sandbox.core.clock import SandboxClock
from invoicesync_sandbox.core.faults import FaultSettings
from invoicesync_sandbox.core.limits import ConcurrencyGate, RateLimiter, RateLimitRule
from invoicesync_sandbox.core.state import SandboxState
from invoicesync_sandbox.core.tokens import (
    InvalidGrant,
    TokenAuthority,
    TokenExpired,
    TokenInvalid,
)
from invoicesync_sandbox.core.webhooks import WebhookDispatcher


def _authority(clock: SandboxClock, grace: int | None = 60) -> TokenAuthority:
    return TokenAuthority(
        clock,
        access_ttl=1800,
        refresh_ttl=86400,
        single_use_refresh=True,
        reuse_grace_seconds=grace,
    )


class _DummyState(SandboxState):
    def __init__(self) -> None:
        super().__init__(
            "dummy", access_ttl=60, refresh_ttl=600, single_use_refresh=True, reuse_grace_seconds=0
        )
        self.resets = 0
        self.on_reset = self._count_reset

    def _count_reset(self) -> None:
        self.resets += 1

    def issue_token(self, payload: dict) -> dict:
        pair = self.tokens.issue(payload["client_id"], {"tenant": payload["tenant"]}, ("all",))
        return {"access_token": pair.access_token, "refresh_token": pair.refresh_token}

    def error_response(self, status: int, message: str):
        response = jsonify({"Dummy": message})
        response.status_code = status
        return response


def _dummy_app():
    api = Blueprint("dummy_api", __name__)

    @api.get("/api/things/<thing_id>")
    def thing(thing_id: str):
        return jsonify({"id": thing_id})

    state = _DummyState()
    return create_sandbox_app("dummy", state, [api]), state


def test_clock_is_aware_utc_and_moves_by_advance_then_back_on_reset():
    clock = SandboxClock()
    start = clock.now()
    assert start.tzinfo == UTC
    clock.advance(3600)
    assert clock.now() - start >= timedelta(seconds=3600)
    clock.reset()
    assert clock.now() - start < timedelta(seconds=60)


def test_code_exchange_gives_tokens_that_expire_with_the_clock():
    clock = SandboxClock()
    authority = _authority(clock)
    code = authority.create_code("invoicesync-demo", "http://localhost/cb", ["full"], {"t": 1})
    pair = authority.exchange_code(code, "invoicesync-demo", "http://localhost/cb")
    assert authority.check_access(pair.access_token).subject == {"t": 1}
    with pytest.raises(InvalidGrant):
        authority.exchange_code(code, "invoicesync-demo", "http://localhost/cb")
    clock.advance(1801)
    with pytest.raises(TokenExpired):
        authority.check_access(pair.access_token)
    with pytest.raises(TokenInvalid):
        authority.check_access("never-issued")


def test_code_for_another_redirect_is_refused():
    authority = _authority(SandboxClock())
    code = authority.create_code("invoicesync-demo", "http://localhost/a", ["full"], {})
    with pytest.raises(InvalidGrant):
        authority.exchange_code(code, "invoicesync-demo", "http://localhost/b")


def test_reused_refresh_within_grace_returns_the_same_pair_and_after_grace_fails():
    clock = SandboxClock()
    authority = _authority(clock, grace=60)
    first = authority.issue("invoicesync-demo", {}, ["full"])
    second = authority.refresh(first.refresh_token, "invoicesync-demo")
    assert second.refresh_token != first.refresh_token
    clock.advance(30)
    assert authority.refresh(first.refresh_token, "invoicesync-demo") == second
    clock.advance(31)
    with pytest.raises(InvalidGrant):
        authority.refresh(first.refresh_token, "invoicesync-demo")
    assert authority.refresh(second.refresh_token, "invoicesync-demo").access_token


def test_reused_refresh_without_grace_fails_at_once():
    authority = _authority(SandboxClock(), grace=None)
    first = authority.issue("invoicesync-demo", {}, ["full"])
    authority.refresh(first.refresh_token, "invoicesync-demo")
    with pytest.raises(InvalidGrant):
        authority.refresh(first.refresh_token, "invoicesync-demo")


def test_expired_refresh_and_other_client_refresh_are_refused():
    clock = SandboxClock()
    authority = _authority(clock)
    pair = authority.issue("invoicesync-demo", {}, ["full"])
    with pytest.raises(InvalidGrant):
        authority.refresh(pair.refresh_token, "someone-else")
    clock.advance(86401)
    with pytest.raises(InvalidGrant):
        authority.refresh(pair.refresh_token, "invoicesync-demo")


def test_demo_client_accepts_local_redirects_and_registered_clients_only_their_own():
    authority = _authority(SandboxClock())
    assert authority.check_client("invoicesync-demo", "demo-secret")
    assert not authority.check_client("invoicesync-demo", "wrong")
    assert authority.redirect_allowed("invoicesync-demo", "http://127.0.0.1:9000/cb")
    assert not authority.redirect_allowed("invoicesync-demo", "https://example.com/cb")
    authority.register_client("app", "s3", ["https://app.test/cb"])
    assert authority.redirect_allowed("app", "https://app.test/cb")
    assert not authority.redirect_allowed("app", "http://localhost/cb")


def test_revoked_access_token_is_invalid():
    authority = _authority(SandboxClock())
    pair = authority.issue("invoicesync-demo", {}, ["full"])
    authority.revoke(pair.refresh_token)
    with pytest.raises(TokenInvalid):
        authority.check_access(pair.access_token)


def test_sliding_window_refuses_over_limit_and_frees_as_calls_age_out():
    clock = SandboxClock()
    limiter = RateLimiter(clock)
    rule = RateLimitRule("minute", 3, 60)
    assert [limiter.hit("c", [rule]) for _ in range(3)] == [None, None, None]
    violation = limiter.hit("c", [rule])
    assert violation is not None and violation.rule == rule
    assert 59 <= violation.retry_after_seconds <= 60
    assert limiter.remaining("c", rule) == 0
    assert limiter.hit("other", [rule]) is None
    clock.advance(61)
    assert limiter.remaining("c", rule) == 3
    assert limiter.hit("c", [rule]) is None


def test_refused_call_is_not_counted_against_other_rules():
    limiter = RateLimiter(SandboxClock())
    tight, loose = RateLimitRule("tight", 1, 60), RateLimitRule("loose", 10, 60)
    limiter.hit("c", [tight, loose])
    assert limiter.hit("c", [tight, loose]).rule == tight
    assert limiter.remaining("c", loose) == 9


def test_disabled_limiter_always_allows():
    limiter = RateLimiter(SandboxClock())
    limiter.enabled = False
    rule = RateLimitRule("one", 1, 60)
    assert all(limiter.hit("c", [rule]) is None for _ in range(5))


def test_concurrency_gate_admits_up_to_limit_per_key():
    gate = ConcurrencyGate(2)
    assert gate.enter("a") and gate.enter("a")
    assert not gate.enter("a")
    assert gate.enter("b")
    gate.leave("a")
    with gate.slot("a") as admitted:
        assert admitted
        assert gate.active("a") == 2
    assert gate.active("a") == 1


def test_fault_draws_are_deterministic_for_a_seed():
    first, second = FaultSettings(seed=7), FaultSettings(seed=7)
    assert [first.chance(0.5) for _ in range(20)] == [second.chance(0.5) for _ in range(20)]


def test_fault_update_rejects_unknown_keys_and_starts_a_storm():
    clock = SandboxClock()
    faults = FaultSettings()
    with pytest.raises(ValueError):
        faults.update_from_json({"nonsense": 1})
    faults.update_from_json({"storm_429_seconds": 10}, clock.now())
    assert faults.storming(clock.now())
    clock.advance(11)
    assert not faults.storming(clock.now())


def test_injected_errors_use_the_provider_shape_and_spare_control_routes():
    app, state = _dummy_app()
    client = app.test_client()
    assert client.put("/_sandbox/faults", json={"error_rate": 1.0}).status_code == 200
    response = client.get("/api/things/1")
    assert response.status_code == 500
    assert response.get_json() == {"Dummy": "Internal server error"}
    assert client.get("/_sandbox/healthz").status_code == 200


def test_429_storm_applies_only_to_listed_endpoints():
    app, _ = _dummy_app()
    client = app.test_client()
    client.put("/_sandbox/faults", json={"storm_429_seconds": 60, "endpoints": ["/api/other"]})
    assert client.get("/api/things/1").status_code == 200
    client.put("/_sandbox/faults", json={"endpoints": []})
    assert client.get("/api/things/1").status_code == 429


def test_unknown_route_answers_in_the_provider_error_shape():
    app, _ = _dummy_app()
    response = app.test_client().get("/api/nothing")
    assert response.status_code == 404
    assert "Dummy" in response.get_json()


def test_control_routes_count_log_move_clock_and_reset():
    app, state = _dummy_app()
    client = app.test_client()
    client.get("/api/things/1", headers={"Authorization": "Bearer secret"})
    client.get("/api/things/2")
    assert client.get("/_sandbox/counters").get_json()["GET /api/things/<thing_id>"] == 2
    log = client.get("/_sandbox/requests?limit=1").get_json()
    assert len(log) == 1 and log[0]["path"] == "/api/things/2"
    first = client.get("/_sandbox/requests?limit=10").get_json()[0]
    assert "Authorization" not in first["headers"]
    moved = client.post("/_sandbox/clock", json={"advance_seconds": 120}).get_json()
    assert moved["offset_seconds"] == 120
    token = client.post("/_sandbox/token", json={"client_id": "c", "tenant": "t1"}).get_json()
    assert state.tokens.check_access(token["access_token"]).subject == {"tenant": "t1"}
    assert client.put("/_sandbox/limits", json={"enabled": False}).get_json() == {"enabled": False}
    created = client.post(
        "/_sandbox/clients", json={"client_id": "x", "client_secret": "y", "redirect_uris": []}
    )
    assert created.status_code == 201 and state.tokens.check_client("x", "y")
    assert client.post("/_sandbox/reset").status_code == 200
    assert state.resets == 1
    assert state.clock.offset_seconds == 0
    assert not state.tokens.check_client("x", "y")
    assert state.limiter.enabled
    assert client.get("/_sandbox/counters").get_json() == {}


class _Receiver(BaseHTTPRequestHandler):
    statuses: list[int] = []
    bodies: list[bytes] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        status = self.statuses.pop(0) if self.statuses else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.statuses, _Receiver.bodies = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver
    server.shutdown()
    server.server_close()


def _dispatcher(**faults) -> WebhookDispatcher:
    settings = FaultSettings(webhook_delay_seconds=0, **faults)
    return WebhookDispatcher(settings, SandboxClock(), retry_backoff_seconds=(0.01,))


def test_delivery_retries_after_a_failure_and_reports_the_outcome(receiver):
    url, handler = receiver
    handler.statuses = [500, 200]
    outcomes = []
    dispatcher = _dispatcher()
    dispatcher.deliver(url, b"{}", {}, on_complete=outcomes.append)
    assert dispatcher.flush(5)
    assert [d["status"] for d in dispatcher.deliveries] == [500, 200]
    assert outcomes[0].delivered and outcomes[0].attempts == 2


def test_stop_status_ends_retries_at_once(receiver):
    url, handler = receiver
    handler.statuses = [410, 200]
    dispatcher = _dispatcher()
    dispatcher.deliver(url, b"{}", {}, stop_statuses=frozenset({410}))
    dispatcher.flush(5)
    assert [d["status"] for d in dispatcher.deliveries] == [410]


def test_dropped_and_duplicated_deliveries_follow_the_fault_rates(receiver):
    url, handler = receiver
    dropping = _dispatcher(webhook_drop_rate=1.0)
    dropping.deliver(url, b"a", {})
    dropping.flush(5)
    assert dropping.deliveries[0]["dropped"] and handler.bodies == []
    duplicating = _dispatcher(webhook_duplicate_rate=1.0)
    duplicating.deliver(url, b"b", {})
    duplicating.flush(5)
    assert handler.bodies == [b"b", b"b"]
    assert [d["duplicated"] for d in duplicating.deliveries] == [False, True]


def test_release_pending_sends_delayed_deliveries_now(receiver):
    url, handler = receiver
    dispatcher = WebhookDispatcher(FaultSettings(webhook_delay_seconds=30), SandboxClock())
    dispatcher.deliver(url, b"late", {})
    dispatcher.release_pending()
    assert dispatcher.flush(5)
    assert handler.bodies == [b"late"]
