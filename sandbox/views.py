"""JSON shapes of the sandbox's Mirakl objects (orders, lines, ST12 items,
shipments, OR30 cancellations).

Field names follow the API document (section 2.2); every field it marks as
required is present, plus the useful optional ones. Dates are ISO-8601 UTC to
the second (``2025-03-03T10:12:00Z``), amounts are JSON numbers (pounds with
two decimals), tax rates are percentages (``20``).

Sandbox conventions where the document is silent (UNCONFIRMED):

* orders have no channel (``channel`` null) and no additional fields;
* ``payment_type`` is ``"CARD"``, ``payment_workflow`` ``PAY_ON_ACCEPTANCE``;
* ``can_shop_ship`` is true only in ``SHIPPING``, ``can_cancel`` only in
  ``SHIPPING`` while the order has no shipment (OR29's rule), ``can_refund``
  only on ``SHIPPED`` lines;
* ``shipping_deadline`` = end of the day ``leadtime_to_ship`` days after
  creation; ``delivery_date`` follows from the shipping type;
* ``shipping_taxes`` is empty on lines without a shipping charge;
* a refusal by the shop (OR21) leaves ``order_state_reason_code`` null, an
  automatic refusal sets ``AUTO_REFUSED``;
* with ``details_before_acceptance`` off, ``billing_address`` and
  ``shipping_address`` are null while the order is ``WAITING_ACCEPTANCE``;
* ST12 ``shipping_date`` is the moment the order became ``SHIPPING`` (ready
  to ship); its ``quantity`` is what remains of the line after cancellations
  and shipments (ST01), lines with nothing left are left out;
* shipped quantities (ST01/ST24) show in OR11 only as line states: a line
  all shipped is ``SHIPPED`` with its ``shipped_date``, a partly shipped line
  stays ``SHIPPING`` (OR11 has no shipped-quantity field);
* shipments (ST01 ``shipment_success``, ST11 ``data``): ``id``,
  ``order_id``, ``status``, ``status_customer_debit`` (``NO_DEBIT``),
  ``created_date``, ``last_updated_date``, ``shipped_date``,
  ``invoice_reference``, ``payment_details`` (null),
  ``shipment_additional_information`` (empty), ``shipment_lines``
  (``order_line_id``, ``offer_sku``, ``package_reference``, ``quantity``),
  ``shipping_from`` (as sent), ``tracking`` (null, or ``carrier_code``,
  ``carrier_name``, ``carrier_standard_code``, ``tracking_number``,
  ``tracking_url``, ``validity_status`` null, ``milestones`` empty);
* an OR30 answer's cancellation is the line's ``cancelations`` element below
  with ``cancelation_id`` for ``id``, plus ``order_line_id`` and
  ``currency_iso_code``, and a ``rate`` on each tax;
* cancellations: a cancelled line keeps its ``quantity``, ``price`` and
  ``total_price`` as ordered (the order's totals too); what was cancelled is
  only listed in the line's ``cancelations`` (``id``, ``created_date``,
  ``quantity``, ``reason_code``, ``amount``, ``shipping_amount``, ``taxes``
  and ``shipping_taxes`` as ``{code, amount}``, ``fees`` (empty),
  ``commission_amount``, ``commission_taxes`` ``{code, amount}``,
  ``commission_total_amount``; amounts in the tax mode asked for); a line
  cancelled in full is ``CANCELED`` with ``order_line_state_reason_code`` =
  the cancellation's reason code, and so is an order left with no line that is
  neither refused nor cancelled (``order_state_reason_label`` null). Whether
  Mirakl lowers ``quantity``/``price`` instead is UNCONFIRMED;
* an order spec's ``customer`` object is served as given (deep copy), only
  its addresses are nulled while hidden before acceptance;
* refunds (control API) are listed in the line's ``refunds`` (``billing``
  describes the fields); amounts in the tax mode asked for;
* raw orders (``orders.RawOrder``) are served exactly as stored, whatever
  ``order_tax_mode`` OR11 asks for and whether details are visible.
"""

import copy
import hashlib
from datetime import timedelta

from . import seed
from .amounts import COMMISSION_TAX_CODE, COMMISSION_VAT_RATE, ZERO, order_totals
from .common import NO_DEBIT, PAYMENT_WORKFLOW, SHIPPED, SHIPPING, iso
from .orders import RawOrder

__all__ = [
    "iso",
    "lines_to_ship",
    "render_item_to_ship",
    "render_order",
    "render_refund",
    "render_seller_cancelation",
    "render_shipment",
]


def rate(value):
    """A percentage as Mirakl shows it: ``20``, ``17.5``."""
    return int(value) if value == value.to_integral_value() else float(value)


def _tax(code, amount, tax_rate):
    return {
        "code": code,
        "amount": amount,
        "rate": rate(tax_rate),
        "tax_calculation_rule": "PROPORTIONAL_TO_AMOUNT",
    }


