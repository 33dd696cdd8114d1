"""The Mirakl seller endpoints the sandbox serves, and their parameters.

==========  ======  ====================================  ===================
Operation   Method  Path                                  Success
==========  ======  ====================================  ===================
A01         GET     /api/account                          200 shop object
PC01        GET     /api/platform/configuration           200 ``features``
V01         GET     /api/version                          200 ``version``
OR04        PUT     /api/orders                           200 ``updated_orders``
OR11        GET     /api/orders                           200 offset paging
OR21        PUT     /api/orders/{order_id}/accept         204
OR23        PUT     /api/orders/{order_id}/tracking       204
OR24        PUT     /api/orders/{order_id}/ship           204
OR29        PUT     /api/orders/{order_id}/cancel         204
OR30        PUT     /api/orders/cancel                    200 ``cancelations``
RE01        GET     /api/reasons                          200 ``reasons``
SH21        GET     /api/shipping/carriers                200 ``carriers``
SH12        GET     /api/shipping/types                   200 ``shipping_types``
ST01        POST    /api/shipments                        201 success/errors
ST11        GET     /api/shipments                        200 seek paging
ST12        GET     /api/shipments/items_to_ship          200 seek paging
ST23        POST    /api/shipments/tracking               200 success/errors
ST24        PUT     /api/shipments/ship                   200 success/errors
OF21        GET     /api/offers                           200 offset paging
OF24        POST    /api/offers                           201 ``import_id``
OF02        GET     /api/offers/imports/{import}          200 import status
OF03        GET     /api/offers/imports/{import}/         200 CSV (octet-
                    error_report                          stream)
OF61        GET     /api/offers/states                    200 ``offer_states``
STO01       POST    /api/offers/stock/imports             201 ``import_id``
STO02       GET     /api/offers/stock/imports/{id}/status 200 import status
STO03       GET     /api/offers/stock/imports/{id}/       200 CSV
                    error_report                          (``text/csv``)
TL02        GET     /api/sellerpayment/transactions_logs  200 seek paging
SBC11       GET     /api/seller-billing-cycles            200 seek paging
IV01        GET     /api/invoices                         200 offset paging
IV02        GET     /api/invoices/{accounting_document_id} 200 PDF (octet-
                                                          stream)
H11         GET     /api/hierarchies                      200 ``hierarchies``
PM11        GET     /api/products/attributes              200 ``attributes``
VL11        GET     /api/values_lists                     200 ``values_lists``
P41         POST    /api/products/imports                 201 ``import_id``
P42         GET     /api/products/imports/{import}        200 import status
P44         GET     /api/products/imports/{import}/       200 CSV
                    error_report
P45         GET     /api/products/imports/{import}/       200 CSV
                    new_product_report
P47         GET     /api/products/imports/{import}/       200 CSV
                    transformation_error_report
==========  ======  ====================================  ===================

Errors (the server module describes the body): malformed query parameters
answer 400 without a machine code; JSON body problems answer 400
``VALIDATION_ERROR`` (415 when a body is sent with another Content-Type than
``application/json``); the OR21 codes are the ones the API document lists.
OR04 reports an unknown order inside its 200 answer, in the order's
``updated_orders`` element: ``errors: [{"code": "ORDER_NOT_FOUND", "field":
"order_id", "message"}]`` (no ``updated``); more than 100 orders, a missing
``order_id``, a blank or non-string ``order_reference_for_seller`` and
``order_lines`` (eco-contributions are not modelled) answer 400
``VALIDATION_ERROR``. Known orders answer ``errors: []`` and ``updated:
{"references": {"order_reference_for_seller": ...}}`` (``updated: {}`` when
no reference was sent).
Sandbox codes where Mirakl's are UNCONFIRMED: OR23 ``CARRIER_NOT_FOUND``
(unknown ``carrier_code``), ``TRACKING_NUMBER_REQUIRED`` (the carrier's
tracking URL needs the number), ``ALTERNATIVE_CARRIER_DISABLED``
(``carrier_name`` while PC01 ``disable_seller_alternative_carrier`` is on);
OR24 ``TRACKING_MANDATORY`` (the order's shipping type has
``mandatory_tracking`` and no tracking number was stored by OR23) and
``ORDER_HAS_SHIPMENTS`` (ST01 made shipments for the order: ship them with
ST24); OR29 ``ORDER_CANCEL_NOT_ALLOWED`` (``can_cancel`` is false: the order
is not ``SHIPPING`` or has shipments); OR30's codes are listed in ``cancelations``.
The ST operations report per-shipment refusals inside their 2xx answer
(``shipment_errors``, messages only; ``shipments`` lists them) and answer 400
``VALIDATION_ERROR`` only for a malformed body.

PC01 sandbox convention: partial acceptance is published as
``features.order_workflows.partial_acceptance`` (boolean; the API document
does not name it).

OR11 details: ``max`` 1..``max_page_size`` (default 10), ``offset``,
``paginate=false`` (everything), ``sort`` ``dateCreated`` | ``dateUpdated``
(ties broken by order id), ``order`` ``asc`` | ``desc``; comma-separated
lists (``order_ids``, ``order_state_codes``, ``channel_codes``, references)
also accept the parameter repeated (joined with commas, as a Spring server
would); date windows are inclusive at both ends and ``start_update_date`` is
moved back by ``update_date_delta_seconds``. Unknown parameters are ignored.

ST12 details: seek paging with ``limit`` 1..``max_page_size`` (default 10)
and opaque ``page_token`` strings; a token carries the filters of the first
call, so later filters are ignored (as the API document says); sort
``shippingDate,ASC`` (default) or ``shippingDate,DESC``. It lists the
``SHIPPING`` lines with a quantity neither cancelled nor put in a shipment
(ST01), that quantity, and only orders with such a line. Raw orders (see
``orders``) are never listed.

ST11 details: the same seek paging; sort ``dateCreated,ASC`` (default) or
``dateCreated,DESC`` (ties in creation order); filters ``order_id``,
``shipment_state_code`` and ``shipment_customer_debit_state_code``
(repeated parameters; unknown states answer 400), ``last_updated_from`` /
``last_updated_to`` (inclusive). Every sandbox shipment has
``status_customer_debit`` ``NO_DEBIT`` (the customer was debited with the
order), ``payment_details`` null, no additional information, and a
``tracking`` (null when none was given) with ``validity_status`` null and no
``milestones``; a registered carrier's ``carrier_name`` is its SH21 label.

Offers and imports (``offers`` describes the rules): STO01 takes
``multipart/form-data`` with a part named ``file`` (anything else answers
400 without a machine code; a file that cannot be read makes a ``FAILED``
import, not a 400) and answers 201 ``{"import_id": "<uuid>"}``; OF24 takes
JSON ``{"offers": [...]}`` and answers 201 ``{"import_id": <int>}``. STO02
and OF02 answer 404 for an unknown import (OF02 400 when the id is not an
integer); STO03 and OF03 answer 404 while the import has no error report
(still ``WAITING``, ``FAILED`` or without lines in error). OF21: ``max``
1..``max_page_size`` (default 10), ``offset``, ``paginate=false``, ``sort``
``totalPrice`` (default) | ``price`` | ``productTitle`` (ties by price, then
offer id), ``order`` ``asc`` | ``desc``; filters ``sku`` (exact
``shop_sku``), ``offer_state_codes`` (comma list), ``product_id`` (the
Mirakl product SKU); ``favorite=true`` matches nothing, the pricing
parameters are ignored. OF61 lists ``offers.OFFER_STATES`` (``active`` and
``locale`` accepted, ignored).

Payout data (``billing`` describes the objects). TL02: seek paging,
``limit`` 1..2000 (default 10), tokens carrying the first call's filters;
filters ``seller_billing_cycle_id``, ``payment_state`` (unknown states 400),
``transaction_type`` (any value), ``order_id``, ``order_line_id`` (repeated
or comma-separated, at most 100 each), ``accounting_document_id``,
``accounting_document_number``, ``last_updated_from``,
``date_created_from``/``_to``, ``transaction_date_from``/``_to`` (inclusive);
other documented parameters are accepted and ignored; ``sort``
``dateCreated,DESC`` (default, as Mirakl), ``dateCreated,ASC``,
``lastUpdated,ASC`` or ``lastUpdated,DESC`` (ties in creation order). SBC11:
seek paging, ``limit`` 1..1000 (default 10), filters ``id``,
``pay_out_state`` (default ``TO_PAY,FAILED,PAID``), ``start_date`` /
``end_date`` (creation, inclusive), cycles in closing order (sandbox
convention, UNCONFIRMED). IV01: offset paging, ``max`` 1..100 (default 10),
``offset``, ``type`` ``ALL`` | ``AUTO_INVOICE`` (default) |
``MANUAL_INVOICE`` | ``MANUAL_CREDIT``, ``seller_billing_cycle_id``
(repeated or comma), ``start_date``/``end_date`` (creation), documents in
creation order. IV02: ``application/octet-stream``, a one-page PDF; 400 for
an id that is not an integer, 404 for an unknown one.

Catalogue (``catalogue`` describes the model and the product imports): H11
takes ``hierarchy`` (that node and its descendants; 404 when unknown) and
``max_level`` (levels of descendants; all by default); PM11 takes
``hierarchy`` (the attributes of the node, its ancestors, the global ones
and, within ``max_level``, its descendants), ``all_operator_attributes``
(ignored) and ``with_roles`` (``roles`` only when true); VL11 takes ``code``
(one list; 404 when unknown). P41 takes ``multipart/form-data`` with a part
named ``file`` (else 400 without a machine code) and answers 201
``{"import_id": <int>}``; P42 answers 404 for an unknown import (400 when
the id is not an integer); P44, P45 and P47 answer ``text/csv``, 404 while
the import has no such report.

RE01 details: the reasons of ``seed.REASONS`` (``{code, label, type,
is_shop_right}``, sorted by type) and the deprecated ``total_count``;
``locale`` is accepted and changes nothing (English labels); there is no type
filter (RE02 is deprecated).
"""

