"""Token encryption: round trips, key rotation, refusing to start without a key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from invoicesync.crypto import TokenCipher, cipher_from_settings, generate_key
from invoicesync.errors import InvalidInput
from invoicesync.settings import Settings, SettingsError
from invoicesync.stores.tokens import ProviderConnection


def test_ciphertext_round_trips_and_hides_the_plaintext():
    cipher = TokenCipher(generate_key())
    token = b"access-token-7f3a9c"
    sealed = cipher.encrypt(token)
    assert token not in sealed
    assert cipher.decrypt(sealed) == token


def test_a_rotated_key_list_still_reads_what_the_old_key_wrote():
    old, new = generate_key(), generate_key()
    written_before = TokenCipher(old).encrypt(b"refresh-1")
    rotated = TokenCipher(f"{new},{old}")
    assert rotated.decrypt(written_before) == b"refresh-1"
    assert TokenCipher(new).decrypt(rotated.encrypt(b"refresh-2")) == b"refresh-2"


def test_decryptions_kept_per_process_stay_exact_and_bounded(monkeypatch):
    monkeypatch.setattr("invoicesync.crypto.DECRYPTED_KEPT", 3)
    cipher = TokenCipher(generate_key())
    sealed = [cipher.encrypt(f"token-{n}".encode()) for n in range(5)]

    expected = [f"token-{n}".encode() for n in range(5)]
    for _ in range(2):
        assert [cipher.decrypt(each) for each in sealed] == expected
    tampered = sealed[0][:-4] + b"AAAA"
    with pytest.raises(InvalidInput):
        cipher.decrypt(tampered)
    assert len(cipher._decrypted) == 3


def test_ciphertext_from_an_unknown_key_is_rejected_as_invalid_input():
    sealed = TokenCipher(generate_key()).encrypt(b"secret")
    with pytest.raises(InvalidInput):
        TokenCipher(generate_key()).decrypt(sealed)


def test_an_empty_key_refuses_to_start_unless_a_throwaway_key_is_accepted():
    with pytest.raises(SettingsError, match="token_encryption_key"):
        cipher_from_settings(Settings(token_encryption_key=""))
    throwaway = cipher_from_settings(Settings(token_encryption_key=""), allow_ephemeral_key=True)
    assert throwaway.decrypt(throwaway.encrypt(b"x")) == b"x"


def test_a_malformed_key_is_a_settings_error():
    with pytest.raises(SettingsError):
        TokenCipher("not-a-fernet-key")


def test_tokens_never_appear_in_a_connection_repr():
    connection = ProviderConnection(
        provider="xero",
        tenant_id="t1",
        access_token="ACCESS-SECRET",
        refresh_token="REFRESH-SECRET",
        access_expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        refresh_expires_at=None,
        external_id="org-1",
    )
    assert "SECRET" not in repr(connection)
    assert "org-1" in repr(connection)
