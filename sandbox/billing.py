"""The sandbox's payout data: transaction lines (TL02), billing cycles
(SBC11), accounting documents (IV01, IV02) and order refunds.

Every figure comes from the sandbox's own orders (``amounts``), so it agrees
with OR11 to the penny. One store per sandbox (``SandboxState.billing``),
rebuilt at reset; ids (lines, cycles, refunds) are UUIDs drawn from the
sandbox seed. Amounts are ``Decimal`` pounds; a line's ``amount`` is signed
from the seller's side (credit > 0, ``amount_credited`` = the credit,
``amount_debited`` = the debit, the other 0.00).

Time-based steps run lazily at the start of every request (``process``,
called by ``SandboxState.refresh`` after the order steps), each stamped at
the virtual moment it happened:

* debit: when an order line is debited (the order reaches ``SHIPPING``,
  ``debited_date``), the line gets, all ``PENDING`` and dated its debit:
  ``ORDER_AMOUNT`` (the price net of the line's taxes: the OR11
  ``TAX_EXCLUDED`` price; a line without taxes: its price as charged), one
  ``ORDER_AMOUNT_TAX`` per tax (``entities.order_tax {code, rate}``),
  ``ORDER_SHIPPING_AMOUNT`` (net) and one ``ORDER_SHIPPING_AMOUNT_TAX`` per
  shipping tax, then ``COMMISSION_FEE`` (negative, excl. VAT) and
  ``COMMISSION_VAT`` (negative, ``entities.shop_tax {GB_VAT, 20}``). What
  was cancelled before the debit is left out (the figures are the line's
  less its cancellations). Zero amounts make no line (a 0 % tax, a line
  without shipping charge: sandbox convention, UNCONFIRMED);
* a cancellation after the debit (control API, OR29, OR30 on a ``SHIPPING``
  line) adds the reversing lines of its amounts, typed ``REFUND_ORDER_*``
  (negative) and ``REFUND_COMMISSION_*`` (positive), ``PENDING``, without
  ``entities.refund`` (sandbox convention, UNCONFIRMED: how Mirakl books a
  cancellation after debit);
* shipment: when the line is ``SHIPPED`` (``shipped_date``) its lines become
  ``PAYABLE`` (sandbox convention, UNCONFIRMED: Mirakl's rule depends on the
  operator's payment workflow); a line cancelled in full after its debit
  becomes ``PAYABLE`` too (its lines net to 0.00);
* refunds (control API ``POST /_sandbox/orders/<id>/refund``, on
  ``SHIPPED`` lines) are ``WAITING_REFUND`` until their creation plus
  ``refund_delay_seconds`` (config, default 0: refunded in the same call),
  then ``REFUNDED`` (``transaction_date`` set) with their lines, all
  ``PAYABLE`` and carrying ``entities.refund.id``:
  ``REFUND_ORDER_AMOUNT`` (negative, net of taxes), one
  ``REFUND_ORDER_AMOUNT_TAX`` per tax, ``REFUND_ORDER_SHIPPING_AMOUNT`` and
  its taxes, ``REFUND_COMMISSION_FEE`` and ``REFUND_COMMISSION_VAT``
  (positive). Creating and refunding both touch the order and the line;
* ``billing_cycle_days`` (config, default 0 = never): a cycle closes every
  that many days of the sandbox clock after the previous close (or the
  reset), each at its due moment, with the default options (pay-out
  ``PAID``).

Refund amounts (``amounts.compute_refund``) are in the order's own tax mode
(the mode its prices are expressed in): default ``amount`` = unit price x
``quantity`` (tax-inclusive on a ``TAX_INCLUDED`` order),
``shipping_amount`` 0; each tax is prorated, ``round(line tax x amount /
line price)`` (likewise shipping); the commission follows the share of the
line's total price refunded, ``round(commission_fee x (amount +
shipping_amount) / total_price)`` and its VAT likewise from the line's
commission VAT (as mirakl-money.md 1.2 describes), each capped at what
cancellations and earlier refunds left. An amount above what the line has
left (price less cancellations and refunds, likewise shipping), a quantity
above the line's quantity left, nothing to refund, or a line that is not
``SHIPPED`` answer 400. OR11 shows each refund in the line's ``refunds``
(``id``, ``order_refund_id`` null, ``amount``, ``shipping_amount`` (in the
tax mode asked for), ``taxes`` and ``shipping_taxes`` ``{code, amount,
rate}``, ``fees`` (empty), ``commission_amount``, ``commission_tax_amount``,
``commission_taxes`` ``{code, amount}``, ``commission_total_amount``,
``quantity``, ``reason_code`` (default ``RETURNED``, free text),
``refund_state`` and the deprecated ``state`` (same value),
``created_date``, ``transaction_date`` (null until ``REFUNDED``),
``transaction_number`` (null)).

Operator items (control API ``POST /_sandbox/billing/items``), ``PAYABLE``
at once, VAT at ``vat_rate`` (default 20) on ``amount_excl_tax``, the VAT
line with ``entities.shop_tax {GB_VAT, rate}``: ``SUBSCRIPTION`` ->
``SUBSCRIPTION_FEE`` + ``SUBSCRIPTION_VAT`` (debits); ``MANUAL_INVOICE`` ->
``MANUAL_INVOICE`` + ``MANUAL_INVOICE_VAT`` (debits) and an IV01
``MANUAL_INVOICE`` document; ``MANUAL_CREDIT`` -> ``MANUAL_CREDIT`` +
``MANUAL_CREDIT_VAT`` (credits) and an IV01 ``MANUAL_CREDIT`` document
(manual lines carry the document's id and number and
``entities.manual_accounting_document {number, emission_date}``);
``ONE_OFF_DEBIT`` -> ``INVOICEABLE_ONE_OFF_DEBIT`` +
``INVOICEABLE_ONE_OFF_DEBIT_TAX`` (debits, ``entities.one_off_item``);
``RAW`` -> one line of the ``transaction_type`` and signed ``amount`` given
(any type: for "unknown type" tests).

Closing a cycle (control API ``POST /_sandbox/billing/close``, or
automatically) takes every ``PAYABLE`` line without a cycle that was payable
at the closing moment, makes it ``PAID`` with the cycle's id, and gives the
AUTO_INVOICE's id and number to the operator-charge lines (commissions,
refunded commissions, subscription, one-off debits); manual documents whose
lines it takes are settled in it (``seller_billing_cycle_id``, ``payment``).
The cycle's ``amount_transferred_to_seller`` is the sum of those lines, and
a ``PAYMENT`` line (``PAID``, the cycle's id, no document) of minus that
sum is added when the cycle took any line (a cycle without lines is a zero
cycle: amount 0.00, no ``PAYMENT`` line, an AUTO_INVOICE of zeros). A
negative sum is kept as is (negative transfer, positive ``PAYMENT``: the
seller owes the operator; sandbox convention, UNCONFIRMED: Mirakl likely
carries a negative balance forward). So, to the penny: sum of the cycle's
lines except ``PAYMENT`` = SBC11 ``amount_transferred_to_seller`` = IV01
``summary.amount_transferred`` = -``PAYMENT.amount``.

Close options: ``pay_out_state`` ``PAID`` (default: ``reference``
``PAYOUT-<voucher>`` and ``transaction_date`` set), ``TO_PAY`` or
``FAILED`` (``failure_reason``, default ``INCOMPLETE_KYC``);
``vat_difference_cents`` (integer) adds that many pence to the
AUTO_INVOICE's ``total_taxes`` (and ``total_amount_incl_taxes``) only, so the
document disagrees with its TL02 VAT lines; ``missing_page`` (true): when
TL02 results that include the cycle's lines span several pages, the first
page's ``next_page_token`` skips the second page (or is absent when nothing
follows it), so a client sees fewer lines than the cycle holds.

SBC11 cycle: ``id``, ``date_created`` (the closing moment),
``currency_iso_code``, ``payment_voucher_number`` (``%010d`` of the cycle's
rank), ``amount_transferred_to_seller``, ``amount_transferred_to_operator``
(minus the operator-charge and manual lines: sandbox convention,
UNCONFIRMED), ``pay_out {state, reference, transaction_date,
failure_reason}``, ``pay_out_psp_code`` (``MIRAKL_PAYOUT``), ``shop`` and
``summary``, signed as the lines: ``total_payable_orders_excl_tax``
(``ORDER_AMOUNT`` + ``ORDER_SHIPPING_AMOUNT``) and ``_incl_tax`` (+ their
taxes), ``total_commissions_*`` (``COMMISSION_FEE`` / + ``COMMISSION_VAT``,
negative), ``total_refund_orders_*`` (``REFUND_ORDER_*``, negative),
``total_refund_commissions_*`` (positive), ``total_subscription_*``
(negative), ``total_other_credits_*`` (``MANUAL_CREDIT*``, positive),
``total_other_invoices_*`` (``MANUAL_INVOICE*`` and
``INVOICEABLE_ONE_OFF_DEBIT*``, negative); every other total 0.00 (lines of
unknown types count in no total).

IV01 AUTO_INVOICE (one per cycle): ``id`` (string) and ``invoice_id`` (int,
the same number; TL02 ``accounting_document_id`` and
``accounting_document_number`` are that number as a string: UNCONFIRMED
whether Mirakl's numbers match), ``type``, ``state`` ``COMPLETE``,
``date_created``, ``issue_date``, ``due_date`` (the closing moment),
``start_time``/``end_time`` (previous close to this one),
``currency_iso_code``, ``seller_billing_cycle_id``, ``total_amount_excl_taxes``
and ``total_taxes [{code GB_VAT, amount}]`` = what the operator charges,
as positive amounts: commissions less refunded commissions, subscription,
one-off debits (sandbox convention, UNCONFIRMED: refunded commissions may
be on a separate credit note), ``total_amount_incl_taxes`` (their sum),
``total_charged_amount`` (the same, deprecated), ``details[]`` (one per
order for commissions with ``order_id``, one per order for refunded
commissions (negative), one per subscription and one-off item;
``description``, ``quantity`` 1, ``amount_excl_taxes``, ``taxes``,
``operation_date``), ``payment {state, reference, transaction_date,
failure_reason}`` (the cycle's pay-out), ``summary`` (SBC11's plus
``amount_transferred``, ``amount_transferred_to_operator``,
``reserve_funding``, ``reserve_settlement``), ``issuing_user {type BATCH}``,
shop identity. Manual documents: the same fields for their one detail,
``emission_date``, ``issuing_user {type OPERATOR}``, amounts positive for
both types (UNCONFIRMED for credits), ``seller_billing_cycle_id`` and a
``payment`` state ``PENDING`` until a cycle settles them. IV02 serves a
small one-page PDF naming the document's type, number, cycle and totals
(UNCONFIRMED that Mirakl's file is a PDF).

Orders that are raw (``orders.RawOrder``) make no transaction lines and
cannot be refunded (their amounts are not modelled).
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from .amounts import (
    COMMISSION_TAX_CODE,
    COMMISSION_VAT_RATE,
    TAX_EXCLUDED,
    ZERO,
    RefundError,
    compute_refund,
    left_over,
    money,
)
from .common import (
    CANCELED,
    SHIPPED,
    SandboxError,
    bad_request,
    iso,
    to_second,
)
from .orders import RawOrder
from .views import rate

PENDING = "PENDING"
PAYABLE = "PAYABLE"
PAID = "PAID"
PAYMENT_STATES = (PENDING, PAYABLE, PAID, "NOT_APPLICABLE", "RESERVE")
PAY_OUT_STATES = ("TO_PAY", PAID, "FAILED")
FAILURE_REASONS = ("INCOMPLETE_KYC", "AWAITING_INVOICE_CHECK")
WAITING_REFUND = "WAITING_REFUND"
REFUNDED = "REFUNDED"
AUTO_INVOICE = "AUTO_INVOICE"
MANUAL_INVOICE = "MANUAL_INVOICE"
MANUAL_CREDIT = "MANUAL_CREDIT"
DOCUMENT_TYPES = (AUTO_INVOICE, MANUAL_INVOICE, MANUAL_CREDIT)
PAYMENT = "PAYMENT"
PAY_OUT_PSP_CODE = "MIRAKL_PAYOUT"
DEFAULT_REFUND_REASON = "RETURNED"
FIRST_INVOICE_ID = 700001
MAX_AUTO_CLOSES = 1000  # per refresh, against a clock moved years ahead

# operator items: kind -> (fee type, tax type, sign, document type)
ITEM_KINDS = {
    "SUBSCRIPTION": ("SUBSCRIPTION_FEE", "SUBSCRIPTION_VAT", -1, None),
    "MANUAL_INVOICE": ("MANUAL_INVOICE", "MANUAL_INVOICE_VAT", -1, MANUAL_INVOICE),
    "MANUAL_CREDIT": ("MANUAL_CREDIT", "MANUAL_CREDIT_VAT", 1, MANUAL_CREDIT),
    "ONE_OFF_DEBIT": (
        "INVOICEABLE_ONE_OFF_DEBIT",
        "INVOICEABLE_ONE_OFF_DEBIT_TAX",
        -1,
        None,
    ),
}
ITEM_DESCRIPTIONS = {
    "SUBSCRIPTION": "Monthly subscription",
    "MANUAL_INVOICE": "Manual invoice",
    "MANUAL_CREDIT": "Manual credit note",
    "ONE_OFF_DEBIT": "One-off charge",
}
# lines the AUTO_INVOICE charges (its number goes on them)
AUTO_INVOICE_FEES = frozenset(
    ("COMMISSION_FEE", "REFUND_COMMISSION_FEE", "SUBSCRIPTION_FEE")
    + ("INVOICEABLE_ONE_OFF_DEBIT",)
)
AUTO_INVOICE_TAXES = frozenset(
    ("COMMISSION_VAT", "REFUND_COMMISSION_VAT", "SUBSCRIPTION_VAT")
    + ("INVOICEABLE_ONE_OFF_DEBIT_TAX",)
)
AUTO_INVOICE_TYPES = AUTO_INVOICE_FEES | AUTO_INVOICE_TAXES
OPERATOR_TYPES = AUTO_INVOICE_TYPES | {
    "MANUAL_INVOICE",
    "MANUAL_INVOICE_VAT",
    "MANUAL_CREDIT",
    "MANUAL_CREDIT_VAT",
}
# SBC11 summary: total name -> (types excl. tax, tax types)
SUMMARY_TOTALS = (
    (
        "payable_orders",
        ("ORDER_AMOUNT", "ORDER_SHIPPING_AMOUNT"),
        ("ORDER_AMOUNT_TAX", "ORDER_SHIPPING_AMOUNT_TAX"),
    ),
    ("commissions", ("COMMISSION_FEE",), ("COMMISSION_VAT",)),
    (
        "refund_orders",
        ("REFUND_ORDER_AMOUNT", "REFUND_ORDER_SHIPPING_AMOUNT"),
        ("REFUND_ORDER_AMOUNT_TAX", "REFUND_ORDER_SHIPPING_AMOUNT_TAX"),
    ),
    ("refund_commissions", ("REFUND_COMMISSION_FEE",), ("REFUND_COMMISSION_VAT",)),
    ("subscription", ("SUBSCRIPTION_FEE",), ("SUBSCRIPTION_VAT",)),
    ("other_credits", ("MANUAL_CREDIT",), ("MANUAL_CREDIT_VAT",)),
    (
        "other_invoices",
        ("MANUAL_INVOICE", "INVOICEABLE_ONE_OFF_DEBIT"),
        ("MANUAL_INVOICE_VAT", "INVOICEABLE_ONE_OFF_DEBIT_TAX"),
    ),
)
ZERO_TOTALS = (
    "fee",
    "fee_operator_remitted",
    "non_payable_orders",
    "operator_paid_shipping_charges",
    "refund_fee",
    "refund_fee_operator_remitted",
    "refund_non_payable_orders",
    "refund_operator_paid_shipping_charges",
    "refund_payable_orders",
    "seller_fees_on_orders",
    "seller_penalty_fees",
)
ZERO_SINGLE_TOTALS = (
    "total_operator_remitted_taxes",
    "total_purchase_taxes",
    "total_refund_operator_remitted_taxes",
    "total_refund_purchase_taxes",
)


def _sum(values):
    return sum(values, ZERO)


@dataclass
class TransactionLine:
    """One TL02 line."""

    line_id: str
    seq: int
    type: str
    amount: Decimal
    balance: Decimal
    created: datetime
    last_updated: datetime
    payment_state: str
    entities: dict
    payable_at: datetime = None
    cycle_id: str = None
    document: object = None  # AccountingDocument
    document_date: datetime = None
    order_id: str = None
    order_line_id: str = None


@dataclass
class Refund:
    """One refund of (part of) a SHIPPED line."""

    refund_id: str
    order_id: str
    line: object = field(repr=False, compare=False)  # orders.OrderLine
    reason_code: str
    amounts: object  # amounts.CancelAmounts, in the line's own mode
    created: datetime = None
    state: str = WAITING_REFUND
    refunded: datetime = None

    @property
    def order_line_id(self):
        return self.line.line_id


@dataclass
class AccountingDocument:
    """One IV01 document (AUTO_INVOICE of a cycle, or a manual document)."""

    invoice_id: int
    type: str
    created: datetime
    total_excl: Decimal
    total_taxes: Decimal
    details: list
    cycle_id: str = None
    start: datetime = None
    summary: dict = None
    payment: dict = field(default_factory=lambda: {"state": PENDING})

    @property
    def number(self):
        return str(self.invoice_id)


@dataclass
class BillingCycle:
    """One SBC11 cycle."""

    cycle_id: str
    seq: int
    created: datetime
    amount: Decimal
    to_operator: Decimal
    pay_out: dict
    summary: dict
    document: AccountingDocument
    missing_page: bool = False

    @property
    def voucher(self):
        return "%010d" % self.seq


class BillingStore:
    """Transaction lines, cycles, documents and refunds of one sandbox."""

    def __init__(self, state):
        self.state = state
        self.rng = random.Random("billing-%s" % state.seed)
        self.lines = []  # TransactionLine, in creation order
        self.cycles = []  # BillingCycle, in closing order
        self.documents = []  # AccountingDocument, in creation order
        self.refunds = []  # Refund, in creation order
        self.waiting = []  # the WAITING_REFUND ones, in creation order
        self.balance = ZERO
        self.seq = 0
        self.next_invoice_id = FIRST_INVOICE_ID
        self.last_close = to_second(state.now())
        self.pending = {}  # order line id -> its PENDING TransactionLines
        self.debited = {}  # order line id -> cancellations seen
        self.payable = set()  # order line ids whose lines are PAYABLE
        self.unclosed = []  # PAYABLE TransactionLines without a cycle

    def _uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # === lines === #

    def add_line(self, kind, amount, moment, state=PENDING, entities=None, **extra):
        amount = money(amount)
        self.seq += 1
        self.balance += amount
        line = TransactionLine(
            line_id=self._uuid(),
            seq=self.seq,
            type=kind,
            amount=amount,
            balance=self.balance,
            created=moment,
            last_updated=moment,
            payment_state=state,
            entities=entities or {},
            payable_at=moment if state == PAYABLE else None,
            **extra,
        )
        self.lines.append(line)
        if state == PAYABLE:
            self.unclosed.append(line)
        return line

    def _order_entities(self, order, line):
        return {
            "order": {
                "id": order.order_id,
                "commercial_id": order.commercial_id,
                "creation_date": iso(order.created),
                "references": {
                    "order_reference_for_customer": order.reference_for_customer,
                    "order_reference_for_seller": order.reference_for_seller,
                },
                "payment_info": {"payment_type": "CARD", "imprint_number": None},
            },
            "order_line": {"id": line.line_id},
            "domain": "PRODUCT",
        }

    def _money_lines(
        self, order, line, moment, amounts, sign, prefix, extra_entities=None
    ):
        """Lines of ``amounts`` (a CancelAmounts: what a debit charges, a
        cancellation or a refund) with type ``prefix``.

        Order amounts (net of their taxes) carry ``sign``, commissions the
        opposite one. Zero amounts make no line.
        """
        base = self._order_entities(order, line)
        base.update(extra_entities or {})
        net = amounts.priced(TAX_EXCLUDED)
        made = []

        def add(kind, amount, **entities):
            if amount:
                made.append(
                    self.add_line(
                        prefix + kind,
                        amount,
                        moment,
                        entities=dict(base, **entities),
                        order_id=order.order_id,
                        order_line_id=line.line_id,
                    )
                )

        add("ORDER_AMOUNT", sign * net["amount"])
        for tax in amounts.taxes:
            add(
                "ORDER_AMOUNT_TAX",
                sign * tax.amount,
                order_tax={"code": tax.code, "rate": rate(tax.rate)},
            )
        add("ORDER_SHIPPING_AMOUNT", sign * net["shipping_amount"])
        for tax in amounts.shipping_taxes:
            add(
                "ORDER_SHIPPING_AMOUNT_TAX",
                sign * tax.amount,
                order_tax={"code": tax.code, "rate": rate(tax.rate)},
            )
        add("COMMISSION_FEE", -sign * amounts.commission_amount)
        add(
            "COMMISSION_VAT",
            -sign * amounts.commission_tax,
            shop_tax={"code": COMMISSION_TAX_CODE, "rate": rate(COMMISSION_VAT_RATE)},
        )
        return made

    # === time-based steps === #

    def process(self, now):
        """Debits, cancellations after debit, payables, refunds, auto closes."""
        for order in self.state.orders.values():
            if isinstance(order, RawOrder) or order.customer_debited is None:
                continue
            for line in order.lines:
                if line.debited is None:
                    continue
                self._line_events(order, line)
        if self.waiting:
            delay = timedelta(seconds=self.state.config["refund_delay_seconds"])
            waiting, self.waiting = self.waiting, []
            for refund in waiting:
                if now >= refund.created + delay:
                    self._refund_done(refund, refund.created + delay)
                else:
                    self.waiting.append(refund)
        days = self.state.config["billing_cycle_days"]
        closes = 0
        while days and closes < MAX_AUTO_CLOSES:
            due = self.last_close + timedelta(days=days)
            if now < due:
                break
            self.close(to_second(due))
            closes += 1

    def _line_events(self, order, line):
        line_id = line.line_id
        if line_id not in self.debited:
            self.debited[line_id] = len(line.cancelations)
            charged = left_over(line.amounts, [c.amounts for c in line.cancelations])
            self.pending[line_id] = self._money_lines(
                order, line, line.debited, charged, 1, ""
            )
        seen = self.debited[line_id]
        for cancelation in line.cancelations[seen:]:
            made = self._money_lines(
                order,
                line,
                max(cancelation.created, line.debited),
                cancelation.amounts,
                -1,
                "REFUND_",
            )
            if line_id in self.payable:
                self._make_payable(made, cancelation.created)
            else:
                self.pending[line_id].extend(made)
        self.debited[line_id] = len(line.cancelations)
        if line_id in self.payable:
            return
        moment = None
        if line.shipped is not None:
            moment = line.shipped
        elif line.state == CANCELED and line.cancelations:
            moment = line.cancelations[-1].created
        if moment is not None:
            self._make_payable(self.pending.pop(line_id, []), moment)
            self.payable.add(line_id)

    def _make_payable(self, lines, moment):
        for tl in lines:
            tl.payment_state = PAYABLE
            tl.payable_at = max(moment, tl.created)
            tl.last_updated = max(tl.payable_at, tl.last_updated)
            self.unclosed.append(tl)

    # === refunds === #

    def refund(self, order_id, elements, reason_code=DEFAULT_REFUND_REASON):
        """Control API: refund SHIPPED lines; the Refund list (400 on errors).

        ``elements``: ``[{"order_line_id", "quantity", "amount"?,
        "shipping_amount"?}]`` with Decimal amounts (own tax mode).
        """
        order = self.state.get_order(order_id)
        if isinstance(order, RawOrder):
            raise bad_request("Raw order %s cannot be refunded" % order_id)
        lines = {line.line_id: line for line in order.lines}
        planned = []
        for element in elements:
            line = lines.get(element["order_line_id"])
            if line is None:
                raise bad_request(
                    "Order line %s not found in %s"
                    % (element["order_line_id"], order_id)
                )
            if any(other is line for other, _refund in planned):
                raise bad_request("Order line %s is given twice" % line.line_id)
            if line.state != SHIPPED:
                raise bad_request(
                    "Order line %s is %s, not SHIPPED" % (line.line_id, line.state)
                )
            try:
                amounts = compute_refund(
                    line.amounts,
                    element["quantity"],
                    element.get("amount"),
                    element.get("shipping_amount"),
                    [c.amounts for c in line.cancelations],
                    [r.amounts for r in line.refunds],
                )
            except RefundError as exc:
                raise bad_request("Order line %s: %s" % (line.line_id, exc)) from exc
            refund = Refund(
                refund_id=self._uuid(),
                order_id=order.order_id,
                line=line,
                reason_code=reason_code,
                amounts=amounts,
            )
            planned.append((line, refund))
        moment = order.touch(self.state.now(), [line for line, _refund in planned])
        created = []
        for line, refund in planned:
            refund.created = moment
            line.refunds.append(refund)
            self.refunds.append(refund)
            created.append(refund)
        if self.state.config["refund_delay_seconds"]:
            self.waiting.extend(created)
        else:
            for refund in created:
                self._refund_done(refund, moment)
        return created

    def _refund_done(self, refund, moment):
        order = self.state.orders.get(refund.order_id)
        line = refund.line
        moment = order.touch(moment, [line])
        refund.state = REFUNDED
        refund.refunded = moment
        entities = {"refund": {"id": refund.refund_id}}
        made = self._money_lines(
            order, line, moment, refund.amounts, -1, "REFUND_", entities
        )
        self._make_payable(made, moment)

    # === operator items === #

    def add_item(self, kind, amount_excl, vat_rate, description, moment):
        """Control API: an operator item's lines (and manual document)."""
        fee_type, tax_type, sign, document_type = ITEM_KINDS[kind]
        amount_excl = money(amount_excl)
        vat = money(amount_excl * vat_rate / Decimal(100))
        description = description or ITEM_DESCRIPTIONS[kind]
        entities = {}
        document = None
        if document_type is not None:
            document = self._new_document(
                document_type,
                moment,
                amount_excl,
                vat,
                [_detail(description, amount_excl, vat, moment)],
            )
            entities["manual_accounting_document"] = {
                "number": document.number,
                "emission_date": iso(moment),
            }
        if kind == "ONE_OFF_DEBIT":
            entities["one_off_item"] = {
                "description": description,
                "operation_date": moment.date().isoformat(),
                "quantity": 1,
                "unit_price": amount_excl,
                "references": [],
            }
        extra = {"document": document, "document_date": moment if document else None}
        made = [
            self.add_line(
                fee_type, sign * amount_excl, moment, PAYABLE, dict(entities), **extra
            )
        ]
        if vat:
            made.append(
                self.add_line(
                    tax_type,
                    sign * vat,
                    moment,
                    PAYABLE,
                    dict(
                        entities,
                        shop_tax={"code": COMMISSION_TAX_CODE, "rate": rate(vat_rate)},
                    ),
                    **extra,
                )
            )
        return made, document

    def _new_document(self, kind, moment, total_excl, total_taxes, details):
        document = AccountingDocument(
            invoice_id=self.next_invoice_id,
            type=kind,
            created=moment,
            total_excl=total_excl,
            total_taxes=total_taxes,
            details=details,
        )
        self.next_invoice_id += 1
        self.documents.append(document)
        return document

    # === closing a cycle === #

    def close(
        self,
        moment,
        pay_out_state=PAID,
        failure_reason=None,
        vat_difference_cents=0,
        missing_page=False,
    ):
        """Close a billing cycle at ``moment``; the BillingCycle."""
        taken = sorted(
            (tl for tl in self.unclosed if tl.payable_at <= moment),
            key=lambda tl: tl.seq,
        )
        self.unclosed = [tl for tl in self.unclosed if tl.payable_at > moment]
        cycle_id = self._uuid()
        total = _sum(tl.amount for tl in taken)
        charges = [tl for tl in taken if tl.type in AUTO_INVOICE_TYPES]
        charged = {id(tl) for tl in charges}
        excl = -_sum(tl.amount for tl in charges if tl.type in AUTO_INVOICE_FEES)
        taxes = -_sum(tl.amount for tl in charges if tl.type in AUTO_INVOICE_TAXES)
        taxes += Decimal(vat_difference_cents) / 100
        document = self._new_document(
            AUTO_INVOICE, moment, excl, taxes, _auto_details(charges, moment)
        )
        document.cycle_id = cycle_id
        document.start = self.last_close
        summary = _summary(taken)
        to_operator = -_sum(tl.amount for tl in taken if tl.type in OPERATOR_TYPES)
        document.summary = dict(
            summary,
            amount_transferred=total,
            amount_transferred_to_operator=to_operator,
            reserve_funding=ZERO,
            reserve_settlement=ZERO,
        )
        seq = len(self.cycles) + 1
        pay_out = {
            "state": pay_out_state,
            "reference": None,
            "transaction_date": None,
            "failure_reason": None,
        }
        if pay_out_state == PAID:
            pay_out["reference"] = "PAYOUT-%010d" % seq
            pay_out["transaction_date"] = iso(moment)
        elif pay_out_state == "FAILED":
            pay_out["failure_reason"] = failure_reason or FAILURE_REASONS[0]
        cycle = BillingCycle(
            cycle_id=cycle_id,
            seq=seq,
            created=moment,
            amount=total,
            to_operator=to_operator,
            pay_out=pay_out,
            summary=summary,
            document=document,
            missing_page=missing_page,
        )
        document.payment = dict(pay_out)
        for tl in taken:
            tl.payment_state = PAID
            tl.cycle_id = cycle_id
            tl.last_updated = max(moment, tl.last_updated)
            if id(tl) in charged:
                tl.document, tl.document_date = document, moment
            elif tl.document is not None and tl.document.type != AUTO_INVOICE:
                tl.document.cycle_id = cycle_id
                tl.document.payment = dict(pay_out)
        if taken:
            self.add_line(PAYMENT, -total, moment, PAID, cycle_id=cycle_id)
        self.cycles.append(cycle)
        self.last_close = moment
        return cycle

    # === reads === #

    def document(self, invoice_id):
        for document in self.documents:
            if document.invoice_id == invoice_id:
                return document
        raise SandboxError(404, "Accounting document %s not found" % invoice_id)


