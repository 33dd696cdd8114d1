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
is not ``SHIPPING`` or has shipments); OR30's codes are listed in ``state``.
The ST operations report per-shipment refusals inside their 2xx answer
(``shipment_errors``, messages only; ``state`` lists them) and answer 400
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
``state``) are never listed.

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

import base64
import binascii
import copy
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote

from . import billing, seed
from . import offers as offer_store
from .amounts import TAX_MODES
from .state import (
    NO_DEBIT,
    ORDER_STATES,
    PAYMENT_WORKFLOW,
    PAYMENT_WORKFLOWS,
    SHIPMENT_DEBIT_STATES,
    SHIPMENT_STATES,
    SHIPPING,
    RawAnswer,
    RawOrder,
    SandboxError,
    bad_request,
    parse_datetime,
    validation_error,
)
from .views import (
    iso,
    lines_to_ship,
    render_item_to_ship,
    render_order,
    render_seller_cancelation,
    render_shipment,
)

API_VERSION = "3.214.0-sandbox"
MAX_LIST_VALUES = 100


@dataclass
class ApiRequest:
    """What a handler needs to know about one /api/ call."""

    method: str
    path: str
    params: dict  # path parameters, decoded
    query: "Query"
    body: bytes
    content_type: str

    def json(self):
        """The JSON body; 415 / 400 VALIDATION_ERROR when it is not one."""
        media_type = self.content_type.split(";")[0].strip().lower()
        if self.body.strip() and media_type != "application/json":
            raise SandboxError(415, "The body must be sent as application/json")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise validation_error("The body is not valid JSON") from exc


class Query:
    """Typed access to query parameters (400 when a value is malformed)."""

    def __init__(self, raw):
        self.raw = raw  # {name: [values]}, blank values kept

    def text(self, name):
        values = self.raw.get(name)
        return values[0] if values and values[0] != "" else None

    def integer(self, name, default, minimum=None, maximum=None):
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError as exc:
            raise bad_request("%s must be an integer" % name) from exc
        if minimum is not None and number < minimum:
            raise bad_request("%s must be at least %d" % (name, minimum))
        if maximum is not None and number > maximum:
            raise bad_request("%s must be at most %d" % (name, maximum))
        return number

    def boolean(self, name, default=None):
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise bad_request("%s must be true or false" % name)
        return value.lower() == "true"

    def date(self, name):
        value = self.text(name)
        if value is None:
            return None
        try:
            return parse_datetime(value)
        except ValueError as exc:
            raise bad_request("%s is not an ISO-8601 date-time" % name) from exc

    def choice(self, name, choices, default):
        value = self.text(name)
        if value is None:
            return default
        if value not in choices:
            raise bad_request("%s must be one of %s" % (name, ", ".join(choices)))
        return value

    def seek_sort(self, fields, default_field, default_direction="ASC"):
        """``sort=<field>,<ASC|DESC>`` of a seek endpoint: ``(field, desc)``;
        400 for another field or direction."""
        value = self.text("sort") or "%s,%s" % (default_field, default_direction)
        field, _sep, direction = value.partition(",")
        direction = (direction or default_direction).upper()
        if field not in fields or direction not in ("ASC", "DESC"):
            raise bad_request(
                "sort must be %s, then ,ASC or ,DESC" % " or ".join(fields)
            )
        return field, direction == "DESC"

    def csv(self, name, choices=None):
        """Comma-separated list (repeated parameters are joined), or None."""
        values = [v for v in self.raw.get(name, ()) if v != ""]
        if not values:
            return None
        items = [item.strip() for item in ",".join(values).split(",") if item.strip()]
        return self._checked_list(name, items, choices)

    def repeated(self, name):
        """Repeated parameter (``a=1&a=2``), or None."""
        items = [v for v in self.raw.get(name, ()) if v != ""]
        return self._checked_list(name, items, None) if items else None

    @staticmethod
    def _checked_list(name, items, choices):
        if len(items) > MAX_LIST_VALUES:
            raise bad_request("%s accepts at most %d values" % (name, MAX_LIST_VALUES))
        if choices is not None:
            wrong = [item for item in items if item not in choices]
            if wrong:
                raise bad_request("Unknown %s: %s" % (name, ", ".join(wrong)))
        return items


