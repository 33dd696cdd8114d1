"""The control API (``/_sandbox/...``): how tests set the stage and read back.

No authentication (the server only listens on loopback), JSON in and out,
errors are ``{"status": ..., "message": ...}`` with 400 (bad input), 404
(unknown path or order) or 405 (wrong method).

=======  ==============================  =====================================
Method   Path                            Effect
=======  ==============================  =====================================
POST     /_sandbox/reset                 body ``{"orders": N, "seed": S?,
                                         "config": {...}?}``: drop orders,
                                         faults, call log and clock offset,
                                         configuration back to the server's
                                         defaults plus ``config``, then seed
                                         N orders in WAITING_ACCEPTANCE ->
                                         ``{"orders": [order ids]}``
GET      /_sandbox/config                -> the full configuration
PUT      /_sandbox/config                partial update (unknown keys: 400)
                                         -> full
POST     /_sandbox/orders                body ``{"count": N}`` and/or
                                         ``{"orders": [spec]}`` ->
                                         ``{"orders": [OR11 objects]}``
GET      /_sandbox/orders                -> ``{"orders": [...]}``: every
                                         order as OR11 shows it, in creation
                                         order
GET      /_sandbox/orders/<id>           -> the order as OR11 shows it
POST     /_sandbox/orders/<id>/cancel    body ``{"lines": [{"order_line_id",
                                         "quantity"}]?, "reason_code":
                                         str?}``: cancel (operator or
                                         customer side) those quantities, or
                                         without ``lines`` what remains of
                                         every line neither refused nor
                                         cancelled (and not in a shipment);
                                         ``reason_code`` defaults to
                                         ``CUSTOMER_CANCELED`` -> the order
                                         as OR11 shows it
POST     /_sandbox/orders/<id>/ship      body ``{}``: the order shipped
                                         outside the seller API (in Mirakl's
                                         back office), as OR24 would: a
                                         ``SHIPPING`` order without
                                         shipments becomes ``SHIPPED`` ->
                                         the order as OR11 shows it
POST     /_sandbox/orders/raw            body ``{"order": {...}}``: store an
                                         OR11 order JSON verbatim (replacing
                                         any order of the same id, and
                                         dropping its shipments) -> the
                                         order as stored
POST     /_sandbox/orders/malformed      body ``{"order": {...}}``: serve a
                                         JSON object that breaks OR11's
                                         contract (no order_id, repeated
                                         line ids, unknown state...)
                                         verbatim, after the sandbox's own
                                         orders in every OR11 answer (and
                                         for its order_id asked by id); no
                                         workflow applies to it ->
                                         ``{"malformed_orders": n}``
GET      /_sandbox/catalogue             -> products, shipping types and
                                         zone, carriers, customers,
                                         categories, reasons (RE01)
GET      /_sandbox/clock                 -> ``{"now": iso, "offset_seconds":
                                         x}``
POST     /_sandbox/clock                 ``{"advance_seconds": n}`` or
                                         ``{"set": iso}``
POST     /_sandbox/faults                register a fault (see ``faults``) ->
                                         it, with its ``id``
GET      /_sandbox/faults                -> ``{"faults": [...]}``
DELETE   /_sandbox/faults                204, all faults removed
GET      /_sandbox/calls                 ``?operation=OR21`` optional ->
                                         ``{"calls": [...]}`` in arrival
                                         order (see ``server``)
DELETE   /_sandbox/calls                 204, call log emptied
GET      /_sandbox/offers                ``?sku=A,B`` optional -> ``{"offers":
                                         [{sku, offer_id, product_sku, ean,
                                         quantity, price, state_code, active,
                                         offer (the stored OF24 offer)}]}``
                                         in creation order
PUT      /_sandbox/offers/<sku>          body ``{"quantity": n, "price":
                                         x?}``: a change made on Mirakl's
                                         side -> the offer as listed
POST     /_sandbox/offers                body ``{"offers": [{"sku",
                                         "quantity", "price"?, "state_code"?,
                                         "title"?, "ean"?, "product_sku"?}]}``
                                         or ``{"generate": {"prefix", "count",
                                         "quantity"?, "price"?}}``: offers
                                         without OF24 (and catalogue products
                                         for new SKUs) -> ``{"created": n,
                                         "skus": [...]}``
GET      /_sandbox/stock-imports         -> ``{"imports": [STO02 views +
                                         filename, size]}``
GET      /_sandbox/stock-imports/<id>    -> the STO02 view + ``filename``,
                                         ``size``, ``header`` and ``lines``:
                                         ``[{line, sku, quantity, error}]``
                                         as received (strings)
GET      /_sandbox/offer-imports         -> ``{"imports": [OF02 views]}``
GET      /_sandbox/offer-imports/<id>    -> the OF02 view + ``offers``:
                                         ``[{line, offer (as received),
                                         outcome (inserted | updated |
                                         deleted | error, null while
                                         WAITING), error}]``
GET      /_sandbox/product-model         -> the operator's product model
                                         ``{hierarchies, attributes (PM11
                                         entries with roles), values_lists}``
PUT      /_sandbox/product-model         the same shape: replaces the model
                                         (checked; 400 when unusable) -> it
GET      /_sandbox/product-imports       -> ``{"imports": [P42 views]}``
GET      /_sandbox/product-imports/<id>  -> the P42 view + ``filename``,
                                         ``size``, ``header``, ``lines``:
                                         ``[{line, values {column: value},
                                         outcome (waiting | error | created
                                         | updated), errors}]`` and
                                         ``transformation_errors``
GET      /_sandbox/products              ``?sku=A,B`` optional ->
                                         ``{"products": [{sku, product_sku,
                                         category, variant_group, values,
                                         import_id, created, updated}]}``:
                                         the products P41 imports created
POST     /_sandbox/orders/<id>/refund    body ``{"lines": [{"order_line_id",
                                         "quantity", "amount"?,
                                         "shipping_amount"?}], "reason_code":
                                         str?}``: refund SHIPPED lines
                                         (``billing``) -> ``{"refunds":
                                         [OR11 refund + order_line_id],
                                         "order": the order as OR11 shows
                                         it}``
POST     /_sandbox/billing/items         body ``{"type": SUBSCRIPTION |
                                         MANUAL_INVOICE | MANUAL_CREDIT |
                                         ONE_OFF_DEBIT, "amount_excl_tax",
                                         "vat_rate"? (20), "description"?}``
                                         or ``{"type": "RAW",
                                         "transaction_type", "amount"
                                         (signed)}`` -> ``{"lines": [TL02
                                         lines], "document": IV01 view or
                                         null}``
POST     /_sandbox/billing/close         body ``{"pay_out_state"?: PAID |
                                         FAILED | TO_PAY, "failure_reason"?,
                                         "vat_difference_cents"?,
                                         "missing_page"?}``: close a billing
                                         cycle now -> ``{"cycle": SBC11
                                         view, "document": its IV01
                                         AUTO_INVOICE}``
GET      /_sandbox/billing               -> ``{"lines", "cycles",
                                         "documents", "refunds",
                                         "last_close"}`` as stored (lines
                                         with ``payable_at``, cycles with
                                         ``missing_page``)
=======  ==============================  =====================================

Added offers (``POST /_sandbox/offers``): a SKU of the seed catalogue keeps
its product; any other SKU gets a new catalogue product (category
ACCESSORIES, product SKU ``MKPX<8 digits>`` and an EAN-13 starting with 2,
unless ``product_sku``/``ean`` are given), usable by OF24 and in order
specs. ``price`` defaults to the catalogue price (10.00 for new products),
``quantity`` is required (``generate``: default 0), ``state_code`` defaults
to ``"11"``. ``generate`` makes SKUs ``<prefix><n>`` numbered from 1 on 6
digits (more when ``count`` needs them), at most 200000 per call; an
existing offer SKU answers 400 and creates nothing.

An order ``spec`` for ``POST /_sandbox/orders``: ``lines`` (required, list of
``{"sku", "quantity" (default 1), "price_unit" (default: catalogue), "taxes"
(default: the category's VAT)}``), ``shipping_type`` (``STD`` default,
``EXP``), ``shipping_price`` (default: the shipping type's price),
``customer_id`` (one of the catalogue's customers; default: drawn by the
seeded generator) or ``customer`` (a full Mirakl customer object, served as
given: unknown country codes, missing streets...), ``order_tax_mode`` (the
mode its prices are expressed in; default: the platform's), ``created_date``
(ISO-8601; default now) and ``reference_for_customer``. A line's ``taxes`` is
a list of ``{"code": str, "rate": percentage}`` replacing the category's VAT
(several taxes on one line; ``[]``: untaxed); the line carrying the shipping
charge taxes it with the same set (formulas in ``amounts``). Unknown keys and
unknown SKUs answer 400.

Cancellations (``cancel``): a quantity beyond what remains of a line (less
what ST01 put in shipments: shipped goods cannot be cancelled), a refused
line, an order with nothing left to cancel, or an order that is not
``WAITING_ACCEPTANCE``, ``WAITING_DEBIT``, ``WAITING_DEBIT_PAYMENT`` or
``SHIPPING`` answer 400; ``orders`` and ``views`` describe the effects. The
reason code is free text (the operator's side is not checked against RE01).

Raw orders (``orders/raw``): the JSON must have at least ``order_id``,
``order_state``, ``created_date``, ``last_updated_date`` (ISO-8601) and
``order_lines`` with ``order_line_id`` and ``order_line_state``, else 400;
``orders`` says what the sandbox does with them. A replayed order keeps its
dates: one still ``WAITING_ACCEPTANCE`` but created longer ago than the
acceptance window is refused (``AUTO_REFUSED``) on the next request, so move
the clock back or widen the window first.
"""

