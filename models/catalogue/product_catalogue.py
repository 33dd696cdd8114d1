"""Product data for Mirakl's catalogue: the variant group code, the image
token of the public image link, per-shop category overrides, and the
readiness shown on the product.

Same models as ``product.py`` (``product.product``, ``product.template``).
"""

from odoo import _, api, fields, models

# Product fields whose change may change a product's line or readiness
# (besides the fields mapped as attribute sources).
CATALOGUE_FIELDS = frozenset(
    (
        "name",
        "active",
        "sale_ok",
        "categ_id",
        "default_code",
        "image_1920",
        "image_variant_1920",
        "product_template_attribute_value_ids",
        "attribute_line_ids",
        "mirakl_variant_group",
    )
)


def _relevant(env, vals):
    """Whether written ``vals`` may change a product line of a shop."""
    if CATALOGUE_FIELDS & set(vals):
        return True
    mapped = {
        attribute.source_field_id.name
        for attribute in env["mirakl.attribute"]
        .sudo()
        .search(
            [
                ("source", "=", "field"),
                ("backend_id.product_export_enabled", "=", True),
            ]
        )
    }
    return bool(mapped & set(vals))


class ProductProduct(models.Model):
    _inherit = "product.product"

    mirakl_image_token = fields.Char(
        copy=False,
        readonly=True,
        index=True,
        groups="base.group_system",
        help="Secret part of the public link Mirakl downloads this variant's "
        "image from.",
    )
    mirakl_not_ready_count = fields.Integer(
        compute="_compute_mirakl_readiness", compute_sudo=True
    )

    _sql_constraints = [
        (
            "mirakl_image_token_uniq",
            "unique(mirakl_image_token)",
            "An image token is unique.",
        ),
    ]

    def _compute_mirakl_readiness(self):
        groups = (
            self.env["mirakl.offer"]
            .sudo()
            ._read_group(
                [
                    ("product_id", "in", self.ids),
                    ("product_ready", "=", "not_ready"),
                    ("product_external", "=", False),
                ],
                ["product_id"],
                ["__count"],
            )
        )
        counts = {product.id: count for product, count in groups}
        for product in self:
            product.mirakl_not_ready_count = counts.get(product.id, 0)

    def write(self, vals):
        result = super().write(vals)
        if _relevant(self.env, vals):
            self._mirakl_recheck_catalogue()
        return result

    def _mirakl_recheck_catalogue(self):
        """Re-check the readiness of these variants' products in the shops
        that send products."""
        offers = (
            self.env["mirakl.offer"]
            .sudo()
            .search(
                [
                    ("product_id", "in", self.ids),
                    ("backend_id.product_export_enabled", "=", True),
                    ("product_external", "=", False),
                ]
            )
        )
        for backend in offers.backend_id:
            backend._mirakl_check_products(
                offer_ids=offers.filtered(lambda o, b=backend: o.backend_id == b).ids
            )

    @api.model
    def _mirakl_by_image_token(self, token):
        """The active variant whose image link carries ``token`` (empty
        recordset for anything else)."""
        if not token or len(token) < 20:
            return self.browse()
        return self.sudo().search([("mirakl_image_token", "=", token)], limit=1)


class ProductTemplate(models.Model):
    _inherit = "product.template"

    mirakl_variant_group = fields.Char(
        string="Mirakl variant group",
        copy=False,
        help="Code that groups this product's variants as one product on "
        "Mirakl. Empty: PT followed by the product's id.",
    )
    mirakl_category_override_ids = fields.One2many(
        "mirakl.category.map",
        "product_tmpl_id",
        string="Mirakl categories",
        help="Per shop, the Mirakl category of this product whatever its "
        "product category.",
    )
    mirakl_catalogue_offer_ids = fields.Many2many(
        "mirakl.offer",
        string="On Mirakl",
        compute="_compute_mirakl_catalogue_offers",
        compute_sudo=True,
    )
    mirakl_not_ready_count = fields.Integer(
        compute="_compute_mirakl_catalogue_offers", compute_sudo=True
    )

    def _compute_mirakl_catalogue_offers(self):
        offers = self.env["mirakl.offer"].search(
            [
                ("product_id.product_tmpl_id", "in", self.ids),
                ("backend_id.product_export_enabled", "=", True),
                ("product_external", "=", False),
            ]
        )
        for template in self:
            mine = offers.filtered(
                lambda o, t=template: o.product_id.product_tmpl_id == t
            )
            template.mirakl_catalogue_offer_ids = mine
            template.mirakl_not_ready_count = len(
                mine.filtered(lambda o: o.product_ready == "not_ready")
            )

    def write(self, vals):
        result = super().write(vals)
        if _relevant(self.env, vals):
            self.product_variant_ids._mirakl_recheck_catalogue()
        return result

    def action_mirakl_check_products(self):
        """Re-check this product's readiness on the shops that send products."""
        self.product_variant_ids._mirakl_recheck_catalogue()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Mirakl"),
                "message": _("Readiness checked."),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
