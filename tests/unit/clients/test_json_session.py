"""The provider session: the environment's proxy settings still apply, read once per origin."""

from __future__ import annotations

from invoicesync.clients.json_body import DecimalJsonSession


def test_the_environments_proxy_applies_and_a_caller_may_not_change_what_is_kept(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "identity.xero.com")
    session = DecimalJsonSession()

    first = session.merge_environment_settings("https://api.xero.com/a", {}, None, None, None)
    first["proxies"]["https"] = "http://changed.example"
    again = session.merge_environment_settings("https://api.xero.com/b", {}, None, None, None)
    exempt = session.merge_environment_settings("https://identity.xero.com/", {}, None, None, None)

    assert again["proxies"]["https"] == "http://proxy.example:3128"
    assert "https" not in exempt["proxies"]


def test_a_proxy_given_with_the_call_wins_over_the_environments(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    session = DecimalJsonSession()
    session.merge_environment_settings("https://api.xero.com/", {}, None, None, None)

    given = {"https": "http://given.example:8080"}
    merged = session.merge_environment_settings("https://api.xero.com/", given, None, None, None)

    assert merged["proxies"]["https"] == "http://given.example:8080"
