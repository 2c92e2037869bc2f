"""A new business sets itself up in the console, in real Chromium against the running stack:
sign in, connect Keap and its ledger, settings from dropdowns, Sync ID, backfill, activity."""

from __future__ import annotations

import re

import pytest

from admin import tenant_operations as operations
from invoicesync.domain.canonical import Destination

pytestmark = [pytest.mark.browser, pytest.mark.infra]

LINES = [
    {"name": "Widget", "quantity": 2, "item_type": "OTHER", "price_per_unit": 12.5},
    {"name": "Sales tax", "quantity": 1, "item_type": "TAX", "price_per_unit": 2},
]


def _taxed_lines(keap) -> list[dict]:
    """A taxable product and Keap's sales tax on it: the ledger shows the tax as tax."""
    widget = keap.product("Widget", 1250, sku="WID-1", taxable=True)
    return [
        {"product_id": widget, "quantity": 2, "item_type": "PRODUCT", "price_per_unit": "12.50"},
        {"name": "Sales tax", "quantity": 1, "item_type": "TAX", "price_per_unit": "2.00"},
    ]


def _sign_in(page, stack, key: str) -> None:
    page.goto(f"{stack.url}/")
    page.fill("#api_key", key)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r".*/connections$"))


def _connect(page, provider_words: str) -> None:
    page.click(f"button:has-text('Connect {provider_words}')")
    page.wait_for_selector(f"text=Connect {provider_words} to")
    page.click("button:has-text('Connect to')")
    page.wait_for_selector(f"text={provider_words} is connected.")


def _sync(page, invoice_id: str) -> None:
    page.click("nav >> text=Sync ID")
    page.fill("#invoice_id", invoice_id)
    page.click("button:has-text('Sync')")
    page.wait_for_selector("#sync-result [data-outcome]")


def _set_up_business(page, stack, screenshot, destination: Destination, shots: bool) -> str:
    tenant, key = operations.create_tenant(stack.services, f"Acme {destination.value}", destination)
    page.goto(f"{stack.url}/signin")
    if shots:
        screenshot(page, "sign_in")
    _sign_in(page, stack, key.secret)
    _connect(page, "Keap")
    ledger_words = "Xero" if destination is Destination.XERO else "QuickBooks Online"
    _connect(page, ledger_words)
    organisation = page.text_content(f"[data-provider='{destination.value}'] .status")
    assert organisation.startswith("Connected")
    if shots:
        screenshot(page, "connections")

    page.click("nav >> text=Settings")
    if destination is Destination.XERO:
        picks = {"xero.default_account_code": "200", "xero.taxable_tax_type": "OUTPUT"}
        picks |= {"xero.zero_tax_type": "NONE", "xero.payment_account_code": "090"}
    else:
        items = page.eval_on_selector_all(
            "select[name='qbo.taxable_item_id'] option", "options => options.map(o => o.value)"
        )
        assert items, "the QuickBooks item list should come from the company"
        picks = {"qbo.taxable_item_id": items[0], "qbo.non_taxable_item_id": items[-1]}
    for name, value in picks.items():
        page.select_option(f"select[name='{name}']", value)
    assert page.is_disabled("input[name='sync.processing_enabled']")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("text=Settings saved.")
    page.check("input[name='sync.processing_enabled']")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("text=Settings saved.")
    assert page.is_checked("input[name='sync.processing_enabled']")
    if shots:
        screenshot(page, "settings")
    return tenant.id


