import pytest

from invoicesync.settings import Settings, SettingsError


def test_production_defaults_are_the_real_provider_urls():
    settings = Settings.from_env({})
    assert settings.keap_api_base == "https://api.infusionsoft.com/crm"
    assert settings.xero_api_base == "https://api.xero.com"
    assert settings.xero_token_url == "https://identity.xero.com/connect/token"
    assert settings.qbo_api_base == "https://quickbooks.api.intuit.com"


def test_the_sandbox_is_chosen_by_configuration_alone():
    settings = Settings.from_env(
        {
            "INVOICESYNC_XERO_API_BASE": "http://127.0.0.1:8902/",
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:29092",
            "INVOICESYNC_CONSUMER_MAX_ATTEMPTS": "7",
            "INVOICESYNC_SMTP_STARTTLS": "yes",
        }
    )
    assert settings.endpoints("xero").api_base == "http://127.0.0.1:8902"
    assert settings.kafka_bootstrap_servers == "127.0.0.1:29092"
    assert settings.consumer_max_attempts == 7
    assert settings.smtp_starttls is True


def test_an_unreadable_number_names_the_setting():
    with pytest.raises(SettingsError, match="consumer_max_attempts"):
        Settings.from_env({"INVOICESYNC_CONSUMER_MAX_ATTEMPTS": "many"})


def test_reverse_sync_polls_ledgers_every_five_minutes_unless_told_otherwise():
    """Xero payments reach Keap only by this poll, so its interval is their worst latency."""
    assert Settings.from_env({}).reverse_sync_poll_interval_seconds == 300
    tuned = Settings.from_env({"INVOICESYNC_REVERSE_SYNC_POLL_INTERVAL_SECONDS": "120"})
    assert tuned.reverse_sync_poll_interval_seconds == 120


def test_keaps_app_limits_are_keaps_documented_ones_unless_keap_granted_more():
    defaults = Settings.from_env({})
    assert (defaults.keap_app_calls_per_minute, defaults.keap_app_calls_per_day) == (
        1_500,
        150_000,
    )
    granted = Settings.from_env({"INVOICESYNC_KEAP_APP_CALLS_PER_MINUTE": "6000"})
    assert granted.keap_app_calls_per_minute == 6_000
