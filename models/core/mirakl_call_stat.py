"""API health: calls to Mirakl per shop, hour and operation.

Every client the shop hands out (``mirakl.backend._mirakl_get_client``)
reports each HTTP attempt to an in-memory :class:`..lib.stats.CallStats` of
its shop (per process and database). The counters reach the database in one
``INSERT`` of a row per hour and operation:

* at the end of a batch (``mirakl.call.stat._mirakl_batch()``): each shop
  of a scheduled run (``_mirakl_cron_each``), a whole order import cycle, a
  shipment run; so the hot paths write once per run, not once per call;
* otherwise when the client is closed (a button, a retry: a few calls).

Rows are only ever inserted, never updated: workers counting calls of the
same shop and hour at the same time never wait for each other nor conflict
(Odoo's transactions are REPEATABLE READ, where concurrent updates of one
row fail). Readers sum them; the daily clean-up (autovacuum) merges the rows
of each past hour into one and removes those older than
``CALL_STATS_KEEP_DAYS``.

Writing the statistics never breaks a run: the insert runs in a savepoint,
is skipped (counters kept for the next write) while the transaction is in
error, and a failure is logged and dropped.
"""

import logging
import threading
from contextlib import contextmanager
from datetime import timedelta

from psycopg2.extensions import TRANSACTION_STATUS_INERROR

from odoo import _, api, fields, models

from ... import const
from ...lib import MiraklClient
from ...lib.stats import CallStats

_logger = logging.getLogger(__name__)

# {(database, shop id): CallStats} of this process.
_BUFFERS = {}
_BUFFERS_LOCK = threading.Lock()
# Depth of the statistics batches open in this thread.
_BATCH = threading.local()


def _buffer(dbname, backend_id):
    with _BUFFERS_LOCK:
        key = (dbname, backend_id)
        if key not in _BUFFERS:
            _BUFFERS[key] = CallStats()
        return _BUFFERS[key]


def _drain(dbname):
    """``{shop id: {(hour, operation): CallCounters}}`` of one database."""
    with _BUFFERS_LOCK:
        buffers = [
            (key[1], stats) for key, stats in _BUFFERS.items() if key[0] == dbname
        ]
    drained = {}
    for backend_id, stats in buffers:
        counters = stats.drain()
        if counters:
            drained[backend_id] = counters
    return drained


def _restore(dbname, drained):
    for backend_id, counters in drained.items():
        _buffer(dbname, backend_id).restore(counters)


class ShopClient(MiraklClient):
    """The client of one shop: counts its calls, flushes them when closed
    (unless a statistics batch is open)."""

    def __init__(self, backend, *args, **kwargs):
        self._env = backend.env
        kwargs["observer"] = _buffer(backend.env.cr.dbname, backend.id).record
        super().__init__(*args, **kwargs)

    def close(self):
        result = super().close()
        self._env["mirakl.call.stat"]._mirakl_flush()
        return result


