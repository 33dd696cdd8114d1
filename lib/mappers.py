"""Mirakl order JSON (OR11) to neutral Python objects, and back for OR21.

Pure Python: no Odoo import. The Odoo layer builds Sales Orders from the
objects below and never reads Mirakl's JSON itself, so a field Mirakl renames
is fixed here once.

Amounts are ``Decimal`` (from the JSON number's text, never through binary
float arithmetic), dates are naive UTC ``datetime`` (Odoo's convention),
states and codes are kept as received (Mirakl publishes new enum values).

Cancellations (UNCONFIRMED, see the README): Mirakl lists them per line in
``cancelations[]`` and calls their quantity "informative". By default the
line's ``quantity``, ``price`` and taxes are read as *ordered* and the
cancellations are subtracted; ``cancellations_included=True`` reads them as
already net of cancellations.

Texts: every text is stripped of control characters (NUL included, which
PostgreSQL cannot store) and cut to ``TEXT_MAX`` characters; ``Order.notes``
says which fields were cleaned so the order can carry a warning. Ids (order
and line ids) are never altered: one that is not a clean, short text makes
the order unreadable, as does a line id that appears twice in one order.

Refunds: each line's ``refunds[]`` is read into ``Refund`` objects (amounts in
the order's tax mode, as OR11 shows them). They are part of the raw order, so
of its digest: a refund created or moving to ``REFUNDED`` changes the digest
and sends the order down the update path.
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

TAX_INCLUDED = "TAX_INCLUDED"
TAX_EXCLUDED = "TAX_EXCLUDED"

# Line states after which a line no longer belongs to what is sold.
DEAD_LINE_STATES = frozenset(("REFUSED", "CANCELED"))
# Order states before the shop's decision, and the final ones.
WAITING_ACCEPTANCE = "WAITING_ACCEPTANCE"
PRE_ACCEPTANCE_STATES = frozenset(("STAGING", WAITING_ACCEPTANCE))
RELEASED_STATES = frozenset(
    ("SHIPPING", "SHIPPED", "TO_COLLECT", "RECEIVED", "CLOSED", "INCIDENT_OPEN")
)
CLOSED_STATES = frozenset(("REFUSED", "CANCELED"))
# Reason code of an order Mirakl refused because the shop did not decide
# within the acceptance window.
AUTO_REFUSED = "AUTO_REFUSED"
# Refund state once paid back to the customer (created: WAITING_REFUND).
REFUNDED = "REFUNDED"
# Every order_state the connector knows (Mirakl's documented enum, with its
# deprecated values and INCIDENT_OPEN); any other is held for a person.
KNOWN_ORDER_STATES = frozenset(
    (
        "STAGING",
        WAITING_ACCEPTANCE,
        "WAITING_DEBIT",
        "WAITING_DEBIT_PAYMENT",
        "SHIPPING",
        "SHIPPED",
        "TO_COLLECT",
        "RECEIVED",
        "CLOSED",
        "REFUSED",
        "CANCELED",
        "INCIDENT_OPEN",
        "WAITING_REFUND",
        "WAITING_REFUND_PAYMENT",
    )
)
# Longest text kept from a Mirakl field (names, addresses, labels, codes);
# longest id (order, line) accepted as it is.
TEXT_MAX = 255
ID_MAX = 100
# Control characters (C0 but tab and line breaks, DEL, C1): never stored.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class MiraklPayloadError(ValueError):
    """The order JSON lacks something the connector cannot do without."""


def to_decimal(value, what="amount"):
    """A JSON number (or numeric string) as a Decimal; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MiraklPayloadError("%s is not a number: %r" % (what, value))
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise MiraklPayloadError("%s is not a number: %r" % (what, value)) from exc
    if not number.is_finite():
        raise MiraklPayloadError("%s is not a finite number: %r" % (what, value))
    return number


def money(value, what="amount"):
    value = to_decimal(value, what)
    return ZERO if value is None else value