import copy
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote

from . import seed
from .amounts import TAX_MODES
from .api_offers import (
    download_accounting_document,
    import_offers,
    import_products,
    import_stock,
    list_accounting_documents,
    list_billing_cycles,
    list_hierarchies,
    list_offers,
    list_product_attributes,
    list_transaction_lines,
    list_values_lists,
    offer_import_error_report,
    offer_import_status,
    offer_states,
    product_error_report,
    product_import_status,
    product_new_product_report,
    product_transformation_error_report,
    stock_import_error_report,
    stock_import_status,
)
from .api_request import _dates_of, _decode_token, _seek_page, _window
from .common import (
    NO_DEBIT,
    ORDER_STATES,
    PAYMENT_WORKFLOW,
    PAYMENT_WORKFLOWS,
    SHIPMENT_DEBIT_STATES,
    SHIPMENT_STATES,
    SHIPPING,
    SandboxError,
    bad_request,
)
from .orders import RawOrder
from .views import (
    iso,
    lines_to_ship,
    render_item_to_ship,
    render_order,
    render_seller_cancelation,
    render_shipment,
)

API_VERSION = "3.214.0-sandbox"


# === reference data: A01, PC01, V01, SH21, SH12 === #


def account(state, request):
    shippings = [
        {
            "shipping_zone_code": seed.SHIPPING_ZONE["code"],
            "shipping_zone_label": seed.SHIPPING_ZONE["label"],
            "shipping_type_code": shipping.code,
            "shipping_type_label": shipping.label,
            "shipping_free_amount": None,
        }
        for shipping in seed.SHIPPING_TYPES.values()
    ]
    return 200, {
        "shop_id": state.shop_id,
        "shop_name": seed.SHOP_NAME,
        "shop_state": "OPEN",
        "suspension_type": None,
        "closed_from": None,
        "closed_to": None,
        "currency_iso_code": seed.CURRENCY,
        "channels": [],
        "model": "MARKETPLACE",
        "is_professional": True,
        "pro_details": {
            "corporate_name": "%s Ltd" % seed.SHOP_NAME,
            "identification_number": "09876543",
            "tax_identification_number": "GB123456789",
        },
        "contact_informations": {
            "civility": "Ms",
            "firstname": "Harriet",
            "lastname": "Finch",
            "email": "marketplace@hartleyfinch.example",
            "phone": "+44 113 496 0000",
            "street1": "Unit 4, Canal Wharf",
            "street2": None,
            "zip_code": "LS11 5PS",
            "city": "Leeds",
            "state": None,
            "country": "GBR",
            "web_site": "https://hartleyfinch.example",
        },
        "shipping": {"lead_time_to_ship": 2},
        "shippings": shippings,
        "shop_additional_fields": [],
        "applicable_taxes": [],
        "payment_details": {
            "pending_balance": 0.0,
            "payable_balance": 0.0,
            "paid_balance": 0.0,
            "reserve_balance": 0.0,
            "reserve_target": 0.0,
        },
        "kyc": {"status": "APPROVED"},
        "approval_delay": 2,
        "approval_rate": 100.0,
        "offers_count": len(state.offers.offers),
        "orders_count": len(state.orders),
        "grade": 4.7,
        "evaluations_count": 128,
        "date_created": "2023-09-14T08:30:00Z",
    }


