"""Decimal money: parsing, quantising and the rounding each provider uses."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")

# ISO 4217 currencies whose minor unit is not the cent; every other currency counts cents.
_MINOR_UNIT_EXPONENT = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip


class InvalidAmount(ValueError):
    """A value that cannot be read as an exact amount of money."""


def to_decimal(value: object) -> Decimal:
    """Read an amount exactly. Floats are read through their shortest repr, never binary."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or value is None:
        raise InvalidAmount(f"not an amount: {value!r}")
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise InvalidAmount(f"not an amount: {value!r}") from exc
    elif isinstance(value, float):
        result = Decimal(repr(value))
    else:
        raise InvalidAmount(f"not an amount: {value!r}")
    if not result.is_finite():
        raise InvalidAmount(f"not a finite amount: {value!r}")
    return result


def minor_unit(currency: str) -> Decimal:
    """The smallest unit of a currency: 0.01 for most, 1 for JPY, 0.001 for KWD."""
    exponent = _MINOR_UNIT_EXPONENT.get(currency.upper(), 2)
    return Decimal(1).scaleb(-exponent)


def round_half_up(amount: Decimal, quantum: Decimal = CENT) -> Decimal:
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def round_half_even(amount: Decimal, quantum: Decimal = CENT) -> Decimal:
    return amount.quantize(quantum, rounding=ROUND_HALF_EVEN)


def to_cents(amount: Decimal, currency: str = "USD") -> Decimal:
    """Quantise to the currency's minor unit, half up (how Keap, Xero and QBO round money)."""
    return round_half_up(amount, minor_unit(currency))


def from_minor_units(units: int, currency: str = "USD") -> Decimal:
    """An integer count of minor units (cents) as an amount in the currency's units."""
    return Decimal(units) * minor_unit(currency)


def wire(amount: Decimal) -> str:
    """An amount as it travels on the wire: a plain decimal string, never exponent notation."""
    return format(amount, "f")