class MiraklCallStat(models.Model):
    _name = "mirakl.call.stat"
    _description = "Mirakl API calls per hour"
    _order = "hour desc, backend_id, operation"
    _rec_name = "operation"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    hour = fields.Datetime(required=True, readonly=True, index=True)
    operation = fields.Char(required=True, readonly=True)
    operation_label = fields.Char(
        string="Operation name", compute="_compute_operation_label"
    )
    calls = fields.Integer(
        readonly=True, help="HTTP requests sent (each retry is one more)."
    )
    rate_limited = fields.Integer(
        string="Rate-limited (429)",
        readonly=True,
        help="Calls Mirakl refused because too many were sent (HTTP 429).",
    )
    server_errors = fields.Integer(
        string="Server errors (5xx)",
        readonly=True,
        help="Calls Mirakl answered with a server error (HTTP 500 to 599).",
    )
    timeouts = fields.Integer(
        readonly=True, help="Calls with no connection or no answer in time."
    )
    failures = fields.Integer(
        string="Connection failures",
        readonly=True,
        help="Calls refused or dropped before an answer (network, TLS).",
    )
    duration_ms = fields.Float(string="Total time (ms)", readonly=True, digits=(16, 0))
    average_ms = fields.Float(
        string="Average time (ms)",
        compute="_compute_average_ms",
        digits=(16, 0),
        aggregator=None,
    )
    recent = fields.Boolean(
        string="Last 24 hours",
        compute="_compute_recent",
        search="_search_recent",
    )

    @api.depends("operation")
    def _compute_operation_label(self):
        for row in self:
            row.operation_label = const.OPERATIONS.get(row.operation, row.operation)

    @api.depends("calls", "duration_ms")
    def _compute_average_ms(self):
        for row in self:
            row.average_ms = row.duration_ms / row.calls if row.calls else 0.0

    @api.depends("hour")
    def _compute_recent(self):
        since = self._mirakl_recent_since()
        for row in self:
            row.recent = bool(row.hour and row.hour >= since)

    def _search_recent(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(_("Unsupported search on Last 24 hours."))
        positive = (operator == "=") == value
        return [("hour", ">=" if positive else "<", self._mirakl_recent_since())]

    @api.model
    def _mirakl_recent_since(self):
        """Start of the 24 hourly rows of the last 24 hours (this hour included)."""
        hour = fields.Datetime.now().replace(minute=0, second=0, microsecond=0)
        return hour - timedelta(hours=23)

    @api.autovacuum
    def _gc_mirakl_call_stats(self):
        """Rows older than ``CALL_STATS_KEEP_DAYS`` go; the rows of each past
        hour (one per write) are merged into one per shop and operation."""
        self.flush_model()
        now = fields.Datetime.now()
        limit = now - timedelta(days=const.CALL_STATS_KEEP_DAYS)
        cr = self.env.cr
        cr.execute("DELETE FROM mirakl_call_stat WHERE hour < %s", (limit,))
        cr.execute(
            """
            WITH merged AS (
                DELETE FROM mirakl_call_stat
                 WHERE hour < %(hour)s
                   AND (backend_id, hour, operation) IN (
                        SELECT backend_id, hour, operation
                          FROM mirakl_call_stat
                         WHERE hour < %(hour)s
                         GROUP BY backend_id, hour, operation
                        HAVING count(*) > 1)
             RETURNING *
            )
            INSERT INTO mirakl_call_stat
                   (backend_id, company_id, hour, operation, calls, rate_limited,
                    server_errors, timeouts, failures, duration_ms, create_uid,
                    create_date, write_uid, write_date)
            SELECT backend_id, max(company_id), hour, operation, sum(calls),
                   sum(rate_limited), sum(server_errors), sum(timeouts),
                   sum(failures), sum(duration_ms), %(uid)s,
                   now() AT TIME ZONE 'UTC', %(uid)s, now() AT TIME ZONE 'UTC'
              FROM merged
             GROUP BY backend_id, hour, operation
            """,
            {
                "hour": now.replace(minute=0, second=0, microsecond=0),
                "uid": self.env.uid,
            },
        )
        self.invalidate_model()

    @api.model
    @contextmanager
    def _mirakl_batch(self):
        """Count the calls made inside the block and write them once, at the
        end of the outermost block (clients closed inside do not write)."""
        depth = getattr(_BATCH, "depth", 0)
        _BATCH.depth = depth + 1
        try:
            yield
        finally:
            _BATCH.depth = depth
            if not depth:
                self._mirakl_flush()

    @api.model
    def _mirakl_flush(self):
        """Write the calls counted in this process for this database's shops:
        one insert. Never raises: statistics must not break a run."""
        if getattr(_BATCH, "depth", 0):
            return
        cr = self.env.cr
        dbname = cr.dbname
        drained = _drain(dbname)
        if not drained:
            return
        if cr._cnx.get_transaction_status() == TRANSACTION_STATUS_INERROR:
            _restore(dbname, drained)  # the transaction is broken: next time
            return
        columns = {
            name: []
            for name in (
                "backend",
                "hour",
                "operation",
                "calls",
                "rate_limited",
                "server_errors",
                "timeouts",
                "failures",
                "duration",
            )
        }
        for backend_id, counters in sorted(drained.items()):
            for (hour, operation), value in sorted(counters.items()):
                columns["backend"].append(backend_id)
                columns["hour"].append(hour)
                columns["operation"].append(operation)
                columns["calls"].append(value.calls)
                columns["rate_limited"].append(value.rate_limited)
                columns["server_errors"].append(value.server_errors)
                columns["timeouts"].append(value.timeouts)
                columns["failures"].append(value.failures)
                columns["duration"].append(value.duration_ms)
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    """
                    INSERT INTO mirakl_call_stat
                           (backend_id, company_id, hour, operation, calls,
                            rate_limited, server_errors, timeouts, failures,
                            duration_ms, create_uid, create_date, write_uid,
                            write_date)
                    SELECT v.backend_id, b.company_id, v.hour, v.operation,
                           v.calls, v.rate_limited, v.server_errors, v.timeouts,
                           v.failures, v.duration_ms, %(uid)s,
                           now() AT TIME ZONE 'UTC', %(uid)s,
                           now() AT TIME ZONE 'UTC'
                      FROM unnest(%(backend)s::int[], %(hour)s::timestamp[],
                                  %(operation)s::varchar[], %(calls)s::int[],
                                  %(rate_limited)s::int[], %(server_errors)s::int[],
                                  %(timeouts)s::int[], %(failures)s::int[],
                                  %(duration)s::float8[])
                           AS v(backend_id, hour, operation, calls, rate_limited,
                                server_errors, timeouts, failures, duration_ms)
                      JOIN mirakl_backend b ON b.id = v.backend_id
                    """,
                    dict(columns, uid=self.env.uid),
                    log_exceptions=False,  # logged once, as a warning, below
                )
        except Exception:  # statistics are never worth a failed run
            _logger.warning(
                "Mirakl: %s rows of call statistics could not be written",
                len(columns["backend"]),
                exc_info=True,
            )
            return
        self.invalidate_model()
