"""Refunds of Mirakl orders and their credit notes.

OR11 lists each refund in its line's ``refunds``: ``WAITING_REFUND`` when
created, ``REFUNDED`` once the marketplace paid the customer back. The order
import stores every refund (``mirakl.refund``, unique per shop and Mirakl id)
each time it reads the order; a ``REFUNDED`` refund gets one posted credit
note (``out_refund``) as soon as the order has a posted customer invoice:

* the refunded quantity of the line's product at the price that makes the line
  total equal the refunded amount, with the Sales Order line's taxes (the
  amount is in the order's tax mode: on ``TAX_INCLUDED`` orders those taxes
  are price-included);
* the refunded shipping, if any, on the order's shipping line product and
  taxes;
* its receivable on the shop's marketplace receivable, like the invoice;
  nothing is reconciled here (the settlement of the payout does it).

A refund read before the invoice exists waits: the invoice creation (and
every later update of the order) creates the missing credit notes. The
credit note is not linked to the Sales Order lines (a refund without a return
would make the order "to invoice" again) nor to the invoice as its reversal
(Odoo would reconcile them at posting): the refund record and the credit
note's origin (the Sales Order) and reference (the Mirakl refund) link them.
"""

import json
import logging

import psycopg2

from odoo import _, api, fields, models
from odoo.fields import Command
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY

from ...lib import mappers

_logger = logging.getLogger(__name__)

REF_PREFIX = "Mirakl refund "


class MiraklRefund(models.Model):
    _name = "mirakl.refund"
    _description = "Mirakl Refund"
    _order = "created_date desc, id desc"
    _rec_name = "mirakl_refund_id"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    sale_order_id = fields.Many2one(
        "sale.order", required=True, ondelete="cascade", index=True, readonly=True
    )
    sale_line_id = fields.Many2one(
        "sale.order.line",
        string="Order line",
        ondelete="set null",
        readonly=True,
        help="The Sales Order line of the refunded Mirakl line.",
    )
    mirakl_line_id = fields.Char(string="Mirakl line", readonly=True)
    mirakl_refund_id = fields.Char(string="Mirakl refund", required=True, index=True)
    state = fields.Char(
        readonly=True, help="Mirakl's state: WAITING_REFUND, then REFUNDED."
    )
    reason_code = fields.Char(string="Reason code", readonly=True)
    quantity = fields.Integer(readonly=True)
    currency_id = fields.Many2one(related="sale_order_id.currency_id")
    tax_mode = fields.Char(related="sale_order_id.mirakl_tax_mode")
    amount = fields.Monetary(
        readonly=True, help="Refunded price of the goods, in the order's tax mode."
    )
    shipping_amount = fields.Monetary(
        string="Shipping",
        readonly=True,
        help="Refunded shipping, in the order's tax mode.",
    )
    tax_amount = fields.Monetary(string="Tax", readonly=True)
    shipping_tax_amount = fields.Monetary(string="Shipping tax", readonly=True)
    total_amount = fields.Monetary(
        string="Total",
        compute="_compute_total_amount",
        help="What the customer gets back, tax included.",
    )
    commission_amount = fields.Monetary(string="Commission", readonly=True)
    commission_tax_amount = fields.Monetary(string="Commission VAT", readonly=True)
    created_date = fields.Datetime(string="Created on Mirakl", readonly=True)
    transaction_date = fields.Datetime(string="Transaction date", readonly=True)
    credit_note_id = fields.Many2one(
        "account.move", readonly=True, copy=False, ondelete="set null"
    )
    raw_json = fields.Text(string="Mirakl refund JSON", readonly=True)

    _sql_constraints = [
        (
            "mirakl_refund_unique",
            "unique(backend_id, mirakl_refund_id)",
            "A Mirakl refund is stored once per shop.",
        )
    ]

    @api.depends(
        "amount", "shipping_amount", "tax_amount", "shipping_tax_amount", "tax_mode"
    )
    def _compute_total_amount(self):
        for refund in self:
            total = refund.amount + refund.shipping_amount
            if refund.tax_mode == mappers.TAX_EXCLUDED:
                total += refund.tax_amount + refund.shipping_tax_amount
            refund.total_amount = total

    @api.model
    def _mirakl_vals(self, refund, raw):
        return {
            "mirakl_refund_id": refund.refund_id,
            "state": refund.state,
            "reason_code": refund.reason_code or False,
            "quantity": refund.quantity,
            "amount": float(refund.amount),
            "shipping_amount": float(refund.shipping_amount),
            "tax_amount": float(refund.tax_amount),
            "shipping_tax_amount": float(refund.shipping_tax_amount),
            "commission_amount": float(refund.commission_amount),
            "commission_tax_amount": float(refund.commission_tax_amount),
            "created_date": refund.created or False,
            "transaction_date": refund.transaction_date or False,
            "raw_json": json.dumps(raw, sort_keys=True, default=str),
        }


