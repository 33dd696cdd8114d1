"""The sandbox's orders: generated and raw orders and their workflow.

``Order`` (an order the sandbox generated, with ``OrderLine`` lines and their
``Cancelation`` elements) and ``RawOrder`` (an OR11 JSON stored verbatim,
with ``RawLine`` lines) share the state moves of ``_Workflow``.
``OrderWorkflow`` is the order side of ``state.SandboxState`` (a mixin: its
methods use the state's configuration, clock, orders and offers): adding and
reading orders, OR21, OR23, OR24 and OR04; ``cancelations`` holds the
cancellations (control API, OR29, OR30) and ``shipments`` the shipments
(ST01, ST23, ST24).

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
"""

import copy
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from urllib.parse import quote

from . import seed
from .amounts import compute_line
from .common import (
    DEAD_LINE_STATES,
    ORDER_STATES,
    REFUSED,
    SHIPPED,
    SHIPPING,
    UTC,
    WAITING_ACCEPTANCE,
    WAITING_DEBIT,
    SandboxError,
    bad_request,
    iso,
    parse_datetime,
    to_second,
    validation_error,
)

OR04_MAX_ORDERS = 100
SELLER_REFERENCE_MAX_LENGTH = 2000


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


class OrderWorkflow:
    """The order side of ``SandboxState`` (a mixin); every method expects
    ``self.lock`` held."""

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
