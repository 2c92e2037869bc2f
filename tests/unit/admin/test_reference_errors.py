"""Settings must name accounts, tax rates and items the tenant's own ledger has."""

from __future__ import annotations

from dataclasses import replace

from admin.reference_data import reference_errors
from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import QboSettings, TenantSettings


class Ledger:
    """The ReferenceData protocol over fixed lists."""

    def __init__(self, accounts=(), tax_rates=(), items=()):
        self._accounts, self._tax_rates, self._items = set(accounts), set(tax_rates), set(items)

    def accounts(self):
        return self._accounts

    def tax_rates(self):
        return self._tax_rates

    def items(self):
        return self._items


XERO_LEDGER = Ledger(accounts={"200", "090", "860", "400"}, tax_rates={"OUTPUT", "NONE"})


def test_xero_settings_naming_known_codes_pass():
    assert reference_errors(TenantSettings(destination=Destination.XERO), XERO_LEDGER) == {}


def test_an_unknown_account_code_and_tax_type_are_named():
    settings = TenantSettings(destination=Destination.XERO)
    settings = replace(
        settings,
        xero=replace(settings.xero, shipping_account_code="999", zero_tax_type="EXEMPTOUTPUT"),
    )

    errors = reference_errors(settings, XERO_LEDGER)

    assert set(errors) == {"xero.shipping_account_code", "xero.zero_tax_type"}


def test_qbo_items_must_exist():
    settings = TenantSettings(
        destination=Destination.QBO,
        qbo=QboSettings(taxable_item_id="1", non_taxable_item_id="77"),
    )

    assert set(reference_errors(settings, Ledger(items={"1", "2"}))) == {"qbo.non_taxable_item_id"}
