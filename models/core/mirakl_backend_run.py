"""The shop's run machinery, shared by every concern: scheduled runs (the
per-shop loop, retry soon, the time budget), commits, savepoints and writes
on the shop, records of several shops taken per shop, advisory locks (a
shop's session lock, a transaction's try-lock on one key), rows committed
by another transaction, units of work, the calls to Mirakl and the
notifications of buttons.

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``).
"""

import logging
import random
import time
import zlib
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg2
from psycopg2.extensions import TRANSACTION_STATUS_INERROR

from odoo import _, api, fields, models, tools

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

# Unique constraints that another transaction importing the same order (or
# customer, or unknown shipping type) breaks; any other is a bad order.
CONCURRENT_CONSTRAINTS = frozenset(
    (
        "sale_order_mirakl_order_unique",
        "res_partner_mirakl_customer_unique",
        "mirakl_shipping_type_code_unique",
    )
)


class ConcurrentImport(Exception):
    """Another transaction holds this Mirakl order."""


# What another transaction working on the same order or customer causes.
CONFLICTS = (
    ConcurrentImport,
    psycopg2.errors.UniqueViolation,
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.LockNotAvailable,
)


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

    # === BUSINESS METHODS: per shop, locks, units of work === #

    @api.model
    def _mirakl_per_shop(self, records):
        """Yield ``(shop, its records)`` for records of several shops (any
        model with ``backend_id``), both as the operator (see
        ``_mirakl_as_operator``)."""
        for backend in records.backend_id._mirakl_as_operator():
            yield (
                backend,
                records.filtered(lambda r, b=backend: r.backend_id.id == b.id).sudo(),
            )

    @contextmanager
    def _mirakl_session_lock(self, lock_class):
        """Hold this shop's session-level advisory lock of ``lock_class`` for
        the block (it outlives the commits a cron makes); yields False, and
        runs nothing under the lock, when another session holds it."""
        self.env.cr.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (lock_class, self.id)
        )
        if not self.env.cr.fetchone()[0]:
            yield False
            return
        try:
            yield True
        finally:
            self._mirakl_release_session_lock(lock_class)

    def _mirakl_release_session_lock(self, lock_class):
        """Release a session-level advisory lock, even after a failed query.

        Connections go back to a pool: a lock left behind would block the
        shop until the connection closes. A transaction broken by an error is
        rolled back first (it could not be committed anyway).
        """
        cr = self.env.cr
        if cr._cnx.get_transaction_status() == TRANSACTION_STATUS_INERROR:
            cr.rollback()
        cr.execute("SELECT pg_advisory_unlock(%s, %s)", (lock_class, self.id))

    def _mirakl_try_xact_lock(self, kind, key):
        """Transaction-level try-lock on (shop, kind, key)."""
        self.env.cr.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)",
            (self.id, zlib.crc32(("%s:%s" % (kind, key)).encode()) - 2**31),
        )
        return self.env.cr.fetchone()[0]

    def _mirakl_committed_since(self, query, params):
        """Whether ``query`` finds a row committed after this transaction began.

        Odoo's transactions read one snapshot (REPEATABLE READ): a row another
        worker committed since is invisible here, and inserting it again would
        break a unique constraint. A short fresh cursor sees it.
        """
        with self.env.registry.cursor() as cr:
            cr.execute(query, params)
            return bool(cr.fetchone())

    def _mirakl_unit(self, work, what):
        """``work()`` as one unit of work: its own savepoint, committed after
        it in a scheduled run. Another transaction changing the same rows
        meanwhile (a warehouse validating, another job) only leaves the unit
        to the next run. Returns ``(True, result)``, or ``(False, None)``
        after such a conflict."""
        try:
            with self._mirakl_savepoint():
                result = work()
        except CONFLICTS as error:
            if not self._mirakl_concurrent(error):
                raise
            _logger.info(
                "Mirakl shop %s: %s left to the next run (%s)",
                self.id,
                what,
                type(error).__name__,
            )
            return False, None
        self._mirakl_commit()
        return True, result

    @api.model
    def _mirakl_concurrent(self, error):
        """Whether a conflict comes from another transaction working on the
        same order (retried by the next cycle) rather than from the order."""
        if isinstance(error, psycopg2.errors.UniqueViolation):
            return error.diag.constraint_name in CONCURRENT_CONSTRAINTS
        return True

    def _mirakl_locked_run(self, lock_class, busy_message, run, *args):
        """``run(*args)`` under this shop's session lock of ``lock_class``:
        one such run per shop at a time. When another session holds the lock
        nothing runs and the result is ``{"ok": False, "message":
        busy_message}`` (the shape of a run's result, see
        ``_mirakl_result_notification``)."""
        self.ensure_one()
        with self._mirakl_session_lock(lock_class) as locked:
            if locked:
                return run(*args)
        return {"ok": False, "message": busy_message}

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

    def _mirakl_result_notification(self, title, results):
        """A button's notification of the results of runs on several shops
        (``{"ok", "message"}`` each): success when all went well, else a
        sticky danger."""
        ok = all(result["ok"] for result in results)
        return self._mirakl_notification(
            title,
            "\n".join(result["message"] for result in results),
            "success" if ok else "danger",
            sticky=not ok,
        )
