"""The chart of accounts, tax rates and items every new demo organisation starts with."""

from __future__ import annotations

from decimal import Decimal

# (Code, Name, Type, Class, TaxType, EnablePaymentsToAccount, SystemAccount)
ACCOUNTS = (
    ("090", "Business Bank Account", "BANK", "ASSET", "NONE", False, None),
    ("091", "Business Savings Account", "BANK", "ASSET", "NONE", False, None),
    ("200", "Sales", "REVENUE", "REVENUE", "OUTPUT", False, None),
    ("260", "Other Revenue", "REVENUE", "REVENUE", "OUTPUT", False, None),
    ("270", "Interest Income", "REVENUE", "REVENUE", "NONE", False, None),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE", "INPUT", False, None),
    ("400", "Advertising", "OVERHEADS", "EXPENSE", "INPUT", False, None),
    ("610", "Accounts Receivable", "CURRENT", "ASSET", "NONE", False, "DEBTORS"),
    ("620", "Prepayments", "CURRENT", "ASSET", "NONE", True, None),
    ("800", "Accounts Payable", "CURRLIAB", "LIABILITY", "NONE", False, "CREDITORS"),
    ("820", "Sales Tax", "CURRLIAB", "LIABILITY", "NONE", False, "GST"),
    ("860", "Rounding", "CURRLIAB", "LIABILITY", "NONE", False, "ROUNDING"),
)

# (TaxType, Name, rate percent, CanApplyToRevenue)
TAX_RATES = (
    ("OUTPUT", "Tax on Sales", Decimal("15.00"), True),
    ("INPUT", "Tax on Purchases", Decimal("15.00"), False),
    ("NONE", "No Tax", Decimal("0.00"), True),
    ("EXEMPTOUTPUT", "Tax Exempt Sales", Decimal("0.00"), True),
    ("ZERORATEDOUTPUT", "Zero Rated Sales", Decimal("0.00"), True),
    ("TAX001", "City Sales Tax", Decimal("8.875"), True),
)

# (Code, Name, Description, UnitPrice, AccountCode, TaxType)
ITEMS = (
    ("WIDGET", "Widget", "Standard widget", Decimal("19.99"), "200", "OUTPUT"),
    ("CONSULT", "Consulting hour", "One hour of consulting", Decimal("150.00"), "200", "OUTPUT"),
    ("SHIP", "Shipping", "Shipping and handling", Decimal("9.50"), "260", "NONE"),
)

CURRENCIES = (("USD", "United States Dollar"), ("EUR", "Euro"))

# Invoice numbers an organisation that traded before InvoiceSync holds: Xero's own `INV-`
# sequence, and plain numbers from the system it replaced (xero.md §2: ACCREC numbers are
# unique per organisation, any printable ASCII). Keap invoice ids meet the plain ones.
HISTORY_INVOICE_NUMBERS = ("1", "2", "3", *(str(n) for n in range(1001, 1011)), "INV-0001")
