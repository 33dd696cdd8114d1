"""API health: every call to Mirakl counted per shop, hour and operation, and
written without ever breaking a run."""

import time
from collections import Counter, namedtuple
from datetime import timedelta

import psycopg2

from odoo import fields
from odoo.tests import BaseCase, tagged
from odoo.tools import mute_logger

from ..lib import MiraklTimeoutError
from ..lib.stats import CallCounters, CallStats, hour_of
from ..models.core.mirakl_call_stat import _buffer
from .common import API_KEY, MiraklCommon, action_records
from .order_common import OrderCommon

STATS_LOGGER = "odoo.addons.mirakl_connector.models.core.mirakl_call_stat"
Totals = namedtuple(
    "Totals",
    "calls rate_limited server_errors timeouts failures duration_ms rows",
)


class StatsMixin:
    def stats(self, backend=None):
        """{operation: Totals} of the shop's call statistics (rows summed)."""
        rows = self.env["mirakl.call.stat"].search(
            [("backend_id", "=", (backend or self.backend).id)]
        )
        result = {}
        for operation in set(rows.mapped("operation")):
            mine = rows.filtered(lambda row, op=operation: row.operation == op)
            result[operation] = Totals(
                *(sum(mine.mapped(name)) for name in Totals._fields[:-1]), mine
            )
        return result

    def sandbox_log(self):
        """{operation: (calls, 429s, 5xx)} as the sandbox received them."""
        calls, limited, errors = Counter(), Counter(), Counter()
        for call in self.control.calls():
            calls[call["operation"]] += 1
            limited[call["operation"]] += call["status"] == 429
            errors[call["operation"]] += (call["status"] or 0) >= 500
        return {op: (calls[op], limited[op], errors[op]) for op in calls}

    def assertStatsMatchSandbox(self):
        stats = self.stats()
        self.assertEqual(
            {
                op: (row.calls, row.rate_limited, row.server_errors)
                for op, row in stats.items()
            },
            self.sandbox_log(),
        )
        return stats


