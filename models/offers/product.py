from odoo import _, fields, models
from odoo.exceptions import UserError


class ProductProduct(models.Model):
    _inherit = "product.product"

    mirakl_offer_ids = fields.One2many(
        "mirakl.offer", "product_id", string="Mirakl offers"
    )

    def write(self, vals):
        result = super().write(vals)
        if {"default_code", "active"} & set(vals):
            # A changed reference can create or clear a shared SKU.
            backends = (
                self.env["mirakl.offer"]
                .sudo()
                .with_context(active_test=False)
                .search([("product_id", "in", self.ids)])
                .backend_id
            )
            backends._mirakl_check_skus()
        return result

    def action_mirakl_push_stock(self):
        """Push the quantities of these variants' offers now, in every shop."""
        offers = self.sudo().mirakl_offer_ids.filtered("active")
        if not offers:
            raise UserError(_("These products are not offered on any Mirakl shop."))
        return offers.with_env(self.env).action_push_stock()


class ProductTemplate(models.Model):
    _inherit = "product.template"

    mirakl_offer_count = fields.Integer(
        string="Number of Mirakl offers",
        compute="_compute_mirakl_offer_count",
        compute_sudo=True,
    )

    def _compute_mirakl_offer_count(self):
        groups = (
            self.env["mirakl.offer"]
            .sudo()
            ._read_group(
                [("product_id.product_tmpl_id", "in", self.ids)],
                ["product_tmpl_id"],
                ["__count"],
            )
        )
        counts = {template.id: count for template, count in groups}
        for template in self:
            template.mirakl_offer_count = counts.get(template.id, 0)

    def action_mirakl_push_stock(self):
        return self.product_variant_ids.action_mirakl_push_stock()

    def action_mirakl_open_offers(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Mirakl offers"),
            "res_model": "mirakl.offer",
            "view_mode": "list,form",
            "domain": [("product_id.product_tmpl_id", "=", self.id)],
        }
