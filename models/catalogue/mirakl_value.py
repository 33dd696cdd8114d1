from odoo import api, fields, models


class MiraklValue(models.Model):
    """One code of an operator's value list (VL11)."""

    _name = "mirakl.value"
    _description = "Mirakl List Value"
    _order = "list_id, sequence, id"
    _rec_names_search = ["code", "label"]

    list_id = fields.Many2one(
        "mirakl.value.list",
        string="Value list",
        required=True,
        ondelete="cascade",
        index=True,
    )
    backend_id = fields.Many2one(related="list_id.backend_id", store=True, index=True)
    company_id = fields.Many2one(related="list_id.company_id", store=True, index=True)
    active = fields.Boolean(default=True, readonly=True)
    sequence = fields.Integer(readonly=True)
    code = fields.Char(required=True, readonly=True, index=True)
    label = fields.Char(readonly=True)

    _sql_constraints = [
        (
            "list_code_uniq",
            "unique(list_id, code)",
            "A code appears once per value list.",
        ),
    ]

    @api.depends("code", "label")
    def _compute_display_name(self):
        for record in self:
            record.display_name = (
                "%s (%s)" % (record.label, record.code) if record.label else record.code
            )