import json
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

from . import billing, billing_views, seed
from .amounts import TAX_MODES
from .api import OPERATIONS
from .common import CUSTOMER_CANCELED, SandboxError, bad_request, parse_datetime
from .offer_views import control_view
from .offers import OFFER_STATE_CODES
from .views import iso, render_order, render_refund

MAX_ORDERS_PER_CALL = 5000
MAX_GENERATED_OFFERS = 200000
_OFFER_KEYS = frozenset(
    ("sku", "quantity", "price", "state_code", "title", "ean", "product_sku")
)
_GENERATE_KEYS = frozenset(("prefix", "count", "quantity", "price"))
_SPEC_KEYS = frozenset(
    (
        "lines",
        "shipping_type",
        "customer_id",
        "order_tax_mode",
        "created_date",
        "reference_for_customer",
        "shipping_price",
        "customer",
    )
)
_LINE_KEYS = frozenset(("sku", "quantity", "price_unit", "taxes"))
_TAX_KEYS = frozenset(("code", "rate"))
_CANCEL_LINE_KEYS = frozenset(("order_line_id", "quantity"))
_AMOUNT_KEYS = ("amount", "shipping_amount")  # refunds only
_REFUND_LINE_KEYS = _CANCEL_LINE_KEYS.union(_AMOUNT_KEYS)


