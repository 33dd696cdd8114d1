"""The sandbox's memory: configuration, virtual clock, orders, faults, call log.

Everything lives in one ``SandboxState`` guarded by one ``threading.RLock``;
the HTTP layer takes the lock around every request (never while sleeping).

Clock: sandbox time is the real UTC time plus an offset that the control API
moves (``POST /_sandbox/clock``), so it keeps flowing with real time. Dates
are stamped to the whole second (the precision the order JSON shows).

Order workflow (order and line states, see the API document section 2.1):

* new orders are ``WAITING_ACCEPTANCE``;
* OR21 accepting lines moves them and the order to ``WAITING_DEBIT``
  (``acceptance_decision_date`` = now); refusing every line makes the order
  and its lines ``REFUSED``; a partial decision (only with partial acceptance
  enabled) refuses the refused lines and moves the rest on;
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
  ``SHIPPING`` order and its non-refused lines to ``SHIPPED``.

``last_updated_date`` of the order (and of the lines a change touches) moves
with every change.

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

import random
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from urllib.parse import quote

from . import seed
from .amounts import TAX_INCLUDED, TAX_MODES, compute_line
from .faults import FaultRegistry

WAITING_ACCEPTANCE = "WAITING_ACCEPTANCE"
WAITING_DEBIT = "WAITING_DEBIT"
WAITING_DEBIT_PAYMENT = "WAITING_DEBIT_PAYMENT"
SHIPPING = "SHIPPING"
SHIPPED = "SHIPPED"
REFUSED = "REFUSED"
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
    "CANCELED",
)
PAYMENT_WORKFLOWS = (
    "PAY_ON_ACCEPTANCE",
    "PAY_ON_DELIVERY",
    "PAY_ON_DUE_DATE",
    "PAY_ON_SHIPMENT",
    "NO_CUSTOMER_PAYMENT_CONFIRMATION",
)
PAYMENT_WORKFLOW = "PAY_ON_ACCEPTANCE"
AUTO_REFUSED = "AUTO_REFUSED"
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


@dataclass
class Order:
    order_id: str
    commercial_id: str
    customer: dict
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

    def touch(self, moment, lines=()):
        """Stamp a change at ``moment`` (never before the previous update)."""
        moment = max(to_second(moment), self.last_updated)
        self.last_updated = moment
        for line in lines:
            line.last_updated = max(moment, line.last_updated)
        return moment

    def live_lines(self):
        return [line for line in self.lines if line.state != REFUSED]

    def move(self, state, moment, reason_code=None, reason_label=None):
        """Move the order and its non-refused lines to ``state`` at ``moment``."""
        lines = self.live_lines()
        moment = self.touch(moment, lines)
        self.state = state
        self.reason_code, self.reason_label = reason_code, reason_label
        for line in lines:
            line.state = state
            line.reason_code, line.reason_label = reason_code, reason_label
        return moment


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

    def add_order(self, spec, arrival=None):
        """Create an order from a ``seed.OrderSpec``; ``arrival`` defaults to now.

        ``arrival`` is when the order reached WAITING_ACCEPTANCE: its first
        ``last_updated_date`` (its creation date may be earlier).
        """
        arrival = to_second(arrival or self.now())
        created = to_second(spec.created_date or arrival)
        tax_mode = spec.tax_mode or self.config["order_tax_mode"]
        commercial_id = "%s-%d" % (seed.COMMERCIAL_ID_PREFIX, self.next_number)
        self.next_number += 1
        shipping_type = spec.shipping_type
        deadline_day = created.date() + timedelta(days=shipping_type.leadtime_to_ship)
        order = Order(
            order_id="%s-A" % commercial_id,
            commercial_id=commercial_id,
            customer=seed.CUSTOMERS[spec.customer_id],
            shipping_type=shipping_type,
            tax_mode=tax_mode,
            reference_for_customer=spec.reference_for_customer,
            created=created,
            last_updated=max(created, arrival),
            shipping_deadline=datetime.combine(deadline_day, time(23, 59, 59), UTC),
        )
        for index, (product, quantity, price_unit) in enumerate(spec.lines, start=1):
            amounts = compute_line(
                price_unit if price_unit is not None else product.price,
                quantity,
                shipping_type.price if index == 1 else 0,
                product.category.vat.rate,
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
            if (
                order.state == WAITING_DEBIT
                and now >= order.acceptance_decision + delay / 2
            ):
                order.move(WAITING_DEBIT_PAYMENT, order.acceptance_decision + delay / 2)
            if (
                order.state == WAITING_DEBIT_PAYMENT
                and now >= order.acceptance_decision + delay
            ):
                moment = order.move(SHIPPING, order.acceptance_decision + delay)
                order.customer_debited = moment
                for line in order.live_lines():
                    line.debited = moment

    # === OR21, OR23, OR24 === #

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
        lines = {line.line_id: line for line in order.lines}
        unknown = sorted(set(decisions) - set(lines))
        if unknown:
            raise bad_request(
                "Order lines not found in %s: %s" % (order_id, ", ".join(unknown)),
                "ORDER_LINE_NOT_FOUND",
            )
        missing = sorted(set(lines) - set(decisions))
        if missing:
            raise bad_request(
                "No decision for order lines: %s" % ", ".join(missing),
                "ORDER_LINE_ACCEPTANCE_DECISION_MISSING",
            )
        if len(set(decisions.values())) > 1 and not self.config["partial_acceptance"]:
            raise bad_request(
                "Partial acceptance is disabled: accept or refuse every line",
                "ORDER_PARTIAL_ACCEPTANCE_DISABLED",
            )
        moment = order.touch(self.now(), order.lines)
        order.acceptance_decision = moment
        for line in order.lines:
            line.state = WAITING_DEBIT if decisions[line.line_id] else REFUSED
        order.state = WAITING_DEBIT if any(decisions.values()) else REFUSED

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
        if order.shipping_type.mandatory_tracking and not order.tracking:
            raise bad_request(
                "Shipping type %s needs a tracking number before shipment"
                % order.shipping_type.code,
                "TRACKING_MANDATORY",
            )
        moment = order.move(SHIPPED, self.now())
        for line in order.live_lines():
            line.shipped = moment

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