def platform_configuration(state, request):
    config = state.config
    return 200, {
        "features": {
            "order_tax_mode": config["order_tax_mode"],
            "order_workflows": {
                "order_acceptance": "NOT_AUTOMATIC",
                "partial_acceptance": config["partial_acceptance"],
            },
            "shipment": {
                "multi_shipment": config["multi_shipment"],
                "multi_part_item_shipment": False,
            },
            "shipping_and_billing_details_before_acceptance": config[
                "details_before_acceptance"
            ],
            "disable_seller_alternative_carrier": config[
                "disable_seller_alternative_carrier"
            ],
            "multi_currency": False,
            "lead_time_to_ship_by_sellers_enabled": True,
            "pricing": {"channel_pricing": "DISABLED"},
            "platform_configuration": {"timezone": "Europe/London"},
        }
    }


def version(state, request):
    return 200, {"version": API_VERSION}


def carriers(state, request):
    return 200, {"carriers": [dict(carrier) for carrier in seed.CARRIERS]}


def shipping_types(state, request):
    return 200, {"shipping_types": [s.as_dict() for s in seed.SHIPPING_TYPES.values()]}


# === orders: OR04, OR11, OR21, OR23, OR24 === #


def _order_filters(state, query):
    """OR11 filters as a list of predicates on orders."""
    filters = []
    order_ids = query.csv("order_ids")
    if order_ids is not None:
        wanted = set(order_ids)
        filters.append(lambda o: o.order_id in wanted)
    customer_refs = query.csv("order_references_for_customer")
    if customer_refs is not None:
        filters.append(lambda o: o.reference_for_customer in customer_refs)
    seller_refs = query.csv("order_references_for_seller")
    if seller_refs is not None:
        filters.append(lambda o: o.reference_for_seller in seller_refs)
    states = query.csv("order_state_codes", ORDER_STATES)
    if states is not None:
        filters.append(lambda o: o.state in states)
    if query.csv("channel_codes") is not None:
        filters.append(lambda o: False)  # sandbox orders have no channel
    query.boolean("only_null_channel")  # validated; every order has no channel
    start, end = query.date("start_date"), query.date("end_date")
    filters.append(lambda o: _window(start, end, o.created))
    start_update = query.date("start_update_date")
    if start_update is not None:
        start_update -= timedelta(seconds=state.config["update_date_delta_seconds"])
    end_update = query.date("end_update_date")
    filters.append(lambda o: _window(start_update, end_update, o.last_updated))
    debited = query.boolean("customer_debited")
    if debited is not None:
        filters.append(lambda o: (o.customer_debited is not None) == debited)
    if query.boolean("has_incident") is True:
        filters.append(lambda o: False)  # sandbox orders never have incidents
    workflow = query.choice("payment_workflow", PAYMENT_WORKFLOWS, None)
    if workflow is not None:
        filters.append(lambda o: workflow == PAYMENT_WORKFLOW)
    centers = query.repeated("fulfillment_center_code")
    if centers is not None:
        filters.append(lambda o: seed.FULFILLMENT_CENTER in centers)
    return filters