def _body(request):
    """The JSON object sent (``{}`` when there is no body)."""
    if not request.body.strip():
        return {}
    try:
        value = json.loads(request.body)
    except ValueError as exc:
        raise bad_request("The body is not valid JSON") from exc
    if not isinstance(value, dict):
        raise bad_request("The body must be a JSON object")
    return value


def _only(value, allowed, what):
    if not isinstance(value, dict):
        raise bad_request("%s must be a JSON object" % what)
    unknown = set(value) - allowed
    if unknown:
        raise bad_request("Unknown %s keys: %s" % (what, ", ".join(sorted(unknown))))


def _count(value, name, minimum=0, maximum=MAX_ORDERS_PER_CALL):
    """An integer from ``minimum`` to ``maximum`` (None: no upper bound)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request("%s must be an integer" % name)
    if maximum is None:
        if value < minimum:
            raise bad_request("%s must be at least %d" % (name, minimum))
    elif not minimum <= value <= maximum:
        raise bad_request("%s must be between %d and %d" % (name, minimum, maximum))
    return value


def _view(state, order):
    return render_order(
        order, state.config["order_tax_mode"], state.details_visible(order)
    )


def _decimal(value, name, positive=False, signed=False):
    """A JSON number as Decimal: positive, at least zero, or (``signed``) of
    any sign (400 otherwise)."""
    kind = "positive " if positive else "" if signed else "non-negative "
    message = "%s must be a %snumber" % (name, kind)
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise bad_request(message) from exc
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | str)
        or not number.is_finite()
        or (number < 0 and not signed)
        or (positive and not number)
    ):
        raise bad_request(message)
    return number


def _taxes(raw):
    """A line's ``taxes`` as ``[(code, rate)]`` (400 when malformed)."""
    if not isinstance(raw, list):
        raise bad_request("taxes must be a list")
    taxes = []
    for tax in raw:
        _only(tax, _TAX_KEYS, "tax")
        code = tax.get("code")
        if not isinstance(code, str) or not code:
            raise bad_request("A tax needs a non-empty code")
        if code in (c for c, _rate in taxes):
            raise bad_request("Tax %s is given twice" % code)
        taxes.append((code, _decimal(tax.get("rate"), "rate")))
    return taxes


