from odoo import fields, models


class MiraklShippingType(models.Model):
    """A Mirakl shipping type (SH12) of one shop and the Odoo delivery method
    its orders get (the carrier's product prices the shipping line)."""

    _name = "mirakl.shipping.type"
    _description = "Mirakl Shipping Type"
    _order = "backend_id, code"
    _rec_names_search = ["code", "label"]

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    code = fields.Char(required=True, help="Mirakl shipping type code (SH12).")
    label = fields.Char()
    mandatory_tracking = fields.Boolean(
        string="Tracking number required",
        help="Mirakl requires a tracking number before the order ships.",
    )
    carrier_id = fields.Many2one(
        "delivery.carrier",
        string="Delivery method",
        check_company=True,
        help="Odoo delivery method of this shop's orders of this shipping type. "
        "Orders of an unmapped shipping type are not imported.",
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "code_unique",
            "unique(backend_id, code)",
            "This shipping type is already listed for this shop.",
        )
    ]

    def _compute_display_name(self):
        for shipping_type in self:
            shipping_type.display_name = (
                "%s (%s)" % (shipping_type.label, shipping_type.code)
                if shipping_type.label and shipping_type.label != shipping_type.code
                else shipping_type.code
            )