def parse_datetime(text):
    """An ISO-8601 date-time as naive UTC; None for empty values."""
    if not text:
        return None
    if not isinstance(text, str):
        raise MiraklPayloadError("not a date-time: %r" % (text,))
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python 3.11 parses offsets and fractions of any length.
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MiraklPayloadError("not an ISO-8601 date-time: %r" % (text,)) from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0)


@dataclass
class Tax:
    code: str
    rate: Decimal  # percent, None when Mirakl gives none
    amount: Decimal

    @property
    def key(self):
        return (self.code, self.rate)


@dataclass
class Refund:
    """One refund of (part of) a line, amounts in the order's tax mode."""

    refund_id: str
    state: str
    quantity: int
    amount: Decimal
    shipping_amount: Decimal
    taxes: list
    shipping_taxes: list
    reason_code: str = None
    created: datetime = None
    transaction_date: datetime = None
    commission_amount: Decimal = ZERO
    commission_tax_amount: Decimal = ZERO

    @property
    def refunded(self):
        return self.state == REFUNDED

    @property
    def tax_amount(self):
        return sum((t.amount for t in self.taxes), ZERO)

    @property
    def shipping_tax_amount(self):
        return sum((t.amount for t in self.shipping_taxes), ZERO)


@dataclass
class Address:
    firstname: str = None
    lastname: str = None
    civility: str = None
    company: str = None
    company_2: str = None
    street_1: str = None
    street_2: str = None
    city: str = None
    zip_code: str = None
    state: str = None
    country: str = None
    country_iso_code: str = None
    phone: str = None
    phone_secondary: str = None
    additional_info: str = None

    @property
    def name(self):
        return " ".join(p for p in (self.firstname, self.lastname) if p) or None


@dataclass
class Line:
    line_id: str
    index: int
    state: str
    sku: str
    title: str
    quantity: int  # as ordered (or as served with cancellations_included)
    price_unit: Decimal
    price: Decimal
    shipping_price: Decimal
    total_price: Decimal
    fees: Decimal
    taxes: list
    shipping_taxes: list
    commission_fee: Decimal
    commission_vat: Decimal
    total_commission: Decimal
    cancelled_quantity: int = 0
    cancelled_amount: Decimal = ZERO
    cancelled_shipping: Decimal = ZERO
    cancelled_taxes: dict = field(default_factory=dict)
    cancelled_shipping_taxes: dict = field(default_factory=dict)
    cancelled_commission: Decimal = ZERO
    cancelled_commission_vat: Decimal = ZERO
    reason_code: str = None
    reason_label: str = None
    refunds: list = field(default_factory=list)  # Refund

    @property
    def dead(self):
        return self.state in DEAD_LINE_STATES

    @property
    def live_quantity(self):
        """Units still sold: 0 for refused or cancelled lines."""
        if self.dead:
            return 0
        return max(self.quantity - self.cancelled_quantity, 0)

    @property
    def live_price(self):
        return ZERO if self.dead else self.price - self.cancelled_amount

    @property
    def live_shipping(self):
        return ZERO if self.dead else self.shipping_price - self.cancelled_shipping

    def _live_taxes(self, taxes, cancelled):
        if self.dead:
            return [Tax(t.code, t.rate, ZERO) for t in taxes]
        return [
            Tax(t.code, t.rate, t.amount - cancelled.get(t.code, ZERO)) for t in taxes
        ]

    @property
    def live_taxes(self):
        return self._live_taxes(self.taxes, self.cancelled_taxes)

    @property
    def live_shipping_taxes(self):
        return self._live_taxes(self.shipping_taxes, self.cancelled_shipping_taxes)

    @property
    def live_commission(self):
        if self.dead:
            return ZERO, ZERO
        return (
            self.commission_fee - self.cancelled_commission,
            self.commission_vat - self.cancelled_commission_vat,
        )


