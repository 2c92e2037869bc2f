"""The QBO stand-in's pure rules: line amounts, tax and totals, query parsing, name and number
uniqueness, stale SyncTokens, webhook signatures; no server involved."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from invoicesync_sandbox.qbo import entity_rules, query
from invoicesync_sandbox.qbo import transaction_math as math
from invoicesync_sandbox.qbo.faults import QboFault
from invoicesync_sandbox.qbo.notifications import (
    WebhookTarget,
    cloudevents_body,
    legacy_body,
    notification,
    signature,
)
from invoicesync_sandbox.qbo.seed import new_company
from invoicesync_sandbox.qbo.store import EntityChange

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sales_line(amount: str, qty: str | None = None, price: str | None = None, code="TAX") -> dict:
    detail = {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": code}}
    if qty is not None:
        detail["Qty"] = Decimal(qty)
    if price is not None:
        detail["UnitPrice"] = Decimal(price)
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": Decimal(amount),
        "SalesItemLineDetail": detail,
    }


def rate(percent: str, rate_id: str = "1") -> math.TaxRateInfo:
    return math.TaxRateInfo(rate_id, f"{percent}%", Decimal(percent))


def test_line_amount_equal_to_qty_times_price_rounded_half_up_is_accepted():
    math.check_line_amount(sales_line("0.02", qty="3", price="0.005"))  # 0.015 -> 0.02


def test_line_amount_rounded_half_even_is_rejected_with_6070():
    with pytest.raises(QboFault) as caught:
        math.check_line_amount(sales_line("0.12", qty="1", price="0.125"))
    assert caught.value.code == "6070"


def test_6070_detail_quotes_the_supplied_amount_with_thousands_separators():
    with pytest.raises(QboFault) as caught:
        math.check_line_amount(sales_line("1861.06", qty="2", price="930.535"))
    assert caught.value.detail == "Amount is not equal to UnitPrice * Qty. Supplied value:1,861.06"


def test_line_without_qty_and_price_is_not_checked():
    math.check_line_amount(sales_line("99.99"))


def test_us_tax_is_rate_times_taxable_lines_only():
    lines = [sales_line("100.00"), sales_line("50.00", code="NON")]
    totals = math.us_totals(lines, {}, (rate("8.25"),), apply_tax_after_discount=False)
    assert totals.subtotal == Decimal("150.00")
    assert totals.total_tax == Decimal("8.25")
    assert totals.total == Decimal("158.25")


def test_us_total_tax_override_is_honoured_when_a_txn_tax_code_is_sent():
    detail = {"TxnTaxCodeRef": {"value": "3"}, "TotalTax": Decimal("7.77")}
    totals = math.us_totals(
        [sales_line("100")], detail, (rate("8"),), apply_tax_after_discount=False
    )
    assert totals.total_tax == Decimal("7.77")
    assert totals.total == Decimal("107.77")


def test_us_total_tax_without_a_txn_tax_code_is_recomputed():
    totals = math.us_totals(
        [sales_line("100")],
        {"TotalTax": Decimal("1")},
        (rate("8"),),
        apply_tax_after_discount=False,
    )
    assert totals.total_tax == Decimal("8.00")


def test_percent_discount_reduces_the_total():
    discount = {
        "DetailType": "DiscountLineDetail",
        "Amount": Decimal("0"),
        "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": Decimal("10")},
    }
    totals = math.us_totals(
        [sales_line("150", code="NON"), discount], {}, (), apply_tax_after_discount=False
    )
    assert totals.discount == Decimal("15.00")
    assert totals.total == Decimal("135.00")


def test_non_us_line_without_a_real_tax_code_fails_with_6000():
    with pytest.raises(QboFault) as caught:
        math.non_us_totals([sales_line("100", code="TAX")], {"2": (rate("20"),)}, "TaxExcluded")
    assert caught.value.code == "6000"
    assert "VAT rate" in caught.value.detail


def test_non_us_tax_excluded_adds_tax_per_rate():
    totals = math.non_us_totals(
        [sales_line("10.05", code="2"), sales_line("5", code="3")],
        {"2": (rate("20", "1"),), "3": (rate("5", "2"),)},
        "TaxExcluded",
    )
    assert totals.total_tax == Decimal("2.01") + Decimal("0.25")
    assert totals.total == Decimal("17.31")


def test_non_us_tax_inclusive_keeps_the_gross_total():
    totals = math.non_us_totals([sales_line("120", code="2")], {"2": (rate("20"),)}, "TaxInclusive")
    assert totals.total_tax == Decimal("20.00")
    assert totals.total == Decimal("120")


def test_query_parses_where_in_like_order_and_paging():
    parsed = query.parse_query(
        "SELECT * FROM Customer WHERE DisplayName LIKE 'Ada%' AND Id IN ('1', '2') "
        "ORDERBY DisplayName DESC STARTPOSITION 2 MAXRESULTS 5"
    )
    assert parsed.entity == "Customer"
    assert [c.op for c in parsed.conditions] == ["like", "in"]
    assert parsed.conditions[1].values == ("1", "2")
    assert parsed.order_by == (("DisplayName", True),)
    assert (parsed.start_position, parsed.max_results) == (2, 5)


def test_query_unescapes_backslash_quotes():
    parsed = query.parse_query(r"select * from Customer where DisplayName = 'O\'Brien'")
    assert parsed.conditions[0].values == ("O'Brien",)


@pytest.mark.parametrize(
    "statement",
    [
        "select * from Customer where DisplayName = 'a' or DisplayName = 'b'",
        "select * from Invoice where Id > '3'",
        "select * from Nothing",
        "select * from Invoice where DocNumber = ",
    ],
)
def test_query_outside_the_supported_subset_is_a_4000_parse_error(statement):
    with pytest.raises(QboFault) as caught:
        query.parse_query(statement)
    assert caught.value.code == "4000"


def test_query_max_results_above_1000_is_refused_not_capped():
    assert query.parse_query("select * from Item maxresults 1000").max_results == 1000
    with pytest.raises(QboFault) as caught:
        query.parse_query("select * from Item maxresults 1001")
    assert caught.value.code == "4001"
    assert "value 1001 is too large. Max allowed value is 1000" in caught.value.detail


def test_query_pages_a_date_range_in_creation_order():
    company = new_company("1", "Co", "US", NOW)
    for number, (txn_date, created) in enumerate(
        [
            ("2026-05-31", "2026-06-01T09:00:00Z"),
            ("2026-06-01", "2026-06-05T09:00:00Z"),
            ("2026-06-30", "2026-06-02T09:00:00Z"),
            ("2026-06-15", "2026-06-03T09:00:00Z"),
            ("2026-07-01", "2026-06-04T09:00:00Z"),
        ],
        start=700,
    ):
        row = {"Id": str(number), "TxnDate": txn_date}
        company.put("Invoice", row, datetime.fromisoformat(created), created=True)

    def page(start: int) -> list[str]:
        statement = (
            "select * from Invoice where TxnDate >= '2026-06-01' and TxnDate <= '2026-06-30' "
            f"orderby MetaData.CreateTime startposition {start} maxresults 2"
        )
        found = query.run_query(company, query.parse_query(statement))
        return [row["Id"] for row in found.get("Invoice", [])]

    assert page(1) == ["702", "703"]
    assert page(3) == ["701"]
    assert page(5) == []  # past the end: an empty QueryResponse


def test_query_values_compare_case_insensitively_and_skip_inactive_rows():
    company = new_company("1", "Co", "US", NOW)
    company.put("Customer", {"Id": "900", "DisplayName": "Ada", "Active": True}, NOW, created=True)
    company.put("Customer", {"Id": "901", "DisplayName": "ada", "Active": False}, NOW, created=True)
    active = query.run_query(
        company, query.parse_query("select * from Customer where DisplayName = 'ADA'")
    )
    everyone = query.run_query(
        company,
        query.parse_query(
            "select * from Customer where DisplayName = 'ADA' and Active in (true, false)"
        ),
    )
    assert [c["Id"] for c in active["Customer"]] == ["900"]
    assert [c["Id"] for c in everyone["Customer"]] == ["900", "901"]


def test_query_with_no_match_has_no_entity_key():
    company = new_company("1", "Co", "US", NOW)
    assert (
        query.run_query(
            company, query.parse_query("select * from Invoice where DocNumber = 'nope'")
        )
        == {}
    )


def test_item_sku_is_only_returned_when_selected():
    company = new_company("1", "Co", "US", NOW)
    plain = query.run_query(company, query.parse_query("select * from Item where Sku = 'BOOK-01'"))
    with_sku = query.run_query(
        company, query.parse_query("select *, Sku from Item where Sku = 'BOOK-01'")
    )
    assert "Sku" not in plain["Item"][0]
    assert with_sku["Item"][0]["Sku"] == "BOOK-01"


def test_stale_sync_token_is_5010():
    with pytest.raises(QboFault) as caught:
        entity_rules.check_sync_token({"SyncToken": "2"}, "1")
    assert caught.value.code == "5010"
    entity_rules.check_sync_token({"SyncToken": "2"}, "2")


def test_duplicate_doc_number_names_the_existing_transaction():
    company = new_company("1", "Co", "US", NOW)
    company.put("Invoice", {"Id": "45823", "DocNumber": "O0010714"}, NOW, created=True)
    with pytest.raises(QboFault) as caught:
        entity_rules.check_doc_number_free(company, "Invoice", "o0010714")
    assert caught.value.code == "6140"
    assert caught.value.detail.endswith(
        "DocNumber=o0010714 is assigned to TxnType=Invoice with TxnId=45823"
    )


def test_display_name_clashes_with_an_inactive_vendor():
    company = new_company("1", "Co", "US", NOW)
    company.put("Vendor", {"Id": "77", "DisplayName": "Acme", "Active": False}, NOW, created=True)
    with pytest.raises(QboFault) as caught:
        entity_rules.check_display_name_free(company, " acme ")
    assert caught.value.code == "6240"


def test_signature_is_base64_hmac_sha256_of_the_raw_body():
    body = b'{"eventNotifications":[]}'
    expected = base64.b64encode(hmac.new(b"verifier", body, hashlib.sha256).digest()).decode()
    assert signature("verifier", body) == expected


def test_legacy_and_cloudevents_bodies_carry_realm_entity_and_operation():
    change = EntityChange("Invoice", "130", "Update", NOW)
    legacy = legacy_body("123", [change])
    event = legacy["eventNotifications"][0]
    assert event["realmId"] == "123"
    assert event["dataChangeEvent"]["entities"] == [
        {
            "name": "Invoice",
            "id": "130",
            "operation": "Update",
            "lastUpdated": "2026-03-01T12:00:00.000Z",
        }
    ]
    cloud = cloudevents_body("123", [change], "intuit.x")[0]
    assert (cloud["type"], cloud["intuitentityid"], cloud["intuitaccountid"]) == (
        "qbo.invoice.updated.v1",
        "130",
        "123",
    )


def test_notification_skips_entities_not_subscribed():
    target = WebhookTarget("http://x", "v", entities=("Payment",))
    assert notification(target, "1", [EntityChange("Invoice", "1", "Create", NOW)], "s") is None
