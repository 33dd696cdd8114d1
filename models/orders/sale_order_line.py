from odoo import fields, models
from odoo.tools import float_round

from ...lib import mappers


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    mirakl_line_id = fields.Char(
        string="Mirakl line", copy=False, index="btree_not_null", readonly=True
    )
    mirakl_line_state = fields.Char(string="Mirakl line state", copy=False)
    mirakl_offer_sku = fields.Char(string="Mirakl SKU", copy=False, readonly=True)
    mirakl_quantity = fields.Integer(
        string="Ordered on Mirakl",
        copy=False,
        readonly=True,
        help="Quantity of the Mirakl line as ordered, before refusals and "
        "cancellations.",
    )
    mirakl_cancelled_qty = fields.Integer(
        string="Cancelled on Mirakl", copy=False, readonly=True
    )
    mirakl_decision = fields.Selection(
        [("accept", "Accept"), ("refuse", "Refuse")],
        string="Acceptance decision",
        copy=False,
        help="The decision sent (or to send) to Mirakl for this line.",
    )
    mirakl_price = fields.Monetary(
        string="Mirakl price",
        copy=False,
        readonly=True,
        help="Mirakl's line price (quantity x unit price) for the units still sold, "
        "in the order's tax mode.",
    )
    mirakl_tax_amount = fields.Monetary(string="Mirakl tax", copy=False, readonly=True)
    mirakl_commission_fee = fields.Monetary(
        string="Commission", copy=False, readonly=True
    )
    mirakl_commission_vat = fields.Monetary(
        string="Commission VAT", copy=False, readonly=True
    )
    mirakl_commission_total = fields.Monetary(
        string="Commission incl. VAT", copy=False, readonly=True
    )
    mirakl_shipping_key = fields.Char(
        copy=False,
        readonly=True,
        help="Technical: marks the shipping line of one set of taxes.",
    )

    _sql_constraints = [
        (
            "mirakl_line_unique",
            "unique(order_id, mirakl_line_id)",
            "A Mirakl order line appears only once on its Sales Order.",
        )
    ]

    # === BUSINESS METHODS === #

    def _mirakl_live_quantity(self):
        """Units Mirakl still sells on this line (0 once refused or cancelled)."""
        self.ensure_one()
        if self.mirakl_line_state in mappers.DEAD_LINE_STATES:
            return 0.0
        if self.mirakl_decision == "refuse":
            return 0.0
        return float_round(
            max(self.mirakl_quantity - self.mirakl_cancelled_qty, 0),
            precision_rounding=self.product_uom.rounding,
        )
