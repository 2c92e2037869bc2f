from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicesync.domain.canonical import LineKind, PaymentKind
from invoicesync.domain.canonical_to_qbo import (
    QboItemRef,
    QboMappingError,
    qbo_batch_item_id,
    qbo_customer_from_canonical,
    qbo_invoice_from_canonical,
    qbo_payment_from_canonical,
    qbo_refund_receipt_from_refund,
    qbo_request_id,
    us_transaction_tax_code,
)
from invoicesync.domain.money import round_half_up
from invoicesync.domain.qbo_rounding import expected_qbo_totals, qbo_line_is_consistent
from invoicesync.domain.tenant_settings import QboSettings
from tests.unit.domain.canonical_builders import (
    charge,
    contact,
    inclusive_tax,
    invoice,
    payment,
    product,
)

D = Decimal
SETTINGS = QboSettings(
    taxable_item_id="11",
    non_taxable_item_id="12",
    tax_code_id="3",
    non_taxable_tax_code_id="9",
)
ITEMS = {"TEE": QboItemRef(item_id="40", name="T-shirt")}


def to_qbo(inv, settings=SETTINGS, items=None, us_company=True):
    return qbo_invoice_from_canonical(inv, settings, "58", items or {}, us_company)


def item_lines(body):
    return [line for line in body["Line"] if line["DetailType"] == "SalesItemLineDetail"]


def test_invoice_header_carries_keap_number_dates_customer_and_currency():
    body = to_qbo(invoice(product("10.00"), invoice_number="KEAP-1042", currency="CAD"))
    assert body["DocNumber"] == "KEAP-1042"
    assert (body["TxnDate"], body["DueDate"]) == ("2026-05-01", "2026-05-31")
    assert body["CustomerRef"] == {"value": "58"}
    assert body["CurrencyRef"] == {"value": "CAD"}


def test_invoice_numbers_longer_than_qbo_allows_are_refused():
    with pytest.raises(QboMappingError, match="21"):
        to_qbo(invoice(product("10.00"), invoice_number="X" * 22))


def test_a_third_of_100_keeps_keaps_amount_and_passes_qbos_6070_check():
    [line] = to_qbo(invoice(product("33.3333333333", "3", line_amount="100.00")))["Line"]
    detail = line["SalesItemLineDetail"]
    assert line["Amount"] == D("100.00")
    assert (detail["Qty"], detail["UnitPrice"]) == (D("3"), D("33.333"))
    assert round_half_up(detail["Qty"] * detail["UnitPrice"]) == line["Amount"]


@given(
    cents=st.integers(min_value=1, max_value=100_000_000),
    quantity=st.decimals(
        min_value=D("0.01"), max_value=D("10000"), places=2, allow_nan=False, allow_infinity=False
    ),
)
def test_every_item_line_passes_qbos_6070_check_with_keaps_exact_amount(cents, quantity):
    amount = D(cents).scaleb(-2)
    unit = (amount / quantity).quantize(D("0.0000000001"))
    inv = invoice(product(str(unit), str(quantity), line_amount=str(amount)))
    [line] = to_qbo(inv)["Line"]
    assert line["Amount"] == amount
    assert qbo_line_is_consistent(line)


def test_us_lines_use_tax_and_non_pseudo_codes_and_keaps_tax_overrides_qbos():
    inv = invoice(
        product("100.00", taxable=True),
        product("20.00", description="Ebook"),
        charge(LineKind.TAX, "8.25"),
    )
    body = to_qbo(inv, us_company=True)
    codes = [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in body["Line"]]
    assert codes == ["TAX", "NON"]
    assert body["TxnTaxDetail"] == {"TotalTax": D("8.25"), "TxnTaxCodeRef": {"value": "3"}}
    assert "GlobalTaxCalculation" not in body
    assert expected_qbo_totals(body).total == inv.totals.total == D("128.25")


