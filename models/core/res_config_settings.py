from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mirakl_backend_count = fields.Integer(
        string="Mirakl shops", compute="_compute_mirakl_backend_count"
    )

    @api.depends("company_id")
    def _compute_mirakl_backend_count(self):
        # Depends on the company: without a dependency the settings form's
        # onchange would never compute it (it showed 0 with a shop).
        groups = dict(
            self.env["mirakl.backend"]._read_group(
                [("company_id", "in", self.company_id.ids)], ["company_id"], ["__count"]
            )
        )
        for settings in self:
            settings.mirakl_backend_count = groups.get(settings.company_id, 0)
