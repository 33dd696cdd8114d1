"""The sandbox's memory: configuration, virtual clock, orders, faults, call log.

Everything lives in one ``SandboxState`` guarded by one ``threading.RLock``;
the HTTP layer takes the lock around every request (never while sleeping).

Clock: sandbox time is the real UTC time plus an offset that the control API
moves (``POST /_sandbox/clock``), so it keeps flowing with real time. Dates
are stamped to the whole second (the precision the order JSON shows).

Order workflow (order and line states, see the API document section 2.1).
A line is *live* unless it is ``REFUSED`` or ``CANCELED``; every move of the
order moves its live lines only:

* new orders are ``WAITING_ACCEPTANCE``;
* OR21 accepting lines moves them and the order to ``WAITING_DEBIT``
  (``acceptance_decision_date`` = now); refusing every line makes the order
  and its lines ``REFUSED``; a partial decision (only with partial acceptance
  enabled) refuses the refused lines and moves the rest on. A decision is
  needed for every live line; decisions about cancelled lines are ignored
  (sandbox convention, UNCONFIRMED);
* time-based steps are evaluated lazily at the start of every request (API or
  control) against the sandbox clock, each stamped at the virtual moment it
  happened (never earlier than the order's previous update):
  ``WAITING_DEBIT`` -> ``WAITING_DEBIT_PAYMENT`` at half the debit delay,
  -> ``SHIPPING`` at the full debit delay (``customer_debited_date`` set,
  ``can_shop_ship`` true; with a delay of 0 this happens on the next request);
  ``WAITING_ACCEPTANCE`` orders older than the acceptance window become
  ``REFUSED`` with reason ``AUTO_REFUSED`` (``acceptance_decision_date`` stays
  null);
* OR23 stores the tracking (``SHIPPING`` or ``SHIPPED`` orders), OR24 moves a
  ``SHIPPING`` order and its live lines to ``SHIPPED``;
* OR04 stores ``order_reference_for_seller`` (any state; ``null`` removes
  it);
* cancellations come from the operator or the customer, through the control
  API (``cancel``): allowed while the order is ``WAITING_ACCEPTANCE``,
  ``WAITING_DEBIT``, ``WAITING_DEBIT_PAYMENT`` or ``SHIPPING``. Each cancels a
  quantity of a live line and is listed in the line's ``cancelations``; a
  line whose cancelled quantity reaches its quantity becomes ``CANCELED``
  (with the reason code), and an order left without live lines becomes
  ``CANCELED`` with the reason code.

``last_updated_date`` of the order (and of the lines a change touches) moves
with every change; OR04 only touches the order when the reference changes
(whether Mirakl touches it on an identical value is UNCONFIRMED).

Raw orders (control API ``orders/raw``) are order JSON stored verbatim
(``RawOrder``): OR11 filters, sorts and pages them like the others (from the
dates and fields of their JSON) and serves the JSON as stored; OR21, OR04,
OR23, OR24 and the time-based steps above apply to them and rewrite the
fields they change in the JSON (``order_state`` and its reason, ``can_cancel``
and ``can_shop_ship`` (true in ``SHIPPING``), ``last_updated_date``,
``acceptance_decision_date``, ``customer_debited_date``, the references and
the shipping/tracking fields; on lines ``order_line_state`` and its reason,
``last_updated_date``, ``debited_date``, ``shipped_date``, ``can_refund``).
A raw order in ``WAITING_DEBIT*`` without ``acceptance_decision_date`` counts
its debit delay from ``created_date``. Raw orders are not converted to the
other tax mode, hide no address before acceptance, are not listed by ST12 and
cannot be cancelled through the control API.

Configuration (``DEFAULT_CONFIG``; ``/_sandbox/config``):

* ``partial_acceptance`` (false): OR21 may mix accepted and refused lines;
* ``debit_delay_seconds`` (0): from acceptance to ``SHIPPING``;
* ``acceptance_window_hours`` (72): age at which unaccepted orders are refused;
* ``update_date_delta_seconds`` (5): how far OR11 moves ``start_update_date``
  back;
* ``order_tax_mode`` (``TAX_INCLUDED``): the platform's mode, OR11's default
  and the mode new orders' prices are expressed in;
* ``multi_shipment`` (false): only published by PC01 (whether Mirakl then
  refuses OR24 is UNCONFIRMED, the sandbox does not);
* ``details_before_acceptance`` (true): addresses visible while
  ``WAITING_ACCEPTANCE``;
* ``disable_seller_alternative_carrier`` (false): OR23 refuses
  ``carrier_name``;
* ``max_page_size`` (100): largest OR11 ``max`` and ST12 ``limit``.
"""