def _run_the_scenario(page, stack, screenshot, destination: Destination, shots: bool) -> None:
    tenant_id = _set_up_business(page, stack, screenshot, destination, shots)
    order = stack.keap.order(_taxed_lines(stack.keap))

    _sync(page, str(order["invoice_id"]))
    assert page.get_attribute("#sync-result [data-outcome]", "data-outcome") == "created"
    assert page.text_content("[data-total='keap-total']") == "27.00"
    assert page.text_content("[data-total='destination-total']") == "27.00"
    assert "match to the cent" in page.text_content("#totals-verdict")
    if shots:
        screenshot(page, "sync_id")

    for _ in range(3):
        stack.keap.order(LINES)
    page.click("nav >> text=Backfill")
    page.click("button:has-text('Start backfill')")
    page.wait_for_selector("#backfill-progress[data-status='done']")
    assert page.text_content("#backfill-words").startswith("100 %")
    assert page.get_attribute("#backfill-bar", "value") == "100"
    if shots:
        screenshot(page, "backfill")

    # The ledger revokes our access: the next invoice fails, and Connections says so.
    stack.services.tokens.mark_disconnected(destination.value, tenant_id, "refresh token revoked")
    failing = stack.keap.order(LINES)
    _sync(page, str(failing["invoice_id"]))
    assert page.get_attribute("#sync-result [data-outcome]", "data-outcome") == "failed"
    page.click("nav >> text=Connections")
    warning = page.text_content(f"[data-provider='{destination.value}'] .warning")
    assert "connection was lost (refresh token revoked)" in warning
    if shots:
        screenshot(page, "connections_lost")
    page.click("nav >> text=Activity")
    page.select_option("#outcome", "failed")
    page.fill("#q", str(failing["invoice_id"]))
    page.click("button:has-text('Show')")
    failed_rows = page.locator("tr[data-outcome='failed']")
    assert failed_rows.count() == 1
    assert "connection lost" in failed_rows.first.text_content()
    page.select_option("#outcome", "")
    page.fill("#q", "")
    page.click("button:has-text('Show')")
    link = page.get_attribute("tr[data-outcome='created'] a", "href")
    expected = "go.xero.com" if destination is Destination.XERO else "app.qbo.intuit.com"
    assert expected in link
    if shots:
        screenshot(page, "activity")

    page.click("nav >> text=Health")
    page.wait_for_selector("svg.chart rect.synced")
    if shots:
        screenshot(page, "health")
    assert stack.services.activity.totals(tenant_id)["created"] >= 1


def test_a_new_xero_business_sets_up_syncs_backfills_and_finds_a_failure(
    console_stack, page, screenshot
):
    _run_the_scenario(page, console_stack, screenshot, Destination.XERO, shots=True)


def test_a_new_quickbooks_business_sets_up_syncs_backfills_and_finds_a_failure(
    console_stack, page, screenshot
):
    _run_the_scenario(page, console_stack, screenshot, Destination.QBO, shots=False)


def test_a_preview_on_the_sync_id_page_shows_the_document_and_writes_nothing(
    console_stack, page, screenshot
):
    tenant, key = operations.create_tenant(console_stack.services, "Preview Ltd", Destination.XERO)
    _sign_in(page, console_stack, key.secret)
    _connect(page, "Keap")
    _connect(page, "Xero")
    page.click("nav >> text=Settings")
    assert page.text_content("select[name='xero.default_account_code'] option[value='200']") == (
        "200 — Sales"
    )
    page.select_option("select[name='xero.default_account_code']", "200")
    page.select_option("select[name='xero.taxable_tax_type']", "OUTPUT")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("text=Settings saved.")
    order = console_stack.keap.order(_taxed_lines(console_stack.keap))  # processing stays off

    page.click("nav >> text=Sync ID")
    page.fill("#invoice_id", str(order["invoice_id"]))
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#sync-preview")

    assert page.get_attribute("#sync-preview", "data-action") == "create"
    assert page.text_content("[data-total='preview-total']") == "27.00"
    rows = page.locator("#preview-lines tbody tr")
    assert rows.count() == 1  # Keap's sales tax is the line's tax, not a line of its own
    widget = rows.first.text_content()
    assert "Widget" in widget and "200 — Sales" in widget and "OUTPUT — " in widget
    assert page.locator("#preview-lines tbody td.num").first.text_content() == "2"
    assert "to be created" in page.text_content("[data-fact='contact']")
    rules = page.text_content("#preview-rules")
    assert "processing is off" in rules and "Xero status AUTHORISED" in rules
    document = page.text_content("#preview-document")
    assert '"InvoiceNumber"' in document and '"LineAmount": 25.00' in document  # exact digits
    screenshot(page, "sync_preview")
    assert console_stack.services.activity.totals(tenant.id)["created"] == 0


def test_an_api_error_is_shown_in_words_next_to_its_field(console_stack, page, screenshot):
    _, key = operations.create_tenant(console_stack.services, "Wordy", Destination.XERO)
    _sign_in(page, console_stack, key.secret)
    page.click("nav >> text=Sync ID")
    page.fill("#invoice_id", "INV-7")
    page.click("button:has-text('Sync')")

    error = page.text_content(".field-error[data-field='invoice_id']")
    assert "must be a Keap invoice id: digits only" in error


def test_another_businesses_page_shows_not_yours_in_the_browser(console_stack, page):
    other, _ = operations.create_tenant(console_stack.services, "Other", Destination.XERO)
    _, key = operations.create_tenant(console_stack.services, "Mine", Destination.XERO)
    _sign_in(page, console_stack, key.secret)

    response = page.goto(f"{console_stack.url}/tenants/{other.id}/settings")

    assert response.status == 403
    assert "Not yours to see" in page.text_content("h1")