def list_orders(state, request):
    query = request.query
    config = state.config
    paginate = query.boolean("paginate", default=True)
    page_size = query.integer("max", 10, minimum=1, maximum=config["max_page_size"])
    offset = query.integer("offset", 0, minimum=0)
    sort = query.choice("sort", ("dateCreated", "dateUpdated"), "dateCreated")
    direction = query.choice("order", ("asc", "desc"), "asc")
    tax_mode = query.choice("order_tax_mode", TAX_MODES, config["order_tax_mode"])
    filters = _order_filters(state, query)
    orders = [o for o in state.orders.values() if all(f(o) for f in filters)]
    if sort == "dateCreated":
        orders.sort(key=lambda o: (o.created, o.order_id), reverse=direction == "desc")
    else:
        orders.sort(
            key=lambda o: (o.last_updated, o.order_id), reverse=direction == "desc"
        )
    ids = query.csv("order_ids")
    malformed = [
        raw
        for raw in state.malformed_orders
        if ids is None or str(raw.get("order_id")) in ids
    ]
    served = [(o, None) for o in orders] + [(None, raw) for raw in malformed]
    page = served[offset : offset + page_size] if paginate else served
    return 200, {
        "orders": [
            copy.deepcopy(raw)
            if order is None
            else render_order(order, tax_mode, state.details_visible(order))
            for order, raw in page
        ],
        "total_count": len(served),
    }


