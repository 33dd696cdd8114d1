from odoo import _, api, fields, models
from odoo.exceptions import UserError


class MiraklOrderRefuse(models.TransientModel):
    """Refuse some or all lines of a Mirakl order waiting for acceptance."""

    _name = "mirakl.order.refuse"
    _description = "Refuse Mirakl order lines"

    sale_order_id = fields.Many2one("sale.order", required=True)
    available_line_ids = fields.Many2many(
        "sale.order.line", compute="_compute_available_line_ids"
    )
    line_ids = fields.Many2many(
        "sale.order.line",
        string="Lines to refuse",
        domain="[('id', 'in', available_line_ids)]",
        help="The other lines waiting for a decision are accepted.",
    )
    partial_allowed = fields.Boolean(compute="_compute_available_line_ids")

    @api.depends("sale_order_id")
    def _compute_available_line_ids(self):
        for wizard in self:
            order = wizard.sale_order_id
            wizard.available_line_ids = order._mirakl_waiting_lines()
            wizard.partial_allowed = (
                order.mirakl_backend_id._mirakl_partial_acceptance_allowed()
            )

    def action_refuse_all(self):
        self.ensure_one()
        self.line_ids = self.available_line_ids
        return self.action_confirm()

    def action_confirm(self):
        self.ensure_one()
        operator = self.sale_order_id.mirakl_backend_id._mirakl_as_operator()
        order = self.sale_order_id.with_env(operator.env)
        order._mirakl_check_decidable()
        waiting = order._mirakl_waiting_lines()
        refused = self.line_ids.with_env(operator.env) & waiting
        if not refused:
            raise UserError(_("Select the lines to refuse."))
        if refused != waiting and not self.partial_allowed:
            raise UserError(
                _(
                    "The platform does not allow refusing single lines: refuse "
                    "every line or accept the order."
                )
            )
        refused.mirakl_decision = "refuse"
        (waiting - refused).mirakl_decision = "accept"
        order.mirakl_acceptance = "to_send"
        return order._mirakl_send_decision_action()
