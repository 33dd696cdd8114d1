from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mirakl_backend_count = fields.Integer(
        string="Mirakl shops", compute="_compute_mirakl_backend_count"
    )

    def _compute_mirakl_backend_count(self):
        count = self.env["mirakl.backend"].search_count(
            [("company_id", "=", self.env.company.id)]
        )
        for settings in self:
            settings.mirakl_backend_count = count