import copy
import random
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from urllib.parse import quote

from . import seed
from .amounts import TAX_INCLUDED, TAX_MODES, compute_cancelation, compute_line
from .faults import FaultRegistry

WAITING_ACCEPTANCE = "WAITING_ACCEPTANCE"
WAITING_DEBIT = "WAITING_DEBIT"
WAITING_DEBIT_PAYMENT = "WAITING_DEBIT_PAYMENT"
SHIPPING = "SHIPPING"
SHIPPED = "SHIPPED"
REFUSED = "REFUSED"
CANCELED = "CANCELED"
ORDER_STATES = (
    "STAGING",
    WAITING_ACCEPTANCE,
    WAITING_DEBIT,
    WAITING_DEBIT_PAYMENT,
    SHIPPING,
    SHIPPED,
    "TO_COLLECT",
    "RECEIVED",
    "CLOSED",
    REFUSED,
    CANCELED,
)
CANCELABLE_STATES = (WAITING_ACCEPTANCE, WAITING_DEBIT, WAITING_DEBIT_PAYMENT, SHIPPING)
DEAD_LINE_STATES = frozenset((REFUSED, CANCELED))
PAYMENT_WORKFLOWS = (
    "PAY_ON_ACCEPTANCE",
    "PAY_ON_DELIVERY",
    "PAY_ON_DUE_DATE",
    "PAY_ON_SHIPMENT",
    "NO_CUSTOMER_PAYMENT_CONFIRMATION",
)
PAYMENT_WORKFLOW = "PAY_ON_ACCEPTANCE"
AUTO_REFUSED = "AUTO_REFUSED"
CUSTOMER_CANCELED = "CUSTOMER_CANCELED"
OR04_MAX_ORDERS = 100
SELLER_REFERENCE_MAX_LENGTH = 2000
UTC = timezone.utc

DEFAULT_CONFIG = {
    "partial_acceptance": False,
    "debit_delay_seconds": 0,
    "acceptance_window_hours": 72,
    "update_date_delta_seconds": 5,
    "order_tax_mode": TAX_INCLUDED,
    "multi_shipment": False,
    "details_before_acceptance": True,
    "disable_seller_alternative_carrier": False,
    "max_page_size": 100,
}
_BOOL_KEYS = frozenset(
    (
        "partial_acceptance",
        "multi_shipment",
        "details_before_acceptance",
        "disable_seller_alternative_carrier",
    )
)


class SandboxError(Exception):
    """An error answer: HTTP status, message and optional machine code."""

    def __init__(self, status, message, code=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}

    def body(self):
        body = {"status": self.status, "message": self.message}
        if self.code:
            body["code"] = self.code
        return body


def bad_request(message, code=None):
    return SandboxError(400, message, code)


def validation_error(message):
    return SandboxError(400, message, "VALIDATION_ERROR")


def validate_config(changes):
    """Check a (partial) configuration; TypeError or ValueError when wrong."""
    if not isinstance(changes, dict):
        raise TypeError("config must be a JSON object")
    unknown = set(changes) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError("unknown config keys: %s" % ", ".join(sorted(unknown)))
    for key, value in changes.items():
        if key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ValueError("%s must be true or false" % key)
        elif key == "order_tax_mode":
            if value not in TAX_MODES:
                raise ValueError(
                    "order_tax_mode must be one of %s" % ", ".join(TAX_MODES)
                )
        elif key == "max_page_size":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError("max_page_size must be a positive integer")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError("%s must be a non-negative number" % key)
        if key == "acceptance_window_hours" and value == 0:
            raise ValueError("acceptance_window_hours must be positive")


