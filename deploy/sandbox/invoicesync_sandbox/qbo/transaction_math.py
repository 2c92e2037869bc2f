"""Sales-form arithmetic QBO enforces or computes: line amounts (6070), discounts, tax, totals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .faults import amount_mismatch, business_validation, required_param

CENT = Decimal("0.01")
ITEM_DETAILS = ("SalesItemLineDetail", "GroupLineDetail")
US_PSEUDO_CODES = ("TAX", "NON")
VAT_MISSING = "Make sure all your transactions have a VAT rate before you save."


@dataclass(frozen=True)
class TaxRateInfo:
    rate_id: str
    name: str
    percent: Decimal


@dataclass(frozen=True)
class TaxLine:
    rate: TaxRateInfo
    net_amount_taxable: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    total_tax: Decimal
    total: Decimal
    tax_lines: tuple[TaxLine, ...]


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def amount_of(value: object, element: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise required_param(element)
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise required_param(element) from exc


def check_line_amount(line: dict) -> None:
    """6070: a sales line's Amount must be Qty × UnitPrice rounded half-up to the cent."""
    detail = line.get("SalesItemLineDetail") or {}
    if "Qty" not in detail or "UnitPrice" not in detail:
        return
    qty = amount_of(detail["Qty"], "Qty")
    price = amount_of(detail["UnitPrice"], "UnitPrice")
    supplied = amount_of(line.get("Amount"), "Amount")
    if cents(qty * price) != supplied:
        raise amount_mismatch(supplied)


def item_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line.get("DetailType") in ITEM_DETAILS]


def discount_amount(lines: list[dict], subtotal: Decimal) -> Decimal:
    total = Decimal("0")
    for line in lines:
        if line.get("DetailType") != "DiscountLineDetail":
            continue
        detail = line.get("DiscountLineDetail") or {}
        if detail.get("PercentBased"):
            percent = amount_of(detail.get("DiscountPercent"), "DiscountPercent")
            total += cents(subtotal * percent / 100)
        else:
            total += amount_of(line.get("Amount"), "Amount")
    return total


def line_tax_code(line: dict) -> str | None:
    return detail_tax_code(line.get(line.get("DetailType", "")) or {})


def detail_tax_code(detail: dict) -> str | None:
    ref = detail.get("TaxCodeRef") or {}
    value = ref.get("value") if isinstance(ref, dict) else None
    return str(value) if value is not None else None


def us_totals(
    lines: list[dict],
    txn_tax_detail: dict,
    txn_code_rates: tuple[TaxRateInfo, ...],
    *,
    apply_tax_after_discount: bool,
) -> Totals:
    """US: TAX/NON on lines, one transaction code; a supplied TotalTax overrides the computation."""
    items = item_lines(lines)
    subtotal = sum((amount_of(line.get("Amount"), "Amount") for line in items), Decimal("0"))
    discount = discount_amount(lines, subtotal)
    taxable = sum(
        (amount_of(line["Amount"], "Amount") for line in items if line_tax_code(line) == "TAX"),
        Decimal("0"),
    )
    if apply_tax_after_discount and subtotal:
        taxable -= cents(discount * taxable / subtotal)
    override = txn_tax_detail.get("TotalTax")
    if override is not None and txn_tax_detail.get("TxnTaxCodeRef"):
        total_tax = amount_of(override, "TotalTax")
        tax_lines = _prorate(total_tax, taxable, txn_code_rates)
    else:
        tax_lines = tuple(
            TaxLine(rate, taxable, cents(taxable * rate.percent / 100)) for rate in txn_code_rates
        )
        total_tax = sum((t.amount for t in tax_lines), Decimal("0"))
    return Totals(subtotal, discount, total_tax, subtotal - discount + total_tax, tax_lines)


def _prorate(total_tax: Decimal, taxable: Decimal, rates: tuple[TaxRateInfo, ...]) -> tuple:
    rate_sum = sum((r.percent for r in rates), Decimal("0"))
    if not rates or not rate_sum:
        return ()
    shares = [cents(total_tax * r.percent / rate_sum) for r in rates]
    shares[-1] += total_tax - sum(shares, Decimal("0"))
    return tuple(TaxLine(r, taxable, share) for r, share in zip(rates, shares, strict=True))


def non_us_totals(
    lines: list[dict],
    code_rates: dict[str, tuple[TaxRateInfo, ...]],
    global_tax_calculation: str,
) -> Totals:
    """Non-US: every item line needs a real TaxCode Id (else 6000); tax per rate, half-up."""
    items = item_lines(lines)
    subtotal = sum((amount_of(line.get("Amount"), "Amount") for line in items), Decimal("0"))
    discount = discount_amount(lines, subtotal)
    if global_tax_calculation == "NotApplicable":
        return Totals(subtotal, discount, Decimal("0"), subtotal - discount, ())
    by_rate: dict[str, tuple[TaxRateInfo, Decimal]] = {}
    for line in items:
        code = line_tax_code(line)
        if code is None or code in US_PSEUDO_CODES or code not in code_rates:
            raise business_validation(VAT_MISSING)
        amount = amount_of(line.get("Amount"), "Amount")
        if subtotal:
            amount -= cents(discount * amount / subtotal)
        for rate in code_rates[code]:
            _, net = by_rate.get(rate.rate_id, (rate, Decimal("0")))
            by_rate[rate.rate_id] = (rate, net + amount)
    inclusive = global_tax_calculation == "TaxInclusive"
    tax_lines = tuple(
        TaxLine(rate, net, _tax_on(net, rate.percent, inclusive)) for rate, net in by_rate.values()
    )
    total_tax = sum((t.amount for t in tax_lines), Decimal("0"))
    total = subtotal - discount + (Decimal("0") if inclusive else total_tax)
    return Totals(subtotal, discount, total_tax, total, tax_lines)


def _tax_on(net: Decimal, percent: Decimal, inclusive: bool) -> Decimal:
    if inclusive:
        return cents(net - net * 100 / (100 + percent))
    return cents(net * percent / 100)
