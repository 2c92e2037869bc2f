"""Settings must name accounts, tax rates and items the tenant's own ledger has."""

from __future__ import annotations

from dataclasses import replace

from admin.reference_data import reference_errors
from invoicesync.domain.canonical import Destination
from invoicesync.domain.tenant_settings import QboSettings, TenantSettings


class Ledger:
    """The ReferenceData protocol over fixed lists."""

    def __init__(self, accounts=(), tax_rates=(), items=(), tax_codes=None, us_company=True):
        self._accounts, self._tax_rates, self._items = set(accounts), set(tax_rates), set(items)
        self._tax_codes = dict(tax_codes or {"TAX": "TAX", "NON": "NON"})
        self._us_company = us_company

    def accounts(self):
        return self._accounts

    def tax_rates(self):
        return self._tax_rates

    def items(self):
        return self._items

    def tax_codes(self):
        return self._tax_codes

    def us_company(self):
        return self._us_company


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


US_AGENCIES = {"TAX": "TAX", "NON": "NON", "3": "California", "7": "New York", "9": "Texas"}


def test_a_us_company_with_several_agencies_needs_its_tax_code_chosen():
    settings = TenantSettings(destination=Destination.QBO)

    errors = reference_errors(settings, Ledger(tax_codes=US_AGENCIES))

    assert set(errors) == {"qbo.tax_code_id"}
    assert "California, New York, Texas" in errors["qbo.tax_code_id"][0]


def test_a_chosen_us_tax_code_must_be_a_real_code_of_the_company():
    def with_code(code):
        return TenantSettings(destination=Destination.QBO, qbo=QboSettings(tax_code_id=code))

    assert reference_errors(with_code("7"), Ledger(tax_codes=US_AGENCIES)) == {}
    assert set(reference_errors(with_code("TAX"), Ledger(tax_codes=US_AGENCIES))) == {
        "qbo.tax_code_id"
    }
    assert set(reference_errors(with_code("42"), Ledger(tax_codes=US_AGENCIES))) == {
        "qbo.tax_code_id"
    }


def test_a_us_company_with_one_agency_needs_no_choice():
    settings = TenantSettings(destination=Destination.QBO)
    one_agency = {"TAX": "TAX", "NON": "NON", "3": "California"}

    assert reference_errors(settings, Ledger(tax_codes=one_agency)) == {}


def test_non_us_vat_codes_must_be_the_companys_own():
    settings = TenantSettings(
        destination=Destination.QBO,
        qbo=QboSettings(tax_code_id="4", non_taxable_tax_code_id="99", us_tax_model=False),
    )
    vat = Ledger(tax_codes={"4": "20.0% S", "6": "0.0% Z"}, us_company=False)

    assert set(reference_errors(settings, vat)) == {"qbo.non_taxable_tax_code_id"}
