"""The operator's product attributes (PM11), one ``mirakl.attribute`` per
shop and attribute code, with where its value comes from in Odoo.

Mirakl gives an attribute's requirement level per category
(``mirakl.attribute.requirement``); the level that applies to a product is
the one set on its Mirakl category or the nearest ancestor, else the
attribute's global one.
"""

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

SOURCES = [
    ("none", "Nothing"),
    ("field", "Product field"),
    ("attribute", "Product attribute (variant axis)"),
    ("fixed", "Fixed value"),
    ("image", "Product image"),
]
LEVELS = [
    ("REQUIRED", "Required"),
    ("RECOMMENDED", "Recommended"),
    ("OPTIONAL", "Optional"),
    ("DISABLED", "Not used"),
]
TYPE_LABELS = {
    "TEXT": "Text",
    "LONG_TEXT": "Long text",
    "INTEGER": "Whole number",
    "DECIMAL": "Decimal number",
    "BOOLEAN": "Yes/no",
    "DATE": "Date",
    "LINK": "Link",
    "MEDIA": "Image (URL)",
    "LIST": "Value list",
    "LIST_MULTIPLE_VALUES": "Value list (several values)",
}
# Odoo field types a source field may have (scalar values or a record name).
FIELD_TYPES = (
    "char",
    "text",
    "html",
    "integer",
    "float",
    "monetary",
    "boolean",
    "selection",
    "many2one",
    "date",
    "datetime",
)
# Roles naming the file's own columns, filled by the connector.
ROLES = {
    "SHOP_SKU": "sku",
    "CATEGORY": "category",
    "VARIANT_GROUP_CODE": "variant_group",
}


