"""Keap REST v2 contacts, products and the signed-in user's info."""

from flask import Blueprint, Response, g, jsonify, request

from invoicesync_sandbox.keap.gateway import (
    add_limit_headers,
    guard_api_request,
    keap_bad_request,
    keap_not_found,
    keap_state,
)
from invoicesync_sandbox.keap.order_requests import reject_unknown, require_object
from invoicesync_sandbox.keap.representations import contact_json, product_json
from invoicesync_sandbox.keap.rules import (
    KeapValidationError,
    compare,
    from_minor_units,
    next_page_token,
    page_window,
    parse_filter,
    parse_order_by,
    wildcard_match,
)
from invoicesync_sandbox.keap.store import Contact, Product

CONTACT_FIELDS = frozenset(
    {
        "addresses", "company", "origin", "prefix", "suffix", "website", "anniversary_date",
        "birth_date", "contact_type", "custom_fields", "email_addresses", "family_name",
        "fax_numbers", "given_name", "job_title", "leadsource_id", "middle_name", "owner_id",
        "phone_numbers", "preferred_locale", "preferred_name", "referral_code",
        "social_accounts", "source_type", "spouse_name", "time_zone", "utm_parameters",
        "assistant_name", "assistant_phone", "billing_information",
    }
)  # fmt: skip
PRODUCT_FIELDS = frozenset(
    {
        "name", "sku", "price", "active", "description", "shippable", "weight", "taxable",
        "inventory", "short_description", "subscription_only", "storefront_hidden",
        "country_taxable", "state_taxable", "city_taxable", "top_html", "bottom_html",
        "is_package", "needs_digital_delivery", "delivery_description",
    }
)  # fmt: skip
WILDCARD = frozenset({"=="})
PRODUCT_FILTERS = {
    "name": WILDCARD,
    "sku": WILDCARD,
    "description": WILDCARD,
    "short_description": WILDCARD,
    "product_id": frozenset({"==", "<", "<=", ">", ">="}),
    "product_ids": WILDCARD,
}

catalog_v2 = Blueprint("keap_catalog_v2", __name__, url_prefix="/crm/rest/v2")
catalog_v2.before_request(guard_api_request)
catalog_v2.after_request(add_limit_headers)


@catalog_v2.errorhandler(KeapValidationError)
def _validation_failed(error: KeapValidationError) -> Response:
    return keap_bad_request(str(error))


@catalog_v2.post("/contacts")
def create_contact() -> tuple[Response, int]:
    state = keap_state()
    body = require_object(request.get_json(silent=True))
    reject_unknown(body, CONTACT_FIELDS)
    if not (body.get("given_name") or body.get("family_name") or body.get("email_addresses")):
        raise KeapValidationError("given_name, family_name or email_addresses is required")
    with state.lock:
        now = state.clock.now()
        contact = Contact(state.store.next_contact_id(), body, now, now)
        state.store.contacts[contact.id] = contact
    state.hooks.record("contact.add", contact.id)
    return jsonify(contact_json(contact)), 201


@catalog_v2.get("/contacts/<contact_id>")
def get_contact(contact_id: str) -> Response:
    contact = keap_state().store.contacts.get(int(contact_id)) if contact_id.isdigit() else None
    if contact is None:
        return keap_not_found(f"Contact {contact_id} not found")
    fields = {name.strip() for name in request.args.get("fields", "").split(",") if name.strip()}
    return jsonify(contact_json(contact, fields or None))


@catalog_v2.post("/products")
def create_product() -> tuple[Response, int]:
    state = keap_state()
    body = require_object(request.get_json(silent=True))
    reject_unknown(body, PRODUCT_FIELDS)
    for required in ("name", "short_description"):
        if not body.get(required):
            raise KeapValidationError(f"{required} is required")
    price = body.get("price")
    if not isinstance(price, int) or isinstance(price, bool) or price < 0:
        raise KeapValidationError("price must be an integer in the currency's smallest unit")
    with state.lock:
        now = state.clock.now()
        product = Product(
            id=state.store.next_product_id(),
            name=body["name"],
            sku=body.get("sku", ""),
            price=from_minor_units(price, state.currency),
            currency=state.currency,
            body=body,
            create_time=now,
            update_time=now,
        )
        state.store.products[product.id] = product
    state.hooks.record("product.add", product.id)
    return jsonify(product_json(product)), 201


@catalog_v2.get("/products/<product_id>")
def get_product(product_id: str) -> Response:
    state = keap_state()
    product = state.store.products.get(int(product_id)) if product_id.isdigit() else None
    if product is None:
        return keap_not_found(f"Product {product_id} not found")
    return jsonify(product_json(product))


def _product_matches(product: Product, condition) -> bool:
    field, op, value = condition.field, condition.op, condition.value
    if field == "product_id":
        return compare(product.id, op, int(value))
    if field == "product_ids":
        return str(product.id) in {part.strip() for part in value.split(",")}
    actual = {"name": product.name, "sku": product.sku}.get(field, product.body.get(field))
    return wildcard_match(actual, value)


@catalog_v2.get("/products")
def list_products() -> Response:
    state = keap_state()
    conditions = parse_filter(request.args.get("filter"), PRODUCT_FILTERS)
    field, descending = parse_order_by(
        request.args.get("order_by"), frozenset({"name", "sku", "last_updated_time"}), "name"
    )
    offset, size = page_window(request.args.get("page_size"), request.args.get("page_token"))
    sort_key = {"name": "name", "sku": "sku", "last_updated_time": "update_time"}[field]
    found = [
        p for p in state.store.products.values() if all(_product_matches(p, c) for c in conditions)
    ]
    found.sort(key=lambda p: (getattr(p, sort_key), p.id), reverse=descending)
    page = [product_json(p) for p in found[offset : offset + size]]
    return jsonify({"products": page, "next_page_token": next_page_token(offset, size, len(found))})


@catalog_v2.get("/oauth/connect/userinfo")
def user_info() -> Response:
    app_id = g.grant.subject["app_id"]
    return jsonify(
        {
            "sub": f"{app_id}-user-1",
            "id": "1",
            "email": f"owner@{app_id}.example",
            "keap_id": f"owner@{app_id}.example",
            "given_name": "Sandbox",
            "family_name": "Owner",
            "is_admin": True,
            "tenant_id": app_id,
        }
    )