@dataclass
class Order:
    order_id: str
    commercial_id: str
    state: str
    created: datetime
    last_updated: datetime
    currency: str
    tax_mode: str
    shipping_type_code: str
    shipping_type_label: str
    lines: list
    customer_id: str = None
    customer_firstname: str = None
    customer_lastname: str = None
    customer_civility: str = None
    customer_locale: str = None
    billing_address: Address = None
    shipping_address: Address = None
    reference_for_customer: str = None
    reference_for_seller: str = None
    state_reason_code: str = None
    state_reason_label: str = None
    acceptance_decision_date: datetime = None
    customer_debited_date: datetime = None
    shipping_deadline: datetime = None
    payment_workflow: str = None
    total_price: Decimal = None
    notes: list = field(default_factory=list)  # texts cleaned while reading
    raw: dict = None
    raw_json: str = None  # the raw order, canonical JSON text
    digest: str = None  # its SHA-1: equal digests mean nothing changed

    @property
    def customer_name(self):
        parts = (self.customer_firstname, self.customer_lastname)
        return " ".join(p for p in parts if p) or None

    @property
    def waiting_acceptance_line_ids(self):
        return [line.line_id for line in self.lines if line.state == WAITING_ACCEPTANCE]

    # --- what the customer pays for the lines still sold ---
    def live_untaxed_or_total(self):
        """Σ price + shipping + fees of live lines, in the order's tax mode."""
        total = ZERO
        for line in self.lines:
            if not line.dead:
                total += line.live_price + line.live_shipping + line.fees
        return total

    def live_tax_total(self):
        total = ZERO
        for line in self.lines:
            for tax in line.live_taxes + line.live_shipping_taxes:
                total += tax.amount
        return total

    def has_taxes(self):
        return any(line.taxes or line.shipping_taxes for line in self.lines)

    def expected_amount_total(self):
        """What the customer pays in all (tax included)."""
        total = self.live_untaxed_or_total()
        if self.tax_mode == TAX_EXCLUDED:
            total += self.live_tax_total()
        return total


def _text(value, what=None, notes=None):
    """A clean, stripped text (None when empty): control characters removed,
    cut to ``TEXT_MAX``; what was changed is added to ``notes``."""
    if value is None:
        return None
    text = str(value).strip()
    clean = CONTROL_CHARACTERS.sub("", text)
    if clean != text and notes is not None:
        notes.append("%s: control characters removed" % what)
    if len(clean) > TEXT_MAX:
        if notes is not None:
            notes.append("%s: %d characters, cut to %d" % (what, len(clean), TEXT_MAX))
        clean = clean[:TEXT_MAX]
    return clean.strip() or None


def usable_id(value):
    """``value`` as an id when it is one (see ``_id``), else None."""
    try:
        return _id(value, "id")
    except MiraklPayloadError:
        return None


