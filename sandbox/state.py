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
  ``SHIPPING`` order and its live lines to ``SHIPPED`` (refused with
  ``ORDER_HAS_SHIPMENTS`` once ST01 made shipments for it: sandbox
  convention, UNCONFIRMED);
* OR04 stores ``order_reference_for_seller`` (any state; ``null`` removes
  it);
* shipments (ST01, only with ``multi_shipment`` on): each puts quantities of
  ``SHIPPING`` lines of a ``SHIPPING`` order in a ``Shipment`` (never more
  than a line has left after cancellations and earlier shipments), in status
  ``SHIPPING``, or ``SHIPPED`` at once with ``shipped: true``; ST24 ships
  ``SHIPPING`` shipments, ST23 replaces a shipment's tracking (carrier rules
  of OR23; only the shipment's ``last_updated_date`` moves). A line whose
  quantity left after cancellations is all in ``SHIPPED`` shipments becomes
  ``SHIPPED`` (``shipped_date``), and the order becomes ``SHIPPED`` when all
  its live lines are; the order stays ``SHIPPING`` meanwhile (partly shipped
  lines too: OR11 has no shipped-quantity field, ST11 and ST12 show the
  quantities). ST01 and ST24 touch the order and the lines they ship. The
  order-level tracking fields stay OR23's: shipments carry their own
  (UNCONFIRMED whether Mirakl copies them onto the order). A shipping type
  with ``mandatory_tracking`` needs a tracking number before a shipment is
  shipped (ST01 ``shipped: true`` or ST24);
* cancellations come from the operator or the customer, through the control
  API (``cancel``): allowed while the order is ``WAITING_ACCEPTANCE``,
  ``WAITING_DEBIT``, ``WAITING_DEBIT_PAYMENT`` or ``SHIPPING``; or from the
  shop: OR29 cancels the whole order while ``can_cancel`` is true (the order
  is ``SHIPPING`` and has no shipment; else 400 ``ORDER_CANCEL_NOT_ALLOWED``,
  sandbox code; whether Mirakl lets a shop cancel in ``WAITING_DEBIT*`` is
  UNCONFIRMED, the sandbox does not) with reason ``SHOP_CANCELED``, and OR30
  cancels quantities of ``SHIPPING`` lines with the amounts the seller
  states (see ``cancel_lines``). Quantities in shipments cannot be
  cancelled. Each cancellation cancels a quantity of a live line and is
  listed in the line's ``cancelations``; a line whose cancelled quantity
  reaches its quantity becomes ``CANCELED`` (with the reason code), and an
  order left without live lines becomes ``CANCELED`` with the reason code
  (one left with only shipped lines becomes ``SHIPPED``).

``last_updated_date`` of the order (and of the lines a change touches) moves
with every change; OR04 only touches the order when the reference changes
(whether Mirakl touches it on an identical value is UNCONFIRMED).

