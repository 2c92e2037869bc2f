"""Keap REST v1 transactions: what an `invoice.payment.*` hook id is read with.

The public C# Keap hook sample fetches `GET /v1/transactions/{id}` for these ids
(reference/keap.md §2.2); the v1 spec (ballerina-platform/openapi-connectors
`openapi/keap/openapi.yml`, §4.1 there) gives the Transaction shape served here.
"""

from flask import Blueprint, Response, jsonify

from invoicesync_sandbox.keap.gateway import add_limit_headers, guard_api_request, keap_state
from invoicesync_sandbox.keap.representations import transaction_v1_json

transactions_v1 = Blueprint("keap_transactions_v1", __name__, url_prefix="/crm/rest/v1")
transactions_v1.before_request(guard_api_request)
transactions_v1.after_request(add_limit_headers)


@transactions_v1.get("/transactions/<transaction_id>")
def get_transaction(transaction_id: str) -> Response:
    state = keap_state()
    with state.lock:
        found = [
            payment
            for payment in state.store.payments.values()
            if str(payment.transaction_id) == transaction_id
        ]
        if not found:
            return state.error_response(404, f"Transaction {transaction_id} not found")
        return jsonify(transaction_v1_json(found[0]))
