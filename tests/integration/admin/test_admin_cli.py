"""The operator CLI over the same operations as the API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from admin.cli import run
from admin.stores.activity import ActivityLog
from admin.stores.api_keys import ApiKeyStore, Role
from invoicesync.events import SyncAction, SyncResult
from invoicesync.stores.redis_connection import redis_from_settings
from tests.integration.admin.test_replay_routes import publish_dead_letters


def test_dev_key_is_made_once_and_is_an_operator_key(admin_settings, tmp_path, capsys):
    key_file = tmp_path / "dev-operator-key"

    run(["dev-key", "--file", str(key_file)], admin_settings)
    run(["dev-key", "--file", str(key_file)], admin_settings)

    first, second = capsys.readouterr().out.split()
    assert first == second
    key = ApiKeyStore(redis_from_settings(admin_settings)).authenticate(first)
    assert key is not None and key.role is Role.OPERATOR


def test_create_tenant_then_sync_id_and_status(admin_settings, capsys):
    assert run(["create-tenant", "--name", "Cli Co", "--destination", "qbo"], admin_settings) == 0
    tenant_id = capsys.readouterr().out.split()[1]

    synced = run(["sync-id", tenant_id, "991"], admin_settings)
    status = run(["status", tenant_id], admin_settings)
    missing = run(["status", "no-such-tenant"], admin_settings)

    output = capsys.readouterr().out
    assert (synced, status, missing) == (0, 0, 2)
    assert "invoice 991 queued" in output
    assert '"qbo": {' in output


def test_keys_and_hook_tokens_are_rotated_and_revoked_from_the_cli(admin_settings, capsys):
    run(["create-tenant", "--name", "Cli Co", "--destination", "xero"], admin_settings)
    created = capsys.readouterr().out.split()
    tenant_id, old_hook_url, old_key = created[1], created[4], created[7]
    store = ApiKeyStore(redis_from_settings(admin_settings))
    old_id = store.authenticate(old_key).key_id

    assert run(["rotate-key", old_id], admin_settings) == 0
    new_key = next(word for word in capsys.readouterr().out.split() if word.startswith("isk_"))
    assert run(["api-keys", tenant_id], admin_settings) == 0
    listed = capsys.readouterr().out
    assert run(["rotate-hook-token", tenant_id], admin_settings) == 0
    new_hook_url = capsys.readouterr().out.split()[-1]
    new_id = store.authenticate(new_key).key_id
    assert run(["revoke-key", new_id], admin_settings) == 0
    assert run(["revoke-key", "nosuchid"], admin_settings) == 2

    assert store.authenticate(old_key) is None
    assert new_id in listed and old_id not in listed
    assert new_hook_url.startswith("http") and new_hook_url != old_hook_url
    assert store.authenticate(new_key) is None


def test_retry_failed_queues_what_failed_once(admin_settings, capsys):
    run(["create-tenant", "--name", "Retry Co", "--destination", "xero"], admin_settings)
    tenant_id = capsys.readouterr().out.split()[1]
    failed = SyncResult("xero", "invoice", "812", SyncAction.FAILED, datetime.now(UTC))
    ActivityLog(redis_from_settings(admin_settings)).record(tenant_id, "e1", failed)

    first = run(["retry-failed", tenant_id], admin_settings)
    second = run(["retry-failed", tenant_id], admin_settings)
    missing = run(["retry-failed", "no-such-tenant"], admin_settings)

    output = capsys.readouterr().out.splitlines()
    assert (first, second, missing) == (0, 0, 2)
    assert output == [
        "1 failed invoices, payments or orders queued again",
        "0 failed invoices, payments or orders queued again",
    ]


def test_dlq_replay_replays_a_tenants_dead_letters_once(admin_settings, capsys):
    publish_dead_letters(
        admin_settings,
        [
            ("tenant-a", "invoicesync-transform", datetime.now(UTC), "1"),
            ("tenant-b", "invoicesync-transform", datetime.now(UTC), "2"),
        ],
    )

    first = run(["dlq-replay", "--tenant", "tenant-a"], admin_settings)
    second = run(
        ["dlq-replay", "--tenant", "tenant-a", "--group", "invoicesync-transform"], admin_settings
    )
    with pytest.raises(SystemExit, match="--since needs a UTC offset"):
        run(["dlq-replay", "--since", "2026-01-01T00:00:00"], admin_settings)

    output = capsys.readouterr().out.splitlines()
    assert (first, second) == (0, 0)
    assert output == [
        "1 replayed, 0 replayed before (1 matched)",
        "0 replayed, 1 replayed before (1 matched)",
    ]