def _line(state, raw):
    _only(raw, _LINE_KEYS, "line")
    product = state.offers.catalogue_product(raw.get("sku"))
    if product is None:
        raise bad_request("Unknown sku %r" % (raw.get("sku"),))
    quantity = _count(raw.get("quantity", 1), "quantity", minimum=1)
    price_unit = raw.get("price_unit")
    if price_unit is not None:
        price_unit = _decimal(price_unit, "price_unit", positive=True)
    taxes = _taxes(raw["taxes"]) if "taxes" in raw else None
    return product, quantity, price_unit, taxes


def _spec(state, raw):
    """An OrderSpec from a control-API order description (400 when wrong)."""
    _only(raw, _SPEC_KEYS, "order")
    lines = raw.get("lines")
    if not isinstance(lines, list) or not lines:
        raise bad_request("An order needs a non-empty list of lines")
    spec = state.generator.spec()  # drawn defaults: customer, reference
    spec.lines = [_line(state, line) for line in lines]
    shipping_code = raw.get("shipping_type", seed.DEFAULT_SHIPPING_TYPE)
    if shipping_code not in seed.SHIPPING_TYPES:
        raise bad_request("Unknown shipping_type %r" % (shipping_code,))
    spec.shipping_type = seed.SHIPPING_TYPES[shipping_code]
    if "shipping_price" in raw:
        spec.shipping_price = _decimal(raw["shipping_price"], "shipping_price")
    if "customer_id" in raw and "customer" in raw:
        raise bad_request("Give customer_id or customer, not both")
    if "customer_id" in raw:
        if raw["customer_id"] not in seed.CUSTOMERS:
            raise bad_request("Unknown customer_id %r" % (raw["customer_id"],))
        spec.customer_id = raw["customer_id"]
    if "customer" in raw:
        if not isinstance(raw["customer"], dict):
            raise bad_request("customer must be a JSON object")
        spec.customer = raw["customer"]
    if "order_tax_mode" in raw:
        if raw["order_tax_mode"] not in TAX_MODES:
            raise bad_request("order_tax_mode must be one of %s" % ", ".join(TAX_MODES))
        spec.tax_mode = raw["order_tax_mode"]
    if "created_date" in raw:
        try:
            spec.created_date = parse_datetime(raw["created_date"])
        except ValueError as exc:
            raise bad_request("created_date is not an ISO-8601 date-time") from exc
    if "reference_for_customer" in raw:
        spec.reference_for_customer = raw["reference_for_customer"]
    return spec


# === handlers === #


def reset(state, request):
    body = _body(request)
    _only(body, {"orders", "seed", "config"}, "reset")
    count = _count(body.get("orders", 0), "orders")
    seed_value = body.get("seed")
    if seed_value is not None and (
        isinstance(seed_value, bool) or not isinstance(seed_value, int)
    ):
        raise bad_request("seed must be an integer")
    try:
        orders = state.reset(count, seed_value, body.get("config"))
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from exc
    return 200, {"orders": [order.order_id for order in orders]}


def get_config(state, request):
    return 200, dict(state.config)


