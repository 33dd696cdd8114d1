import re

from odoo import _, fields, models
from odoo.exceptions import UserError

from .. import const


class MiraklOrderImport(models.TransientModel):
    """Bring back Mirakl orders by their ids (a missed or older order)."""

    _name = "mirakl.order.import"
    _description = "Import Mirakl orders by id"

    backend_id = fields.Many2one("mirakl.backend", string="Shop", required=True)
    order_refs = fields.Text(
        string="Mirakl order ids",
        required=True,
        help="One or more Mirakl order ids (for example MKP-100001-A), separated "
        "by spaces, commas or new lines.",
    )

    def action_import(self):
        self.ensure_one()
        refs = list(
            dict.fromkeys(r for r in re.split(r"[\s,;]+", self.order_refs) if r)
        )
        if not refs:
            raise UserError(_("Enter at least one Mirakl order id."))
        stats = self.backend_id._mirakl_as_operator()._mirakl_import_order_ids(
            refs, max_retries=const.BUTTON_MAX_RETRIES, force=True
        )
        return self.backend_id._mirakl_import_notification(stats)
