from odoo import fields, models

from .mirakl_attribute import LEVELS


class MiraklAttributeRequirement(models.Model):
    """An attribute's requirement level as Mirakl sets it for one category
    (``category_code`` empty: every category without its own level)."""

    _name = "mirakl.attribute.requirement"
    _description = "Mirakl Attribute Requirement"
    _order = "attribute_id, category_code"

    attribute_id = fields.Many2one(
        "mirakl.attribute", required=True, ondelete="cascade", index=True
    )
    backend_id = fields.Many2one(
        related="attribute_id.backend_id", store=True, index=True
    )
    company_id = fields.Many2one(
        related="attribute_id.company_id", store=True, index=True
    )
    active = fields.Boolean(default=True, readonly=True)
    category_code = fields.Char(readonly=True)
    category_id = fields.Many2one("mirakl.category", readonly=True, ondelete="cascade")
    level = fields.Selection(LEVELS, required=True, readonly=True)

    _sql_constraints = [
        (
            "attribute_category_uniq",
            "unique(attribute_id, category_code)",
            "One requirement level per attribute and category.",
        ),
    ]
