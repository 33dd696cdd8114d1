#!/usr/bin/env python3
"""Benchmark: booking a simulated quarter of Mirakl payouts.

    python3 scripts/bench_payouts.py [--orders 10000] [--cycles 9]
                                     [--db mirakl_bench_payouts] [--keep-db]

A script, not a test. It

1. creates a fresh database (dropping an older one of the same name) and
   installs mirakl_connector;
2. starts the Mirakl sandbox in a process of its own and, cycle by cycle,
   creates the orders of a 10-day billing cycle (N / cycles orders of 1 to 5
   lines, seeded), accepts (OR21) and ships (OR24) them, refunds one unit of
   5 % of them, adds a monthly subscription fee, and closes the cycle
   (set-up, not measured: the orders are not imported into Odoo, so the
   settlement lines carry the operator as partner and reconcile nothing);
3. measures in one run:
   - the connector's payout run (``_mirakl_import_payouts``: SBC11, TL02 in
     pages of 2,000, IV01, IV02, the checks, one posted settlement entry per
     cycle), overall and per cycle;
   - Odoo's own creation and posting of the same number of journal entries
     with the same number of lines each (one move per cycle, ``create`` then
     ``action_post``);
4. prints the times, the ratio, the lines and calls per cycle, and checks
   that every cycle is booked and each entry equals its payout;
5. drops the database (unless --keep-db).
"""
# pylint: disable=print-used

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from odoo_env import InnerBench, run_benchmark

API_KEY = "bench-sandbox-key"
SHOP_ID = 2001
BATCH = 200


