import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from invoicesync.domain.canonical import LineKind, PaymentKind
from invoicesync.domain.canonical_to_xero import (
    XeroItemRef,
    xero_contact_from_canonical,
    xero_credit_note_allocation,
    xero_credit_note_from_refund,
    xero_credit_note_refund_payment,
    xero_idempotency_key,
    xero_invoice_from_canonical,
    xero_payment_from_canonical,
    xero_refund_split,
    xero_unitdp_for,
)
from invoicesync.domain.money import round_half_up
from invoicesync.domain.tenant_settings import XeroInvoiceStatus, XeroSettings
from invoicesync.domain.xero_rounding import expected_xero_totals, reconcile_xero_invoice
from tests.unit.domain.canonical_builders import (
    charge,
    contact,
    inclusive_tax,
    invoice,
    payment,
    product,
)

D = Decimal
SETTINGS = XeroSettings(taxable_tax_type="OUTPUT2", zero_tax_type="NONE")
RATES = {"OUTPUT2": D("15"), "NONE": D("0")}


def to_xero(inv, settings=SETTINGS, items=None):
    return xero_invoice_from_canonical(inv, settings, "contact-uuid", items or {})


def test_invoice_header_carries_keap_number_dates_currency_and_contact():
    body = to_xero(invoice(product("10.00"), invoice_number="KEAP-1042", currency="NZD"))
    assert body["Type"] == "ACCREC"
    assert body["InvoiceNumber"] == "KEAP-1042"
    assert body["Contact"] == {"ContactID": "contact-uuid"}
    assert (body["Date"], body["DueDate"]) == ("2026-05-01", "2026-05-31")
    assert body["CurrencyCode"] == "NZD"
    assert body["Reference"] == "Keap order 987"


@pytest.mark.parametrize("status", list(XeroInvoiceStatus))
def test_invoice_status_comes_from_settings(status):
    body = to_xero(invoice(product("10.00")), XeroSettings(invoice_status=status))
    assert body["Status"] == status.value


def test_line_keeps_keap_description_quantity_price_and_amount():
    [line] = to_xero(invoice(product("19.99", "3", description="Coaching")))["LineItems"]
    assert line["Description"] == "Coaching"
    assert (line["Quantity"], line["UnitAmount"], line["LineAmount"]) == (
        D("3"),
        D("19.99"),
        D("59.97"),
    )


def test_exclusive_pricing_when_keap_adds_tax_on_top():
    inv = invoice(product("100.00", taxable=True), charge(LineKind.TAX, "15.00"))
    body = to_xero(inv)
    assert body["LineAmountTypes"] == "Exclusive"
    assert [item["Description"] for item in body["LineItems"]] == ["Widget"]


def test_inclusive_pricing_when_keap_prices_hold_the_tax():
    inv = invoice(product("115.00", taxable=True), inclusive_tax("15.00"), tax_inclusive=True)
    assert to_xero(inv)["LineAmountTypes"] == "Inclusive"


def test_no_tax_when_no_line_is_taxable_and_keap_tax_lines_stay_as_lines():
    inv = invoice(product("100.00"), charge(LineKind.TAX, "7.00"))
    body = to_xero(inv)
    assert body["LineAmountTypes"] == "NoTax"
    assert [item["LineAmount"] for item in body["LineItems"]] == [D("100.00"), D("7.00")]
    assert {item["TaxType"] for item in body["LineItems"]} == {"NONE"}


def test_taxable_lines_get_the_taxable_tax_type_and_others_the_zero_one():
    inv = invoice(product("10.00", taxable=True), product("5.00", description="Ebook"))
    taxable, untaxed = to_xero(inv)["LineItems"]
    assert (taxable["TaxType"], untaxed["TaxType"]) == ("OUTPUT2", "NONE")


def test_discount_shipping_and_finance_charge_use_their_account_overrides():
    settings = XeroSettings(
        default_account_code="200",
        discount_account_code="210",
        shipping_account_code="220",
        finance_charge_account_code="230",
    )
    inv = invoice(
        product("50.00"),
        charge(LineKind.DISCOUNT, "-5.00"),
        charge(LineKind.SHIPPING, "7.50"),
        charge(LineKind.FINANCE_CHARGE, "2.00"),
    )
    codes = [item["AccountCode"] for item in to_xero(inv, settings)["LineItems"]]
    assert codes == ["200", "210", "220", "230"]


def test_blank_account_overrides_fall_back_to_the_default():
    inv = invoice(product("50.00"), charge(LineKind.DISCOUNT, "-5.00"))
    codes = [item["AccountCode"] for item in to_xero(inv, XeroSettings())["LineItems"]]
    assert codes == ["200", "200"]


