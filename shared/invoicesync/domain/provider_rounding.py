"""How Xero and QuickBooks Online round amounts and carry tax, and the arithmetic to match them."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from invoicesync.domain.canonical import CanonicalInvoice, CanonicalPayment, Line, LineKind
from invoicesync.domain.money import CENT, round_half_up, to_cents

# Xero keeps 2 decimals on UnitAmount/Quantity unless the request says `unitdp=4`.
XERO_UNIT_PLACES = 4
# QBO stores Qty and UnitPrice with up to 7 decimals; line Amount always has 2.
QBO_UNIT_PLACES = 7
_HUNDRED = Decimal(100)


def decimal_places(value: Decimal) -> int:
    """How many digits a value carries after the point (0 for integers and 1E+2)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def line_amount_from(quantity: Decimal, unit_amount: Decimal) -> Decimal:
    """What both providers compute for a line: Qty × unit price, half up to the cent."""
    return round_half_up(quantity * unit_amount, CENT)


def unit_amount_for(
    line_amount: Decimal,
    quantity: Decimal,
    max_places: int,
    preferred: Decimal | None = None,
) -> Decimal | None:
    """A unit price with at most `max_places` decimals (2 at least) whose line amount is exact.

    Returns the `preferred` price (Keap's own) when it already works, else the shortest price
    that does, else None (the quantity is too large for the decimals the provider keeps).
    """
    if (
        preferred is not None
        and decimal_places(preferred) <= max_places
        and line_amount_from(quantity, preferred) == line_amount
    ):
        return preferred
    if quantity == 0:
        return None
    exact = line_amount / quantity
    for places in range(2, max_places + 1):
        step = Decimal(1).scaleb(-places)
        nearest = round_half_up(exact, step)
        for candidate in (nearest, nearest - step, nearest + step):
            if line_amount_from(quantity, candidate) == line_amount:
                return candidate
    return None


def xero_line_tax(line_amount: Decimal, rate_percent: Decimal, tax_inclusive: bool) -> Decimal:
    """Xero's tax on one line: computed per line and rounded half up to the cent."""
    return round_half_up(exact_line_tax(line_amount, rate_percent, tax_inclusive), CENT)


def exact_line_tax(line_amount: Decimal, rate_percent: Decimal, tax_inclusive: bool) -> Decimal:
    """A line's tax before rounding (the tax inside an inclusive amount, or on top of it)."""
    if tax_inclusive:
        return line_amount * rate_percent / (_HUNDRED + rate_percent)
    return line_amount * rate_percent / _HUNDRED


def allocate_by_weight(
    total: Decimal, weights: Sequence[Decimal], quantum: Decimal = CENT
) -> list[Decimal]:
    """Split `total` into shares proportional to `weights` that sum to it exactly.

    Largest-remainder method: every share is truncated to the quantum, then the leftover units
    go to the shares that lost the most. Deterministic: ties go to the earlier weight. When the
    weights cancel out (e.g. +10 and −10) the whole amount goes to the largest weight.
    """
    if not weights:
        raise ValueError("nothing to allocate over")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        largest = max(range(len(weights)), key=lambda i: (abs(weights[i]), -i))
        return [total if i == largest else Decimal(0) * quantum for i in range(len(weights))]
    exact = [total * weight / weight_sum for weight in weights]
    shares = [share.quantize(quantum, rounding=ROUND_DOWN) for share in exact]
    return nudge_to_total(shares, exact, total, quantum)


def nudge_to_total(
    shares: Sequence[Decimal], exact: Sequence[Decimal], total: Decimal, quantum: Decimal = CENT
) -> list[Decimal]:
    """Move rounded shares one quantum at a time until they sum to `total`.

    Each unit goes to the share whose rounding moved it furthest from its exact value in the
    opposite direction, so the result stays as close as possible to the exact figures.
    """
    result = list(shares)
    missing_units = int((total - sum(result, Decimal(0))) / quantum)
    step = quantum if missing_units > 0 else -quantum
    for _ in range(abs(missing_units)):
        # Prefer the share furthest below (or above) its exact value; ties to the earlier one.
        index = max(
            range(len(result)),
            key=lambda i: ((exact[i] - result[i]) * (1 if step > 0 else -1), -i),
        )
        result[index] += step
    return result


def lines_for_ledger(invoice: CanonicalInvoice) -> tuple[Line, ...]:
    """The lines a ledger invoice carries. Keap's tax lines are left out when some line is
    taxable, because the ledger derives tax from the taxable lines; with no taxable line they
    are kept as plain lines so the total still matches."""
    if any(line.taxable for line in invoice.lines):
        return tuple(line for line in invoice.lines if line.kind is not LineKind.TAX)
    return invoice.lines


def ledger_payment_amount(payment: CanonicalPayment) -> Decimal:
    """A payment's or refund's amount as a ledger records it: positive, in minor units."""
    amount = to_cents(abs(payment.amount), payment.currency)
    if amount == 0:
        raise ValueError(f"payment {payment.keap_payment_id} has no amount")
    return amount
