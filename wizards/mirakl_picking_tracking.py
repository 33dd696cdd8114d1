from odoo import _, fields, models
from odoo.exceptions import UserError


class MiraklPickingTracking(models.TransientModel):
    """Asked when a marketplace delivery is validated without the tracking
    number its Mirakl shipping type requires: enter it, or validate anyway
    (Mirakl is then told the order shipped once the number is entered)."""

    _name = "mirakl.picking.tracking"
    _description = "Tracking numbers of marketplace deliveries"

    line_ids = fields.One2many("mirakl.picking.tracking.line", "wizard_id")

    def _pickings_to_validate(self):
        ids = self.env.context.get("button_validate_picking_ids") or (
            self.line_ids.picking_id.ids
        )
        return (
            self.env["stock.picking"]
            .browse(ids)
            .with_context(mirakl_tracking_checked=True)
        )

    def action_validate(self):
        """Store the tracking numbers entered, then validate."""
        self.ensure_one()
        empty = self.line_ids.filtered(
            lambda line: not (line.tracking_ref or "").strip()
        )
        if empty:
            raise UserError(
                _(
                    "Enter the tracking number of %(pickings)s, or press "
                    "\u201cValidate without tracking number\u201d.",
                    pickings=", ".join(empty.picking_id.mapped("name")),
                )
            )
        for line in self.line_ids:
            line.picking_id.carrier_tracking_ref = line.tracking_ref.strip()
        return self._pickings_to_validate().button_validate()

    def action_validate_without(self):
        """The warehouse insists: validate; the confirmation waits for the number."""
        self.ensure_one()
        for line in self.line_ids:
            line.picking_id.message_post(
                body=_(
                    "Validated without the tracking number that the marketplace "
                    "requires: Mirakl is told the order shipped once it is entered "
                    "(Tracking Reference)."
                )
            )
        return self._pickings_to_validate().button_validate()


class MiraklPickingTrackingLine(models.TransientModel):
    _name = "mirakl.picking.tracking.line"
    _description = "Tracking number of one marketplace delivery"

    wizard_id = fields.Many2one(
        "mirakl.picking.tracking", required=True, ondelete="cascade"
    )
    picking_id = fields.Many2one("stock.picking", string="Delivery", required=True)
    mirakl_order_id = fields.Char(related="picking_id.mirakl_order_id")
    mirakl_shipping_type = fields.Char(related="picking_id.mirakl_shipping_type")
    carrier_id = fields.Many2one(related="picking_id.carrier_id")
    tracking_ref = fields.Char(string="Tracking number")