def _id(value, what):
    """An id as Mirakl sent it (None when empty); one with control characters
    or longer than ``ID_MAX`` cannot be used.

    :raises MiraklPayloadError: an unusable id (the message shows it cleaned)
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if CONTROL_CHARACTERS.search(text) or len(text) > ID_MAX:
        raise MiraklPayloadError(
            "%s %r is not a usable id (control characters, or longer than %d "
            "characters)" % (what, (_text(text) or "")[:40], ID_MAX)
        )
    return text


def _taxes(raw_taxes, what):
    taxes = []
    for raw in raw_taxes or ():
        if not isinstance(raw, dict):
            raise MiraklPayloadError("%s: a tax is not an object" % what)
        code = _text(raw.get("code"))
        rate = to_decimal(raw.get("rate"), "%s tax rate" % what)
        taxes.append(Tax(code or "", rate, money(raw.get("amount"), what)))
    return taxes


def _sum_by_code(items):
    sums = {}
    for raw in items or ():
        if isinstance(raw, dict):
            code = _text(raw.get("code")) or ""
            sums[code] = sums.get(code, ZERO) + money(raw.get("amount"))
    return sums


def parse_address(raw, what="address", notes=None):
    if not isinstance(raw, dict):
        return None
    return Address(
        **{
            name: _text(raw.get(name), "%s %s" % (what, name), notes)
            for name in Address.__dataclass_fields__
            if name in raw
        }
    )


def _commission_vat(raw):
    taxes = raw.get("commission_taxes")
    if taxes:
        return sum((money(t.get("amount")) for t in taxes if isinstance(t, dict)), ZERO)
    return money(raw.get("commission_vat"))


def _whole_quantity(quantity, what):
    """A JSON quantity as an int; it must be a whole number, at least 0."""
    if isinstance(quantity, bool) or not isinstance(quantity, (int, float)):
        raise MiraklPayloadError("%s: quantity %r is not a number" % (what, quantity))
    if not math.isfinite(quantity) or quantity != int(quantity) or quantity < 0:
        raise MiraklPayloadError(
            "%s: quantity %r is not a whole number" % (what, quantity)
        )
    return int(quantity)


def parse_refund(raw, what):
    """A ``Refund`` from one element of a line's ``refunds``."""
    if not isinstance(raw, dict):
        raise MiraklPayloadError("%s: a refund is not an object" % what)
    refund_id = _text(raw.get("id"))
    if not refund_id:
        raise MiraklPayloadError("%s: a refund has no id" % what)
    what = "%s refund %s" % (what, refund_id)
    quantity = raw.get("quantity")
    quantity = _whole_quantity(0 if quantity is None else quantity, what)
    state = _text(raw.get("refund_state")) or _text(raw.get("state"))
    if not state:
        raise MiraklPayloadError("%s: no state" % what)
    commission_tax = to_decimal(
        raw.get("commission_tax_amount"), what + " commission_tax_amount"
    )
    if commission_tax is None:
        commission_tax = sum(_sum_by_code(raw.get("commission_taxes")).values(), ZERO)
    return Refund(
        refund_id=refund_id,
        state=state,
        quantity=quantity,
        amount=money(raw.get("amount"), what + " amount"),
        shipping_amount=money(raw.get("shipping_amount"), what + " shipping_amount"),
        taxes=_taxes(raw.get("taxes"), what),
        shipping_taxes=_taxes(raw.get("shipping_taxes"), what),
        reason_code=_text(raw.get("reason_code")),
        created=parse_datetime(raw.get("created_date")),
        transaction_date=parse_datetime(raw.get("transaction_date")),
        commission_amount=money(
            raw.get("commission_amount"), what + " commission_amount"
        ),
        commission_tax_amount=commission_tax,
    )


def parse_refunds(raw, what):
    refunds = raw.get("refunds")
    if refunds is None:
        return []
    if not isinstance(refunds, list):
        raise MiraklPayloadError("%s: refunds is not a list" % what)
    return [parse_refund(item, what) for item in refunds]