def test_discount_lines_are_negative_lines():
    inv = invoice(product("50.00"), charge(LineKind.DISCOUNT, "-5.00"))
    discount = to_xero(inv)["LineItems"][1]
    assert (discount["Quantity"], discount["UnitAmount"], discount["LineAmount"]) == (
        D("1"),
        D("-5.00"),
        D("-5.00"),
    )


ITEMS = {"TEE": XeroItemRef(code="TEE", sales_account_code="260")}


def test_sku_matching_uses_the_items_sales_account_for_every_product_sharing_the_sku():
    settings = XeroSettings(sku_matching=True)
    inv = invoice(
        product("20.00", description="Tee red", sku="TEE"),
        product("20.00", description="Tee blue", sku="TEE"),
        product("9.00", description="Mug", sku="MUG"),
    )
    lines = to_xero(inv, settings, ITEMS)["LineItems"]
    assert [line["AccountCode"] for line in lines] == ["260", "260", "200"]
    assert [line["Description"] for line in lines] == ["Tee red", "Tee blue", "Mug"]
    assert all("ItemCode" not in line for line in lines)


def test_sku_matching_sets_item_code_only_when_asked():
    settings = XeroSettings(sku_matching=True, sku_sets_item_code=True)
    lines = to_xero(
        invoice(product("20.00", sku="TEE"), product("9.00", sku="MUG")), settings, ITEMS
    )
    assert lines["LineItems"][0]["ItemCode"] == "TEE"
    assert "ItemCode" not in lines["LineItems"][1]


def test_sku_matching_off_ignores_matching_items():
    line = to_xero(invoice(product("20.00", sku="TEE")), XeroSettings(), ITEMS)["LineItems"][0]
    assert line["AccountCode"] == "200"


def test_matched_item_without_sales_account_keeps_the_default_account():
    items = {"TEE": XeroItemRef(code="TEE")}
    settings = XeroSettings(sku_matching=True)
    assert to_xero(invoice(product("1.00", sku="TEE")), settings, items)["LineItems"][0][
        "AccountCode"
    ] == ("200")


def test_a_third_of_100_uses_a_three_decimal_unit_amount_and_asks_for_unitdp_4():
    inv = invoice(product("33.333333", "3", line_amount="100.00"))
    body = to_xero(inv)
    [line] = body["LineItems"]
    assert line["UnitAmount"] == D("33.333")
    assert round_half_up(line["Quantity"] * line["UnitAmount"]) == line["LineAmount"] == D("100")
    assert xero_unitdp_for(body) == 4


def test_two_decimal_bodies_need_no_unitdp():
    assert xero_unitdp_for(to_xero(invoice(product("19.99", "3")))) == 2


def test_quantity_too_large_for_four_decimals_is_billed_as_one_unit():
    [line] = to_xero(invoice(product("0.10001", "1000", line_amount="100.01")))["LineItems"]
    assert (line["Quantity"], line["UnitAmount"], line["LineAmount"]) == (
        D("1"),
        D("100.01"),
        D("100.01"),
    )
    assert "1000" in line["Description"]


def three_taxable_lines(keap_tax: str):
    return invoice(
        *(product("25.43", taxable=True) for _ in range(3)), charge(LineKind.TAX, keap_tax)
    )


def test_expected_totals_round_tax_per_line_like_xero():
    # 3 × 25.43 at 15 %: per line 3.81 each (11.43); on the subtotal it would be 11.44.
    body = to_xero(three_taxable_lines("11.44"))
    assert expected_xero_totals(body, RATES).total_tax == D("11.43")


def test_reconciliation_overrides_line_tax_when_xeros_rounding_misses_keaps_tax():
    inv = three_taxable_lines("11.44")
    result = reconcile_xero_invoice(to_xero(inv), inv, RATES, SETTINGS)
    assert [item["TaxAmount"] for item in result.body["LineItems"]] == [
        D("3.82"),
        D("3.81"),
        D("3.81"),
    ]
    assert (result.totals.total_tax, result.totals.total) == (D("11.44"), D("87.73"))
    assert result.totals.total == inv.totals.total
    assert len(result.notes) == 1 and "rounds tax per line" in result.notes[0]


def test_reconciliation_shares_keaps_tax_by_amount_when_the_rates_differ():
    inv = invoice(
        product("100.00", taxable=True),
        product("300.00", taxable=True),
        charge(LineKind.TAX, "20.00"),
    )
    result = reconcile_xero_invoice(to_xero(inv), inv, RATES, SETTINGS)
    assert [item["TaxAmount"] for item in result.body["LineItems"]] == [D("5.00"), D("15.00")]
    assert result.totals.total == inv.totals.total == D("420.00")
    assert "not Xero's 15% on these lines" in result.notes[0]


