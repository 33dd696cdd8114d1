import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..lib import mappers


class MiraklOrderCancel(models.TransientModel):
    """Cancel units of a Mirakl order that cannot be fulfilled (OR30)."""

    _name = "mirakl.order.cancel"
    _description = "Cancel Mirakl order lines"

    sale_order_id = fields.Many2one("sale.order", required=True)
    backend_id = fields.Many2one(related="sale_order_id.mirakl_backend_id")
    reason_id = fields.Many2one(
        "mirakl.reason",
        required=True,
        domain="[('backend_id', '=', backend_id), ('reason_type', '=', 'CANCELATION'), "
        "('is_shop_right', '=', True)]",
    )
    line_ids = fields.One2many("mirakl.order.cancel.line", "wizard_id")

    @api.model
    def default_get(self, fields_list):
        vals = super().default_get(fields_list)
        sale = self.env["sale.order"].browse(
            vals.get("sale_order_id") or self.env.context.get("default_sale_order_id")
        )
        if sale:
            vals["reason_id"] = sale.mirakl_backend_id.cancel_reason_id.id
            vals["line_ids"] = [
                fields.Command.create(
                    {
                        "sale_line_id": line.id,
                        "quantity": 0,
                        "max_quantity": line.product_uom_qty - line.qty_delivered,
                    }
                )
                for line in sale.order_line.filtered("mirakl_line_id")
                if line.product_uom_qty - line.qty_delivered >= 1
            ]
        return vals

    def action_confirm(self):
        self.ensure_one()
        sale = self.sale_order_id
        backend = sale.mirakl_backend_id._mirakl_as_operator()
        sale = sale.with_env(backend.env)
        wanted = self.line_ids.filtered(lambda w: w.quantity > 0)
        if not wanted:
            raise UserError(_("Enter the quantity to cancel on at least one line."))
        order = mappers.parse_order(
            sale._mirakl_raw_data(), backend.cancellations_included
        )
        mlines = {line.line_id: line for line in order.lines}
        Shipment = backend.env["mirakl.shipment"]
        elements = []
        for item in wanted:
            if item.quantity > item.max_quantity:
                raise UserError(
                    _(
                        "At most %(max)s units of %(product)s can be cancelled.",
                        max=item.max_quantity,
                        product=item.sale_line_id.product_id.display_name,
                    )
                )
            mline = mlines[item.sale_line_id.mirakl_line_id]
            elements.append(
                Shipment._mirakl_prepare_cancel_line(
                    sale, mline, int(item.quantity), self.reason_id.code
                )
            )
        row = Shipment.create(
            {
                "backend_id": backend.id,
                "sale_order_id": sale.id,
                "kind": "cancel_lines",
                "payload": json.dumps(elements),
                "reason_code": self.reason_id.code,
                "event_date": fields.Datetime.now(),
            }
        )
        row._mirakl_send(max_retries=1)
        if row.state != "done":
            return backend._mirakl_notification(
                _("Mirakl refused or did not answer"),
                row.last_error or _("Not sent; it is retried automatically."),
                "danger",
                sticky=True,
            )
        backend._mirakl_import_order_ids([sale.mirakl_order_id], force=True)
        return backend._mirakl_notification(
            _("Mirakl"), _("Lines cancelled on Mirakl."), "success"
        )


class MiraklOrderCancelLine(models.TransientModel):
    _name = "mirakl.order.cancel.line"
    _description = "Mirakl order line to cancel"

    wizard_id = fields.Many2one(
        "mirakl.order.cancel", required=True, ondelete="cascade"
    )
    sale_line_id = fields.Many2one("sale.order.line", required=True)
    max_quantity = fields.Float(string="Not delivered")
    quantity = fields.Float(string="Quantity to cancel")