def test_us_taxable_and_non_taxable_lines_use_the_configured_items():
    inv = invoice(product("100.00", taxable=True), product("20.00"))
    items = [line["SalesItemLineDetail"]["ItemRef"]["value"] for line in to_qbo(inv)["Line"]]
    assert items == ["11", "12"]


def test_non_us_lines_carry_real_tax_codes_and_global_tax_calculation():
    inv = invoice(product("100.00", taxable=True), product("20.00"), charge(LineKind.TAX, "20.00"))
    body = to_qbo(inv, us_company=False)
    codes = [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in body["Line"]]
    assert codes == ["3", "9"]
    assert body["GlobalTaxCalculation"] == "TaxExcluded"
    assert "TxnTaxDetail" not in body


def test_non_us_tax_inclusive_prices_are_marked_inclusive():
    inv = invoice(product("120.00", taxable=True), inclusive_tax("20.00"), tax_inclusive=True)
    body = to_qbo(inv, us_company=False)
    assert body["GlobalTaxCalculation"] == "TaxInclusive"
    assert expected_qbo_totals(body).total == D("120.00")


def test_non_us_without_a_zero_tax_code_cannot_be_mapped():
    settings = QboSettings(taxable_item_id="11", non_taxable_item_id="12", tax_code_id="3")
    with pytest.raises(QboMappingError, match="tax code"):
        to_qbo(invoice(product("20.00")), settings, us_company=False)


def test_missing_item_setting_cannot_be_mapped():
    with pytest.raises(QboMappingError, match="non-taxable"):
        to_qbo(invoice(product("20.00")), QboSettings(taxable_item_id="11"))


def test_discounts_become_one_positive_discount_line():
    inv = invoice(
        product("100.00"),
        charge(LineKind.DISCOUNT, "-10.00", description="Spring sale"),
        charge(LineKind.DISCOUNT, "-2.50", description="Coupon"),
    )
    body = to_qbo(inv)
    discount = body["Line"][-1]
    assert discount["DetailType"] == "DiscountLineDetail"
    assert discount["Amount"] == D("12.50")
    assert discount["Description"] == "Spring sale; Coupon"
    assert discount["DiscountLineDetail"] == {"PercentBased": False}
    totals = expected_qbo_totals(body)
    assert (totals.subtotal, totals.discount, totals.total) == (D("100.00"), D("12.50"), D("87.50"))
    assert totals.total == inv.totals.total


def test_shipping_and_finance_charges_use_their_items_when_set():
    settings = QboSettings(
        taxable_item_id="11",
        non_taxable_item_id="12",
        shipping_item_id="21",
        finance_charge_item_id="22",
    )
    inv = invoice(
        product("10.00"), charge(LineKind.SHIPPING, "5.00"), charge(LineKind.FINANCE_CHARGE, "1.50")
    )
    items = [
        line["SalesItemLineDetail"]["ItemRef"]["value"] for line in to_qbo(inv, settings)["Line"]
    ]
    assert items == ["12", "21", "22"]
    assert expected_qbo_totals(to_qbo(inv, settings)).total == D("16.50")


def test_shipping_without_its_own_item_uses_the_taxability_item():
    inv = invoice(charge(LineKind.SHIPPING, "5.00", taxable=True), charge(LineKind.TAX, "0.40"))
    [line] = to_qbo(inv)["Line"]
    assert line["SalesItemLineDetail"]["ItemRef"] == {"value": "11"}


def test_sku_matching_picks_the_matching_item_for_every_product_sharing_the_sku():
    settings = QboSettings(taxable_item_id="11", non_taxable_item_id="12", sku_matching=True)
    inv = invoice(
        product("20.00", description="Tee red", sku="TEE"),
        product("20.00", description="Tee blue", sku="TEE"),
        product("9.00", description="Mug", sku="MUG"),
    )
    lines = to_qbo(inv, settings, ITEMS)["Line"]
    assert [line["SalesItemLineDetail"]["ItemRef"]["value"] for line in lines] == ["40", "40", "12"]
    assert [line["Description"] for line in lines] == ["Tee red", "Tee blue", "Mug"]


