"""Which Mirakl category (a leaf of the operator's tree) an Odoo product goes
in, per shop: an Odoo product category maps to one (its subcategories
follow it unless mapped themselves), and a product may override it."""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class MiraklCategoryMap(models.Model):
    _name = "mirakl.category.map"
    _description = "Mirakl Category Mapping"
    _order = "backend_id, product_tmpl_id, categ_id, id"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    categ_id = fields.Many2one(
        "product.category",
        string="Odoo product category",
        ondelete="cascade",
        index=True,
        help="Its products, and those of its subcategories not mapped "
        "themselves, go in the Mirakl category.",
    )
    product_tmpl_id = fields.Many2one(
        "product.template",
        string="Product (override)",
        ondelete="cascade",
        index=True,
        help="This product goes in the Mirakl category whatever its product category.",
    )
    mirakl_category_id = fields.Many2one(
        "mirakl.category",
        string="Mirakl category",
        required=True,
        ondelete="cascade",
        domain="[('backend_id', '=', backend_id), ('is_leaf', '=', True)]",
    )
    mirakl_category_active = fields.Boolean(
        related="mirakl_category_id.active", string="Still on Mirakl"
    )

    _sql_constraints = [
        (
            "backend_categ_uniq",
            "unique(backend_id, categ_id)",
            "An Odoo product category maps to one Mirakl category per shop.",
        ),
        (
            "backend_tmpl_uniq",
            "unique(backend_id, product_tmpl_id)",
            "A product has one Mirakl category override per shop.",
        ),
        (
            "one_source",
            "CHECK((categ_id IS NULL) != (product_tmpl_id IS NULL))",
            "A mapping is for an Odoo product category or for one product.",
        ),
    ]

    @api.depends("categ_id", "product_tmpl_id", "mirakl_category_id")
    def _compute_display_name(self):
        for record in self:
            source = record.product_tmpl_id or record.categ_id
            record.display_name = "%s → %s" % (
                source.display_name or "",
                record.mirakl_category_id.complete_name or "",
            )

    @api.constrains("mirakl_category_id", "backend_id")
    def _check_leaf(self):
        for record in self:
            category = record.mirakl_category_id
            if category.backend_id != record.backend_id:
                raise ValidationError(
                    _("The Mirakl category must be one of the shop's categories.")
                )
            if not category.is_leaf:
                raise ValidationError(
                    _(
                        "%(category)s has subcategories: products go in a leaf "
                        "category (one without subcategories).",
                        category=category.complete_name,
                    )
                )