def put_config(state, request):
    try:
        return 200, state.update_config(_body(request))
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from exc


def create_orders(state, request):
    body = _body(request)
    _only(body, {"count", "orders"}, "request")
    count = _count(body.get("count", 0), "count")
    raw_orders = body.get("orders", [])
    if not isinstance(raw_orders, list):
        raise bad_request("orders must be a list")
    specs = [_spec(state, raw) for raw in raw_orders]  # all checked first
    specs += [state.generator.spec() for _ in range(count)]
    orders = [state.add_order(spec) for spec in specs]
    return 200, {"orders": [_view(state, order) for order in orders]}


def get_order(state, request):
    return 200, _view(state, state.get_order(request.params["order_id"]))


def list_orders(state, request):
    return 200, {"orders": [_view(state, order) for order in state.orders.values()]}


def _order_lines(raw, keys, minimum):
    """A cancel or refund body's ``lines``: ``[{"order_line_id", "quantity"}]``
    (at least ``minimum``) plus the amounts of ``_AMOUNT_KEYS`` given (when
    ``keys`` allows them) as Decimal."""
    if not isinstance(raw, list) or not raw:
        raise bad_request("lines must be a non-empty list")
    elements = []
    for line in raw:
        _only(line, keys, "line")
        line_id = line.get("order_line_id")
        if not isinstance(line_id, str) or not line_id:
            raise bad_request("order_line_id must be a non-empty string")
        if "quantity" not in line:
            raise bad_request("quantity is required")
        element = {
            "order_line_id": line_id,
            "quantity": _count(line["quantity"], "quantity", minimum=minimum),
        }
        for key in _AMOUNT_KEYS:
            if line.get(key) is not None:
                element[key] = _decimal(line[key], key)
        elements.append(element)
    return elements


def _cancel_lines(raw):
    """``[(order_line_id, quantity)]`` from a cancel body's ``lines``."""
    return [
        (element["order_line_id"], element["quantity"])
        for element in _order_lines(raw, _CANCEL_LINE_KEYS, minimum=1)
    ]


def cancel_order(state, request):
    body = _body(request)
    _only(body, {"lines", "reason_code"}, "cancel")
    order_id = request.params["order_id"]
    state.get_order(order_id)  # 404 first
    lines = _cancel_lines(body["lines"]) if body.get("lines") is not None else None
    reason_code = body.get("reason_code", CUSTOMER_CANCELED)
    if not isinstance(reason_code, str) or not reason_code:
        raise bad_request("reason_code must be a non-empty string")
    state.cancel(order_id, lines, reason_code)
    return 200, _view(state, state.get_order(order_id))


def ship_order(state, request):
    _only(_body(request), set(), "ship")
    order_id = request.params["order_id"]
    state.get_order(order_id)  # 404 first
    state.ship(order_id)
    return 200, _view(state, state.get_order(order_id))


def add_raw_order(state, request):
    body = _body(request)
    _only(body, {"order"}, "request")
    order = state.add_raw_order(body.get("order"))
    return 200, _view(state, order)


def add_malformed_order(state, request):
    body = _body(request)
    _only(body, {"order"}, "request")
    order = body.get("order")
    if not isinstance(order, dict):
        raise bad_request("order must be a JSON object")
    state.malformed_orders.append(order)
    return 200, {"malformed_orders": len(state.malformed_orders)}


def catalogue(state, request):
    shipping_types = [
        dict(
            s.as_dict(),
            price=s.price,
            leadtime_to_ship=s.leadtime_to_ship,
            shipping_zone_code=seed.SHIPPING_ZONE["code"],
        )
        for s in seed.SHIPPING_TYPES.values()
    ]
    categories = [
        {
            "code": c.code,
            "label": c.label,
            "vat_rate": c.vat.rate,
            "tax_code": c.vat.code,
            "commission_rate": c.commission_rate,
        }
        for c in seed.CATEGORIES.values()
    ]
    return 200, {
        "products": [p.as_dict() for p in seed.PRODUCTS.values()],
        "categories": categories,
        "shipping_types": shipping_types,
        "shipping_zone": dict(seed.SHIPPING_ZONE),
        "carriers": [dict(c) for c in seed.CARRIERS],
        "customers": list(seed.CUSTOMERS.values()),
        "reasons": [dict(r) for r in seed.REASONS],
    }


