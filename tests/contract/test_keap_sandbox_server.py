"""The Keap stand-in served over real HTTP by werkzeug's threaded server, as `__main__` runs it."""

import threading

import requests
from werkzeug.serving import make_server

from invoicesync_sandbox.keap.app import create_app


def test_real_server_answers_control_and_authenticated_api_calls():
    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert requests.get(f"{base}/_sandbox/healthz", timeout=5).json()["provider"] == "keap"
        token = requests.post(f"{base}/_sandbox/token", json={}, timeout=5).json()
        response = requests.get(
            f"{base}/crm/rest/v2/orders",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=5,
        )
        assert response.status_code == 200
        assert response.json() == {"orders": [], "next_page_token": ""}
        assert response.headers["x-keap-product-throttle-limit"] == "1500"
    finally:
        server.shutdown()
        thread.join(5)