class SaleOrder(models.Model):
    _inherit = "sale.order"

    mirakl_refund_ids = fields.One2many(
        "mirakl.refund", "sale_order_id", string="Mirakl refunds", readonly=True
    )

    def _mirakl_sync_refunds(self, order):
        """Store the refunds of ``order`` (a ``mappers.Order``) and credit
        what Mirakl refunded. Called by the order import for each order read."""
        self.ensure_one()
        if not any(mline.refunds for mline in order.lines):
            return  # Mirakl never drops a refund: nothing stored, nothing due
        sale = self.sudo()
        Refund = self.env["mirakl.refund"].sudo()
        existing = {r.mirakl_refund_id: r for r in sale.mirakl_refund_ids}
        lines = {
            line.mirakl_line_id: line for line in sale.order_line if line.mirakl_line_id
        }
        raw_lines = {
            str(raw.get("order_line_id")): raw
            for raw in (order.raw or {}).get("order_lines") or ()
            if isinstance(raw, dict)
        }
        for mline in order.lines:
            raw_refunds = {
                str(raw.get("id")): raw
                for raw in raw_lines.get(mline.line_id, {}).get("refunds") or ()
                if isinstance(raw, dict)
            }
            for refund in mline.refunds:
                vals = Refund._mirakl_vals(refund, raw_refunds.get(refund.refund_id))
                record = existing.get(refund.refund_id)
                if record:
                    changed = {
                        name: value
                        for name, value in vals.items()
                        if (
                            record.currency_id.compare_amounts(record[name], value)
                            if record._fields[name].type == "monetary"
                            else (record[name] or False) != value
                        )
                    }
                    if changed:
                        record.write(changed)
                    continue
                line = lines.get(mline.line_id)
                vals.update(
                    {
                        "backend_id": sale.mirakl_backend_id.id,
                        "sale_order_id": sale.id,
                        "sale_line_id": line.id if line else False,
                        "mirakl_line_id": mline.line_id,
                    }
                )
                existing[refund.refund_id] = Refund.create(vals)
        sale._mirakl_credit_refunds()

    def _mirakl_credit_refunds(self):
        """A posted credit note for each REFUNDED refund that has none yet,
        once the order has a posted customer invoice. Never raises: a failure
        is a sync issue on the order (retried at the next update)."""
        for sale in self.sudo():
            refunds = sale.mirakl_refund_ids.filtered(
                lambda r: r.state == mappers.REFUNDED and not r.credit_note_id
            )
            if not refunds or not sale._mirakl_posted_invoices():
                continue
            backend = sale.mirakl_backend_id
            # The order import holds this lock while it works on the order
            # (re-entrant in the same transaction): never two credit notes.
            if not backend._mirakl_try_xact_lock("order", sale.mirakl_order_id):
                continue
            self.env.flush_all()  # a conflict in the caller's writes is theirs
            for refund in refunds:
                try:
                    with self.env.cr.savepoint():
                        sale._mirakl_credit_refund(refund)
                except Exception as error:
                    if (
                        isinstance(error, psycopg2.Error)
                        and error.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY
                    ):
                        raise  # another transaction wrote the same rows: retried
                    _logger.info(
                        "Mirakl order %s: credit note of refund %s failed: %s",
                        sale.mirakl_order_id,
                        refund.mirakl_refund_id,
                        error,
                        exc_info=True,
                    )
                    self.env["mirakl.sync.issue"]._mirakl_record(
                        backend,
                        "REFUND",
                        _(
                            "The credit note of refund %(refund)s of %(order)s "
                            "could not be created: %(error)s",
                            refund=refund.mirakl_refund_id,
                            order=sale.name,
                            error=error,
                        ),
                        category="data",
                        record=sale,
                        mirakl_ref="refund:%s" % refund.mirakl_refund_id,
                    )

    def _mirakl_retry_issue(self, issue):
        """Retry button of a credit note that could not be created."""
        if issue.operation == "REFUND" and (issue.mirakl_ref or "").startswith(
            "refund:"
        ):
            self._mirakl_credit_refunds()
            refund_id = issue.mirakl_ref.split(":", 1)[1]
            refund = self.mirakl_refund_ids.filtered(
                lambda r: r.mirakl_refund_id == refund_id
            )
            return bool(refund.credit_note_id) and issue.category != "drift"
        return super()._mirakl_retry_issue(issue)

    def _mirakl_posted_invoices(self):
        return self.invoice_ids.filtered(
            lambda m: m.move_type == "out_invoice" and m.state == "posted"
        )

    def _mirakl_credit_refund(self, refund):
        """Create and post the credit note of one REFUNDED refund."""
        self.ensure_one()
        backend = self.mirakl_backend_id
        Move = self.env["account.move"]
        key = REF_PREFIX + refund.mirakl_refund_id
        # A credit note made earlier but not linked (link lost): link it back.
        credit_note = Move.search(
            [
                ("move_type", "=", "out_refund"),
                ("company_id", "=", self.company_id.id),
                ("ref", "=", key),
                ("state", "!=", "cancel"),
            ],
            limit=1,
        )
        if not credit_note:
            lines = self._mirakl_credit_note_lines(refund)
            if not lines:
                return Move
            invoice = self._mirakl_posted_invoices()[-1:]
            credit_note = Move.create(
                {
                    "move_type": "out_refund",
                    "partner_id": invoice.partner_id.id,
                    "journal_id": invoice.journal_id.id,
                    "currency_id": invoice.currency_id.id,
                    "company_id": invoice.company_id.id,
                    "fiscal_position_id": invoice.fiscal_position_id.id,
                    "invoice_user_id": invoice.invoice_user_id.id,
                    "team_id": invoice.team_id.id,
                    "invoice_origin": self.name,
                    "ref": key,
                    "invoice_date": refund.transaction_date
                    and refund.transaction_date.date()
                    or fields.Date.context_today(self),
                    "invoice_line_ids": [Command.create(vals) for vals in lines],
                }
            )
            credit_note._mirakl_post_for_shop(backend)
        refund.credit_note_id = credit_note
        self._mirakl_check_credit_note(refund, credit_note)
        _logger.info(
            "Mirakl order %s: refund %s credited (%s)",
            self.mirakl_order_id,
            refund.mirakl_refund_id,
            credit_note.name,
        )
        return credit_note

    def _mirakl_credit_note_lines(self, refund):
        """Invoice line values of a refund's credit note."""
        lines = []
        goods = refund.sale_line_id
        amount = mappers.to_decimal(refund.amount).quantize(mappers.CENT)
        if amount > 0:
            if not goods:
                raise ValueError(
                    _(
                        "the refunded Mirakl line %(line)s is not on the Sales Order",
                        line=refund.mirakl_line_id,
                    )
                )
            quantity = refund.quantity or 1
            unit = (amount / quantity).quantize(mappers.CENT)
            base = {
                "product_id": goods.product_id.id,
                "name": _(
                    "Refund %(refund)s: %(product)s",
                    refund=refund.mirakl_refund_id,
                    product=goods.name,
                ),
                "product_uom_id": goods.product_uom.id,
                "tax_ids": [Command.set(goods.tax_id.ids)],
            }
            if unit * quantity == amount:
                lines.append(dict(base, quantity=quantity, price_unit=float(unit)))
            else:
                # Not a whole number of cents per unit: all units but one at
                # the rounded price, the last one takes the difference.
                lines.append(dict(base, quantity=quantity - 1, price_unit=float(unit)))
                last = amount - unit * (quantity - 1)
                lines.append(dict(base, quantity=1, price_unit=float(last)))
        shipping = mappers.to_decimal(refund.shipping_amount).quantize(mappers.CENT)
        if shipping > 0:
            line = self._mirakl_refund_shipping_line(refund)
            product = line.product_id or self.carrier_id.product_id
            lines.append(
                {
                    "product_id": product.id,
                    "name": _(
                        "Refund %(refund)s: %(label)s",
                        refund=refund.mirakl_refund_id,
                        label=line.name or _("Shipping"),
                    ),
                    "quantity": 1,
                    "price_unit": float(shipping),
                    "tax_ids": [Command.set(line.tax_id.ids)],
                }
            )
        return lines

    def _mirakl_refund_shipping_line(self, refund):
        """The Sales Order's shipping line a refund's shipping belongs to."""
        shipping = self.order_line.filtered("mirakl_shipping_key") or (
            self.order_line.filtered("is_delivery")
        )
        if len(shipping) <= 1:
            return shipping
        raw = json.loads(refund.raw_json or "{}")
        rates = sorted(
            float(t["rate"])
            for t in raw.get("shipping_taxes") or ()
            if isinstance(t, dict) and t.get("rate") is not None
        )
        if rates:
            for line in shipping:
                if sorted(line.tax_id.mapped("amount")) == rates:
                    return line
        goods_taxes = refund.sale_line_id.tax_id
        for line in shipping:
            if line.tax_id == goods_taxes:
                return line
        return shipping[0]

    def _mirakl_check_credit_note(self, refund, credit_note):
        """The credit note total against what Mirakl refunded (tax included)."""
        Issue = self.env["mirakl.sync.issue"]
        key = "refund:%s" % refund.mirakl_refund_id
        if self.currency_id.compare_amounts(
            credit_note.amount_total, refund.total_amount
        ):
            Issue._mirakl_record(
                self.mirakl_backend_id,
                "REFUND",
                _(
                    "The credit note %(move)s of refund %(refund)s (%(order)s) "
                    "totals %(total)s but Mirakl refunded %(refunded)s.",
                    move=credit_note.name,
                    refund=refund.mirakl_refund_id,
                    order=self.name,
                    total=credit_note.amount_total,
                    refunded=refund.total_amount,
                ),
                category="drift",
                record=self,
                mirakl_ref=key,
            )
        else:
            Issue._mirakl_resolve(
                self.mirakl_backend_id, "REFUND", record=self, mirakl_ref=key
            )