def _cancelation(cancelation, tax_mode):
    amounts = cancelation.amounts
    priced = amounts.priced(tax_mode)
    return {
        "id": cancelation.cancelation_id,
        "created_date": iso(cancelation.created),
        "quantity": amounts.quantity,
        "reason_code": cancelation.reason_code,
        "amount": priced["amount"],
        "shipping_amount": priced["shipping_amount"],
        "taxes": [{"code": t.code, "amount": t.amount} for t in amounts.taxes],
        "shipping_taxes": [
            {"code": t.code, "amount": t.amount} for t in amounts.shipping_taxes
        ],
        "fees": [],
        "commission_amount": amounts.commission_amount,
        "commission_taxes": [
            {"code": COMMISSION_TAX_CODE, "amount": amounts.commission_tax}
        ],
        "commission_total_amount": amounts.commission_total_amount,
    }


def render_refund(refund, tax_mode):
    """One element of an OR11 line's ``refunds`` (a ``billing.Refund``),
    amounts in ``tax_mode``."""
    amounts = refund.amounts
    priced = amounts.priced(tax_mode)
    return {
        "id": refund.refund_id,
        "order_refund_id": None,
        "created_date": iso(refund.created),
        "quantity": amounts.quantity,
        "reason_code": refund.reason_code,
        "amount": priced["amount"],
        "shipping_amount": priced["shipping_amount"],
        "taxes": [
            {"code": t.code, "amount": t.amount, "rate": rate(t.rate)}
            for t in amounts.taxes
        ],
        "shipping_taxes": [
            {"code": t.code, "amount": t.amount, "rate": rate(t.rate)}
            for t in amounts.shipping_taxes
        ],
        "fees": [],
        "commission_amount": amounts.commission_amount,
        "commission_tax_amount": amounts.commission_tax,
        "commission_taxes": [
            {"code": COMMISSION_TAX_CODE, "amount": amounts.commission_tax}
        ],
        "commission_total_amount": amounts.commission_total_amount,
        "refund_state": refund.state,
        "state": refund.state,
        "transaction_date": iso(refund.refunded),
        "transaction_number": None,
    }


def render_line(line, tax_mode):
    amounts = line.amounts
    priced = amounts.priced(tax_mode)
    product = line.product
    return {
        "order_line_id": line.line_id,
        "order_line_index": line.index,
        "order_line_state": line.state,
        "order_line_state_reason_code": line.reason_code,
        "order_line_state_reason_label": line.reason_label,
        "created_date": iso(line.created),
        "last_updated_date": iso(line.last_updated),
        "debited_date": iso(line.debited),
        "shipped_date": iso(line.shipped),
        "received_date": None,
        "offer_id": product.offer_id,
        "offer_sku": product.sku,
        "offer_state_code": seed.OFFER_STATE_NEW,
        "product_sku": product.product_sku,
        "product_shop_sku": product.sku,
        "product_title": product.title,
        "product_medias": [],
        "category_code": product.category.code,
        "category_label": product.category.label,
        "description": product.description,
        "quantity": amounts.quantity,
        "price_unit": priced["price_unit"],
        "origin_unit_price": priced["price_unit"],
        "price_additional_info": None,
        "price": priced["price"],
        "shipping_price": priced["shipping_price"],
        "shipping_price_unit": priced["shipping_price_unit"],
        "shipping_price_additional_unit": ZERO,
        "total_price": priced["total_price"],
        "fees": [],
        "promotions": [],
        "taxes": [_tax(t.code, t.amount, t.rate) for t in amounts.taxes],
        "shipping_taxes": [
            _tax(t.code, t.amount, t.rate) for t in amounts.shipping_taxes
        ],
        "commission_fee": amounts.commission_fee,
        "commission_taxes": [
            {
                "code": COMMISSION_TAX_CODE,
                "amount": amounts.commission_tax,
                "rate": rate(COMMISSION_VAT_RATE),
            }
        ],
        "commission_vat": amounts.commission_tax,
        "commission_rate_vat": rate(COMMISSION_VAT_RATE),
        "total_commission": amounts.total_commission,
        "cancelations": [_cancelation(c, tax_mode) for c in line.cancelations],
        "refunds": [render_refund(r, tax_mode) for r in line.refunds],
        "can_refund": line.state == SHIPPED,
        "order_line_additional_fields": [],
    }


def _customer(order, details_visible):
    customer = copy.deepcopy(order.customer)
    if not details_visible:
        customer["billing_address"] = customer["shipping_address"] = None
    return customer


def notification_email(order):
    """The anonymised relay address of the order's customer."""
    digest = hashlib.sha256(order.order_id.encode()).hexdigest()[:20]
    return "%s@relay.marketplace.example" % digest


