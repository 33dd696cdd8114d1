"""The order import's part of the issue ledger: refusing, from an issue,
the Mirakl order it holds back.

Same model as ``core/mirakl_sync_issue.py`` (``mirakl.sync.issue``).
"""

from odoo import _, models
from odoo.exceptions import UserError


class MiraklSyncIssue(models.Model):
    _inherit = "mirakl.sync.issue"

    # === ACTION METHODS === #

    def action_mirakl_refuse_order(self):
        """Refuse, on Mirakl, the order held back by this issue (every line)."""
        self.ensure_one()
        if not self.mirakl_held_order:
            raise UserError(_("This issue does not hold back a Mirakl order."))
        operator = self.backend_id._mirakl_as_operator()
        ok, message = operator._mirakl_refuse_held_order(self.with_env(operator.env))
        return self.backend_id._mirakl_notification(
            _("Mirakl"), message, "success" if ok else "danger", sticky=not ok
        )