def _window(start, end, moment):
    return (start is None or moment >= start) and (end is None or moment <= end)


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


def _encode_token(payload):
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token):
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = payload["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise bad_request("Invalid page_token") from exc
    if not isinstance(offset, int) or offset < 0:
        raise bad_request("Invalid page_token")
    return payload


def _dates_of(seek, *keys):
    """The ISO dates ``keys`` of a seek state (None when absent); a date
    that does not parse (a forged page token) answers 400."""
    try:
        return [parse_datetime(seek[k]) if seek.get(k) else None for k in keys]
    except (ValueError, TypeError) as exc:
        raise bad_request("Invalid page_token") from exc


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


def _seek_page(items, seek, limit, render):
    """One seek page of ``items`` (already filtered and sorted)."""
    offset = seek["offset"]
    body = {"data": [render(item) for item in items[offset : offset + limit]]}
    if offset + limit < len(items):
        body["next_page_token"] = _encode_token(dict(seek, offset=offset + limit))
    if offset > 0:
        body["previous_page_token"] = _encode_token(
            dict(seek, offset=max(0, offset - limit))
        )
    return body


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


# === offers: OF21, OF24, OF02, OF03, OF61; stock: STO01, STO02, STO03 === #


def list_offers(state, request):
    query = request.query
    paginate = query.boolean("paginate", default=True)
    page_size = query.integer(
        "max", 10, minimum=1, maximum=state.config["max_page_size"]
    )
    offset = query.integer("offset", 0, minimum=0)
    sort = query.choice("sort", offer_store.SORTS, "totalPrice")
    direction = query.choice("order", ("asc", "desc"), "asc")
    sku = query.text("sku")
    states = query.csv("offer_state_codes")
    product_id = query.text("product_id")
    favorite = query.boolean("favorite", default=False)
    store = state.offers
    if sku is not None:
        offer = store.offers.get(sku)
        offers = [offer] if offer is not None else []
    else:
        offers = store.sorted_offers(sort, direction == "desc")
    if states is not None:
        wanted = set(states)
        offers = [o for o in offers if o.state_code in wanted]
    if product_id is not None:
        offers = [o for o in offers if o.product.product_sku == product_id]
    if favorite:
        offers = []  # sandbox offers are never favourites
    page = offers[offset : offset + page_size] if paginate else offers
    return 200, {
        "offers": [offer_store.render_offer(o) for o in page],
        "total_count": len(offers),
    }


def import_offers(state, request):
    offer_import = state.offers.create_offer_import(request.json())
    return 201, {"import_id": offer_import.import_id}


def offer_import_status(state, request):
    return 200, state.offers.get_offer_import(request.params["import"]).status_view()


def _report(text, content_type, what):
    if text is None:
        raise SandboxError(404, "%s has no error report" % what)
    return 200, RawAnswer(text.encode("utf-8"), content_type)


def offer_import_error_report(state, request):
    offer_import = state.offers.get_offer_import(request.params["import"])
    return _report(
        state.offers.offer_error_report(offer_import),
        "application/octet-stream",
        "Offer import %s" % offer_import.import_id,
    )


def offer_states(state, request):
    request.query.boolean("active")  # validated; every sandbox state is active
    request.query.text("locale")
    states = [
        {"code": code, "label": label} for code, label in offer_store.OFFER_STATES
    ]
    return 200, {"offer_states": states, "total_count": len(states)}


def _uploaded_file(request):
    """The part named ``file`` of a multipart upload (STO01, P41)."""
    parts = offer_store.parse_multipart(request.body, request.content_type)
    if parts is None:
        raise bad_request("The body must be multipart/form-data with a file part")
    files = [part for part in parts if part.name == "file"]
    if not files:
        raise bad_request("The multipart body has no part named file")
    return files[0]


def import_stock(state, request):
    upload = _uploaded_file(request)
    stock_import = state.offers.create_stock_import(upload.content, upload.filename)
    return 201, {"import_id": stock_import.import_id}


def stock_import_status(state, request):
    stock_import = state.offers.get_stock_import(request.params["import_id"])
    return 200, stock_import.status_view(state.shop_id)


def stock_import_error_report(state, request):
    stock_import = state.offers.get_stock_import(request.params["import_id"])
    return _report(
        state.offers.stock_error_report(stock_import),
        "text/csv; charset=utf-8",
        "Stock import %s" % stock_import.import_id,
    )


# === catalogue: H11, PM11, VL11; products: P41, P42, P44, P45, P47 === #


def list_hierarchies(state, request):
    query = request.query
    nodes = state.products.hierarchies(
        query.text("hierarchy"), query.integer("max_level", None, minimum=0)
    )
    return 200, {"hierarchies": nodes}


def list_product_attributes(state, request):
    query = request.query
    query.boolean("all_operator_attributes")  # validated; every one is shown
    attributes = state.products.attributes(
        query.text("hierarchy"),
        query.integer("max_level", None, minimum=0),
        with_roles=query.boolean("with_roles", default=False),
    )
    return 200, {"attributes": attributes}


def list_values_lists(state, request):
    lists = state.products.values_lists(request.query.text("code"))
    return 200, {"values_lists": lists}


def import_products(state, request):
    upload = _uploaded_file(request)
    product_import = state.products.create_import(upload.content, upload.filename)
    return 201, {"import_id": product_import.import_id}


def product_import_status(state, request):
    product_import = state.products.get_import(request.params["import"])
    return 200, product_import.status_view(state.shop_id)


def _product_report(state, request, build, what):
    store = state.products
    product_import = store.get_import(request.params["import"])
    text = build(product_import)
    if text is None:
        raise SandboxError(
            404, "Product import %s has no %s" % (product_import.import_id, what)
        )
    return 200, RawAnswer(text.encode("utf-8"), "text/csv; charset=utf-8")


def product_error_report(state, request):
    return _product_report(state, request, state.products.error_report, "error report")


def product_new_product_report(state, request):
    return _product_report(
        state, request, state.products.new_product_report, "new product report"
    )


def product_transformation_error_report(state, request):
    return _product_report(
        state,
        request,
        state.products.transformation_error_report,
        "transformation error report",
    )


# === payout data: TL02, SBC11, IV01, IV02 === #

TL02_MAX_LIMIT = 2000
SBC11_MAX_LIMIT = 1000
IV01_MAX = 100
TL02_SORTS = ("dateCreated", "lastUpdated")


def list_transaction_lines(state, request):
    query = request.query
    limit = query.integer("limit", 10, minimum=1, maximum=TL02_MAX_LIMIT)
    token = query.text("page_token")
    if token is not None:
        seek = _decode_token(token)
    else:
        field, desc = query.seek_sort(TL02_SORTS, "dateCreated", "DESC")
        seek = {"offset": 0, "sort": field, "desc": desc}
        for name in (
            "seller_billing_cycle_id",
            "transaction_type",
            "order_id",
            "order_line_id",
        ):
            seek[name] = query.csv(name)
        seek["payment_state"] = query.csv("payment_state", billing.PAYMENT_STATES)
        for name in ("accounting_document_id", "accounting_document_number"):
            seek[name] = query.text(name)
        for name in (
            "last_updated_from",
            "date_created_from",
            "date_created_to",
            "transaction_date_from",
            "transaction_date_to",
        ):
            seek[name] = iso(query.date(name))
    updated_from, created_from, created_to, tx_from, tx_to = _dates_of(
        seek,
        "last_updated_from",
        "date_created_from",
        "date_created_to",
        "transaction_date_from",
        "transaction_date_to",
    )
    lists = {
        name: seek.get(name)
        for name in (
            "seller_billing_cycle_id",
            "transaction_type",
            "order_id",
            "order_line_id",
            "payment_state",
        )
    }

    def wanted(tl):
        number = tl.document.number if tl.document else None
        values = {
            "seller_billing_cycle_id": tl.cycle_id,
            "transaction_type": tl.type,
            "order_id": tl.order_id,
            "order_line_id": tl.order_line_id,
            "payment_state": tl.payment_state,
        }
        return (
            all(v is None or values[k] in v for k, v in lists.items())
            and seek.get("accounting_document_id") in (None, number)
            and seek.get("accounting_document_number") in (None, number)
            and _window(updated_from, None, tl.last_updated)
            and _window(created_from, created_to, tl.created)
            and _window(tx_from, tx_to, tl.created)
        )

    lines = [tl for tl in state.billing.lines if wanted(tl)]
    if seek.get("sort") == "lastUpdated":
        lines.sort(key=lambda tl: (tl.last_updated, tl.seq), reverse=seek.get("desc"))
    else:
        lines.sort(key=lambda tl: (tl.created, tl.seq), reverse=seek.get("desc"))
    body = _seek_page(lines, seek, limit, billing.render_line)
    offset = seek["offset"]
    if offset == 0 and len(lines) > limit:
        missing = {c.cycle_id for c in state.billing.cycles if c.missing_page}
        if any(tl.cycle_id in missing for tl in lines):
            # the cycle's ``missing_page``: the first page's token skips page 2
            body.pop("next_page_token", None)
            if 2 * limit < len(lines):
                body["next_page_token"] = _encode_token(dict(seek, offset=2 * limit))
    return 200, body


def list_billing_cycles(state, request):
    query = request.query
    limit = query.integer("limit", 10, minimum=1, maximum=SBC11_MAX_LIMIT)
    token = query.text("page_token")
    if token is not None:
        seek = _decode_token(token)
    else:
        seek = {
            "offset": 0,
            "ids": query.csv("id"),
            "states": query.csv("pay_out_state", billing.PAY_OUT_STATES),
            "start": iso(query.date("start_date")),
            "end": iso(query.date("end_date")),
        }
    start, end = _dates_of(seek, "start", "end")
    ids, states = seek.get("ids"), seek.get("states") or billing.PAY_OUT_STATES
    cycles = [
        c
        for c in state.billing.cycles
        if (ids is None or c.cycle_id in ids)
        and c.pay_out["state"] in states
        and _window(start, end, c.created)
    ]
    return 200, _seek_page(
        cycles, seek, limit, lambda c: billing.render_cycle(state, c)
    )


def list_accounting_documents(state, request):
    query = request.query
    page_size = query.integer("max", 10, minimum=1, maximum=IV01_MAX)
    offset = query.integer("offset", 0, minimum=0)
    kind = query.choice("type", ("ALL",) + billing.DOCUMENT_TYPES, billing.AUTO_INVOICE)
    cycle_ids = query.csv("seller_billing_cycle_id")
    invoice_ids = query.csv("invoice_id")
    start, end = query.date("start_date"), query.date("end_date")
    documents = [
        d
        for d in state.billing.documents
        if kind in ("ALL", d.type)
        and (cycle_ids is None or d.cycle_id in cycle_ids)
        and (invoice_ids is None or d.number in invoice_ids)
        and _window(start, end, d.created)
    ]
    page = documents[offset : offset + page_size]
    return 200, {
        "invoices": [billing.render_document(state, d) for d in page],
        "total_count": len(documents),
    }


def download_accounting_document(state, request):
    raw = request.params["accounting_document_id"]
    try:
        invoice_id = int(raw)
    except ValueError as exc:
        raise bad_request("accounting_document_id must be an integer") from exc
    document = state.billing.document(invoice_id)
    return 200, RawAnswer(
        billing.document_pdf(state, document), "application/octet-stream"
    )


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