OR30 (``cancel_lines``) is all or nothing: the first refused element answers
400 and nothing is cancelled. Checks and codes (sandbox codes where Mirakl's
are UNCONFIRMED): malformed body, unknown ``order_tax_mode``, a currency
other than GBP -> ``VALIDATION_ERROR``; unknown line ->
``ORDER_LINE_NOT_FOUND``; a line twice in one call ->
``ORDER_LINE_DUPLICATE_ID``; a line of a raw order ->
``UNSUPPORTED_BY_SANDBOX``; a line that is not ``SHIPPING`` ->
``ORDER_LINE_INVALID_STATE``; ``quantity`` not between 1 and what the line
has left to ship -> ``CANCELATION_QUANTITY_INVALID`` (Mirakl's own example
sends 0: whether a 0 quantity means an amount-only cancellation is
UNCONFIRMED); ``reason_code`` unknown to RE01 or not of type ``CANCELATION``
-> ``REASON_CODE_INVALID``, one with ``is_shop_right`` false ->
``REASON_CODE_NOT_ALLOWED``; a negative ``amount`` or ``shipping_amount``,
or one above what the line has left, or a non-zero fee (lines have none) ->
``CANCELATION_AMOUNT_INVALID``; ``taxes`` missing (or empty) while the line
has taxes and ``amount`` is not 0, likewise ``shipping_taxes`` ->
``CANCELATION_TAXES_REQUIRED`` (a zero-rated line has a 0.00 tax, so it needs
one too; whether Mirakl prorates instead for ``PROPORTIONAL_TO_AMOUNT``
lines is UNCONFIRMED); a tax code the line does not have, a negative tax, one
above what is left for its code, or taxes above their tax-inclusive amount
-> ``CANCELATION_TAX_INVALID``. Amounts are in the body's ``order_tax_mode``
(default: the platform's); ``amounts.seller_cancelation`` does the money.

ST01 answers 201 with ``shipment_success`` (the shipments, as ST11 shows
them) and ``shipment_errors`` (``{order_id, message}``; Mirakl gives no
machine code there). A malformed body (no ``shipments``, more than 1000, an
element without ``order_id`` or ``shipment_lines``, a non-integer quantity,
a non-boolean ``shipped``, an ``invoice_reference`` outside
``[0-9a-zA-Z_-]{0,255}``, any ``shipment_additional_information``) answers
400 ``VALIDATION_ERROR``. Each shipment is checked against what the previous
ones of the call left, and refused (message in ``shipment_errors``, nothing
created for it) when: ``multi_shipment`` is off (every shipment: sandbox
convention, UNCONFIRMED), the order is unknown or not ``SHIPPING`` ("The
order status must be 'SHIPPING' but it is 'SHIPPED'.", Mirakl's wording), a
line has no ``order_line_id`` (``offer_sku`` is not supported), is not in
the order, is given twice or is not ``SHIPPING``, a quantity is below 1 or
above what the line has left to ship ("Shipment quantity is invalid: ..."),
the tracking breaks a carrier rule of OR23 (unknown ``carrier_code``, a
carrier whose URL needs the number without one, ``carrier_name`` while
``disable_seller_alternative_carrier``, neither), or ``shipped: true`` on a
``mandatory_tracking`` shipping type without a tracking number. ST24 and
ST23 answer 200 ``{shipment_success: [{id}], shipment_errors: [{id,
message}]}``: an unknown id ("No shipment with id '...'."), a shipment that
is not ``SHIPPING`` (ST24) or neither ``SHIPPING`` nor ``SHIPPED`` (ST23),
a missing tracking number on a ``mandatory_tracking`` order (ST24) or a
carrier rule (ST23) are reported per shipment; a malformed body is a 400
``VALIDATION_ERROR``. Shipment ids are UUIDs drawn from the sandbox seed.

Raw orders (control API ``orders/raw``) are order JSON stored verbatim
(``RawOrder``): OR11 filters, sorts and pages them like the others (from the
dates and fields of their JSON) and serves the JSON as stored; OR21, OR04,
OR23, OR24, OR29, ST01/ST23/ST24 (line quantities from the JSON's
``quantity`` less its ``cancelations``) and the time-based steps above apply
to them and rewrite the fields they change in the JSON (``order_state`` and
its reason, ``can_shop_ship`` (true in ``SHIPPING``), ``can_cancel`` (OR29's
rule), ``last_updated_date``,
``acceptance_decision_date``, ``customer_debited_date``, the references and
the shipping/tracking fields; on lines ``order_line_state`` and its reason,
``last_updated_date``, ``debited_date``, ``shipped_date``, ``can_refund``).
A raw order in ``WAITING_DEBIT*`` without ``acceptance_decision_date`` counts
its debit delay from ``created_date``. Raw orders are not converted to the
other tax mode, hide no address before acceptance, are not listed by ST12 and
cannot be cancelled through the control API nor OR30 (their amounts are not
modelled); OR29 moves them to ``CANCELED`` without cancellation elements.

Configuration (``DEFAULT_CONFIG``; ``/_sandbox/config``):

* ``partial_acceptance`` (false): OR21 may mix accepted and refused lines;
* ``debit_delay_seconds`` (0): from acceptance to ``SHIPPING``;
* ``acceptance_window_hours`` (72): age at which unaccepted orders are refused;
* ``update_date_delta_seconds`` (5): how far OR11 moves ``start_update_date``
  back;
* ``order_tax_mode`` (``TAX_INCLUDED``): the platform's mode, OR11's default
  and the mode new orders' prices are expressed in;
* ``multi_shipment`` (false): published by PC01
  (``features.shipment.multi_shipment``); ST01 refuses every shipment while
  it is off (ST11, ST23, ST24 keep working on existing shipments). Whether
  Mirakl refuses OR24 when it is on is UNCONFIRMED: the sandbox refuses OR24
  only for orders that have shipments;
* ``details_before_acceptance`` (true): addresses visible while
  ``WAITING_ACCEPTANCE``;
* ``disable_seller_alternative_carrier`` (false): published by PC01
  (``features.disable_seller_alternative_carrier``); OR23, ST01 and ST23
  refuse ``carrier_name``;
* ``max_page_size`` (100): largest OR11 and OF21 ``max`` and ST11/ST12
  ``limit``;
* ``seed_offers`` (true): the seed catalogue's offers exist after a reset;
* ``initial_offer_quantity`` (0): their quantity;
* ``import_delay_seconds`` (0): how long STO01 and OF24 imports stay
  ``WAITING`` before they are applied;
* ``max_offers_per_call`` (10000): most offers one OF24 call takes (sandbox
  figure, Mirakl's is UNCONFIRMED);
* ``billing_cycle_days`` (0 = never): a billing cycle closes automatically
  every that many days of the sandbox clock after the previous close;
* ``refund_delay_seconds`` (0): how long a refund stays ``WAITING_REFUND``;
* ``product_integration_delay_seconds`` (0): how long valid products of a
  product import (P41) stay ``SENT`` before the operator integrates them;
* ``product_csv_delimiter`` (``;``): the separator P41 files must use (``;``,
  ``,``, a tab or ``|``);
* ``product_image_check`` (true): P41 downloads every image URL it is given;
* ``image_timeout_seconds`` (5): how long that download may take.

The operator's product model and the product imports live in
``catalogue.ProductStore`` (``self.products``), which describes them.

Offers, stock and offer imports live in ``offers.OfferStore``
(``self.offers``), which describes them; orders take stock from offers and
refusals and cancellations give it back (see ``offers``).

Payout data (transaction lines, billing cycles, accounting documents) and
order refunds live in ``billing.BillingStore`` (``self.billing``), which
describes them; ``refresh`` lets it record debits, shipments, refunds and
automatic closes after the order steps. A line's refunds are in its
``refunds`` list (OR11 ``refunds``).
"""

import copy
import random
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from . import seed
from .amounts import (
    TAX_INCLUDED,
    TAX_MODES,
    CancelationError,
    compute_cancelation,
    compute_line,
    seller_cancelation,
)
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
MAX_SHIPMENTS = 1000  # ST01, ST23, ST24: shipments per call
SHIPMENT_STATES = (
    SHIPPING,
    "READY_FOR_PICK_UP",
    "SHIPMENT_PREPARED",
    SHIPPED,
    "TO_COLLECT",
    "RECEIVED",
    CANCELED,
    "CLOSED",
)
SHIPMENT_DEBIT_STATES = (
    "NO_DEBIT",
    "NOT_STARTED",
    "WAITING_TAX_CONFIRMATION",
    "WAITING_OPERATOR_SYSTEM_CONTACT",
    "WAITING_DEBIT_CONFIRMATION",
    "DEBIT_OK",
    CANCELED,
)
NO_DEBIT = "NO_DEBIT"
INVOICE_REFERENCE_RE = re.compile(r"[0-9a-zA-Z_-]{0,255}")
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
    "seed_offers": True,
    "initial_offer_quantity": 0,
    "import_delay_seconds": 0,
    "max_offers_per_call": 10000,
    "billing_cycle_days": 0,
    "refund_delay_seconds": 0,
    "product_integration_delay_seconds": 0,
    "product_csv_delimiter": ";",
    "product_image_check": True,
    "image_timeout_seconds": 5,
}
_BOOL_KEYS = frozenset(
    (
        "seed_offers",
        "partial_acceptance",
        "multi_shipment",
        "details_before_acceptance",
        "disable_seller_alternative_carrier",
        "product_image_check",
    )
)
PRODUCT_CSV_DELIMITERS = (";", ",", "\t", "|")


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


@dataclass
class RawAnswer:
    """A handler's non-JSON answer body (CSV reports): bytes and media type."""

    body: bytes
    content_type: str


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
        elif key == "product_csv_delimiter":
            if value not in PRODUCT_CSV_DELIMITERS:
                raise ValueError(
                    "product_csv_delimiter must be one of %s"
                    % ", ".join(repr(d) for d in PRODUCT_CSV_DELIMITERS)
                )
        elif key == "order_tax_mode":
            if value not in TAX_MODES:
                raise ValueError(
                    "order_tax_mode must be one of %s" % ", ".join(TAX_MODES)
                )
        elif key in ("max_page_size", "max_offers_per_call"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError("%s must be a positive integer" % key)
        elif key == "initial_offer_quantity":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    "initial_offer_quantity must be a non-negative integer"
                )
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
    in_shipments: int = 0  # quantity put in shipments (ST01)
    shipped_quantity: int = 0  # of which in SHIPPED shipments
    refunds: list = field(default_factory=list)  # billing.Refund

    @property
    def quantity(self):
        return self.amounts.quantity

    @property
    def offer_sku(self):
        return self.product.sku

    @property
    def remaining_quantity(self):
        """The quantity not cancelled yet."""
        return self.amounts.quantity - sum(
            c.amounts.quantity for c in self.cancelations
        )

    @property
    def quantity_to_ship(self):
        """The quantity neither cancelled nor put in a shipment."""
        return self.remaining_quantity - self.in_shipments


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

    @property
    def has_shipments(self):
        """Whether ST01 put any quantity of the order in a shipment."""
        return any(line.in_shipments for line in self.lines)

    @property
    def can_cancel(self):
        """OR29 allowed: ``SHIPPING`` and nothing put in a shipment yet."""
        return self.state == SHIPPING and not self.has_shipments

    def shipments_changed(self):
        """Hook called after ST01 changed ``has_shipments``."""

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
        self.in_shipments = self.shipped_quantity = 0

    @property
    def quantity(self):
        """The line's ``quantity`` (0 when the JSON has no integer one)."""
        value = self.payload.get("quantity")
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    @property
    def remaining_quantity(self):
        """``quantity`` less the quantities of the JSON's ``cancelations``."""
        cancelled = 0
        for cancelation in self.payload.get("cancelations") or ():
            value = cancelation.get("quantity") if isinstance(cancelation, dict) else 0
            if isinstance(value, int) and not isinstance(value, bool):
                cancelled += value
        return max(0, self.quantity - cancelled)

    @property
    def quantity_to_ship(self):
        return self.remaining_quantity - self.in_shipments

    line_id = property(lambda self: self.payload["order_line_id"])
    offer_sku = property(lambda self: self.payload.get("offer_sku"))
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
        self.payload["can_shop_ship"] = value == SHIPPING
        self.payload["can_cancel"] = self.can_cancel

    def shipments_changed(self):
        self.payload["can_cancel"] = self.can_cancel

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


@dataclass
class ShipmentLine:
    order_line_id: str
    offer_sku: str
    quantity: int
    package_reference: str = None


@dataclass
class Shipment:
    """One ST01 shipment: quantities of lines of one order, and its tracking."""

    shipment_id: str
    seq: int  # creation rank (ST11 sort tie-break)
    order_id: str
    lines: list  # ShipmentLine
    created: datetime
    last_updated: datetime
    status: str = SHIPPING
    shipped: datetime = None
    tracking: dict = None  # see SandboxState.resolve_tracking
    invoice_reference: str = None
    shipping_from: dict = None


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
        # OR11 orders that break the contract (no order_id, repeated line ids,
        # unknown states...), served verbatim after the sandbox's own.
        self.malformed_orders = []
        self.next_number = seed.FIRST_COMMERCIAL_NUMBER
        self.cancelation_seq = 0
        self.shipments = {}  # id -> Shipment, in creation order
        self.shipment_seq = 0
        self.shipment_rng = random.Random("shipments-%s" % self.seed)
        # offers imports this module: imported here, not at the top
        from .offers import OfferStore

        self.offers = OfferStore(self)
        from .billing import BillingStore

        self.billing = BillingStore(self)
        from .catalogue import ProductStore

        self.products = ProductStore(self)
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
        for line in order.lines:
            self.offers.take(line.offer_sku, line.quantity)
        return order

    def add_raw_order(self, payload):
        """Store an order given as OR11 JSON (replaces an order of the same id,
        whose shipments are dropped); its live lines take stock from offers."""
        order = RawOrder(payload)
        self.orders[order.order_id] = order
        for line in order.live_lines():
            self.offers.take(line.offer_sku, line.remaining_quantity)
        self.shipments = {
            key: shipment
            for key, shipment in self.shipments.items()
            if shipment.order_id != order.order_id
        }
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
                self._give_back(order.live_lines())
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
        self.offers.process_due(now)
        self.products.process_due(now)
        self.billing.process(now)

    def _give_back(self, lines):
        """Refused or cancelled lines: what is left of them returns to offers."""
        for line in lines:
            self.offers.give_back(line.offer_sku, line.remaining_quantity)

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
        self._give_back(line for line in live if not decisions[line.line_id])
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
        tracking = self.resolve_tracking(
            values["carrier_code"],
            values["carrier_name"],
            values["carrier_url"],
            values["carrier_standard_code"],
            values["tracking_number"],
        )
        order.carrier_code = tracking["carrier_code"]
        order.carrier_standard_code = tracking["carrier_standard_code"]
        order.company = tracking["carrier_name"]
        order.tracking_url = tracking["tracking_url"]
        order.tracking = tracking["tracking_number"]
        order.touch(self.now())

    def resolve_tracking(self, carrier_code, carrier_name, url, standard_code, number):
        """Check a carrier and tracking (OR23, ST01, ST23 rules); the stored dict.

        ``{carrier_code, carrier_name, carrier_standard_code, tracking_number,
        tracking_url}``: a registered carrier (``carrier_code``, SH21) gives
        its label, standard code and tracking URL (with the number put in; the
        URL sent is ignored); otherwise ``carrier_name`` with the standard
        code and URL sent. ``carrier_code`` wins when both are sent.

        :raises SandboxError: 400 ``CARRIER_NOT_FOUND``,
            ``TRACKING_NUMBER_REQUIRED`` (the carrier's URL needs the number),
            ``ALTERNATIVE_CARRIER_DISABLED`` or ``VALIDATION_ERROR`` (no carrier)
        """
        if carrier_code:
            carrier = seed.CARRIERS_BY_CODE.get(carrier_code)
            if carrier is None:
                raise bad_request(
                    "Unknown carrier code %s" % carrier_code, "CARRIER_NOT_FOUND"
                )
            tracking_url = carrier["tracking_url"]
            if tracking_url and seed.TRACKING_PLACEHOLDER in tracking_url:
                if not number:
                    raise bad_request(
                        "Carrier %s needs a tracking number" % carrier["code"],
                        "TRACKING_NUMBER_REQUIRED",
                    )
                tracking_url = tracking_url.replace(
                    seed.TRACKING_PLACEHOLDER, quote(number, safe="")
                )
            return {
                "carrier_code": carrier["code"],
                "carrier_name": carrier["label"],
                "carrier_standard_code": carrier["standard_code"],
                "tracking_number": number,
                "tracking_url": tracking_url,
            }
        if carrier_name:
            if self.config["disable_seller_alternative_carrier"]:
                raise bad_request(
                    "Carriers outside the platform list are disabled",
                    "ALTERNATIVE_CARRIER_DISABLED",
                )
            return {
                "carrier_code": None,
                "carrier_name": carrier_name,
                "carrier_standard_code": standard_code,
                "tracking_number": number,
                "tracking_url": url,
            }
        raise validation_error("carrier_code or carrier_name is required")

    def ship(self, order_id):
        """OR24: confirm the shipment of a SHIPPING order (without shipments)."""
        order = self.get_order(order_id)
        if order.state != SHIPPING:
            raise bad_request(
                "Order %s is %s, not SHIPPING" % (order_id, order.state),
                "ORDER_INVALID_STATE",
            )
        if order.has_shipments:
            raise bad_request(
                "Order %s has shipments: ship them with ST24" % order_id,
                "ORDER_HAS_SHIPMENTS",
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

    # === cancellations: control API, OR29, OR30 === #

    def cancel(self, order_id, requested=None, reason_code=CUSTOMER_CANCELED):
        """Cancel quantities of lines: ``requested`` is ``[(line_id, quantity)]``.

        ``None`` cancels the whole order (what remains of every live line that
        is not in a shipment). Quantities put in shipments cannot be cancelled.
        """
        order = self.get_order(order_id)
        if isinstance(order, RawOrder):
            raise bad_request("Raw order %s cannot be cancelled" % order_id)
        if order.state not in CANCELABLE_STATES:
            raise bad_request(
                "Order %s is %s: it cannot be cancelled" % (order_id, order.state)
            )
        if requested is None:
            wanted = [
                (line, line.quantity_to_ship)
                for line in order.live_lines()
                if line.quantity_to_ship > 0
            ]
            if not wanted:
                raise bad_request("Order %s has nothing left to cancel" % order_id)
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
                if quantity > line.quantity_to_ship:
                    raise bad_request(
                        "Order line %s: cannot cancel %d, %d left"
                        % (line_id, quantity, line.quantity_to_ship)
                    )
                wanted.append((line, quantity))
        moment = order.touch(self.now(), [line for line, _quantity in wanted])
        for line, quantity in wanted:
            amounts = compute_cancelation(
                line.amounts, quantity, [c.amounts for c in line.cancelations]
            )
            self._add_cancelation(line, amounts, reason_code, moment)
        self._after_cancelations(order, reason_code, moment)

    def _add_cancelation(self, line, amounts, reason_code, moment):
        """Append a cancellation to ``line`` and give its quantity back to
        the offer; the line is CANCELED when nothing is left."""
        self.cancelation_seq += 1
        cancelation = Cancelation(
            str(self.cancelation_seq), moment, reason_code, amounts
        )
        line.cancelations.append(cancelation)
        self.offers.give_back(line.offer_sku, amounts.quantity)
        if not line.remaining_quantity:
            line.state, line.reason_code = CANCELED, reason_code
        return cancelation

    def _after_cancelations(self, order, reason_code, moment):
        """CANCELED without live lines; SHIPPED when the rest is all shipped."""
        if not order.live_lines():
            order.state, order.reason_code = CANCELED, reason_code
            order.reason_label = None
        else:
            self._settle(order, moment)

    def cancel_order_by_shop(self, order_id):
        """OR29: cancel the whole order, allowed while ``can_cancel``.

        Generated orders go through ``cancel`` (reason ``SHOP_CANCELED``);
        raw orders only move to CANCELED with that reason (no cancellation
        elements: their amounts are not modelled).
        """
        order = self.get_order(order_id)
        if not order.can_cancel:
            why = "it has shipments" if order.has_shipments else order.state
            raise bad_request(
                "Order %s cannot be cancelled by the shop (%s)" % (order_id, why),
                "ORDER_CANCEL_NOT_ALLOWED",
            )
        if isinstance(order, RawOrder):
            self._give_back(order.live_lines())
            order.move(CANCELED, self.now(), seed.SHOP_CANCEL_REASON)
        else:
            self.cancel(order_id, None, seed.SHOP_CANCEL_REASON)

    def _find_line(self, line_id):
        """(order, line) of an order line id, or (None, None)."""
        candidates = [self.orders.get(line_id.rpartition("-")[0])]
        candidates += self.orders.values()
        for order in candidates:
            for line in order.lines if order is not None else ():
                if line.line_id == line_id:
                    return order, line
        return None, None

    def cancel_lines(self, body):
        """OR30: create the cancellations of ``body``; the 200 answer's parts.

        All or nothing: the first refused element answers 400 and nothing is
        cancelled. Returns ``(tax_mode, [(line, Cancelation)])``.
        """
        if not isinstance(body, dict):
            raise validation_error("The body must be a JSON object")
        tax_mode = body.get("order_tax_mode")
        if tax_mode is None:
            tax_mode = self.config["order_tax_mode"]
        elif tax_mode not in TAX_MODES:
            raise validation_error(
                "order_tax_mode must be one of %s" % ", ".join(TAX_MODES)
            )
        elements = body.get("cancelations")
        if not isinstance(elements, list) or not elements:
            raise validation_error("cancelations is required and must not be empty")
        parsed = [_or30_element(element) for element in elements]
        planned = []
        for element in parsed:
            planned.append(self._plan_cancelation(element, tax_mode, planned))
        now = self.now()
        created = []
        for order, line, amounts, reason_code in planned:
            moment = order.touch(now, [line])
            cancelation = self._add_cancelation(line, amounts, reason_code, moment)
            created.append((line, cancelation))
        for order, _line, _amounts, reason_code in planned:
            if order.state == SHIPPING:
                self._after_cancelations(order, reason_code, order.last_updated)
        return tax_mode, created

    def _plan_cancelation(self, element, tax_mode, planned):
        """Check one OR30 element: ``(order, line, CancelAmounts, reason)``."""
        line_id = element["order_line_id"]
        order, line = self._find_line(line_id)
        if line is None:
            raise bad_request(
                "Order line %s not found" % line_id, "ORDER_LINE_NOT_FOUND"
            )
        if any(other is line for _order, other, _amounts, _reason in planned):
            raise bad_request(
                "Order line %s is given twice" % line_id, "ORDER_LINE_DUPLICATE_ID"
            )
        if isinstance(order, RawOrder):
            raise bad_request(
                "Order line %s belongs to a raw order: the sandbox does not "
                "model its amounts" % line_id,
                "UNSUPPORTED_BY_SANDBOX",
            )
        if line.state != SHIPPING:
            raise bad_request(
                "Order line %s is %s, not SHIPPING" % (line_id, line.state),
                "ORDER_LINE_INVALID_STATE",
            )
        if not 1 <= element["quantity"] <= line.quantity_to_ship:
            raise bad_request(
                "Order line %s: cannot cancel %d, %d left to ship"
                % (line_id, element["quantity"], line.quantity_to_ship),
                "CANCELATION_QUANTITY_INVALID",
            )
        reason = seed.REASONS_BY_CODE.get(element["reason_code"])
        if reason is None or reason["type"] != "CANCELATION":
            raise bad_request(
                "Unknown cancellation reason code %s" % element["reason_code"],
                "REASON_CODE_INVALID",
            )
        if not reason["is_shop_right"]:
            raise bad_request(
                "Reason code %s is not available to the shop" % reason["code"],
                "REASON_CODE_NOT_ALLOWED",
            )
        for fee in element["fees"]:
            if fee["amount"]:
                raise bad_request(
                    "Order line %s has no fee %s" % (line_id, fee["code"]),
                    "CANCELATION_AMOUNT_INVALID",
                )
        amounts = line.amounts
        for key, amount_key, line_taxes in (
            ("taxes", "amount", amounts.taxes),
            ("shipping_taxes", "shipping_amount", amounts.shipping_taxes),
        ):
            if line_taxes and element[amount_key] and not element[key]:
                raise bad_request(
                    "Order line %s is taxed: %s are required" % (line_id, key),
                    "CANCELATION_TAXES_REQUIRED",
                )
        try:
            cancel_amounts = seller_cancelation(
                amounts,
                element["quantity"],
                element["amount"],
                element["shipping_amount"],
                element["taxes"] or {},
                element["shipping_taxes"] or {},
                tax_mode,
                [c.amounts for c in line.cancelations],
            )
        except CancelationError as exc:
            code = {
                "quantity": "CANCELATION_QUANTITY_INVALID",
                "amount": "CANCELATION_AMOUNT_INVALID",
                "shipping_amount": "CANCELATION_AMOUNT_INVALID",
            }.get(exc.field, "CANCELATION_TAX_INVALID")
            raise bad_request("Order line %s: %s" % (line_id, exc), code) from exc
        return order, line, cancel_amounts, reason["code"]

    # === shipments: ST01, ST23, ST24 === #

    def _settle(self, order, moment):
        """Ship the lines (and then the order) whose live quantity is shipped.

        A ``SHIPPING`` line whose quantity left after cancellations is all in
        SHIPPED shipments becomes ``SHIPPED`` (``shipped_date`` = ``moment``);
        when every live line is, the order becomes ``SHIPPED`` too.
        """
        if order.state != SHIPPING:
            return
        for line in order.live_lines():
            if (
                line.state == SHIPPING
                and line.shipped_quantity
                and line.shipped_quantity >= line.remaining_quantity
            ):
                line.state = SHIPPED
                line.shipped = order.touch(moment, [line])
        live = order.live_lines()
        if live and all(line.state == SHIPPED for line in live):
            order.touch(moment)
            order.state = SHIPPED
            order.reason_code = order.reason_label = None

    def _ship_shipment(self, shipment, order, moment):
        shipment.status = SHIPPED
        shipment.shipped = shipment.last_updated = moment
        lines = {line.line_id: line for line in order.lines}
        for shipment_line in shipment.lines:
            lines[
                shipment_line.order_line_id
            ].shipped_quantity += shipment_line.quantity
        self._settle(order, moment)

    def create_shipments(self, body):
        """ST01: create the shipments of ``body``; the 201 answer's parts.

        Returns ``(created Shipment list, [{"order_id", "message"}])``; each
        shipment is checked against the state the previous ones left.
        """
        elements = _shipments_body(body)
        for element in elements:
            _check_st01_element(element)
        created, errors = [], []
        for element in elements:
            try:
                created.append(self._create_shipment(element))
            except SandboxError as error:
                errors.append(
                    {"order_id": element["order_id"], "message": error.message}
                )
        return created, errors

    def _create_shipment(self, element):
        """One ST01 shipment (SandboxError: its ``shipment_errors`` message)."""
        if not self.config["multi_shipment"]:
            raise bad_request(
                "Multiple shipments are disabled on this platform (PC01 "
                "features.shipment.multi_shipment): ship with OR23 and OR24"
            )
        order = self.orders.get(element["order_id"])
        if order is None:
            raise bad_request("Order %s not found" % element["order_id"])
        if order.state != SHIPPING:
            raise bad_request(
                "The order status must be 'SHIPPING' but it is '%s'." % order.state
            )
        lines = {line.line_id: line for line in order.lines}
        wanted = []
        for raw in element["shipment_lines"]:
            line_id = raw.get("order_line_id")
            if not line_id:
                raise bad_request(
                    "order_line_id is required (offer_sku is not supported by "
                    "the sandbox)"
                )
            line = lines.get(line_id)
            if line is None:
                raise bad_request(
                    "Order line %s not found in order %s" % (line_id, order.order_id)
                )
            if any(other is line for other, _raw in wanted):
                raise bad_request("Order line %s is given twice" % line_id)
            if line.state != SHIPPING:
                raise bad_request(
                    "The order line status must be 'SHIPPING' but it is '%s' "
                    "(order line %s)." % (line.state, line_id)
                )
            if not 1 <= raw["quantity"] <= line.quantity_to_ship:
                raise bad_request(
                    "Shipment quantity is invalid: order line %s has %d left to "
                    "ship, %d asked."
                    % (line_id, line.quantity_to_ship, raw["quantity"])
                )
            wanted.append((line, raw))
        tracking = element.get("tracking")
        if tracking is not None:
            tracking = self.resolve_tracking(*_tracking_args(tracking))
        shipped = bool(element.get("shipped"))
        if (
            shipped
            and order.mandatory_tracking
            and not (tracking or {}).get("tracking_number")
        ):
            raise bad_request(
                "Shipping type %s needs a tracking number before shipment"
                % order.shipping_type_code
            )
        moment = order.touch(self.now(), [line for line, _raw in wanted])
        self.shipment_seq += 1
        shipment = Shipment(
            shipment_id=str(
                uuid.UUID(int=self.shipment_rng.getrandbits(128), version=4)
            ),
            seq=self.shipment_seq,
            order_id=order.order_id,
            lines=[
                ShipmentLine(
                    line.line_id,
                    line.offer_sku,
                    raw["quantity"],
                    raw.get("package_reference"),
                )
                for line, raw in wanted
            ],
            created=moment,
            last_updated=moment,
            tracking=tracking,
            invoice_reference=element.get("invoice_reference"),
            shipping_from=copy.deepcopy(element.get("shipping_from")),
        )
        self.shipments[shipment.shipment_id] = shipment
        for line, raw in wanted:
            line.in_shipments += raw["quantity"]
        order.shipments_changed()
        if shipped:
            self._ship_shipment(shipment, order, moment)
        return shipment

    def ship_shipments(self, body):
        """ST24: ship the shipments of ``body``; ``(success, errors)`` lists."""
        elements = _shipments_body(body)
        for element in elements:
            _check_shipment_id(element)
        success, errors = [], []
        for element in elements:
            shipment_id = element["id"]
            try:
                shipment, order = self._shipment(shipment_id, (SHIPPING,))
                if order.state != SHIPPING:
                    raise bad_request(
                        "The order status must be 'SHIPPING' but it is '%s'."
                        % order.state
                    )
                if order.mandatory_tracking and not (shipment.tracking or {}).get(
                    "tracking_number"
                ):
                    raise bad_request(
                        "Shipping type %s needs a tracking number before shipment"
                        % order.shipping_type_code
                    )
            except SandboxError as error:
                errors.append({"id": shipment_id, "message": error.message})
                continue
            lines = [
                line
                for line in order.lines
                if line.line_id in {s.order_line_id for s in shipment.lines}
            ]
            self._ship_shipment(shipment, order, order.touch(self.now(), lines))
            success.append({"id": shipment_id})
        return success, errors

    def update_shipment_tracking(self, body):
        """ST23: replace the tracking of shipments; ``(success, errors)`` lists.

        Only the shipment changes (``last_updated_date``), not its order.
        """
        elements = _shipments_body(body)
        for element in elements:
            _check_shipment_id(element)
            tracking = element.get("tracking")
            if not isinstance(tracking, dict):
                raise validation_error("Every shipment needs a tracking object")
            _check_tracking(tracking)
        success, errors = [], []
        for element in elements:
            shipment_id = element["id"]
            tracking = element["tracking"]
            try:
                shipment, _order = self._shipment(shipment_id, (SHIPPING, SHIPPED))
                shipment.tracking = self.resolve_tracking(*_tracking_args(tracking))
            except SandboxError as error:
                errors.append({"id": shipment_id, "message": error.message})
                continue
            shipment.last_updated = max(to_second(self.now()), shipment.last_updated)
            success.append({"id": shipment_id})
        return success, errors

    def _shipment(self, shipment_id, states):
        """(shipment, order) of an id; 400 message when unknown or not in ``states``."""
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            raise bad_request("No shipment with id '%s'." % shipment_id)
        if shipment.status not in states:
            raise bad_request(
                "The shipment status must be '%s' but it is '%s'."
                % ("' or '".join(states), shipment.status)
            )
        return shipment, self.orders[shipment.order_id]

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


def _or30_number(element, key):
    """A required OR30 amount as Decimal (JSON number or numeric string)."""
    value = element.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise validation_error("%s must be a number" % key)
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise validation_error("%s must be a number" % key) from exc
    if not number.is_finite():
        raise validation_error("%s must be a number" % key)
    return number


def _or30_taxes(element, key):
    """``{code: Decimal}`` of an OR30 tax list (None when not sent)."""
    raw = element.get(key)
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise validation_error("%s must be a list" % key)
    taxes = {}
    for tax in raw:
        if not isinstance(tax, dict) or not isinstance(tax.get("code"), str):
            raise validation_error("Every element of %s needs a code" % key)
        if tax["code"] in taxes:
            raise validation_error("%s: tax %s is given twice" % (key, tax["code"]))
        taxes[tax["code"]] = _or30_number(tax, "amount")
    return taxes


def _or30_element(element):
    """An OR30 cancellation, typed (400 VALIDATION_ERROR when malformed)."""
    if not isinstance(element, dict):
        raise validation_error("Every element of cancelations must be an object")
    for key in ("order_line_id", "reason_code"):
        if not isinstance(element.get(key), str) or not element[key]:
            raise validation_error("%s is required and must be a string" % key)
    quantity = element.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise validation_error("quantity is required and must be an integer")
    currency = element.get("currency_iso_code")
    if currency is not None and currency != seed.CURRENCY:
        raise validation_error(
            "currency_iso_code must be %s (the shop's currency)" % seed.CURRENCY
        )
    fees = element.get("fees") or []
    if not isinstance(fees, list):
        raise validation_error("fees must be a list")
    parsed_fees = []
    for fee in fees:
        if not isinstance(fee, dict) or not isinstance(fee.get("code"), str):
            raise validation_error("Every fee needs a code")
        parsed_fees.append({"code": fee["code"], "amount": _or30_number(fee, "amount")})
    return {
        "order_line_id": element["order_line_id"],
        "reason_code": element["reason_code"],
        "quantity": quantity,
        "amount": _or30_number(element, "amount"),
        "shipping_amount": _or30_number(element, "shipping_amount"),
        "taxes": _or30_taxes(element, "taxes"),
        "shipping_taxes": _or30_taxes(element, "shipping_taxes"),
        "fees": parsed_fees,
    }


def _shipments_body(body):
    """The ``shipments`` list of an ST01/ST23/ST24 body (400 when unusable)."""
    elements = body.get("shipments") if isinstance(body, dict) else None
    if not isinstance(elements, list) or not elements:
        raise validation_error("shipments is required and must not be empty")
    if len(elements) > MAX_SHIPMENTS:
        raise validation_error(
            "Too many shipments given: %d, at most %d" % (len(elements), MAX_SHIPMENTS)
        )
    if not all(isinstance(element, dict) for element in elements):
        raise validation_error("Every element of shipments must be an object")
    return elements


def _check_shipment_id(element):
    if not isinstance(element.get("id"), str) or not element["id"]:
        raise validation_error("Every shipment needs an id (string)")


_TRACKING_KEYS = (
    "carrier_code",
    "carrier_name",
    "carrier_standard_code",
    "tracking_number",
    "tracking_url",
)


def _tracking_args(tracking):
    """``resolve_tracking``'s arguments from an ST tracking object ("" = None)."""
    return tuple(
        tracking.get(key) or None
        for key in (
            "carrier_code",
            "carrier_name",
            "tracking_url",
            "carrier_standard_code",
            "tracking_number",
        )
    )


def _check_tracking(tracking):
    for key in _TRACKING_KEYS:
        value = tracking.get(key)
        if value is not None and not isinstance(value, str):
            raise validation_error("tracking.%s must be a string" % key)


def _optional_string(element, key):
    value = element.get(key)
    if value is not None and not isinstance(value, str):
        raise validation_error("%s must be a string" % key)


def _check_st01_element(element):
    """400 VALIDATION_ERROR unless ``element`` is a well-formed ST01 shipment."""
    order_id = element.get("order_id")
    if not isinstance(order_id, str) or not order_id:
        raise validation_error("order_id is required and must be a string")
    lines = element.get("shipment_lines")
    if not isinstance(lines, list) or not lines:
        raise validation_error("shipment_lines is required and must not be empty")
    for line in lines:
        if not isinstance(line, dict):
            raise validation_error("Every shipment line must be an object")
        quantity = line.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise validation_error("quantity is required and must be an integer")
        for key in ("order_line_id", "offer_sku", "package_reference"):
            _optional_string(line, key)
    shipped = element.get("shipped")
    if shipped is not None and not isinstance(shipped, bool):
        raise validation_error("shipped must be true or false")
    tracking = element.get("tracking")
    if tracking is not None:
        if not isinstance(tracking, dict):
            raise validation_error("tracking must be an object")
        _check_tracking(tracking)
    reference = element.get("invoice_reference")
    if reference is not None and (
        not isinstance(reference, str) or not INVOICE_REFERENCE_RE.fullmatch(reference)
    ):
        raise validation_error(
            "invoice_reference must be at most 255 letters, digits, _ or -"
        )
    shipping_from = element.get("shipping_from")
    if shipping_from is not None:
        warehouse = (
            shipping_from.get("warehouse") if isinstance(shipping_from, dict) else 0
        )
        if warehouse is not None and (
            not isinstance(warehouse, dict)
            or not isinstance(warehouse.get("code"), str | None)
        ):
            raise validation_error("shipping_from must be {warehouse: {code}}")
    if element.get("shipment_additional_information"):
        raise validation_error(
            "shipment_additional_information is not supported by the sandbox"
        )