def _clock(state):
    return {"now": iso(state.now()), "offset_seconds": state.offset_seconds}


def get_clock(state, request):
    return 200, _clock(state)


def move_clock(state, request):
    body = _body(request)
    _only(body, {"advance_seconds", "set"}, "clock")
    if len(body) != 1:
        raise bad_request("Send either advance_seconds or set")
    if "set" in body:
        try:
            state.set_clock(parse_datetime(body["set"]))
        except ValueError as exc:
            raise bad_request("set is not an ISO-8601 date-time") from exc
    else:
        seconds = body["advance_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise bad_request("advance_seconds must be a number")
        state.advance_clock(seconds)
    return 200, _clock(state)


def add_fault(state, request):
    try:
        fault = state.faults.add(_body(request), OPERATIONS)
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from exc
    return 200, fault.as_dict()


def list_faults(state, request):
    return 200, {"faults": state.faults.as_list()}


def clear_faults(state, request):
    state.faults.clear()
    return 204, None


def list_calls(state, request):
    operation = request.query.text("operation")
    calls = [
        dict(call)
        for call in state.calls
        if operation is None or call["operation"] == operation
    ]
    return 200, {"calls": calls}


def clear_calls(state, request):
    state.calls = []
    return 204, None


def _text(raw, key):
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise bad_request("%s must be a non-empty string" % key)
    return value


def list_offers(state, request):
    skus = request.query.csv("sku")
    offers = state.offers.offers
    if skus is None:
        selected = offers.values()
    else:
        selected = [offers[sku] for sku in skus if sku in offers]
    return 200, {"offers": [control_view(offer) for offer in selected]}


def put_offer(state, request):
    body = _body(request)
    _only(body, {"quantity", "price"}, "offer")
    offer = state.offers.get(request.params["sku"])
    if "quantity" in body:
        offer.quantity = _count(body["quantity"], "quantity", maximum=None)
    if "price" in body:
        state.offers.set_price(offer, _decimal(body["price"], "price"))
    return 200, control_view(offer)


def _added_offer(raw):
    _only(raw, _OFFER_KEYS, "offer")
    sku = _text(raw, "sku")
    if sku is None:
        raise bad_request("sku is required")
    if "quantity" not in raw:
        raise bad_request("quantity is required")
    state_code = raw.get("state_code", "11")
    if state_code not in OFFER_STATE_CODES:
        raise bad_request("Unknown state_code %r" % (state_code,))
    return {
        "sku": sku,
        "quantity": _count(raw["quantity"], "quantity", maximum=None),
        "price": _decimal(raw["price"], "price") if "price" in raw else None,
        "state_code": state_code,
        "title": _text(raw, "title"),
        "ean": _text(raw, "ean"),
        "product_sku": _text(raw, "product_sku"),
    }


def add_offers(state, request):
    body = _body(request)
    _only(body, {"offers", "generate"}, "request")
    if len(body) != 1:
        raise bad_request("Send either offers or generate")
    store = state.offers
    if "generate" in body:
        spec = body["generate"]
        _only(spec, _GENERATE_KEYS, "generate")
        prefix = _text(spec, "prefix")
        count = spec.get("count")
        if isinstance(count, bool) or not isinstance(count, int):
            raise bad_request("count must be an integer")
        if prefix is None or not 1 <= count <= MAX_GENERATED_OFFERS:
            raise bad_request(
                "generate needs a prefix and a count from 1 to %d"
                % MAX_GENERATED_OFFERS
            )
        skus = store.generate(
            prefix,
            count,
            _count(spec.get("quantity", 0), "quantity", maximum=None),
            _decimal(spec.get("price", "10.00"), "price"),
        )
        return 200, {"created": len(skus), "skus": [skus[0], skus[-1]]}
    raw_offers = body["offers"]
    if not isinstance(raw_offers, list) or not raw_offers:
        raise bad_request("offers must be a non-empty list")
    wanted = [_added_offer(raw) for raw in raw_offers]  # all checked first
    skus = [item["sku"] for item in wanted]
    for sku in skus:
        if sku in store.offers or skus.count(sku) > 1:
            raise bad_request("An offer with sku '%s' already exists" % sku)
    for item in wanted:
        product = {k: item[k] for k in ("title", "ean", "product_sku") if item[k]}
        store.add_offer(
            item["sku"], item["quantity"], item["price"], item["state_code"], **product
        )
    return 200, {"created": len(skus), "skus": skus}


def _stock_import_view(state, stock_import):
    return dict(
        stock_import.status_view(state.shop_id),
        filename=stock_import.filename,
        size=stock_import.size,
    )


def list_stock_imports(state, request):
    imports = state.offers.stock_imports.values()
    return 200, {"imports": [_stock_import_view(state, i) for i in imports]}


def get_stock_import(state, request):
    stock_import = state.offers.get_stock_import(request.params["import_id"])
    return 200, dict(
        _stock_import_view(state, stock_import),
        header=stock_import.header,
        lines=state.offers.stock_lines(stock_import),
    )


def list_offer_imports(state, request):
    imports = state.offers.offer_imports.values()
    return 200, {"imports": [i.status_view() for i in imports]}


def get_offer_import(state, request):
    offer_import = state.offers.get_offer_import(request.params["import_id"])
    return 200, dict(
        offer_import.status_view(),
        offers=state.offers.offer_import_details(offer_import),
    )


# === catalogue: the operator's product model, product imports, products === #


def get_product_model(state, request):
    return 200, state.products.model


def put_product_model(state, request):
    body = _body(request)
    try:
        state.products.set_model(body)
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from exc
    return 200, state.products.model


def list_product_imports(state, request):
    store = state.products
    return 200, {
        "imports": [i.status_view(state.shop_id) for i in store.imports.values()]
    }


def get_product_import(state, request):
    store = state.products
    return 200, store.import_details(store.get_import(request.params["import_id"]))


def list_products(state, request):
    skus = request.query.csv("sku")
    store = state.products
    products = store.products.values()
    if skus is not None:
        products = [store.products[sku] for sku in skus if sku in store.products]
    return 200, {"products": [store.product_view(p) for p in products]}


# === payout data: refunds, operator items, closes === #


def refund_order(state, request):
    body = _body(request)
    _only(body, {"lines", "reason_code"}, "refund")
    order_id = request.params["order_id"]
    state.get_order(order_id)  # 404 first
    reason_code = body.get("reason_code", billing.DEFAULT_REFUND_REASON)
    if not isinstance(reason_code, str) or not reason_code:
        raise bad_request("reason_code must be a non-empty string")
    refunds = state.billing.refund(
        order_id,
        _order_lines(body.get("lines"), _REFUND_LINE_KEYS, minimum=0),
        reason_code,
    )
    order = state.get_order(order_id)
    mode = state.config["order_tax_mode"]
    return 200, {
        "refunds": [
            dict(render_refund(r, mode), order_line_id=r.order_line_id) for r in refunds
        ],
        "order": _view(state, order),
    }


def add_billing_item(state, request):
    body = _body(request)
    kind = body.get("type")
    moment = state.now().replace(microsecond=0)
    if kind == "RAW":
        _only(body, {"type", "transaction_type", "amount"}, "item")
        transaction_type = _text(body, "transaction_type")
        if transaction_type is None:
            raise bad_request("transaction_type is required")
        amount = _decimal(body.get("amount"), "amount", signed=True)
        line = state.billing.add_line(transaction_type, amount, moment, billing.PAYABLE)
        return 200, {"lines": [billing_views.render_line(line)], "document": None}
    if kind not in billing.ITEM_KINDS:
        raise bad_request("type must be one of %s, RAW" % ", ".join(billing.ITEM_KINDS))
    _only(body, {"type", "amount_excl_tax", "vat_rate", "description"}, "item")
    if "amount_excl_tax" not in body:
        raise bad_request("amount_excl_tax is required")
    amount = _decimal(body["amount_excl_tax"], "amount_excl_tax", positive=True)
    vat_rate = _decimal(body.get("vat_rate", 20), "vat_rate")
    lines, document = state.billing.add_item(
        kind, amount, vat_rate, _text(body, "description"), moment
    )
    return 200, {
        "lines": [billing_views.render_line(line) for line in lines],
        "document": (
            billing_views.render_document(state, document) if document else None
        ),
    }


def close_billing_cycle(state, request):
    body = _body(request)
    _only(
        body,
        {"pay_out_state", "failure_reason", "vat_difference_cents", "missing_page"},
        "close",
    )
    pay_out_state = body.get("pay_out_state", billing.PAID)
    if pay_out_state not in billing.PAY_OUT_STATES:
        raise bad_request(
            "pay_out_state must be one of %s" % ", ".join(billing.PAY_OUT_STATES)
        )
    failure_reason = body.get("failure_reason")
    if failure_reason is not None and failure_reason not in billing.FAILURE_REASONS:
        raise bad_request(
            "failure_reason must be one of %s" % ", ".join(billing.FAILURE_REASONS)
        )
    cents = body.get("vat_difference_cents", 0)
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise bad_request("vat_difference_cents must be an integer")
    missing_page = body.get("missing_page", False)
    if not isinstance(missing_page, bool):
        raise bad_request("missing_page must be true or false")
    cycle = state.billing.close(
        state.now().replace(microsecond=0),
        pay_out_state,
        failure_reason,
        cents,
        missing_page,
    )
    return 200, {
        "cycle": billing_views.render_cycle(state, cycle),
        "document": billing_views.render_document(state, cycle.document),
    }


def get_billing(state, request):
    return 200, billing_views.control_view(state)


_ROUTES = (
    ("POST", "reset", reset),
    ("GET", "config", get_config),
    ("PUT", "config", put_config),
    ("POST", "orders", create_orders),
    ("GET", "orders", list_orders),
    ("POST", "orders/raw", add_raw_order),
    ("POST", "orders/malformed", add_malformed_order),
    ("GET", "orders/(?P<order_id>[^/]+)", get_order),
    ("POST", "orders/(?P<order_id>[^/]+)/cancel", cancel_order),
    ("POST", "orders/(?P<order_id>[^/]+)/ship", ship_order),
    ("POST", "orders/(?P<order_id>[^/]+)/refund", refund_order),
    ("GET", "billing", get_billing),
    ("POST", "billing/items", add_billing_item),
    ("POST", "billing/close", close_billing_cycle),
    ("GET", "catalogue", catalogue),
    ("GET", "clock", get_clock),
    ("POST", "clock", move_clock),
    ("POST", "faults", add_fault),
    ("GET", "faults", list_faults),
    ("DELETE", "faults", clear_faults),
    ("GET", "calls", list_calls),
    ("DELETE", "calls", clear_calls),
    ("GET", "offers", list_offers),
    ("POST", "offers", add_offers),
    ("PUT", "offers/(?P<sku>[^/]+)", put_offer),
    ("GET", "stock-imports", list_stock_imports),
    ("GET", "stock-imports/(?P<import_id>[^/]+)", get_stock_import),
    ("GET", "offer-imports", list_offer_imports),
    ("GET", "offer-imports/(?P<import_id>[^/]+)", get_offer_import),
    ("GET", "product-model", get_product_model),
    ("PUT", "product-model", put_product_model),
    ("GET", "product-imports", list_product_imports),
    ("GET", "product-imports/(?P<import_id>[^/]+)", get_product_import),
    ("GET", "products", list_products),
)
ROUTES = tuple(
    (method, re.compile("/_sandbox/" + path), handler)
    for method, path, handler in _ROUTES
)


def resolve(method, path):
    """(handler, path params); raises a 404/405 SandboxError."""
    allowed = []
    for route_method, pattern, handler in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if route_method == method:
            return handler, {k: unquote(v) for k, v in match.groupdict().items()}
        allowed.append(route_method)
    if allowed:
        raise SandboxError(
            405,
            "Method %s not allowed on %s" % (method, path),
            headers={"Allow": ", ".join(allowed)},
        )
    raise SandboxError(404, "No control operation at %s" % path)
