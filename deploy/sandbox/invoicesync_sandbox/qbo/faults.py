"""QBO error bodies: the ValidationFault JSON, the lower-case 401 fault and the XML 429."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass
class QboFault(Exception):
    """One QBO error; raised by the rules and turned into a `Fault` body by the routes."""

    code: str
    message: str
    detail: str
    element: str = ""
    status: int = 400
    fault_type: str = "ValidationFault"

    def __str__(self) -> str:
        return f"{self.code} {self.message}: {self.detail}"

    def as_fault(self) -> dict:
        """The `Fault` object, as it appears at the top of a body or inside a batch item."""
        error = {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }
        return {"Error": [error], "type": self.fault_type}


def fault_body(fault: QboFault, time: str) -> dict:
    return {"Fault": fault.as_fault(), "time": time}


def authentication_fault_body(detail: str, time: str) -> dict:
    """QBO answers a bad or expired bearer token with lower-case keys, unlike every other fault."""
    error = {
        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        "detail": detail,
        "code": "3200",
    }
    return {"fault": {"error": [error], "type": "AUTHENTICATION"}, "time": time}


def throttle_xml(time: str) -> str:
    """The 429 body QBO sends as XML even when JSON was asked for."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{time}">'
        '<Fault type="SERVICE"><Error code="3001">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    )


def object_not_found(entity: str, entity_id: str) -> QboFault:
    return QboFault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. Check the "
        f"fields with accounts, customers, items, vendors or employees. ({entity} {entity_id})",
    )


def stale_object(user: str = "another user") -> QboFault:
    return QboFault(
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and {user} were working on this at the same time. "
        f"{user} finished before you did, so your work was not saved.",
    )


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> QboFault:
    return QboFault(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. "
        f"This number has already been used. DocNumber={doc_number} is assigned to "
        f"TxnType={txn_type} with TxnId={txn_id}",
    )


def duplicate_name(kind: str = "customer, vendor or employee") -> QboFault:
    return QboFault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {kind} is already using this name. "
        "Please use a different name.",
    )


def amount_mismatch(supplied: Decimal) -> QboFault:
    return QboFault(
        "6070",
        "Business Validation Error",
        f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied:,.2f}",
    )


def business_validation(detail: str, element: str = "") -> QboFault:
    return QboFault("6000", "Business Validation Error", detail, element)


def required_param(element: str) -> QboFault:
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def invalid_value(element: str, detail: str) -> QboFault:
    return QboFault("2050", "Invalid String Length or Value", detail, element)


def query_parse_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_validation_error(detail: str) -> QboFault:
    # The message text is QBO's (ruckus/quickbooks-ruby#24); the code is the one Intuit's
    # error list gives "Invalid query" (qbo.md §9 lists 2xxx-4xxx validation codes, L).
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}")


def unsupported_operation(detail: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", detail)