def to_second(moment):
    return moment.replace(microsecond=0)


def iso(moment):
    """``2025-03-03T10:12:00Z`` (None stays None)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


_DATETIME_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?"
    r"(Z|[+-]\d\d:?\d\d)?"
)


def parse_datetime(text):
    """ISO-8601 date-time -> aware UTC datetime (ValueError when malformed).

    ``2025-03-01T09:00:00Z``, ``...+01:00``, fractions of a second; without
    an offset the time is taken as UTC. Same rules on every Python version.
    """
    match = _DATETIME_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("not an ISO-8601 date-time: %r" % (text,))
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    value = datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        int((fraction or "0")[:6].ljust(6, "0")),
        tzinfo=UTC,
    )
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


@dataclass
class Cancelation:
    """One cancellation of (part of) a line."""

    cancelation_id: str
    created: datetime
    reason_code: str
    amounts: object  # amounts.CancelAmounts


@dataclass
class OrderLine:
    line_id: str
    index: int
    product: seed.Product
    amounts: object  # amounts.LineAmounts
    created: datetime
    last_updated: datetime
    state: str = WAITING_ACCEPTANCE
    reason_code: str = None
    reason_label: str = None
    debited: datetime = None
    shipped: datetime = None
    cancelations: list = field(default_factory=list)

    @property
    def remaining_quantity(self):
        """The quantity not cancelled yet."""
        return self.amounts.quantity - sum(
            c.amounts.quantity for c in self.cancelations
        )


class _Workflow:
    """State moves shared by generated (``Order``) and raw (``RawOrder``) orders.

    Expects ``lines``, ``state``, ``reason_code``, ``reason_label`` and
    ``last_updated`` attributes (lines: ``state``, ``reason_*``,
    ``last_updated``).
    """

    def touch(self, moment, lines=()):
        """Stamp a change at ``moment`` (never before the previous update)."""
        moment = max(to_second(moment), self.last_updated)
        self.last_updated = moment
        for line in lines:
            line.last_updated = max(moment, line.last_updated)
        return moment

    def live_lines(self):
        """The lines neither refused nor cancelled."""
        return [line for line in self.lines if line.state not in DEAD_LINE_STATES]

    def move(self, state, moment, reason_code=None, reason_label=None):
        """Move the order and its live lines to ``state`` at ``moment``."""
        lines = self.live_lines()
        moment = self.touch(moment, lines)
        self.state = state
        self.reason_code, self.reason_label = reason_code, reason_label
        for line in lines:
            line.state = state
            line.reason_code, line.reason_label = reason_code, reason_label
        return moment


@dataclass
class Order(_Workflow):
    order_id: str
    commercial_id: str
    customer: dict  # a catalogue customer, or a spec's full customer object
    shipping_type: seed.ShippingType
    tax_mode: str  # the mode its amounts were computed in
    reference_for_customer: str
    created: datetime
    last_updated: datetime
    shipping_deadline: datetime
    lines: list = field(default_factory=list)
    state: str = WAITING_ACCEPTANCE
    reason_code: str = None
    reason_label: str = None
    acceptance_decision: datetime = None
    customer_debited: datetime = None
    carrier_code: str = None
    carrier_standard_code: str = None
    company: str = None
    tracking: str = None
    tracking_url: str = None
    reference_for_seller: str = None

    @property
    def shipping_type_code(self):
        return self.shipping_type.code

    @property
    def mandatory_tracking(self):
        return self.shipping_type.mandatory_tracking


def _json_field(key, parse=False):
    """A property reading/writing ``self.payload[key]`` (dates: ``_dates``)."""

    def getter(self):
        if parse:
            return self._dates.get(key)
        return self.payload.get(key)

    def setter(self, value):
        if parse:
            self._dates[key] = value
            value = iso(value)
        self.payload[key] = value

    return property(getter, setter)


def _parse_dates(payload, keys, where):
    """``{key: datetime or None}`` of the date fields of a raw JSON object."""
    dates = {}
    for key in keys:
        value = payload.get(key)
        try:
            dates[key] = None if value is None else parse_datetime(value)
        except ValueError as exc:
            raise bad_request(
                "%s: %s is not an ISO-8601 date-time" % (where, key)
            ) from exc
    return dates


class RawLine:
    """A line of a raw order: its JSON object, with the workflow's attributes."""

    def __init__(self, payload, default_updated):
        self.payload = payload
        where = "order line %s" % payload["order_line_id"]
        self._dates = _parse_dates(
            payload, ("last_updated_date", "debited_date", "shipped_date"), where
        )
        if self._dates["last_updated_date"] is None:
            self._dates["last_updated_date"] = default_updated

    line_id = property(lambda self: self.payload["order_line_id"])
    reason_code = _json_field("order_line_state_reason_code")
    reason_label = _json_field("order_line_state_reason_label")
    last_updated = _json_field("last_updated_date", parse=True)
    debited = _json_field("debited_date", parse=True)

    @property
    def state(self):
        return self.payload["order_line_state"]

    @state.setter
    def state(self, value):
        self.payload["order_line_state"] = value
        self.payload["can_refund"] = value == SHIPPED

    @property
    def shipped(self):
        return self._dates["shipped_date"]

    @shipped.setter
    def shipped(self, value):
        self._dates["shipped_date"] = value
        self.payload["shipped_date"] = iso(value)