def render_order(order, tax_mode, details_visible):
    """The order as OR11 shows it, prices in ``tax_mode``."""
    if isinstance(order, RawOrder):
        return copy.deepcopy(order.payload)
    totals = order_totals([line.amounts for line in order.lines], tax_mode)
    shipping_type = order.shipping_type
    earliest, latest = shipping_type.delivery_days
    return {
        "order_id": order.order_id,
        "commercial_id": order.commercial_id,
        "references": {
            "order_reference_for_customer": order.reference_for_customer,
            "order_reference_for_seller": order.reference_for_seller,
        },
        "channel": None,
        "quote_id": None,
        "created_date": iso(order.created),
        "last_updated_date": iso(order.last_updated),
        "acceptance_decision_date": iso(order.acceptance_decision),
        "customer_debited_date": iso(order.customer_debited),
        "shipping_deadline": iso(order.shipping_deadline),
        "leadtime_to_ship": shipping_type.leadtime_to_ship,
        "delivery_date": {
            "earliest": iso(order.shipping_deadline + timedelta(days=earliest)),
            "latest": iso(order.shipping_deadline + timedelta(days=latest)),
        },
        "transaction_date": None,
        "transaction_number": None,
        "order_state": order.state,
        "order_state_reason_code": order.reason_code,
        "order_state_reason_label": order.reason_label,
        "can_cancel": order.can_cancel,
        "can_shop_ship": order.state == SHIPPING,
        "has_incident": False,
        "has_customer_message": False,
        "has_invoice": False,
        "fully_refunded": False,
        "currency_iso_code": seed.CURRENCY,
        "order_tax_mode": tax_mode,
        "price": totals["price"],
        "shipping_price": totals["shipping_price"],
        "total_price": totals["total_price"],
        "total_commission": totals["total_commission"],
        "promotions": {"applied_promotions": [], "total_deduced_amount": ZERO},
        "payment_type": "CARD",
        "paymentType": "CARD",
        "payment_workflow": PAYMENT_WORKFLOW,
        "customer_directly_pays_seller": False,
        "shipping_type_code": shipping_type.code,
        "shipping_type_label": shipping_type.label,
        "shipping_type_standard_code": shipping_type.standard_code,
        "shipping_zone_code": seed.SHIPPING_ZONE["code"],
        "shipping_zone_label": seed.SHIPPING_ZONE["label"],
        "shipping_carrier_code": order.carrier_code,
        "shipping_carrier_standard_code": order.carrier_standard_code,
        "shipping_company": order.company,
        "shipping_tracking": order.tracking,
        "shipping_tracking_url": order.tracking_url,
        "shipping_pudo_id": None,
        "fulfillment": {"center": {"code": seed.FULFILLMENT_CENTER}},
        "customer": _customer(order, details_visible),
        "customer_notification_email": notification_email(order),
        "order_additional_fields": [],
        "order_lines": [render_line(line, tax_mode) for line in order.lines],
    }


def lines_to_ship(order):
    """The SHIPPING lines with a quantity neither cancelled nor in a shipment."""
    return [
        line
        for line in order.live_lines()
        if line.state == SHIPPING and line.quantity_to_ship > 0
    ]


def render_item_to_ship(order):
    """One ST12 ``data`` element: the order's lines still to ship."""
    return {
        "order_id": order.order_id,
        "shipping_address": copy.deepcopy(order.customer.get("shipping_address")),
        "shipping_date": iso(order.customer_debited),
        "shipping_deadline": iso(order.shipping_deadline),
        "shipping_type_code": order.shipping_type.code,
        "shipment_lines": [
            {
                "order_line_id": line.line_id,
                "offer_sku": line.product.sku,
                "quantity": line.quantity_to_ship,
                "product_title": line.product.title,
                "package_reference": None,
            }
            for line in lines_to_ship(order)
        ],
        "references": {
            "order_reference_for_customer": order.reference_for_customer,
            "order_reference_for_seller": order.reference_for_seller,
        },
        "fulfillment": {"center": {"code": seed.FULFILLMENT_CENTER}},
    }


def render_seller_cancelation(line, cancelation, tax_mode):
    """One element of OR30's ``cancelations`` answer, amounts in ``tax_mode``."""
    view = _cancelation(cancelation, tax_mode)
    view = {
        "cancelation_id": view.pop("id"),
        "order_line_id": line.line_id,
        "currency_iso_code": seed.CURRENCY,
        **view,
    }
    for key, taxes in (
        ("taxes", cancelation.amounts.taxes),
        ("shipping_taxes", cancelation.amounts.shipping_taxes),
    ):
        view[key] = [
            {"code": t.code, "amount": t.amount, "rate": rate(t.rate)} for t in taxes
        ]
    return view


def render_shipment(shipment):
    """A shipment as ST01 (``shipment_success``) and ST11 show it."""
    tracking = shipment.tracking
    if tracking is not None:
        tracking = dict(tracking, validity_status=None, milestones=[])
    return {
        "id": shipment.shipment_id,
        "order_id": shipment.order_id,
        "status": shipment.status,
        "status_customer_debit": NO_DEBIT,
        "created_date": iso(shipment.created),
        "last_updated_date": iso(shipment.last_updated),
        "shipped_date": iso(shipment.shipped),
        "invoice_reference": shipment.invoice_reference,
        "payment_details": None,
        "shipment_additional_information": [],
        "shipment_lines": [
            {
                "order_line_id": line.order_line_id,
                "offer_sku": line.offer_sku,
                "package_reference": line.package_reference,
                "quantity": line.quantity,
            }
            for line in shipment.lines
        ],
        "shipping_from": copy.deepcopy(shipment.shipping_from),
        "tracking": tracking,
    }
