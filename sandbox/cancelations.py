"""Cancellations of order lines: the control API's, OR29's and OR30's.

``CancelationWorkflow`` is the cancellation side of ``state.SandboxState``
(a mixin: ``cancel``, ``cancel_order_by_shop`` for OR29, ``cancel_lines``
for OR30), with the typed reading of an OR30 body (``_or30_element``). The
order workflow (``orders``) says when an order can be cancelled and what a
cancellation does to its lines.

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
"""

from decimal import Decimal, InvalidOperation

from . import seed
from .amounts import (
    TAX_MODES,
    CancelationError,
    compute_cancelation,
    seller_cancelation,
)
from .common import (
    CANCELABLE_STATES,
    CANCELED,
    CUSTOMER_CANCELED,
    REFUSED,
    SHIPPING,
    bad_request,
    validation_error,
)
from .orders import Cancelation, RawOrder


class CancelationWorkflow:
    """The cancellation side of ``SandboxState`` (a mixin); every method
    expects ``self.lock`` held."""

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
