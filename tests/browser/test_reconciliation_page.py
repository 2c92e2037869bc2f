"""The Reconciliation page in real Chromium: a period read while the page shows its progress,
the four groups with the fields that differ, the CSV link and re-sync."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoicesync.domain.canonical import Destination
from tests.browser.test_console_in_chromium import LINES, _set_up_business, _sync
from tests.e2e.ledgers import XeroLedger, keap_figures

pytestmark = [pytest.mark.browser, pytest.mark.infra]

ORDER_TIME = "2026-04-07T10:00:00Z"


def test_the_reconciliation_page_shows_each_group_and_resyncs(console_stack, page, screenshot):
    stack = console_stack
    tenant_id = _set_up_business(page, stack, screenshot, Destination.XERO, shots=False)
    orders = [stack.keap.order(LINES, order_time=ORDER_TIME) for _ in range(3)]
    for order in orders:
        _sync(page, str(order["invoice_id"]))
    organisation = stack.services.tokens.load("xero", tenant_id).external_id
    ledger = XeroLedger(stack.settings.xero_api_base, organisation)
    edited, voided = (
        ledger.invoices(keap_figures(order).invoice_number)[0] for order in orders[:2]
    )
    lines = ledger.line_with_unit_amount(edited.id, Decimal("30.00"))
    ledger.edit_invoice(edited.id, {"LineItems": lines})
    ledger.edit_invoice(voided.id, {"Status": "VOIDED"})

    page.click("nav >> text=Reconciliation")
    page.fill("#from", "2026-04-01")
    page.fill("#to", "2026-04-30")
    page.click("button:has-text('Reconcile')")
    page.wait_for_selector("#reconciliation[data-status='done']")
    shown = page.text_content("#reconciliation-report")
    assert page.locator("table.report[data-group='matched'] tbody tr").count() == 1, shown
    different = page.text_content("table.report[data-group='different']")
    assert "total: Keap 27.00 · ledger" in different
    missing = page.text_content("table.report[data-group='missing_in_ledger']")
    assert "Last: created" in missing
    assert "API calls" in page.text_content("#reconciliation-words")
    csv_link = page.get_attribute("a:has-text('Download CSV')", "href")
    assert csv_link.endswith("/csv")
    screenshot(page, "reconciliation")

    page.click("button:has-text('Re-sync 2 missing or different')")
    page.wait_for_selector("text=Re-sync: 2 Keap orders sent through the sync again.")