class Bench(InnerBench):
    def __init__(self, cfg, db, orders, cycles, logfile):
        super().__init__(cfg, db, logfile)
        self.orders = orders
        self.cycles = cycles
        self.rng = random.Random(5)
        self.backend_id = None

    # --- set-up ---

    def setup_shop(self):
        # pylint: disable=import-outside-toplevel
        from sandbox_catalogue import create_purchase_fee_tax

        with self.registry.cursor() as cr:
            env = self.env(cr)
            env.ref("base.GBP").active = True
            tax_account = env["account.account"].create(
                {
                    "name": "VAT on purchases",
                    "code": "220199",
                    "account_type": "liability_current",
                }
            )
            tax = create_purchase_fee_tax(
                env, env.company, tax_account, name="20% services (purchase)"
            )
            backend = env["mirakl.backend"].create(
                {
                    "name": "Bench shop",
                    "api_url": self.sandbox_url,
                    "api_key": API_KEY,
                    "shop_id": str(SHOP_ID),
                    "order_import_enabled": False,
                    "stock_push_enabled": False,
                    "settlement_auto_post": True,
                    "payout_initial_days": 365,
                }
            )
            backend._mirakl_setup_finance(fee_tax=tax)
            self.backend_id = backend.id
            cr.commit()

    def make_cycles(self):
        # pylint: disable=import-outside-toplevel
        from odoo.addons.mirakl_connector.lib import MiraklClient

        per_cycle = self.orders // self.cycles
        client = MiraklClient(self.sandbox_url, API_KEY, SHOP_ID)
        refunds = 0
        for cycle in range(self.cycles):
            created = []
            for start in range(0, per_cycle, BATCH):
                count = min(BATCH, per_cycle - start)
                created += self.control("POST", "orders", json={"count": count})[
                    "orders"
                ]
            for order in created:
                client.accept_order(
                    order["order_id"],
                    {line["order_line_id"]: True for line in order["order_lines"]},
                )
            for n, order in enumerate(created):
                client.update_tracking(
                    order["order_id"],
                    carrier_code="DPD",
                    tracking_number="BENCH%06d" % n,
                )
                client.ship_order(order["order_id"])
            for order in self.rng.sample(created, max(1, len(created) // 20)):
                line = order["order_lines"][0]
                self.control(
                    "POST",
                    "orders/%s/refund" % order["order_id"],
                    json={
                        "lines": [
                            {"order_line_id": line["order_line_id"], "quantity": 1}
                        ]
                    },
                )
                refunds += 1
            if cycle % 3 == 0:
                self.control(
                    "POST",
                    "billing/items",
                    json={"type": "SUBSCRIPTION", "amount_excl_tax": "39.00"},
                )
            self.control("POST", "billing/close", json={})
        client.close()
        billing = self.control("GET", "billing")
        return len(billing["lines"]), refunds

    # --- measurements ---

    def run_connector(self):
        with self.registry.cursor() as cr:
            env = self.env(cr)
            backend = env["mirakl.backend"].browse(self.backend_id)
            started = time.perf_counter()
            result = backend.with_context(mirakl_commit=True)._mirakl_import_payouts()
            elapsed = time.perf_counter() - started
            cr.commit()
            cycles = env["mirakl.billing.cycle"].search(
                [("backend_id", "=", self.backend_id)]
            )
            shapes = [
                (len(c.move_id.line_ids), c.move_id.journal_id.id, c.amount_transferred)
                for c in cycles
            ]
            problems = [c.name for c in cycles if c.state != "booked"]
            for cycle in cycles:
                transit = cycle.move_id.line_ids.filtered(
                    lambda l, a=backend.transit_account_id: l.account_id == a
                )
                if round(sum(transit.mapped("balance")) - cycle.amount_transferred, 2):
                    problems.append("%s: entry differs from the payout" % cycle.name)
            return elapsed, result, shapes, problems

    def run_baseline(self, shapes):
        """Odoo's own: the same number of entries and lines, created and posted."""
        with self.registry.cursor() as cr:
            env = self.env(cr)
            backend = env["mirakl.backend"].browse(self.backend_id)
            receivable = backend.receivable_account_id
            transit = backend.transit_account_id
            partner = backend.operator_partner_id
            started = time.perf_counter()
            for count, journal_id, _amount in shapes:
                lines = [
                    {
                        "name": "Order %d" % n,
                        "account_id": receivable.id,
                        "partner_id": partner.id,
                        "balance": -10.0,
                    }
                    for n in range(count - 1)
                ]
                lines.append(
                    {
                        "name": "Payout",
                        "account_id": transit.id,
                        "partner_id": partner.id,
                        "balance": 10.0 * (count - 1),
                    }
                )
                move = env["account.move"].create(
                    {
                        "move_type": "entry",
                        "journal_id": journal_id,
                        "line_ids": [(0, 0, vals) for vals in lines],
                    }
                )
                move.action_post()
                cr.commit()
            return time.perf_counter() - started

    def run(self):
        try:
            self.start_sandbox(API_KEY)
            self.setup_shop()
            started = time.perf_counter()
            lines, refunds = self.make_cycles()
            print(
                "set-up: %d orders, %d refunds, %d cycles, %d transaction lines "
                "on the sandbox (%.0f s)"
                % (
                    self.orders,
                    refunds,
                    self.cycles,
                    lines,
                    time.perf_counter() - started,
                )
            )
            self.control("DELETE", "calls")
            elapsed, result, shapes, problems = self.run_connector()
            calls = self.calls()
            baseline = self.run_baseline(shapes)
        finally:
            self.stop_sandbox()
        entry_lines = sum(count for count, _j, _a in shapes)
        print("connector payout run: %s" % result["message"])
        print(
            "  %.1f s overall, %.2f s per cycle; %d entries, %d journal lines "
            "(%.0f per entry); calls %s"
            % (
                elapsed,
                elapsed / max(1, len(shapes)),
                len(shapes),
                entry_lines,
                entry_lines / max(1, len(shapes)),
                dict(sorted(calls.items())),
            )
        )
        print(
            "Odoo's own creation and posting of the same entries: %.1f s overall, "
            "%.2f s per entry" % (baseline, baseline / max(1, len(shapes)))
        )
        print("ratio connector/Odoo = %.2f" % (elapsed / baseline))
        if problems:
            print("CHECKS FAILED: %s" % "; ".join(problems))
            return 1
        return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10000)
    parser.add_argument("--cycles", type=int, default=9)
    parser.add_argument("--db", default="mirakl_bench_payouts")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--inner", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        cfg, db, logfile = args.inner
        return Bench(cfg, db, args.orders, args.cycles, logfile).run()
    inner = ["--orders", str(args.orders), "--cycles", str(args.cycles)]
    return run_benchmark(__file__, args.db, args.keep_db, inner)


if __name__ == "__main__":
    sys.exit(main())
