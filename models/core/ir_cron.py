"""How long the cron pass in progress may still run (``cron_pass_deadline``).

A cron worker runs every ready job of a database one after the other in one
pass, and Odoo kills the worker when the pass outlasts its real-time limit
(``limit_time_real_cron``, else ``limit_time_real``). With ``--workers`` the
watchdog even counts from before the worker's sleep of up to 70 s that
precedes the pass. A shop's run therefore stops by the end of its own time
budget and by what the pass it belongs to has left, so that jobs run back to
back (an import after the daily refresh, say) never add up past the limit.
"""

import threading
import time

from odoo import models, tools
from odoo.service import server

_pass = threading.local()

# Seconds a prefork cron worker may sleep between its ping to the watchdog
# and the pass (Odoo's SLEEP_INTERVAL plus its pid-based jitter of up to 9).
PREFORK_SLEEP = server.SLEEP_INTERVAL + 10
# Kept free at the end of a pass: the last unit of work and the cron's own
# bookkeeping.
PASS_MARGIN = 10


def cron_limit():
    """The real-time limit of a cron job in seconds, 0 for none."""
    cron = tools.config.get("limit_time_real_cron") or 0
    if cron > 0:
        return cron
    if cron == 0 and tools.config.get("workers"):
        return 0  # prefork: 0 switches the cron watchdog off
    return max(tools.config.get("limit_time_real") or 0, 0)


def cron_pass_deadline():
    """``time.monotonic()`` by which the cron pass running in this thread
    must be over, or None outside a cron pass (or without a limit)."""
    return getattr(_pass, "deadline", None)


class IrCron(models.Model):
    _inherit = "ir.cron"

    @classmethod
    def _process_job(cls, db, cron_cr, job):
        """Override of `base` to note when the worker's pass of jobs began:
        its jobs share one real-time limit (see the module docstring)."""
        if getattr(_pass, "cursor", None) is not cron_cr:
            _pass.cursor = cron_cr  # one cursor per pass
            limit = cron_limit()
            _pass.deadline = None
            if limit:
                slept = PREFORK_SLEEP if tools.config.get("workers") else 0
                left = max(limit - slept - PASS_MARGIN, PASS_MARGIN)
                _pass.deadline = time.monotonic() + left
        return super()._process_job(db, cron_cr, job)