class RawOrder(_Workflow):
    """An order given verbatim as OR11 JSON (see the module docstring)."""

    DATE_KEYS = (
        "created_date",
        "last_updated_date",
        "acceptance_decision_date",
        "customer_debited_date",
    )

    def __init__(self, payload):
        """Check and wrap ``payload`` (a copy is kept); 400 when unusable."""
        if not isinstance(payload, dict):
            raise bad_request("order must be a JSON object")
        payload = copy.deepcopy(payload)
        order_id = payload.get("order_id")
        if not isinstance(order_id, str) or not order_id:
            raise bad_request("order_id must be a non-empty string")
        if payload.get("order_state") not in ORDER_STATES:
            raise bad_request("order_state must be one of %s" % ", ".join(ORDER_STATES))
        for key in ("created_date", "last_updated_date"):
            if payload.get(key) is None:
                raise bad_request("%s is required" % key)
        references = payload.get("references")
        if references is not None and not isinstance(references, dict):
            raise bad_request("references must be a JSON object")
        self.payload = payload
        self.order_id = order_id
        self._dates = _parse_dates(payload, self.DATE_KEYS, "order %s" % order_id)
        lines = payload.get("order_lines")
        if not isinstance(lines, list) or not lines:
            raise bad_request("order_lines must be a non-empty list")
        self.lines = []
        for line in lines:
            if (
                not isinstance(line, dict)
                or not isinstance(line.get("order_line_id"), str)
                or not line["order_line_id"]
                or not isinstance(line.get("order_line_state"), str)
            ):
                raise bad_request(
                    "every order line needs an order_line_id and an order_line_state"
                )
            self.lines.append(RawLine(line, self.last_updated))
        if len({line.line_id for line in self.lines}) != len(self.lines):
            raise bad_request("order_line_id values must be unique")

    created = property(lambda self: self._dates["created_date"])
    last_updated = _json_field("last_updated_date", parse=True)
    acceptance_decision = _json_field("acceptance_decision_date", parse=True)
    customer_debited = _json_field("customer_debited_date", parse=True)
    reason_code = _json_field("order_state_reason_code")
    reason_label = _json_field("order_state_reason_label")
    carrier_code = _json_field("shipping_carrier_code")
    carrier_standard_code = _json_field("shipping_carrier_standard_code")
    company = _json_field("shipping_company")
    tracking = _json_field("shipping_tracking")
    tracking_url = _json_field("shipping_tracking_url")
    shipping_type_code = _json_field("shipping_type_code")

    @property
    def state(self):
        return self.payload["order_state"]

    @state.setter
    def state(self, value):
        self.payload["order_state"] = value
        self.payload["can_cancel"] = self.payload["can_shop_ship"] = value == SHIPPING

    def _references(self):
        return self.payload.get("references") or {}

    @property
    def reference_for_customer(self):
        return self._references().get("order_reference_for_customer")

    @property
    def reference_for_seller(self):
        return self._references().get("order_reference_for_seller")

    @reference_for_seller.setter
    def reference_for_seller(self, value):
        references = self.payload.get("references") or {}
        references["order_reference_for_seller"] = value
        self.payload["references"] = references

    @property
    def mandatory_tracking(self):
        shipping_type = seed.SHIPPING_TYPES.get(self.shipping_type_code)
        return bool(shipping_type and shipping_type.mandatory_tracking)