def test_sku_matching_off_ignores_matching_items():
    [line] = to_qbo(invoice(product("20.00", sku="TEE")), SETTINGS, ITEMS)["Line"]
    assert line["SalesItemLineDetail"]["ItemRef"]["value"] == "12"


def test_payment_is_linked_to_the_invoice_and_deposited():
    body = qbo_payment_from_canonical(payment("50.00"), "130", "58", "35")
    assert body["TotalAmt"] == D("50.00")
    assert body["CustomerRef"] == {"value": "58"}
    assert body["DepositToAccountRef"] == {"value": "35"}
    assert body["Line"] == [
        {"Amount": D("50.00"), "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}
    ]
    assert body["PaymentRefNum"] == "7781"
    assert body["TxnDate"] == "2026-05-05"


def test_payment_without_deposit_account_goes_to_undeposited_funds():
    assert "DepositToAccountRef" not in qbo_payment_from_canonical(payment(), "130", "58", "")


def test_a_refund_is_not_sent_as_a_payment():
    with pytest.raises(ValueError):
        qbo_payment_from_canonical(payment(kind=PaymentKind.REFUND), "130", "58", "35")


def test_refund_becomes_a_refund_receipt_paid_from_the_refund_account():
    refund = payment("-20.00", kind=PaymentKind.REFUND, payment_id="9001")
    body = qbo_refund_receipt_from_refund(refund, "1042", "58", "35", SETTINGS, us_company=True)
    assert body["DepositToAccountRef"] == {"value": "35"}
    assert body["DocNumber"] == "R9001"
    [line] = body["Line"]
    assert line["Amount"] == D("20.00")
    assert line["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert qbo_line_is_consistent(line)


def test_refund_receipt_needs_the_account_it_is_paid_from():
    refund = payment("20.00", kind=PaymentKind.REFUND)
    with pytest.raises(QboMappingError):
        qbo_refund_receipt_from_refund(refund, "1042", "58", "", SETTINGS, us_company=True)


def test_customer_has_display_name_email_company_and_keap_id():
    body = qbo_customer_from_canonical(contact(company="Acme"), "Jane Smith")
    assert body == {
        "DisplayName": "Jane Smith",
        "Notes": "keap_contact_id=1234",
        "PrimaryEmailAddr": {"Address": "jane@example.com"},
        "CompanyName": "Acme",
    }


def test_customer_with_an_unusable_email_sends_none():
    assert "PrimaryEmailAddr" not in qbo_customer_from_canonical(contact(email="jane"), "Jane")


def test_request_id_is_stable_per_content_and_short_enough_for_batches():
    request_id = qbo_request_id("t1", "1042", "hash-a")
    assert request_id == qbo_request_id("t1", "1042", "hash-a")
    assert request_id != qbo_request_id("t1", "1042", "hash-b")
    assert request_id != qbo_request_id("t1", "1042", "hash-a", operation="payment")
    assert len(request_id) <= 36


def test_batch_item_ids_are_deterministic_and_at_most_ten_characters():
    assert qbo_batch_item_id(0) == "b0"
    assert qbo_batch_item_id(29) == qbo_batch_item_id(29) == "b29"
    assert len(qbo_batch_item_id(999_999_999)) == 10
    with pytest.raises(ValueError):
        qbo_batch_item_id(1_000_000_000)


def test_a_us_company_with_several_agencies_never_gets_a_guessed_tax_code():
    codes = {"TAX": "TAX", "NON": "NON", "3": "California", "12": "New York"}

    with pytest.raises(QboMappingError, match=r"qbo\.tax_code_id.*California, New York"):
        us_transaction_tax_code("", codes)
    assert us_transaction_tax_code("12", codes) == "12"


def test_a_us_company_with_one_agency_uses_its_only_code():
    assert us_transaction_tax_code("", {"TAX": "TAX", "NON": "NON", "3": "California"}) == "3"
    assert us_transaction_tax_code("", {"TAX": "TAX", "NON": "NON"}) == ""
