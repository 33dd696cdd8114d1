from odoo import _, api, fields, models
from odoo.exceptions import UserError


class MiraklOfferCreate(models.TransientModel):
    """Offer product variants on a Mirakl shop (from the product lists)."""

    _name = "mirakl.offer.create"
    _description = "Offer products on Mirakl"

    backend_id = fields.Many2one("mirakl.backend", string="Shop", required=True)
    product_ids = fields.Many2many("product.product", string="Variants")
    existing_count = fields.Integer(string="Already offered", compute="_compute_counts")
    new_count = fields.Integer(string="New offers", compute="_compute_counts")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        ids = self.env.context.get("active_ids") or []
        if model == "product.template":
            products = self.env["product.template"].browse(ids).product_variant_ids
        elif model == "product.product":
            products = self.env["product.product"].browse(ids)
        else:
            products = self.env["product.product"]
        if "product_ids" in fields_list and products:
            values["product_ids"] = [(6, 0, products.ids)]
        if "backend_id" in fields_list and not values.get("backend_id"):
            backends = self.env["mirakl.backend"].search([], limit=2)
            if len(backends) == 1:
                values["backend_id"] = backends.id
        return values

    @api.depends("backend_id", "product_ids")
    def _compute_counts(self):
        for wizard in self:
            offered = wizard._offered_products()
            wizard.existing_count = len(offered)
            wizard.new_count = len(wizard.product_ids - offered)

    def _offered_products(self):
        if not self.backend_id or not self.product_ids:
            return self.env["product.product"]
        return (
            self.env["mirakl.offer"]
            .with_context(active_test=False)
            .search(
                [
                    ("backend_id", "=", self.backend_id.id),
                    ("product_id", "in", self.product_ids.ids),
                ]
            )
            .product_id
        )

    def action_create(self):
        self.ensure_one()
        backend = self.backend_id._mirakl_as_operator()
        new = self.product_ids - self._offered_products()
        if not new:
            raise UserError(_("These variants are already offered on this shop."))
        offers = (
            self.env["mirakl.offer"]
            .sudo()
            .create([{"backend_id": backend.id, "product_id": p.id} for p in new])
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("New offers"),
            "res_model": "mirakl.offer",
            "view_mode": "list,form",
            "domain": [("id", "in", offers.ids)],
        }