class SandboxState:
    """All mutable sandbox data; every method expects ``self.lock`` held."""

    def __init__(self, shop_id, seed_value, config=None, orders=0):
        self.lock = threading.RLock()
        self.shop_id = shop_id
        self.default_seed = seed_value
        self.default_config = dict(DEFAULT_CONFIG)
        if config:
            validate_config(config)
            self.default_config.update(config)
        self.reset(orders)

    # === reset, configuration, clock === #

    def reset(self, orders=0, seed_value=None, config=None):
        """Back to a fresh sandbox with ``orders`` orders waiting for acceptance."""
        new_config = dict(self.default_config)
        if config:
            validate_config(config)
            new_config.update(config)
        self.config = new_config
        self.seed = self.default_seed if seed_value is None else seed_value
        self.generator = seed.OrderGenerator(random.Random(self.seed))
        self.faults = FaultRegistry(self.seed)
        self.calls = []
        self.call_seq = 0
        self.offset_seconds = 0.0
        self.orders = {}
        self.next_number = seed.FIRST_COMMERCIAL_NUMBER
        self.cancelation_seq = 0
        now = self.now()
        backlog = self.generator.backlog(
            orders, now, self.config["acceptance_window_hours"]
        )
        created = []
        for spec in backlog:
            arrival = spec.created_date + timedelta(
                seconds=self.generator.staging_seconds()
            )
            created.append(self.add_order(spec, min(arrival, now)))
        return created

    def update_config(self, changes):
        validate_config(changes)
        self.config.update(changes)
        return dict(self.config)

    def now(self):
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds)

    def advance_clock(self, seconds):
        self.offset_seconds += seconds

    def set_clock(self, moment):
        self.offset_seconds = (moment - datetime.now(UTC)).total_seconds()

    # === orders === #

    def _next_commercial_id(self):
        """The next free commercial id (raw orders may have taken some)."""
        while True:
            commercial_id = "%s-%d" % (seed.COMMERCIAL_ID_PREFIX, self.next_number)
            self.next_number += 1
            if "%s-A" % commercial_id not in self.orders:
                return commercial_id

    def add_order(self, spec, arrival=None):
        """Create an order from a ``seed.OrderSpec``; ``arrival`` defaults to now.

        ``arrival`` is when the order reached WAITING_ACCEPTANCE: its first
        ``last_updated_date`` (its creation date may be earlier).
        """
        arrival = to_second(arrival or self.now())
        created = to_second(spec.created_date or arrival)
        tax_mode = spec.tax_mode or self.config["order_tax_mode"]
        commercial_id = self._next_commercial_id()
        shipping_type = spec.shipping_type
        shipping_price = (
            shipping_type.price if spec.shipping_price is None else spec.shipping_price
        )
        customer = spec.customer or seed.CUSTOMERS[spec.customer_id]
        deadline_day = created.date() + timedelta(days=shipping_type.leadtime_to_ship)
        order = Order(
            order_id="%s-A" % commercial_id,
            commercial_id=commercial_id,
            customer=copy.deepcopy(customer),
            shipping_type=shipping_type,
            tax_mode=tax_mode,
            reference_for_customer=spec.reference_for_customer,
            created=created,
            last_updated=max(created, arrival),
            shipping_deadline=datetime.combine(deadline_day, time(23, 59, 59), UTC),
        )
        for index, line_spec in enumerate(spec.lines, start=1):
            product, quantity, price_unit, taxes = line_spec
            if taxes is None:
                vat = product.category.vat
                taxes = [(vat.code, vat.rate)]
            amounts = compute_line(
                price_unit if price_unit is not None else product.price,
                quantity,
                shipping_price if index == 1 else 0,
                taxes,
                product.category.commission_rate,
                tax_mode,
            )
            order.lines.append(
                OrderLine(
                    line_id="%s-%d" % (order.order_id, index),
                    index=index,
                    product=product,
                    amounts=amounts,
                    created=created,
                    last_updated=order.last_updated,
                )
            )
        self.orders[order.order_id] = order
        return order

    def add_raw_order(self, payload):
        """Store an order given as OR11 JSON (replaces an order of the same id)."""
        order = RawOrder(payload)
        self.orders[order.order_id] = order
        return order

    def get_order(self, order_id):
        order = self.orders.get(order_id)
        if order is None:
            raise SandboxError(404, "Order %s not found" % order_id, "ORDER_NOT_FOUND")
        return order

    def details_visible(self, order):
        return (
            order.state != WAITING_ACCEPTANCE
            or self.config["details_before_acceptance"]
        )

    def refresh(self):
        """Apply every time-based transition due at the current sandbox time."""
        now = self.now()
        window = timedelta(hours=self.config["acceptance_window_hours"])
        delay = timedelta(seconds=self.config["debit_delay_seconds"])
        for order in self.orders.values():
            if order.state == WAITING_ACCEPTANCE and now >= order.created + window:
                order.move(
                    REFUSED,
                    order.created + window,
                    AUTO_REFUSED,
                    "Not accepted within %s hours"
                    % self.config["acceptance_window_hours"],
                )
            if order.state not in (WAITING_DEBIT, WAITING_DEBIT_PAYMENT):
                continue
            decided = order.acceptance_decision or order.created  # raw: may be null
            if order.state == WAITING_DEBIT and now >= decided + delay / 2:
                order.move(WAITING_DEBIT_PAYMENT, decided + delay / 2)
            if order.state == WAITING_DEBIT_PAYMENT and now >= decided + delay:
                moment = order.move(SHIPPING, decided + delay)
                order.customer_debited = moment
                for line in order.live_lines():
                    line.debited = moment

    # === OR21, OR23, OR24, OR04 === #

    def accept(self, order_id, body):
        """OR21: apply the accept/refuse decisions of ``body`` (parsed JSON)."""
        order = self.get_order(order_id)
        elements = body.get("order_lines") if isinstance(body, dict) else None
        if not isinstance(elements, list) or not elements:
            raise validation_error("order_lines is required and must not be empty")
        for element in elements:
            if (
                not isinstance(element, dict)
                or element.get("id") is None
                or element.get("accepted") is None
            ):
                raise bad_request(
                    "Every order line needs an id and an accepted decision",
                    "ORDER_LINE_NULL_ELEMENT",
                )
            if not isinstance(element["id"], str) or not isinstance(
                element["accepted"], bool
            ):
                raise validation_error("id must be a string and accepted a boolean")
        if order.state != WAITING_ACCEPTANCE:
            raise bad_request(
                "Order %s is %s, not WAITING_ACCEPTANCE" % (order_id, order.state),
                "ORDER_INVALID_STATE",
            )
        decisions = {}
        for element in elements:
            if element["id"] in decisions:
                raise bad_request(
                    "Order line %s is given twice" % element["id"],
                    "ORDER_LINE_DUPLICATE_ID",
                )
            decisions[element["id"]] = element["accepted"]
        unknown = sorted(set(decisions) - {line.line_id for line in order.lines})
        if unknown:
            raise bad_request(
                "Order lines not found in %s: %s" % (order_id, ", ".join(unknown)),
                "ORDER_LINE_NOT_FOUND",
            )
        live = order.live_lines()
        missing = sorted({line.line_id for line in live} - set(decisions))
        if missing:
            raise bad_request(
                "No decision for order lines: %s" % ", ".join(missing),
                "ORDER_LINE_ACCEPTANCE_DECISION_MISSING",
            )
        live_decisions = [decisions[line.line_id] for line in live]
        if len(set(live_decisions)) > 1 and not self.config["partial_acceptance"]:
            raise bad_request(
                "Partial acceptance is disabled: accept or refuse every line",
                "ORDER_PARTIAL_ACCEPTANCE_DISABLED",
            )
        moment = order.touch(self.now(), live)
        order.acceptance_decision = moment
        for line in live:
            line.state = WAITING_DEBIT if decisions[line.line_id] else REFUSED
        order.state = WAITING_DEBIT if any(live_decisions) else REFUSED

    def set_tracking(self, order_id, body):
        """OR23: store the carrier and tracking of a SHIPPING/SHIPPED order."""
        order = self.get_order(order_id)
        if not isinstance(body, dict):
            raise validation_error("The body must be a JSON object")
        keys = (
            "carrier_code",
            "carrier_name",
            "carrier_url",
            "carrier_standard_code",
            "tracking_number",
        )
        values = {}
        for key in keys:
            value = body.get(key)
            if value is not None and not isinstance(value, str):
                raise validation_error("%s must be a string" % key)
            values[key] = value or None
        if order.state not in (SHIPPING, SHIPPED):
            raise bad_request(
                "Order %s is %s, not SHIPPING or SHIPPED" % (order_id, order.state),
                "ORDER_INVALID_STATE",
            )
        number = values["tracking_number"]
        if values["carrier_code"]:
            carrier = seed.CARRIERS_BY_CODE.get(values["carrier_code"])
            if carrier is None:
                raise bad_request(
                    "Unknown carrier code %s" % values["carrier_code"],
                    "CARRIER_NOT_FOUND",
                )
            url = carrier["tracking_url"]
            if url and seed.TRACKING_PLACEHOLDER in url:
                if not number:
                    raise bad_request(
                        "Carrier %s needs a tracking number" % carrier["code"],
                        "TRACKING_NUMBER_REQUIRED",
                    )
                url = url.replace(seed.TRACKING_PLACEHOLDER, quote(number, safe=""))
            order.carrier_code = carrier["code"]
            order.carrier_standard_code = carrier["standard_code"]
            order.company = carrier["label"]
            order.tracking_url = url
        elif values["carrier_name"]:
            if self.config["disable_seller_alternative_carrier"]:
                raise bad_request(
                    "Carriers outside the platform list are disabled",
                    "ALTERNATIVE_CARRIER_DISABLED",
                )
            order.carrier_code = None
            order.carrier_standard_code = values["carrier_standard_code"]
            order.company = values["carrier_name"]
            order.tracking_url = values["carrier_url"]
        else:
            raise validation_error("carrier_code or carrier_name is required")
        order.tracking = number
        order.touch(self.now())

    def ship(self, order_id):
        """OR24: confirm the shipment of a SHIPPING order."""
        order = self.get_order(order_id)
        if order.state != SHIPPING:
            raise bad_request(
                "Order %s is %s, not SHIPPING" % (order_id, order.state),
                "ORDER_INVALID_STATE",
            )
        if order.mandatory_tracking and not order.tracking:
            raise bad_request(
                "Shipping type %s needs a tracking number before shipment"
                % order.shipping_type_code,
                "TRACKING_MANDATORY",
            )
        moment = order.move(SHIPPED, self.now())
        for line in order.live_lines():
            line.shipped = moment

    def update_orders(self, body):
        """OR04: set ``order_reference_for_seller``; the 200 answer's body.

        Malformed bodies (and eco-contributions, which the sandbox does not
        model) answer 400 ``VALIDATION_ERROR``; an unknown order is reported
        in its ``updated_orders`` element (``ORDER_NOT_FOUND``).
        """
        elements = body.get("orders") if isinstance(body, dict) else None
        if not isinstance(elements, list) or not elements:
            raise validation_error("orders is required and must not be empty")
        if len(elements) > OR04_MAX_ORDERS:
            raise validation_error(
                "Too many orders given: %d, at most %d"
                % (len(elements), OR04_MAX_ORDERS)
            )
        for element in elements:
            _check_or04_element(element)
        now = self.now()
        updated_orders = []
        for element in elements:
            order_id = element["order_id"]
            order = self.orders.get(order_id)
            if order is None:
                error = {
                    "code": "ORDER_NOT_FOUND",
                    "field": "order_id",
                    "message": "Order %s not found" % order_id,
                }
                updated_orders.append({"order_id": order_id, "errors": [error]})
                continue
            updated = {}
            references = element.get("references") or {}
            if "order_reference_for_seller" in references:
                value = references["order_reference_for_seller"]
                if value != order.reference_for_seller:
                    order.reference_for_seller = value
                    order.touch(now)
                updated["references"] = {"order_reference_for_seller": value}
            updated_orders.append(
                {"order_id": order_id, "errors": [], "updated": updated}
            )
        return {"updated_orders": updated_orders}

    # === cancellations (control API) === #

    def cancel(self, order_id, requested=None, reason_code=CUSTOMER_CANCELED):
        """Cancel quantities of lines: ``requested`` is ``[(line_id, quantity)]``.

        ``None`` cancels the whole order (what remains of every live line).
        """
        order = self.get_order(order_id)
        if isinstance(order, RawOrder):
            raise bad_request("Raw order %s cannot be cancelled" % order_id)
        if order.state not in CANCELABLE_STATES:
            raise bad_request(
                "Order %s is %s: it cannot be cancelled" % (order_id, order.state)
            )
        if requested is None:
            wanted = [(line, line.remaining_quantity) for line in order.live_lines()]
        else:
            lines = {line.line_id: line for line in order.lines}
            wanted = []
            for line_id, quantity in requested:
                line = lines.get(line_id)
                if line is None:
                    raise bad_request(
                        "Order line %s not found in %s" % (line_id, order_id)
                    )
                if any(other is line for other, _quantity in wanted):
                    raise bad_request("Order line %s is given twice" % line_id)
                if line.state == REFUSED:
                    raise bad_request("Order line %s is REFUSED" % line_id)
                if quantity > line.remaining_quantity:
                    raise bad_request(
                        "Order line %s: cannot cancel %d, %d left"
                        % (line_id, quantity, line.remaining_quantity)
                    )
                wanted.append((line, quantity))
        moment = order.touch(self.now(), [line for line, _quantity in wanted])
        for line, quantity in wanted:
            amounts = compute_cancelation(
                line.amounts, quantity, [c.amounts for c in line.cancelations]
            )
            self.cancelation_seq += 1
            line.cancelations.append(
                Cancelation(str(self.cancelation_seq), moment, reason_code, amounts)
            )
            if not line.remaining_quantity:
                line.state, line.reason_code = CANCELED, reason_code
        if not order.live_lines():
            order.state, order.reason_code = CANCELED, reason_code
            order.reason_label = None

    # === call log === #

    def record_call(self, **fields):
        """Append a call-log entry (``seq`` and real ``time`` first) and return it."""
        self.call_seq += 1
        entry = {
            "seq": self.call_seq,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            **fields,
        }
        self.calls.append(entry)
        return entry


def _check_or04_element(element):
    """400 VALIDATION_ERROR unless ``element`` is a usable OR04 order."""
    if not isinstance(element, dict):
        raise validation_error("Every element of orders must be an object")
    order_id = element.get("order_id")
    if not isinstance(order_id, str) or not order_id:
        raise validation_error("order_id is required and must be a string")
    if element.get("order_lines") is not None:
        raise validation_error(
            "order_lines (eco-contributions) are not supported by the sandbox"
        )
    references = element.get("references")
    if references is None:
        return
    if not isinstance(references, dict):
        raise validation_error("references must be an object")
    value = references.get("order_reference_for_seller")
    if value is not None and (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > SELLER_REFERENCE_MAX_LENGTH
    ):
        raise validation_error(
            "order_reference_for_seller must be a non-blank string of at most "
            "%d characters (or null)" % SELLER_REFERENCE_MAX_LENGTH
        )
