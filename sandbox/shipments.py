"""The sandbox's shipments (ST01, ST23, ST24) and their checks.

``Shipment`` (quantities of lines of one order, with ``ShipmentLine``
lines, and its tracking) and ``ShipmentWorkflow``, the shipment side of
``state.SandboxState`` (a mixin: ``create_shipments`` for ST01,
``ship_shipments`` for ST24, ``update_shipment_tracking`` for ST23, and
``_settle``, which ships lines and orders once their quantity is shipped),
with the checks of the request bodies. The order workflow (``orders``) says
what shipments do to orders and lines; ST11 and ST12 are read-only
(``api``).

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
"""

import copy
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from .common import (
    SHIPPED,
    SHIPPING,
    SandboxError,
    bad_request,
    to_second,
    validation_error,
)

MAX_SHIPMENTS = 1000  # ST01, ST23, ST24: shipments per call
INVOICE_REFERENCE_RE = re.compile(r"[0-9a-zA-Z_-]{0,255}")


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


class ShipmentWorkflow:
    """The shipment side of ``SandboxState`` (a mixin); every method expects
    ``self.lock`` held."""

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
        """One ST01 shipment (SandboxError: its ``shipment_errors`` message).

        Kept in one piece (over 80 lines): its checks run in the order that
        decides which message a refused shipment gets, and nothing changes
        before they all pass.
        """
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