def parse_line(raw, order_id, cancellations_included=False, notes=None):
    if not isinstance(raw, dict):
        raise MiraklPayloadError("order %s: an order line is not an object" % order_id)
    line_id = _id(raw.get("order_line_id"), "order %s: order line id" % order_id)
    if not line_id:
        raise MiraklPayloadError("order %s: an order line has no id" % order_id)
    what = "line %s" % line_id
    quantity = _whole_quantity(raw.get("quantity"), what)
    price = to_decimal(raw.get("price"), what + " price")
    price_unit = to_decimal(raw.get("price_unit"), what + " price_unit")
    if price is None and price_unit is None:
        raise MiraklPayloadError("%s: no price" % what)
    if price_unit is None:
        price_unit = (price / quantity).quantize(CENT) if quantity else ZERO
    if price is None:
        price = (price_unit * quantity).quantize(CENT)
    shipping = money(raw.get("shipping_price"), what + " shipping_price")
    fees = sum(
        (money(f.get("amount")) for f in raw.get("fees") or () if isinstance(f, dict)),
        ZERO,
    )
    total = to_decimal(raw.get("total_price"), what + " total_price")
    fee = money(raw.get("commission_fee"), what + " commission_fee")
    vat = _commission_vat(raw)
    total_commission = to_decimal(raw.get("total_commission"))
    line = Line(
        line_id=line_id,
        index=raw.get("order_line_index") or 0,
        state=_text(raw.get("order_line_state"), what + " state", notes) or "",
        sku=_text(raw.get("offer_sku"), what + " offer_sku", notes),
        title=_text(raw.get("product_title"), what + " product_title", notes)
        or _text(raw.get("offer_sku"))
        or line_id,
        quantity=quantity,
        price_unit=price_unit,
        price=price,
        shipping_price=shipping,
        total_price=total if total is not None else price + shipping + fees,
        fees=fees,
        taxes=_taxes(raw.get("taxes"), what),
        shipping_taxes=_taxes(raw.get("shipping_taxes"), what),
        commission_fee=fee,
        commission_vat=vat,
        total_commission=total_commission
        if total_commission is not None
        else fee + vat,
        reason_code=_text(raw.get("order_line_state_reason_code")),
        reason_label=_text(
            raw.get("order_line_state_reason_label"), what + " reason", notes
        ),
        refunds=parse_refunds(raw, what),
    )
    if not cancellations_included:
        for cancel in raw.get("cancelations") or ():
            if not isinstance(cancel, dict):
                continue
            line.cancelled_quantity += int(cancel.get("quantity") or 0)
            line.cancelled_amount += money(cancel.get("amount"))
            line.cancelled_shipping += money(cancel.get("shipping_amount"))
            for code, amount in _sum_by_code(cancel.get("taxes")).items():
                line.cancelled_taxes[code] = (
                    line.cancelled_taxes.get(code, ZERO) + amount
                )
            for code, amount in _sum_by_code(cancel.get("shipping_taxes")).items():
                line.cancelled_shipping_taxes[code] = (
                    line.cancelled_shipping_taxes.get(code, ZERO) + amount
                )
            line.cancelled_commission += money(cancel.get("commission_amount"))
            line.cancelled_commission_vat += sum(
                _sum_by_code(cancel.get("commission_taxes")).values(), ZERO
            )
    return line


