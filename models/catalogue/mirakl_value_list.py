"""The operator's value lists (VL11): the codes a list attribute accepts.

Odoo's own values (a product attribute value such as "Navy", a field's
text) are mapped to a list's codes by ``mirakl.value.map``.
"""

from odoo import _, api, fields, models


class MiraklValueList(models.Model):
    _name = "mirakl.value.list"
    _description = "Mirakl Value List"
    _order = "backend_id, code"
    _rec_name = "code"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    active = fields.Boolean(default=True, readonly=True)
    code = fields.Char(required=True, readonly=True, index=True)
    label = fields.Char(readonly=True)
    value_ids = fields.One2many("mirakl.value", "list_id", string="Values")
    value_map_ids = fields.One2many(
        "mirakl.value.map", "value_list_id", string="Odoo values"
    )
    value_count = fields.Integer(compute="_compute_counts")
    todo_count = fields.Integer(string="To map or confirm", compute="_compute_counts")

    _sql_constraints = [
        (
            "backend_code_uniq",
            "unique(backend_id, code)",
            "A value list code appears once per shop.",
        ),
    ]

    @api.depends("code", "label")
    def _compute_display_name(self):
        for record in self:
            record.display_name = (
                "%s (%s)" % (record.label, record.code) if record.label else record.code
            )

    def _compute_counts(self):
        values = dict(
            self.env["mirakl.value"]._read_group(
                [("list_id", "in", self.ids)], ["list_id"], ["__count"]
            )
        )
        todo = dict(
            self.env["mirakl.value.map"]._read_group(
                [("value_list_id", "in", self.ids), ("state", "!=", "confirmed")],
                ["value_list_id"],
                ["__count"],
            )
        )
        for record in self:
            record.value_count = values.get(record, 0)
            record.todo_count = todo.get(record, 0)

    def action_open_value_maps(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "mirakl_connector.mirakl_value_map_action"
        )
        action.update(
            name=_("Values of %(list)s", list=self.display_name),
            domain=[("value_list_id", "=", self.id)],
            context={
                "default_value_list_id": self.id,
                "search_default_todo": 1,
            },
        )
        return action
