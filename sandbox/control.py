"""The control API (``/_sandbox/...``): how tests set the stage and read back.

No authentication (the server only listens on loopback), JSON in and out,
errors are ``{"status": ..., "message": ...}`` with 400 (bad input), 404
(unknown path or order) or 405 (wrong method).

=======  =====================  ==============================================
Method   Path                   Effect
=======  =====================  ==============================================
POST     /_sandbox/reset        body ``{"orders": N, "seed": S?, "config":
                                {...}?}``: drop orders, faults, call log and
                                clock offset, configuration back to the
                                server's defaults plus ``config``, then seed N
                                orders in WAITING_ACCEPTANCE ->
                                ``{"orders": [order ids]}``
GET      /_sandbox/config       -> the full configuration
PUT      /_sandbox/config       partial update (unknown keys: 400) -> full
POST     /_sandbox/orders       body ``{"count": N}`` and/or ``{"orders":
                                [spec]}`` -> ``{"orders": [OR11 objects]}``
GET      /_sandbox/orders/<id>  -> the order as OR11 shows it
GET      /_sandbox/catalogue    -> products, shipping types and zone,
                                carriers, customers, categories
GET      /_sandbox/clock        -> ``{"now": iso, "offset_seconds": x}``
POST     /_sandbox/clock        ``{"advance_seconds": n}`` or ``{"set": iso}``
POST     /_sandbox/faults       register a fault (see ``faults``) -> it, with
                                its ``id``
GET      /_sandbox/faults       -> ``{"faults": [...]}``
DELETE   /_sandbox/faults       204, all faults removed
GET      /_sandbox/calls        ``?operation=OR21`` optional -> ``{"calls":
                                [...]}`` in arrival order (see ``server``)
DELETE   /_sandbox/calls        204, call log emptied
=======  =====================  ==============================================

An order ``spec`` for ``POST /_sandbox/orders``: ``lines`` (required, list of
``{"sku", "quantity" (default 1), "price_unit" (default: catalogue)}``),
``shipping_type`` (``STD`` default, ``EXP``), ``customer_id`` (one of the
catalogue's customers; default: drawn by the seeded generator),
``order_tax_mode`` (the mode its prices are expressed in; default: the
platform's), ``created_date`` (ISO-8601; default now) and
``reference_for_customer``. Unknown keys and unknown SKUs answer 400.
"""

import json
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

from . import seed
from .amounts import TAX_MODES
from .api import OPERATIONS
from .state import SandboxError, bad_request, parse_datetime
from .views import iso, render_order

MAX_ORDERS_PER_CALL = 5000
_SPEC_KEYS = frozenset(
    (
        "lines",
        "shipping_type",
        "customer_id",
        "order_tax_mode",
        "created_date",
        "reference_for_customer",
    )
)
_LINE_KEYS = frozenset(("sku", "quantity", "price_unit"))


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


def _count(value, name, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request("%s must be an integer" % name)
    if not minimum <= value <= MAX_ORDERS_PER_CALL:
        raise bad_request(
            "%s must be between %d and %d" % (name, minimum, MAX_ORDERS_PER_CALL)
        )
    return value


def _view(state, order):
    return render_order(
        order, state.config["order_tax_mode"], state.details_visible(order)
    )


def _line(raw):
    _only(raw, _LINE_KEYS, "line")
    product = seed.PRODUCTS.get(raw.get("sku"))
    if product is None:
        raise bad_request("Unknown sku %r" % (raw.get("sku"),))
    quantity = _count(raw.get("quantity", 1), "quantity", minimum=1)
    price_unit = raw.get("price_unit")
    if price_unit is not None:
        try:
            price_unit = Decimal(str(price_unit))
        except InvalidOperation as exc:
            raise bad_request("price_unit must be a number") from exc
        if isinstance(raw["price_unit"], bool) or not price_unit > 0:
            raise bad_request("price_unit must be a positive number")
    return product, quantity, price_unit


def _spec(state, raw):
    """An OrderSpec from a control-API order description (400 when wrong)."""
    _only(raw, _SPEC_KEYS, "order")
    lines = raw.get("lines")
    if not isinstance(lines, list) or not lines:
        raise bad_request("An order needs a non-empty list of lines")
    spec = state.generator.spec()  # drawn defaults: customer, reference
    spec.lines = [_line(line) for line in lines]
    shipping_code = raw.get("shipping_type", seed.DEFAULT_SHIPPING_TYPE)
    if shipping_code not in seed.SHIPPING_TYPES:
        raise bad_request("Unknown shipping_type %r" % (shipping_code,))
    spec.shipping_type = seed.SHIPPING_TYPES[shipping_code]
    if "customer_id" in raw:
        if raw["customer_id"] not in seed.CUSTOMERS:
            raise bad_request("Unknown customer_id %r" % (raw["customer_id"],))
        spec.customer_id = raw["customer_id"]
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


_ROUTES = (
    ("POST", "reset", reset),
    ("GET", "config", get_config),
    ("PUT", "config", put_config),
    ("POST", "orders", create_orders),
    ("GET", "orders/(?P<order_id>[^/]+)", get_order),
    ("GET", "catalogue", catalogue),
    ("GET", "clock", get_clock),
    ("POST", "clock", move_clock),
    ("POST", "faults", add_fault),
    ("GET", "faults", list_faults),
    ("DELETE", "faults", clear_faults),
    ("GET", "calls", list_calls),
    ("DELETE", "calls", clear_calls),
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