def parse_order(raw, cancellations_included=False):
    """An ``Order`` from one element of OR11's ``orders``.

    Longer than 80 lines because most of it is the one ``Order(...)`` call,
    written one field per source line.

    :raises MiraklPayloadError: a field the connector needs is missing or
        malformed (the message names it)
    """
    if not isinstance(raw, dict):
        raise MiraklPayloadError("an order is not a JSON object")
    order_id = _id(raw.get("order_id"), "order_id")
    if not order_id:
        raise MiraklPayloadError("an order has no order_id")
    created = parse_datetime(raw.get("created_date"))
    updated = parse_datetime(raw.get("last_updated_date")) or created
    if created is None:
        raise MiraklPayloadError("order %s: no created_date" % order_id)
    lines_raw = raw.get("order_lines")
    if not isinstance(lines_raw, list) or not lines_raw:
        raise MiraklPayloadError("order %s: no order lines" % order_id)
    customer = raw.get("customer") if isinstance(raw.get("customer"), dict) else {}
    references = (
        raw.get("references") if isinstance(raw.get("references"), dict) else {}
    )
    notes = []
    lines = [
        parse_line(line, order_id, cancellations_included, notes) for line in lines_raw
    ]
    seen = set()
    for line in lines:
        if line.line_id in seen:
            raise MiraklPayloadError(
                "order %s: order line %s appears twice" % (order_id, line.line_id)
            )
        seen.add(line.line_id)
    raw_json = json.dumps(raw, sort_keys=True, default=str)
    lines.sort(key=lambda line: (line.index or 0, line.line_id))
    tax_mode = _text(raw.get("order_tax_mode")) or TAX_INCLUDED
    if tax_mode not in (TAX_INCLUDED, TAX_EXCLUDED):
        raise MiraklPayloadError(
            "order %s: unknown order_tax_mode %r" % (order_id, tax_mode)
        )
    return Order(
        order_id=order_id,
        commercial_id=_text(raw.get("commercial_id"), "commercial_id", notes)
        or order_id,
        state=_text(raw.get("order_state"), "order_state", notes) or "",
        created=created,
        last_updated=updated,
        currency=(_text(raw.get("currency_iso_code")) or "").upper(),
        tax_mode=tax_mode,
        shipping_type_code=_text(
            raw.get("shipping_type_code"), "shipping_type_code", notes
        ),
        shipping_type_label=_text(
            raw.get("shipping_type_label"), "shipping_type_label", notes
        ),
        lines=lines,
        customer_id=_text(customer.get("customer_id"), "customer_id", notes),
        customer_firstname=_text(
            customer.get("firstname"), "customer firstname", notes
        ),
        customer_lastname=_text(customer.get("lastname"), "customer lastname", notes),
        customer_civility=_text(customer.get("civility"), "customer civility", notes),
        customer_locale=_text(customer.get("locale"), "customer locale", notes),
        billing_address=parse_address(
            customer.get("billing_address"), "billing address", notes
        ),
        shipping_address=parse_address(
            customer.get("shipping_address"), "shipping address", notes
        ),
        reference_for_customer=_text(
            references.get("order_reference_for_customer"), "reference", notes
        ),
        reference_for_seller=_text(references.get("order_reference_for_seller")),
        state_reason_code=_text(raw.get("order_state_reason_code")),
        state_reason_label=_text(
            raw.get("order_state_reason_label"), "order_state_reason_label", notes
        ),
        acceptance_decision_date=parse_datetime(raw.get("acceptance_decision_date")),
        customer_debited_date=parse_datetime(raw.get("customer_debited_date")),
        shipping_deadline=parse_datetime(raw.get("shipping_deadline")),
        payment_workflow=_text(raw.get("payment_workflow")),
        total_price=to_decimal(raw.get("total_price"), "total_price"),
        notes=notes,
        raw=raw,
        raw_json=raw_json,
        digest=hashlib.sha1(raw_json.encode()).hexdigest(),
    )


def value_problems(order, max_line_quantity, max_total):
    """What is absurd in an order's quantities and amounts (texts).

    A line quantity above ``max_line_quantity``, a negative price, shipping
    or tax, or a total (Mirakl's ``total_price`` or the sum of the lines)
    above ``max_total`` in the order's currency. Such an order is held before
    acceptance, so that the seller can still refuse it.
    """
    problems = []
    for line in order.lines:
        if line.quantity > max_line_quantity:
            problems.append(
                "line %s: quantity %s is above the shop's limit of %s"
                % (line.line_id, line.quantity, max_line_quantity)
            )
        amounts = [
            ("price_unit", line.price_unit),
            ("price", line.price),
            ("shipping_price", line.shipping_price),
            ("total_price", line.total_price),
        ]
        amounts += [("tax %s" % t.code, t.amount) for t in line.taxes]
        amounts += [("shipping tax %s" % t.code, t.amount) for t in line.shipping_taxes]
        for name, amount in amounts:
            if amount is not None and amount < 0:
                problems.append(
                    "line %s: negative %s (%s)" % (line.line_id, name, amount)
                )
    totals = [order.expected_amount_total()]
    if order.total_price is not None:
        if order.total_price < 0:
            problems.append("negative total_price (%s)" % order.total_price)
        totals.append(order.total_price)
    if max(totals) > max_total:
        problems.append(
            "total %s %s is above the shop's limit of %s"
            % (max(totals), order.currency or "", max_total)
        )
    return problems


def acceptance_deadline(order, window_hours):
    """When the marketplace refuses an order still waiting for the shop."""
    return order.created + timedelta(hours=window_hours)