def test_reconciliation_leaves_a_matching_invoice_alone():
    inv = invoice(product("100.00", taxable=True), charge(LineKind.TAX, "15.00"))
    body = to_xero(inv)
    result = reconcile_xero_invoice(body, inv, RATES, SETTINGS)
    assert result.body == body
    assert result.notes == ()
    assert result.totals.total == D("115.00")


def test_inclusive_invoice_matches_xeros_worked_example_without_adjustment():
    settings = XeroSettings(taxable_tax_type="OUTPUT", zero_tax_type="NONE")
    inv = invoice(
        product("177.00", taxable=True),
        product("-79.00", taxable=True, description="Return"),
        inclusive_tax("10.89"),
        tax_inclusive=True,
    )
    result = reconcile_xero_invoice(to_xero(inv, settings), inv, {"OUTPUT": D("12.5")}, settings)
    assert result.notes == ()
    assert result.totals.total_tax == D("10.89")
    assert (result.totals.subtotal, result.totals.total) == (D("87.11"), D("98.00"))


def test_a_total_xero_cannot_reach_gets_a_rounding_line():
    settings = XeroSettings(rounding_account_code="860")
    inv = invoice(product("10.00"), product("5.00"), total="15.01")
    result = reconcile_xero_invoice(to_xero(inv, settings), inv, RATES, settings)
    rounding = result.body["LineItems"][-1]
    assert (rounding["AccountCode"], rounding["LineAmount"]) == ("860", D("0.01"))
    assert rounding["TaxType"] == "NONE"
    assert result.totals.total == D("15.01")
    assert "rounding account 860" in result.notes[0]


def test_reconciliation_needs_the_rate_of_the_taxable_tax_type():
    inv = invoice(product("10.00", taxable=True), charge(LineKind.TAX, "1.50"))
    with pytest.raises(ValueError, match="OUTPUT2"):
        reconcile_xero_invoice(to_xero(inv), inv, {}, SETTINGS)


def test_payment_pays_the_invoice_from_the_account():
    body = xero_payment_from_canonical(payment("50.00"), "inv-uuid", "090")
    assert body == {
        "Invoice": {"InvoiceID": "inv-uuid"},
        "Account": {"Code": "090"},
        "Date": "2026-05-05",
        "Amount": D("50.00"),
        "Reference": "Keap payment 7781",
    }


def test_a_refund_is_not_sent_as_a_payment():
    with pytest.raises(ValueError):
        xero_payment_from_canonical(payment(kind=PaymentKind.REFUND), "inv-uuid", "090")


def test_refund_becomes_an_authorised_receivable_credit_note():
    refund = payment("-20.00", kind=PaymentKind.REFUND, payment_id="9001")
    note = xero_credit_note_from_refund(refund, "1042", "contact-uuid", SETTINGS)
    assert (note["Type"], note["Status"]) == ("ACCRECCREDIT", "AUTHORISED")
    assert note["Contact"] == {"ContactID": "contact-uuid"}
    [line] = note["LineItems"]
    assert (line["LineAmount"], line["TaxType"]) == (D("20.00"), "NONE")
    assert note["CreditNoteNumber"] == "CN-1042-9001"


def test_cash_refund_is_paid_out_of_the_credit_note():
    refund = payment("20.00", kind=PaymentKind.REFUND)
    split = xero_refund_split(refund, invoice_amount_due=D("0.00"))
    assert (split.allocate_to_invoice, split.pay_out) == (D("0.00"), D("20.00"))
    body = xero_credit_note_refund_payment(refund, "cn-uuid", "090", split.pay_out)
    assert body["CreditNote"] == {"CreditNoteID": "cn-uuid"}
    assert body["Amount"] == D("20.00")


def test_credit_without_cash_is_allocated_to_what_the_invoice_still_owes():
    refund = payment("20.00", kind=PaymentKind.REFUND)
    split = xero_refund_split(refund, invoice_amount_due=D("15.00"), cash_returned=False)
    assert (split.allocate_to_invoice, split.pay_out, split.left_as_credit) == (
        D("15.00"),
        D("0.00"),
        D("5.00"),
    )
    body = xero_credit_note_allocation(refund, "inv-uuid", split.allocate_to_invoice)
    assert body["Allocations"][0]["Invoice"] == {"InvoiceID": "inv-uuid"}
    assert body["Allocations"][0]["Amount"] == D("15.00")