def update_orders(state, request):
    return 200, state.update_orders(request.json())


def accept_order(state, request):
    state.get_order(request.params["order_id"])  # 404 before reading the body
    state.accept(request.params["order_id"], request.json())
    return 204, None


def update_tracking(state, request):
    state.get_order(request.params["order_id"])  # 404 before reading the body
    state.set_tracking(request.params["order_id"], request.json())
    return 204, None


def ship_order(state, request):
    state.ship(request.params["order_id"])
    return 204, None


def cancel_order(state, request):
    state.cancel_order_by_shop(request.params["order_id"])
    return 204, None


def cancel_lines(state, request):
    tax_mode, created = state.cancel_lines(request.json())
    return 200, {
        "cancelations": [
            render_seller_cancelation(line, cancelation, tax_mode)
            for line, cancelation in created
        ],
        "order_tax_mode": tax_mode,
    }


# === reasons: RE01 === #


def reasons(state, request):
    request.query.text("locale")  # accepted; labels are English whatever it says
    return 200, {
        "reasons": [dict(reason) for reason in seed.REASONS],
        "total_count": len(seed.REASONS),
    }


# === shipments: ST01, ST11, ST12, ST23, ST24 === #


def items_to_ship(state, request):
    query = request.query
    limit = query.integer("limit", 10, minimum=1, maximum=state.config["max_page_size"])
    token = query.text("page_token")
    if token is not None:
        seek = _decode_token(token)
    else:
        _field, desc = query.seek_sort(("shippingDate",), "shippingDate")
        date_from = query.date("shipping_date_from")
        date_to = query.date("shipping_date_to")
        seek = {
            "offset": 0,
            "order_ids": query.repeated("order_id"),
            "centers": query.repeated("fulfillment_center_code"),
            "from": iso(date_from),
            "to": iso(date_to),
            "desc": desc,
        }
    date_from, date_to = _dates_of(seek, "from", "to")
    order_ids, centers = seek.get("order_ids"), seek.get("centers")
    orders = [
        o
        for o in state.orders.values()
        if not isinstance(o, RawOrder)
        and o.state == SHIPPING
        and (order_ids is None or o.order_id in order_ids)
        and (centers is None or seed.FULFILLMENT_CENTER in centers)
        and _window(date_from, date_to, o.customer_debited)
        and lines_to_ship(o)
    ]
    orders.sort(
        key=lambda o: (o.customer_debited, o.order_id), reverse=seek.get("desc")
    )
    return 200, _seek_page(orders, seek, limit, render_item_to_ship)


def list_shipments(state, request):
    query = request.query
    limit = query.integer("limit", 10, minimum=1, maximum=state.config["max_page_size"])
    token = query.text("page_token")
    if token is not None:
        seek = _decode_token(token)
    else:
        _field, desc = query.seek_sort(("dateCreated",), "dateCreated")
        states = query.repeated("shipment_state_code")
        debit_states = query.repeated("shipment_customer_debit_state_code")
        for name, values, choices in (
            ("shipment_state_code", states, SHIPMENT_STATES),
            ("shipment_customer_debit_state_code", debit_states, SHIPMENT_DEBIT_STATES),
        ):
            wrong = [v for v in values or () if v not in choices]
            if wrong:
                raise bad_request("Unknown %s: %s" % (name, ", ".join(wrong)))
        seek = {
            "offset": 0,
            "order_ids": query.repeated("order_id"),
            "states": states,
            "debit_states": debit_states,
            "from": iso(query.date("last_updated_from")),
            "to": iso(query.date("last_updated_to")),
            "desc": desc,
        }
    date_from, date_to = _dates_of(seek, "from", "to")
    order_ids, states = seek.get("order_ids"), seek.get("states")
    debit_states = seek.get("debit_states")
    shipments = [
        s
        for s in state.shipments.values()
        if (order_ids is None or s.order_id in order_ids)
        and (states is None or s.status in states)
        and (debit_states is None or NO_DEBIT in debit_states)
        and _window(date_from, date_to, s.last_updated)
    ]
    shipments.sort(key=lambda s: (s.created, s.seq), reverse=bool(seek.get("desc")))
    return 200, _seek_page(shipments, seek, limit, render_shipment)


def create_shipments(state, request):
    created, errors = state.create_shipments(request.json())
    return 201, {
        "shipment_errors": errors,
        "shipment_success": [render_shipment(s) for s in created],
    }


