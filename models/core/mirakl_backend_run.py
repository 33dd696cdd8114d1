"""The shop's run machinery: scheduled runs (per-shop loop, retry soon,
time budget), commits, savepoints and writes on the shop, the calls to
Mirakl and the notifications of buttons.

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``).
"""

import logging
import random
import time
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg2

from odoo import _, fields, models, tools

from ...lib import MiraklDeadlineError, MiraklError
from .ir_cron import cron_pass_deadline
from .mirakl_backend import CRASH_REF, _can_commit
from .mirakl_call_stat import ShopClient

_logger = logging.getLogger(__name__)

# Share of Odoo's real-time limit (limit_time_real, or limit_time_real_cron)
# a scheduled run may spend at most, whatever the shop's time budget says:
# the rest is the margin for the unit of work in hand when the budget ends.
RUN_LIMIT_SHARE = 0.5
# A daily job that crashed, failed on a transient error or ran out of time
# runs again this many minutes later instead of the next day.
RETRY_SOON_MINUTES = 15
# Attempts at writing a run's status on the shop row (serialization failures).
SHOP_WRITE_ATTEMPTS = 5


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    # === BUSINESS METHODS: scheduled runs === #

    def _mirakl_run_deadline(self):
        """``time.monotonic()`` by which a run of these shops stops working:
        the smallest time budget, at most a share of Odoo's real-time limit,
        and in a scheduled job no later than its cron pass may last."""
        budget = min(self.sudo().mapped("cron_time_budget") or [60])
        limit = tools.config.get("limit_time_real") or 0
        if limit > 0:
            budget = min(budget, limit * RUN_LIMIT_SHARE)
        deadline = time.monotonic() + budget
        pass_deadline = cron_pass_deadline()
        return min(deadline, pass_deadline) if pass_deadline else deadline

    def _mirakl_out_of_time(self):
        """Whether the time budget of the run in progress is spent."""
        deadline = self.env.context.get("mirakl_deadline")
        return deadline is not None and time.monotonic() >= deadline

    def _mirakl_cron_each(self, operation, run, retry_soon=False):
        """A cron's work, ``run(shop)``, for each of these shops, committing as
        it goes, each within its time budget.

        A crash is rolled back and recorded as an issue of ``operation`` (the
        next run that completes closes it), and the next shop still runs.
        With ``retry_soon`` (daily jobs), a shop whose run crashed, returned
        False (a transient failure) or ran out of time gets the cron run again
        in ``RETRY_SOON_MINUTES`` instead of the next day.
        """
        commit = self.env.context.get("mirakl_commit", _can_commit())
        Issue = self.env["mirakl.sync.issue"]
        Stats = self.env["mirakl.call.stat"]
        again = False
        for backend in self:
            shop = backend.with_context(
                mirakl_commit=commit, mirakl_deadline=backend._mirakl_run_deadline()
            ).sudo()
            crashed = False
            # The shop's calls are counted in memory and written once, here.
            with Stats._mirakl_batch():
                try:
                    ok = run(shop)
                    shop._mirakl_commit()  # a failure to commit is this shop's too
                except Exception as error:  # one shop's bug must not stop the others
                    _logger.exception(
                        "Mirakl shop %s: %s crashed", backend.id, operation
                    )
                    if commit:
                        self.env.cr.rollback()
                    Issue._mirakl_record(
                        backend,
                        operation,
                        _("The scheduled run crashed: %(error)s", error=repr(error)),
                        category="other",
                        mirakl_ref=CRASH_REF,
                    )
                    crashed = True
            if not crashed:
                Issue._mirakl_resolve(
                    backend,
                    operation,
                    mirakl_ref=CRASH_REF,
                    resolution=_("A later scheduled run completed"),
                )
            # Keep this shop's issues and statistics should the next crash.
            shop._mirakl_commit()
            if crashed or ok is False or shop._mirakl_out_of_time():
                again = True
        if again and retry_soon:
            self._mirakl_retry_cron_soon()

    def _mirakl_retry_cron_soon(self):
        """Run the scheduled action in progress again soon, when its own
        interval is longer."""
        cron = self.env["ir.cron"].sudo().browse(self.env.context.get("cron_id") or [])
        if not cron.exists():
            return
        soon = timedelta(minutes=RETRY_SOON_MINUTES)
        interval = {
            "minutes": timedelta(minutes=1),
            "hours": timedelta(hours=1),
            "days": timedelta(days=1),
            "weeks": timedelta(weeks=1),
            "months": timedelta(days=28),
        }[cron.interval_type] * cron.interval_number
        if interval > soon:
            cron._trigger(fields.Datetime.now() + soon)
            _logger.info(
                "Mirakl: %s runs again in %s minutes", cron.name, RETRY_SOON_MINUTES
            )

    def _mirakl_commit(self):
        """Commit the work done (scheduled runs only).

        Crons commit after each unit of work so a timeout or crash keeps what
        is done (re-reading an order is a no-op); never under tests or
        buttons, and never inside a unit's savepoint (``_mirakl_savepoint``):
        a commit there would release the savepoint and break the transaction;
        the unit is committed whole by the loop that runs it.
        """
        cr = self.env.cr
        if self.env.context.get("mirakl_commit") and not getattr(
            cr, "_mirakl_savepoints", 0
        ):
            cr.commit()  # pylint: disable=invalid-commit

    @contextmanager
    def _mirakl_savepoint(self):
        """A savepoint around one unit of work (one order, one confirmation):
        rolled back alone when it fails; nothing inside commits."""
        cr = self.env.cr
        depth = getattr(cr, "_mirakl_savepoints", 0)
        cr._mirakl_savepoints = depth + 1
        try:
            with cr.savepoint():
                yield
        finally:
            cr._mirakl_savepoints = depth

    def _mirakl_write_shop(self, vals):
        """Write what a run reports on the shop itself (watermark, last run,
        connection, platform flags...).

        Jobs of one shop run at once in their own transactions (imports,
        stock, shipments, the daily refresh); under Odoo's REPEATABLE READ,
        writing the shop row another job changed since this transaction
        began fails to serialize. In a scheduled run, the work done so far is
        committed first, then the write is retried in a fresh transaction
        (nothing else is lost) until it goes through.
        """
        self.ensure_one()
        shop = self.sudo()
        cr = self.env.cr
        if not self.env.context.get("mirakl_commit") or getattr(
            cr, "_mirakl_savepoints", 0
        ):
            shop.write(vals)
            return
        cr.commit()  # pylint: disable=invalid-commit
        for attempt in range(1, SHOP_WRITE_ATTEMPTS + 1):
            try:
                shop.write(vals)
                shop.flush_recordset()
                cr.commit()  # pylint: disable=invalid-commit
                return
            except psycopg2.errors.SerializationFailure:
                cr.rollback()  # only this write was pending
                if attempt == SHOP_WRITE_ATTEMPTS:
                    raise
                _logger.info(
                    "Mirakl shop %s: another job wrote the shop, writing again",
                    self.id,
                )
                time.sleep(random.uniform(0.05, 0.2) * attempt)

    # === BUSINESS METHODS: calls to Mirakl === #

    def _mirakl_get_client(self, max_retries=None):
        """The one bridge to Mirakl: a configured ``MiraklClient`` for this shop.

        Use it as a context manager so its HTTP session is closed::

            with backend._mirakl_get_client() as client:
                client.get_account()

        The client counts its calls for the shop's API health (see
        ``mirakl_call_stat.py``).

        :param max_retries: the client's default (for crons) unless given
        :raises MiraklConfigError: no API key, or an unusable URL

        Within a run (``mirakl_deadline`` in the context), the client stops
        by the run's deadline.
        """
        self.ensure_one()
        options = {} if max_retries is None else {"max_retries": max_retries}
        return ShopClient(
            self,
            self.api_url,
            self.sudo().api_key or "",
            shop_id=self.shop_id or None,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            deadline=self.env.context.get("mirakl_deadline"),
            **options,
        )

    def _mirakl_call(
        self,
        operation,
        func,
        record=None,
        mirakl_ref=None,
        max_retries=None,
        deadline=None,
    ):
        """Run ``func(client)``; file a sync issue on failure, resolve it on success.

        Returns ``(True, result)`` or ``(False, error)``. Never raises a
        ``MiraklError``: callers decide how to show the failure. A call the
        run's time budget stopped files nothing: the next run makes it.
        """
        self.ensure_one()
        Issue = self.env["mirakl.sync.issue"]
        try:
            with self._mirakl_get_client(max_retries=max_retries) as client:
                result = func(client)
        except MiraklDeadlineError as error:
            _logger.info("Mirakl shop %s: %s left for the next run", self.id, operation)
            return False, error
        except MiraklError as error:
            Issue._mirakl_record_error(
                self,
                operation,
                error,
                record=record,
                mirakl_ref=mirakl_ref,
                deadline=deadline,
            )
            return False, error
        Issue._mirakl_resolve(self, operation, record=record, mirakl_ref=mirakl_ref)
        return True, result

    def _mirakl_explain(self, error):
        """A message for a person, for each way a call to Mirakl can fail."""
        parts = urlsplit(self.api_url or "")
        host = parts.netloc or self.api_url
        status = error.status
        messages = {
            "not_found": _(
                "Wrong URL: no Mirakl API at %(url)s (404 Not Found for %(path)s). "
                "Enter the instance's base URL, for example "
                "https://yourmarketplace.mirakl.net, without any path.",
                url=self.api_url,
                path=error.path or "/api/...",
            ),
            "auth": _(
                "The API key was refused (HTTP %(status)s). Check the key in the "
                "shop's settings (generate a new one in the Mirakl back office if "
                "needed) and the shop ID.",
                status=status,
            ),
            "connection": _(
                "Cannot reach %(host)s: the host is unknown, refuses the connection "
                "or dropped it. Check the URL and the server's network access. "
                "(%(detail)s)",
                host=host,
                detail=error.message,
            ),
            "timeout": _(
                "%(host)s did not answer in time (connect %(connect)s s, "
                "read %(read)s s). Mirakl may be slow or unreachable; try again "
                "later.",
                host=host,
                connect=self.connect_timeout,
                read=self.read_timeout,
            ),
            "tls": _(
                "TLS error talking to %(host)s: the certificate or the secure "
                "connection was refused. Check that the URL is the Mirakl "
                "instance's https address. (%(detail)s)",
                host=host,
                detail=error.message,
            ),
            "protocol": _(
                "%(url)s answered, but not like the Mirakl API (%(detail)s). "
                "Check that the URL is the Mirakl instance's base URL.",
                url=self.api_url,
                detail=error.message,
            ),
            "rate_limit": _(
                "Mirakl is limiting the call rate (HTTP 429); retry later.",
            ),
            "server": _(
                "Mirakl answered with a server error (HTTP %(status)s); retry later.",
                status=status,
            ),
            "config": _("Configuration problem: %(detail)s", detail=error.message),
            "budget": _(
                "The run's time budget was spent before Mirakl answered; the "
                "next run goes on (%(detail)s).",
                detail=error.message,
            ),
        }
        if error.category in messages:
            return messages[error.category]
        return _(
            "Mirakl refused the request (HTTP %(status)s%(code)s): %(detail)s",
            status=status,
            code=(", %s" % error.code) if error.code else "",
            detail=error.message,
        )

    # === BUSINESS METHODS: notifications === #

    def _mirakl_notification(self, title, message, kind, sticky=False):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": sticky,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