def _detail(description, amount_excl, tax, moment, order_id=None):
    detail = {
        "description": description,
        "quantity": 1,
        "amount_excl_taxes": amount_excl,
        "taxes": [{"code": COMMISSION_TAX_CODE, "amount": tax}],
        "operation_date": iso(moment),
    }
    if order_id is not None:
        detail["order_id"] = order_id
    return detail


def _auto_details(charges, moment):
    """AUTO_INVOICE details: per order (commissions, refunded commissions),
    per subscription or one-off item; positive = charged to the shop."""
    groups = {}
    for tl in charges:
        if tl.type.startswith("REFUND_COMMISSION"):
            key = ("Refunded commissions of order %s" % tl.order_id, tl.order_id)
        elif tl.type.startswith("COMMISSION"):
            key = ("Commissions of order %s" % tl.order_id, tl.order_id)
        elif tl.type.startswith("SUBSCRIPTION"):
            key = ("Subscription", None)
        else:
            key = ("One-off charges", None)
        excl, tax = groups.get(key, (ZERO, ZERO))
        if tl.type in AUTO_INVOICE_FEES:
            excl -= tl.amount
        else:
            tax -= tl.amount
        groups[key] = (excl, tax)
    return [
        _detail(description, excl, tax, moment, order_id)
        for (description, order_id), (excl, tax) in groups.items()
    ]


def _summary(lines):
    """SBC11 ``summary`` of a cycle's lines (signed as the lines)."""
    by_type = {}
    for tl in lines:
        by_type[tl.type] = by_type.get(tl.type, ZERO) + tl.amount
    summary = {}
    for name, excl_types, tax_types in SUMMARY_TOTALS:
        excl = _sum(by_type.get(t, ZERO) for t in excl_types)
        tax = _sum(by_type.get(t, ZERO) for t in tax_types)
        summary["total_%s_excl_tax" % name] = excl
        summary["total_%s_incl_tax" % name] = excl + tax
    for name in ZERO_TOTALS:
        summary["total_%s_excl_tax" % name] = ZERO
        summary["total_%s_incl_tax" % name] = ZERO
    for name in ZERO_SINGLE_TOTALS:
        summary[name] = ZERO
    return dict(sorted(summary.items()))