def ship_shipments(state, request):
    success, errors = state.ship_shipments(request.json())
    return 200, {"shipment_errors": errors, "shipment_success": success}


def update_shipment_tracking(state, request):
    success, errors = state.update_shipment_tracking(request.json())
    return 200, {"shipment_errors": errors, "shipment_success": success}


# === routing === #


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    pattern: re.Pattern
    handler: object


def _route(operation, method, path, handler):
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Route(operation, method, re.compile(regex), handler)


ROUTES = (
    _route("A01", "GET", "/api/account", account),
    _route("PC01", "GET", "/api/platform/configuration", platform_configuration),
    _route("V01", "GET", "/api/version", version),
    _route("OR04", "PUT", "/api/orders", update_orders),
    _route("OR11", "GET", "/api/orders", list_orders),
    _route("OR21", "PUT", "/api/orders/{order_id}/accept", accept_order),
    _route("OR23", "PUT", "/api/orders/{order_id}/tracking", update_tracking),
    _route("OR24", "PUT", "/api/orders/{order_id}/ship", ship_order),
    _route("OR29", "PUT", "/api/orders/{order_id}/cancel", cancel_order),
    _route("OR30", "PUT", "/api/orders/cancel", cancel_lines),
    _route("RE01", "GET", "/api/reasons", reasons),
    _route("SH21", "GET", "/api/shipping/carriers", carriers),
    _route("SH12", "GET", "/api/shipping/types", shipping_types),
    _route("ST01", "POST", "/api/shipments", create_shipments),
    _route("ST11", "GET", "/api/shipments", list_shipments),
    _route("ST12", "GET", "/api/shipments/items_to_ship", items_to_ship),
    _route("ST23", "POST", "/api/shipments/tracking", update_shipment_tracking),
    _route("ST24", "PUT", "/api/shipments/ship", ship_shipments),
    _route("OF21", "GET", "/api/offers", list_offers),
    _route("OF24", "POST", "/api/offers", import_offers),
    _route("OF61", "GET", "/api/offers/states", offer_states),
    _route("OF02", "GET", "/api/offers/imports/{import}", offer_import_status),
    _route(
        "OF03",
        "GET",
        "/api/offers/imports/{import}/error_report",
        offer_import_error_report,
    ),
    _route("STO01", "POST", "/api/offers/stock/imports", import_stock),
    _route(
        "STO02",
        "GET",
        "/api/offers/stock/imports/{import_id}/status",
        stock_import_status,
    ),
    _route(
        "STO03",
        "GET",
        "/api/offers/stock/imports/{import_id}/error_report",
        stock_import_error_report,
    ),
    _route("H11", "GET", "/api/hierarchies", list_hierarchies),
    _route("PM11", "GET", "/api/products/attributes", list_product_attributes),
    _route("VL11", "GET", "/api/values_lists", list_values_lists),
    _route("P41", "POST", "/api/products/imports", import_products),
    _route("P42", "GET", "/api/products/imports/{import}", product_import_status),
    _route(
        "P44",
        "GET",
        "/api/products/imports/{import}/error_report",
        product_error_report,
    ),
    _route(
        "P45",
        "GET",
        "/api/products/imports/{import}/new_product_report",
        product_new_product_report,
    ),
    _route(
        "P47",
        "GET",
        "/api/products/imports/{import}/transformation_error_report",
        product_transformation_error_report,
    ),
    _route(
        "TL02", "GET", "/api/sellerpayment/transactions_logs", list_transaction_lines
    ),
    _route("SBC11", "GET", "/api/seller-billing-cycles", list_billing_cycles),
    _route("IV01", "GET", "/api/invoices", list_accounting_documents),
    _route(
        "IV02",
        "GET",
        "/api/invoices/{accounting_document_id}",
        download_accounting_document,
    ),
)
OPERATIONS = frozenset(route.operation for route in ROUTES)


def resolve(method, path):
    """(route, path params, error) of a call; ``error`` is None or 404/405.

    With an error the route is None: such calls are logged with operation null.
    """
    allowed = []
    for route in ROUTES:
        match = route.pattern.fullmatch(path)
        if match is None:
            continue
        if route.method == method:
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            return route, params, None
        allowed.append(route.method)
    if allowed:
        error = SandboxError(
            405,
            "Method %s not allowed on %s" % (method, path),
            headers={"Allow": ", ".join(allowed)},
        )
        return None, {}, error
    return None, {}, SandboxError(404, "No Mirakl operation at %s" % path)