@tagged("post_install", "-at_install")
class TestCallStats(StatsMixin, MiraklCommon):
    def version(self, **kwargs):
        return self.backend._mirakl_call(
            "V01", lambda client: client.get_version(), **kwargs
        )

    def test_429_500_and_timeouts_counted_as_mirakl_saw_them(self):
        self.control.fault("429", operation="A01", count=1, retry_after=0)
        self.control.fault("500", operation="PC01", count=1)
        self.assertTrue(self.backend._mirakl_refresh_account())  # 429, then 200
        self.assertTrue(self.backend._mirakl_refresh_platform_config())  # 500, 200
        self.backend.read_timeout = 1
        self.control.fault("slow", operation="V01", count=1, delay=1.5)
        ok, error = self.version(max_retries=0)
        self.assertFalse(ok)
        self.assertEqual(error.category, "timeout")
        stats = self.assertStatsMatchSandbox()
        self.assertEqual(set(stats), {"A01", "PC01", "V01"})
        a01, pc01, v01 = stats["A01"], stats["PC01"], stats["V01"]
        self.assertEqual((a01.calls, a01.rate_limited, a01.server_errors), (2, 1, 0))
        self.assertEqual((pc01.calls, pc01.server_errors, pc01.timeouts), (2, 1, 0))
        self.assertEqual((v01.calls, v01.timeouts, v01.failures), (1, 1, 0))
        self.assertGreaterEqual(v01.duration_ms, 1000)
        self.assertGreater(a01.duration_ms, 0)
        self.assertEqual(a01.rows.mapped("operation_label"), ["Shop account"])
        hour = fields.Datetime.now().replace(minute=0, second=0, microsecond=0)
        self.assertIn(a01.rows.hour, (hour, hour - timedelta(hours=1)))
        rows = self.env["mirakl.call.stat"].union(*(t.rows for t in stats.values()))
        self.assertTrue(all(rows.mapped("recent")))
        # The shop's card sums the last 24 hours, and opens these rows.
        self.env.invalidate_all()
        backend = self.backend
        self.assertEqual(backend.cockpit_api_calls, 5)
        self.assertEqual(backend.cockpit_api_rate_limited, 1)
        self.assertEqual(backend.cockpit_api_server_errors, 1)
        self.assertEqual(backend.cockpit_api_timeouts, 1)
        total = sum(row.duration_ms for row in stats.values())
        self.assertEqual(backend.cockpit_api_latency, round(total / 5))
        self.assertGreaterEqual(backend.cockpit_api_latency, 200)  # the timeout
        self.assertEqual(action_records(self.env, backend.action_cockpit_api()), rows)

    def test_connection_failures_counted_apart(self):
        self.control.fault("drop", operation="V01", count=1)
        ok, error = self.version(max_retries=0)
        self.assertFalse(ok)
        self.assertEqual(error.category, "connection")
        row = self.stats()["V01"]
        self.assertEqual(
            (row.calls, row.failures, row.timeouts, row.server_errors), (1, 1, 0, 0)
        )

    def test_rows_are_inserted_then_merged_per_past_hour(self):
        Stat = self.env["mirakl.call.stat"]
        for _i in range(3):
            self.assertTrue(self.version()[0])
        now = self.stats()["V01"]
        self.assertEqual((now.calls, len(now.rows)), (3, 3))  # one per write
        hour = now.rows[0].hour
        past = Stat.create(
            [
                {
                    "backend_id": self.backend.id,
                    "hour": hour - timedelta(hours=2),
                    "operation": "V01",
                    "calls": calls,
                    "server_errors": 1,
                    "duration_ms": 100.0,
                }
                for calls in (4, 6)
            ]
        )
        Stat._gc_mirakl_call_stats()
        self.assertFalse(past.exists())
        rows = self.stats()["V01"].rows
        self.assertEqual(len(rows), 4)  # this hour's rows stay as they are
        (merged,) = rows.filtered(lambda row: row.hour < hour)
        self.assertEqual(
            (merged.calls, merged.server_errors, merged.duration_ms, merged.company_id),
            (10, 2, 200.0, self.backend.company_id),
        )
        self.assertEqual(self.stats()["V01"].calls, 13)

    def test_a_batch_writes_once_at_its_end(self):
        Stat = self.env["mirakl.call.stat"]
        with Stat._mirakl_batch():
            self.assertTrue(self.backend._mirakl_refresh_account())
            with Stat._mirakl_batch():
                self.assertTrue(self.version()[0])
            self.assertTrue(self.version()[0])
            self.assertEqual(self.stats(), {})  # counted in memory only
        stats = self.stats()
        self.assertEqual((stats["A01"].calls, stats["V01"].calls), (1, 2))

    def test_statistics_never_break_a_run(self):
        Stat = self.env["mirakl.call.stat"]
        broken = False
        # A broken transaction: the counters wait for the next write.
        with Stat._mirakl_batch():
            self.assertTrue(self.version()[0])
            self.cr.execute("SAVEPOINT mirakl_broken")
            # Not assertRaises: Odoo's rolls back to a savepoint of its own.
            try:
                with mute_logger("odoo.sql_db"):
                    self.cr.execute("SELECT 1 / 0")
            except psycopg2.errors.DivisionByZero:
                broken = True
            self.assertTrue(broken)
        self.cr.execute("ROLLBACK TO SAVEPOINT mirakl_broken")
        self.assertEqual(self.stats(), {})
        Stat._mirakl_flush()
        self.assertEqual(self.stats()["V01"].calls, 1)
        # Counters the database refuses (out of range): logged and dropped,
        # the call itself and the transaction go on.
        hour = hour_of(time.time())
        _buffer(self.cr.dbname, self.backend.id).restore(
            {(hour, "V01"): CallCounters(calls=2**31)}
        )
        with (
            self.assertNoLogs("odoo.sql_db", "ERROR"),
            self.assertLogs(STATS_LOGGER, "WARNING") as logs,
        ):
            ok, _result = self.version()
        self.assertTrue(ok)
        self.assertIn("could not be written", logs.output[0])
        self.assertEqual(self.stats()["V01"].calls, 1)
        self.assertTrue(self.version()[0])
        self.assertEqual(self.stats()["V01"].calls, 2)

    def test_rows_of_a_deleted_shop_are_skipped(self):
        other = self.backend.copy({"name": "Gone", "api_key": API_KEY})
        with self.env["mirakl.call.stat"]._mirakl_batch():
            self.assertTrue(self.version()[0])
            with other._mirakl_get_client(max_retries=0) as client:
                client.get_version()
            other.unlink()
        self.assertEqual(self.stats()["V01"].calls, 1)  # the other one is gone

    def test_old_rows_are_purged(self):
        Stat = self.env["mirakl.call.stat"]
        self.assertTrue(self.version()[0])
        now = fields.Datetime.now().replace(minute=0, second=0, microsecond=0)
        old = Stat.create(
            {
                "backend_id": self.backend.id,
                "hour": now - timedelta(days=31),
                "operation": "OR11",
                "calls": 7,
            }
        )
        kept = Stat.create(
            {
                "backend_id": self.backend.id,
                "hour": now - timedelta(days=29),
                "operation": "OR11",
                "calls": 5,
            }
        )
        self.assertFalse(old.recent)
        Stat._gc_mirakl_call_stats()
        self.assertFalse(old.exists())
        self.assertTrue(kept.exists())
        self.assertEqual(self.stats()["V01"].calls, 1)
        # Old rows are not part of the card's 24 hours.
        self.env.invalidate_all()
        self.assertEqual(self.backend.cockpit_api_calls, 1)


@tagged("post_install", "-at_install")
class TestCallStatsOfRuns(StatsMixin, OrderCommon):
    def test_an_import_cycle_counts_every_call(self):
        self.create_orders(*(self.order_spec(("std", 1)) for _i in range(3)))
        self.control.fault("429", operation="OR21", count=1, retry_after=0)
        self.backend._cron_mirakl_import_orders(self.backend.id)
        stats = self.assertStatsMatchSandbox()
        self.assertEqual(stats["OR21"].calls, 4)  # 3 orders, one 429 retried
        self.assertEqual(stats["OR21"].rate_limited, 1)
        self.assertEqual(stats["OR11"].calls, 1)


@tagged("post_install", "-at_install")
class TestCallStatsUnit(BaseCase):
    """The pure counters of ``lib/stats.py``."""

    def test_counters(self):
        moments = iter([7200.5, 7300.0, 10799.0, 10800.0, 10801.0])
        stats = CallStats(clock=lambda: next(moments))
        stats.record("OR11", 200, None, 10.0)
        stats.record("OR11", 429, object(), 5.0)
        stats.record("OR11", 503, object(), 5.0)
        stats.record("OR11", None, ValueError("refused"), 1.0)
        stats.record("OR11", None, MiraklTimeoutError("slow"), 2.0)
        self.assertTrue(stats)
        counters = stats.drain()
        self.assertFalse(stats)
        first, second = hour_of(7200), hour_of(10800)
        self.assertEqual(str(first), "1970-01-01 02:00:00")
        self.assertEqual(
            counters[first, "OR11"],
            CallCounters(calls=3, rate_limited=1, server_errors=1, duration_ms=20.0),
        )
        self.assertEqual(
            counters[second, "OR11"],
            CallCounters(calls=2, failures=1, timeouts=1, duration_ms=3.0),
        )
        stats.restore(counters)
        self.assertEqual(stats.drain(), counters)
