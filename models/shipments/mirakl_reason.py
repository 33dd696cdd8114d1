from odoo import fields, models


class MiraklReason(models.Model):
    """A reason code of the marketplace (RE01): cancellations, refunds..."""

    _name = "mirakl.reason"
    _description = "Mirakl Reason"
    _order = "backend_id, reason_type, label"
    _rec_names_search = ["code", "label"]

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    code = fields.Char(required=True)
    label = fields.Char()
    reason_type = fields.Char(
        string="Type", help="Mirakl's reason type: CANCELATION, REFUND, ..."
    )
    is_shop_right = fields.Boolean(
        string="Usable by the shop", help="The shop may use this reason itself."
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "code_unique",
            "unique(backend_id, reason_type, code)",
            "This reason is already listed for this shop.",
        )
    ]

    def _compute_display_name(self):
        for reason in self:
            reason.display_name = reason.label or reason.code