def test_contact_keeps_keap_id_as_contact_number():
    body = xero_contact_from_canonical(contact(), "Jane Smith (Keap 1234)")
    assert body == {
        "Name": "Jane Smith (Keap 1234)",
        "ContactNumber": "1234",
        "EmailAddress": "jane@example.com",
    }


def test_contact_without_email_sends_no_email():
    assert "EmailAddress" not in xero_contact_from_canonical(contact(email=None), "Jane")


def test_idempotency_key_is_stable_per_content_and_changes_with_it():
    key = xero_idempotency_key("t1", "1042", "hash-a")
    assert key == xero_idempotency_key("t1", "1042", "hash-a")
    assert key != xero_idempotency_key("t1", "1042", "hash-b")
    assert key != xero_idempotency_key("t2", "1042", "hash-a")
    assert key != xero_idempotency_key("t1", "1042", "hash-a", operation="payment")
    assert len(key) <= 128


# The emitted elements against Xero's published OpenAPI schemas.

SPEC_PATH = Path(__file__).parents[3].parent / "shared" / "specs" / "xero" / "xero_accounting.yaml"


@pytest.fixture(scope="module")
def xero_schemas():
    if not SPEC_PATH.exists():
        pytest.skip(f"Xero spec not found at {SPEC_PATH}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open() as spec:
        return yaml.load(spec, Loader=loader)["components"]["schemas"]


def assert_conforms(value, schema_name, schemas):
    """Every key is a property of the schema, with a value of the property's JSON type."""
    check_value(value, {"$ref": f"#/components/schemas/{schema_name}"}, schemas, schema_name)


def check_value(value, schema, schemas, where):
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    if "properties" in schema:
        assert isinstance(value, dict), f"{where} must be an object"
        for key, item in value.items():
            assert key in schema["properties"], f"{where} has no property {key}"
            check_value(item, schema["properties"][key], schemas, f"{where}.{key}")
    elif schema.get("type") == "array":
        for item in value:
            check_value(item, schema["items"], schemas, f"{where}[]")
    elif schema.get("type") == "number":
        assert isinstance(value, Decimal), f"{where} must be a number"
    elif schema.get("type") == "string":
        assert isinstance(value, str), f"{where} must be a string"
        assert value in schema.get("enum", [value]), f"{where}={value!r} is not in the enum"
    if "maxLength" in schema:
        assert len(value) <= schema["maxLength"], f"{where} is too long"


def full_invoice():
    return invoice(
        product("33.333333", "3", line_amount="100.00", taxable=True, sku="TEE"),
        charge(LineKind.DISCOUNT, "-5.00", taxable=True),
        charge(LineKind.SHIPPING, "7.50"),
        charge(LineKind.TAX, "14.26"),
        total="116.77",
    )


def test_invoice_and_reconciled_invoice_use_only_xero_invoice_fields(xero_schemas):
    settings = XeroSettings(sku_matching=True, sku_sets_item_code=True)
    inv = full_invoice()
    body = to_xero(inv, settings, ITEMS)
    assert_conforms(body, "Invoice", xero_schemas)
    reconciled = reconcile_xero_invoice(body, inv, {"OUTPUT": D("15")}, settings)
    assert reconciled.notes
    assert_conforms(reconciled.body, "Invoice", xero_schemas)


def test_payment_credit_note_allocation_and_contact_use_only_spec_fields(xero_schemas):
    refund = payment("20.00", kind=PaymentKind.REFUND)
    assert_conforms(
        xero_payment_from_canonical(payment(), "inv-uuid", "090"), "Payment", xero_schemas
    )
    assert_conforms(
        xero_credit_note_from_refund(refund, "1042", "c-uuid", SETTINGS), "CreditNote", xero_schemas
    )
    assert_conforms(
        xero_credit_note_refund_payment(refund, "cn-uuid", "090", D("20.00")),
        "Payment",
        xero_schemas,
    )
    [allocation] = xero_credit_note_allocation(refund, "inv-uuid", D("5.00"))["Allocations"]
    assert_conforms(allocation, "Allocation", xero_schemas)
    assert_conforms(xero_contact_from_canonical(contact(), "Jane Smith"), "Contact", xero_schemas)


def decimals_in(value):
    if isinstance(value, Decimal):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from decimals_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from decimals_in(item)


def test_every_amount_survives_json_as_a_number_exactly():
    inv = full_invoice()
    body = reconcile_xero_invoice(to_xero(inv), inv, {"OUTPUT2": D("15")}, SETTINGS).body
    wire = json.dumps(body, default=float)
    assert list(decimals_in(json.loads(wire, parse_float=Decimal))) == list(decimals_in(body))
