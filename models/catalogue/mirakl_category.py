"""The operator's category tree (H11), one ``mirakl.category`` per shop and
category code, refreshed from Mirakl (``mirakl.backend``'s catalogue model):
what disappeared on Mirakl is archived, never deleted, so mappings keep it.
"""

from markupsafe import Markup, escape

from odoo import _, api, fields, models

LEVEL_LABELS = {
    "REQUIRED": "Required",
    "RECOMMENDED": "Recommended",
    "OPTIONAL": "Optional",
    "DISABLED": "Not used",
}


class MiraklCategory(models.Model):
    _name = "mirakl.category"
    _description = "Mirakl Category"
    _order = "backend_id, complete_name, id"
    _rec_name = "complete_name"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    active = fields.Boolean(default=True, readonly=True)
    code = fields.Char(required=True, readonly=True, index=True)
    label = fields.Char(readonly=True)
    level = fields.Integer(readonly=True)
    parent_code = fields.Char(readonly=True)
    parent_id = fields.Many2one("mirakl.category", readonly=True, ondelete="set null")
    child_ids = fields.One2many("mirakl.category", "parent_id")
    is_leaf = fields.Boolean(
        string="Leaf",
        readonly=True,
        help="Products go in leaf categories (categories without children).",
    )
    complete_name = fields.Char(
        string="Mirakl category", readonly=True, index=True, help="Path on Mirakl."
    )
    map_ids = fields.One2many(
        "mirakl.category.map", "mirakl_category_id", string="Mapped from"
    )
    offer_ids = fields.One2many("mirakl.offer", "product_category_id")
    product_count = fields.Integer(string="Products", compute="_compute_product_count")
    not_ready_count = fields.Integer(compute="_compute_product_count")
    attribute_table = fields.Html(
        string="Attributes",
        compute="_compute_attribute_table",
        sanitize=False,
        help="Each attribute the operator expects in this category, with its "
        "requirement, where its value comes from and sample values.",
    )

    _sql_constraints = [
        (
            "backend_code_uniq",
            "unique(backend_id, code)",
            "A Mirakl category code appears once per shop.",
        ),
    ]

    # === COMPUTE METHODS === #

    def _compute_product_count(self):
        groups = self.env["mirakl.offer"]._read_group(
            [("product_category_id", "in", self.ids)],
            ["product_category_id", "product_ready"],
            ["__count"],
        )
        counts, not_ready = {}, {}
        for category, ready, count in groups:
            counts[category.id] = counts.get(category.id, 0) + count
            if ready == "not_ready":
                not_ready[category.id] = count
        for category in self:
            category.product_count = counts.get(category.id, 0)
            category.not_ready_count = not_ready.get(category.id, 0)

    @api.depends("code", "backend_id")
    def _compute_attribute_table(self):
        for category in self:
            if not category.id or not category.is_leaf:
                category.attribute_table = False
                continue
            rows = category.backend_id.sudo()._mirakl_category_attribute_rows(category)
            category.attribute_table = self._mirakl_render_attribute_table(rows)

    @api.model
    def _mirakl_render_attribute_table(self, rows):
        if not rows:
            return Markup("<p class='text-muted'>%s</p>") % _(
                "The operator lists no attribute for this category."
            )
        head = Markup("").join(
            Markup("<th>%s</th>") % title
            for title in (
                _("Attribute"),
                _("Requirement"),
                _("Type"),
                _("Value comes from"),
                _("Sample values"),
            )
        )
        body = Markup("")
        for row in rows:
            css = "table-danger" if row["unmapped"] else ""
            body += Markup(
                "<tr class='%s'><td>%s <span class='text-muted'>(%s)</span></td>"
                "<td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>"
            ) % (
                css,
                row["label"],
                row["code"],
                LEVEL_LABELS.get(row["level"], row["level"]),
                row["type"],
                row["source"],
                escape(", ".join(row["samples"])) or Markup("&mdash;"),
            )
        return Markup(
            "<table class='table table-sm o_mirakl_attribute_table'>"
            "<thead><tr>%s</tr></thead><tbody>%s</tbody></table>"
        ) % (head, body)

    # === ACTION METHODS === #

    def action_open_attributes(self):
        """The attributes of this category, their sources editable."""
        self.ensure_one()
        attributes = self.backend_id.sudo()._mirakl_category_attributes(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "mirakl_connector.mirakl_attribute_action"
        )
        action.update(
            name=_("Attributes of %(category)s", category=self.complete_name),
            domain=[("id", "in", [a.id for a, _level in attributes])],
            context={"mirakl_category_id": self.id},
        )
        return action

    def action_open_products(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "mirakl_connector.mirakl_offer_product_action"
        )
        action["domain"] = [("product_category_id", "=", self.id)]
        return action
