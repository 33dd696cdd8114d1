from odoo import fields, models


class MiraklCarrier(models.Model):
    """A carrier the marketplace knows (SH21), and the Odoo delivery method
    whose shipments are reported with its code."""

    _name = "mirakl.carrier"
    _description = "Mirakl Carrier"
    _order = "backend_id, label, code"
    _rec_names_search = ["code", "label"]

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    code = fields.Char(required=True, help="Mirakl carrier code (SH21).")
    label = fields.Char()
    standard_code = fields.Char(string="Standard code")
    tracking_url = fields.Char(
        string="Tracking URL",
        help="Mirakl's tracking URL pattern for this carrier (informative).",
    )
    carrier_id = fields.Many2one(
        "delivery.carrier",
        string="Odoo delivery method",
        check_company=True,
        help="Deliveries shipped with this Odoo delivery method are reported to "
        "Mirakl with this carrier's code.",
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "code_unique",
            "unique(backend_id, code)",
            "This carrier is already listed for this shop.",
        ),
        (
            "carrier_unique",
            "unique(backend_id, carrier_id)",
            "This delivery method is already mapped to another Mirakl carrier.",
        ),
    ]

    def _compute_display_name(self):
        for carrier in self:
            carrier.display_name = (
                "%s (%s)" % (carrier.label, carrier.code)
                if carrier.label and carrier.label != carrier.code
                else carrier.code
            )