class MiraklAttribute(models.Model):
    _name = "mirakl.attribute"
    _description = "Mirakl Product Attribute"
    _order = "backend_id, sequence, label, id"
    _rec_name = "label"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    active = fields.Boolean(default=True, readonly=True)
    sequence = fields.Integer(default=10)
    code = fields.Char(required=True, readonly=True, index=True)
    label = fields.Char(readonly=True)
    description = fields.Text(readonly=True)
    attribute_type = fields.Char(string="Mirakl type", readonly=True)
    type_label = fields.Char(string="Type", compute="_compute_type_label")
    max_length = fields.Integer(
        readonly=True, help="Longest text Mirakl accepts (0: no limit)."
    )
    list_code = fields.Char(string="List code", readonly=True)
    value_list_id = fields.Many2one(
        "mirakl.value.list", string="Value list", readonly=True, ondelete="set null"
    )
    variant = fields.Boolean(
        string="Variant axis",
        readonly=True,
        help="Mirakl tells variants of one product apart by this attribute.",
    )
    roles = fields.Char(readonly=True, help="Roles Mirakl gives the attribute.")
    role = fields.Selection(
        [
            ("sku", "Product SKU"),
            ("category", "Category"),
            ("variant_group", "Variant group"),
        ],
        string="Filled by the connector",
        compute="_compute_role",
        store=True,
        help="The connector fills this column itself: the SKU, the Mirakl "
        "category or the variant group code.",
    )
    requirement_ids = fields.One2many(
        "mirakl.attribute.requirement", "attribute_id", string="Requirement levels"
    )
    global_level = fields.Selection(
        LEVELS,
        string="Everywhere",
        readonly=True,
        help="Level outside the categories that set their own.",
    )
    required_somewhere = fields.Boolean(
        string="Required",
        readonly=True,
        index=True,
        help="Required in at least one category.",
    )
    # --- where the value comes from ---
    source = fields.Selection(
        SOURCES, string="Value comes from", default="none", required=True
    )
    source_field_id = fields.Many2one(
        "ir.model.fields",
        string="Product field",
        ondelete="set null",
        domain=[("model", "=", "product.product"), ("ttype", "in", FIELD_TYPES)],
    )
    source_attribute_id = fields.Many2one(
        "product.attribute", string="Product attribute", ondelete="set null"
    )
    fixed_value = fields.Char(
        help="Sent for every product (for a value list: one of its codes)."
    )
    source_label = fields.Char(string="Source", compute="_compute_source_label")
    has_source = fields.Boolean(
        compute="_compute_has_source",
        store=True,
        help="The value has a source, or the connector fills it.",
    )
    category_level = fields.Selection(
        LEVELS,
        string="Requirement here",
        compute="_compute_category_level",
        help="Requirement in the category the list was opened from.",
    )
    value_map_todo_count = fields.Integer(
        string="Values to map", related="value_list_id.todo_count"
    )

    _sql_constraints = [
        (
            "backend_code_uniq",
            "unique(backend_id, code)",
            "A Mirakl attribute code appears once per shop.",
        ),
    ]

    # === COMPUTE METHODS === #

    @api.depends("attribute_type")
    def _compute_type_label(self):
        for attribute in self:
            kind = attribute.attribute_type or ""
            label = TYPE_LABELS.get(kind, kind)
            if attribute.list_code:
                label = "%s %s" % (label, attribute.list_code)
            if attribute.max_length:
                label = _(
                    "%(type)s, %(max)s characters max.",
                    type=label,
                    max=attribute.max_length,
                )
            attribute.type_label = label

    @api.depends(
        "roles",
        "code",
        "backend_id.product_sku_column",
        "backend_id.product_category_column",
        "backend_id.product_group_column",
    )
    def _compute_role(self):
        for attribute in self:
            columns = attribute.backend_id._mirakl_product_columns()
            role = False
            for key in ("sku", "category", "variant_group"):
                if columns[key] == attribute.code:
                    role = key
            attribute.role = role

    @api.depends("source", "role")
    def _compute_has_source(self):
        for attribute in self:
            attribute.has_source = bool(attribute.role) or attribute.source != "none"

    @api.depends(
        "source", "source_field_id", "source_attribute_id", "fixed_value", "role"
    )
    def _compute_source_label(self):
        for attribute in self:
            attribute.source_label = attribute._mirakl_source_text()

    @api.depends_context("mirakl_category_id")
    def _compute_category_level(self):
        category = self.env["mirakl.category"].browse(
            self.env.context.get("mirakl_category_id")
        )
        levels = {}
        if category.exists():
            backend = category.backend_id.sudo()
            levels = {
                attribute.id: level
                for attribute, level in backend._mirakl_category_attributes(category)
            }
        for attribute in self:
            attribute.category_level = levels.get(attribute._origin.id, False)

    # === CONSTRAINT METHODS === #

    @api.constrains("source", "source_field_id", "source_attribute_id", "fixed_value")
    def _check_source(self):
        for attribute in self:
            if attribute.source == "field" and not attribute.source_field_id:
                raise ValidationError(
                    _(
                        "%(attribute)s: choose the product field.",
                        attribute=attribute.label,
                    )
                )
            if attribute.source == "attribute" and not attribute.source_attribute_id:
                raise ValidationError(
                    _(
                        "%(attribute)s: choose the product attribute.",
                        attribute=attribute.label,
                    )
                )
            if (
                attribute.source == "fixed"
                and not (attribute.fixed_value or "").strip()
            ):
                raise ValidationError(
                    _(
                        "%(attribute)s: enter the fixed value.",
                        attribute=attribute.label,
                    )
                )
            if attribute.source == "image" and attribute.attribute_type not in (
                "MEDIA",
                "LINK",
                "TEXT",
            ):
                raise ValidationError(
                    _(
                        "%(attribute)s is not an image or link attribute.",
                        attribute=attribute.label,
                    )
                )

    # === CRUD METHODS === #

    def write(self, vals):
        result = super().write(vals)
        if {"source", "source_field_id", "source_attribute_id", "fixed_value"} & set(
            vals
        ):
            self.backend_id._mirakl_mapping_changed()
        return result

    # === ACTION METHODS === #

    def action_open_value_maps(self):
        self.ensure_one()
        return self.value_list_id.action_open_value_maps()

    # === BUSINESS METHODS === #

    def _mirakl_source_text(self):
        self.ensure_one()
        if self.role:
            return _(
                "Filled by the connector (%(role)s)",
                role=dict(self._fields["role"]._description_selection(self.env))[
                    self.role
                ],
            )
        if self.source == "field" and self.source_field_id:
            return _(
                "Product field: %(field)s", field=self.source_field_id.field_description
            )
        if self.source == "attribute" and self.source_attribute_id:
            return _(
                "Product attribute: %(attribute)s",
                attribute=self.source_attribute_id.name,
            )
        if self.source == "fixed":
            return _("Fixed value: %(value)s", value=self.fixed_value or "")
        if self.source == "image":
            return _("Product image (public link)")
        return _("Nothing (not mapped)")
