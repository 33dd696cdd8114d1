#!/usr/bin/env python3
"""Benchmark: the connector's order import against Odoo's own Sales Orders.

    python3 scripts/bench_orders.py [--orders 1000] [--db mirakl_bench]
                                    [--keep-db] [--seed 7] [--profile]

A script, not a test. It

1. creates a fresh database (dropping an older one of the same name) and
   installs mirakl_connector;
2. runs one Python process inside Odoo that starts the Mirakl sandbox in
   process, creates N orders of 1 to 5 lines (sandbox SKUs of the
   womenswear, menswear, kidswear and accessories categories, quantities 1
   to 3, seeded) through the control API, and sets up a shop the way a seller
   would (``sandbox_catalogue.setup_sandbox_shop``);
3. measures, in that run, the wall time of
   - the connector: the production path, the per-shop cron
     (``_cron_mirakl_import_orders``, committing after each order): a first
     run imports and accepts (OR21) every order, a second one sees them
     SHIPPING (debit delay 0) and releases them (confirmation, pickings);
   - Odoo's own cost (the baseline): the same Sales Orders (same partners,
     products, quantities, prices, taxes, shipping line, pricelist,
     warehouse) created with the ORM and confirmed, one commit per order;
   - for reference, "two-step": the same again, but each quotation committed
     first and confirmed in a later transaction, as the connector must (it
     confirms once Mirakl reports the order paid);
   in a palindromic order over the two halves of the orders (baseline and
   two-step on the first half, the connector on the first then the second
   half, two-step and baseline on the second half) so that a fuller database
   weighs on each alike;
4. checks the outcome (N Sales Orders confirmed, no duplicate, no open sync
   issue, same totals as the baseline's) and prints the time per order, the
   ratio connector/baseline (target: at most 1.25), where the time goes
   (creation, confirmation, chatter, HTTP), the sandbox's calls per operation
   and the peak memory; above the target (or with --profile), a cProfile of
   an extra connector run on fresh orders;
5. drops the database (unless --keep-db).

Customers' contacts are created before the measurements (the baseline needs
the same partners), so neither side pays for them.
"""
# pylint: disable=print-used

import argparse
import functools
import importlib
import random
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from odoo_env import InnerBench, peak_mb, profiled, run_benchmark

TARGET = 1.25
API_KEY = "bench-sandbox-key"
SHOP_ID = 2001
CATEGORIES = ("WOMENSWEAR", "MENSWEAR", "KIDSWEAR", "ACCESSORIES")
BATCH = 200  # orders per control-API call (the sandbox takes at most 5000)
PROFILE_ORDERS = 200
# Where the time goes: (label, "module:Class.method") timed in every phase
# (outermost calls only; the labels overlap, e.g. a confirmation posts messages).
TIMED_METHODS = (
    ("create", "odoo.addons.sale.models.sale_order:SaleOrder.create"),
    ("confirm", "odoo.addons.sale.models.sale_order:SaleOrder.action_confirm"),
    ("message_post", "odoo.addons.mail.models.mail_thread:MailThread.message_post"),
    (
        "Mirakl HTTP",
        "odoo.addons.mirakl_connector.lib.transport:MiraklTransport.request",
    ),
)


# === inside Odoo === #


class Bench(InnerBench):
    """The measured run, inside one Odoo process (``--inner``), with the
    sandbox in that process too (its serving time is measured apart)."""

    def __init__(self, cfg, db, orders, seed, logfile):
        super().__init__(cfg, db, logfile, log_level="info")
        self.orders = orders
        self.seed = seed
        self.rng = random.Random(seed)
        self.phases = {}
        self.summaries = []
        self.commits = 0
        self.served = 0.0
        self.timers = Counter()
        self._served_lock = threading.Lock()
        self.backend_id = None
        self.catalogue = None
        self.skus = []

    # --- instrumentation ---

    def instrument(self):
        """Count commits; time the in-process sandbox's request handling and
        the methods of ``TIMED_METHODS``."""
        # pylint: disable=import-outside-toplevel
        import odoo

        from odoo.addons.mirakl_connector.models.core import mirakl_backend

        from sandbox import server as sandbox_server

        if not mirakl_backend._can_commit():
            raise SystemExit("the connector would not commit per order here")
        cursor_class = odoo.sql_db.Cursor
        plain_commit = cursor_class.commit
        bench = self

        def counted_commit(cursor):
            bench.commits += 1
            return plain_commit(cursor)

        cursor_class.commit = counted_commit
        plain_handle = sandbox_server._Handler._handle

        def timed_handle(handler):
            started = time.perf_counter()
            try:
                plain_handle(handler)
            finally:
                with bench._served_lock:
                    bench.served += time.perf_counter() - started

        for verb in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
            setattr(sandbox_server._Handler, "do_" + verb, timed_handle)
        for label, where in TIMED_METHODS:
            module, path = where.split(":")
            owner = importlib.import_module(module)
            *classes, name = path.split(".")
            for class_name in classes:
                owner = getattr(owner, class_name)
            setattr(owner, name, self._timed(label, getattr(owner, name)))

    def _timed(self, label, func):
        depth = Counter()
        timers = self.timers

        @functools.wraps(func)
        def timed(*args, **kwargs):
            if depth[label]:
                return func(*args, **kwargs)
            depth[label] += 1
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                depth[label] -= 1
                timers[label] += time.perf_counter() - started

        return timed

    # --- the sandbox ---

    def start_sandbox(self, api_key):
        """The sandbox in this process (its request handling is timed, see
        :meth:`instrument`), serving the shop ``SHOP_ID``; its catalogue."""
        # pylint: disable=import-outside-toplevel
        import requests

        from sandbox import SandboxServer

        self.sandbox = SandboxServer(api_key, shop_id=SHOP_ID, port=0).start()
        self.sandbox_url = self.sandbox.url
        self.http = requests.Session()
        self.catalogue = self.control("GET", "catalogue")
        self.skus = sorted(
            p["sku"]
            for p in self.catalogue["products"]
            if p["category_code"] in CATEGORIES
        )

    def stop_sandbox(self):
        if self.sandbox is not None:
            self.sandbox.stop()

    def make_specs(self, count):
        """``count`` order specs: 1 to 5 lines, quantities 1 to 3 (seeded)."""
        rng = self.rng
        customers = sorted(c["customer_id"] for c in self.catalogue["customers"])
        return [
            {
                "lines": [
                    {"sku": sku, "quantity": rng.randint(1, 3)}
                    for sku in rng.sample(self.skus, rng.randint(1, 5))
                ],
                "shipping_type": "EXP" if rng.random() < 0.25 else "STD",
                "customer_id": rng.choice(customers),
            }
            for _i in range(count)
        ]

    def post_orders(self, specs):
        """Create the orders on the sandbox; their OR11 JSON."""
        created = []
        for start in range(0, len(specs), BATCH):
            batch = specs[start : start + BATCH]
            created += self.control("POST", "orders", json={"orders": batch})["orders"]
        return created

    def calls(self):
        """Calls the sandbox received, per operation (read in process, so
        that no control call adds to the measured serving time)."""
        with self.sandbox.state.lock:
            return Counter(call["operation"] for call in self.sandbox.state.calls)

    # --- Odoo side ---

    def setup_shop(self, stock_qty):
        # pylint: disable=import-outside-toplevel
        from sandbox_catalogue import setup_sandbox_shop

        with self.registry.cursor() as cr:
            backend = setup_sandbox_shop(
                self.env(cr),
                self.catalogue,
                stock_qty=stock_qty,
                name="Benchmark shop",
                api_url=self.sandbox_url,
                api_key=API_KEY,
                shop_id=str(SHOP_ID),
            )
            result = backend.action_mirakl_test_connection()["params"]
            if result["type"] != "success":
                raise SystemExit("test connection failed: %s" % result["message"])
            self.backend_id = backend.id

    def baseline_vals(self, raw_orders, tag):
        """Sales Order values of these sandbox orders for Odoo's own runs
        (origin: ``tag`` and the order id); their partners are created now
        (untimed), as the connector finds them."""
        # pylint: disable=import-outside-toplevel
        from odoo.addons.mirakl_connector.lib import mappers

        with self.registry.cursor() as cr:
            env = self.env(cr)
            backend = env["mirakl.backend"].browse(self.backend_id)
            products = {
                p.default_code: p.id
                for p in env["product.product"].search(
                    [("default_code", "in", self.skus)]
                )
            }
            taxes = {
                (float(m.tax_id.amount), m.tax_id.price_include): m.tax_id.id
                for m in backend.tax_map_ids
            }
            carriers = {st.code: st.carrier_id for st in backend.shipping_type_ids}
            common = {
                "company_id": backend.company_id.id,
                "pricelist_id": backend.pricelist_id.id,
                "warehouse_id": backend.warehouse_id.id,
                "team_id": backend.team_id.id,
                "user_id": backend.user_id.id,
            }
            vals_list = []
            for raw in raw_orders:
                order = mappers.parse_order(raw)
                included = order.tax_mode == mappers.TAX_INCLUDED
                carrier = carriers[order.shipping_type_code]
                lines, shipping = [], {}
                for mline in order.lines:
                    lines.append(
                        {
                            "product_id": products[mline.sku],
                            "product_uom_qty": mline.quantity,
                            "price_unit": float(mline.price_unit),
                            "tax_id": [
                                taxes[float(tax.rate), included] for tax in mline.taxes
                            ],
                            "sequence": mline.index,
                        }
                    )
                    if mline.shipping_price:
                        key = tuple(
                            taxes[float(tax.rate), included]
                            for tax in (mline.shipping_taxes or mline.taxes)
                        )
                        shipping[key] = shipping.get(key, 0.0) + float(
                            mline.shipping_price
                        )
                for key, amount in shipping.items():
                    lines.append(
                        {
                            "product_id": carrier.product_id.id,
                            "name": "Shipping: %s" % order.shipping_type_label,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                            "tax_id": list(key),
                            "is_delivery": True,
                            "sequence": 1000,
                        }
                    )
                vals = dict(
                    common,
                    carrier_id=carrier.id,
                    client_order_ref=order.commercial_id,
                    origin="%s %s" % (tag, order.order_id),
                    date_order=order.created,
                    order_line=[
                        (0, 0, dict(line, tax_id=[(6, 0, line["tax_id"])]))
                        for line in lines
                    ],
                )
                vals.update(backend._mirakl_prepare_partner_vals(order))
                vals_list.append(vals)
        return vals_list

    def run_baseline(self, vals_list):
        """Odoo's own cost: create and confirm, one commit per order."""
        with self.registry.cursor() as cr:
            SaleOrder = self.env(cr)["sale.order"]
            for vals in vals_list:
                SaleOrder.create(vals).action_confirm()
                cr.commit()  # pylint: disable=invalid-commit

    def run_two_step(self, vals_list):
        """Odoo's own cost when, like the connector, the quotation is stored
        first and confirmed in a later transaction (one commit per order)."""
        with self.registry.cursor() as cr:
            SaleOrder = self.env(cr)["sale.order"]
            ids = []
            for vals in vals_list:
                ids.append(SaleOrder.create(vals).id)
                cr.commit()  # pylint: disable=invalid-commit
        with self.registry.cursor() as cr:
            SaleOrder = self.env(cr)["sale.order"]
            for sale_id in ids:
                # One record at a time: browsing them all at once would
                # prefetch (and compute) every field for all of them.
                SaleOrder.browse(sale_id).action_confirm()
                cr.commit()  # pylint: disable=invalid-commit

    def run_cron(self):
        """One run of the shop's order-import cron, as the cron worker runs it
        (a fresh cursor; the cron method commits after each order)."""
        with self.registry.cursor() as cr:
            env = self.env(cr)
            env["mirakl.backend"]._cron_mirakl_import_orders(self.backend_id)
            self.summaries.append(
                env["mirakl.backend"].browse(self.backend_id).last_import_summary
            )

    def measure(self, label, func, *args):
        commits, served, timers = self.commits, self.served, Counter(self.timers)
        calls_before = self.calls()
        started = time.perf_counter()
        func(*args)
        elapsed = time.perf_counter() - started
        calls = self.calls() - calls_before
        self.phases[label] = phase = {
            "seconds": elapsed,
            "commits": self.commits - commits,
            "served": self.served - served,
            "calls": calls,
            "timers": self.timers - timers,
        }
        print(
            "  %-24s %7.2f s %5d commits %4d API calls, peak RSS %4.0f MB; %s"
            % (
                label,
                elapsed,
                phase["commits"],
                sum(calls.values()),
                peak_mb(),
                ", ".join(
                    "%s %.2f s" % (name, phase["timers"][name])
                    for name, _where in TIMED_METHODS
                    if phase["timers"][name]
                ),
            )
        )

    # --- checks and report ---

    def check(self, order_ids):
        """Problems found in the outcome (empty list: all good)."""
        problems = []
        with self.registry.cursor() as cr:
            env = self.env(cr)
            SaleOrder = env["sale.order"].with_context(active_test=False)
            sales = SaleOrder.search([("mirakl_backend_id", "=", self.backend_id)])
            baseline = SaleOrder.search([("origin", "=like", "baseline %")])
            two_step = SaleOrder.search([("origin", "=like", "two-step %")])
            states = Counter(sales.mapped("state"))
            mirakl_ids = sales.mapped("mirakl_order_id")
            duplicates = len(mirakl_ids) - len(set(mirakl_ids))
            open_issues = env["mirakl.sync.issue"].search_count(
                [("backend_id", "=", self.backend_id), ("state", "=", "open")]
            )
            by_ref = {so.client_order_ref: so for so in baseline}
            differ = [
                so.mirakl_order_id
                for so in sales
                if so.mirakl_commercial_id not in by_ref
                or so.currency_id.compare_amounts(
                    so.amount_total, by_ref[so.mirakl_commercial_id].amount_total
                )
                or len(so.order_line) != len(by_ref[so.mirakl_commercial_id].order_line)
            ]
            print(
                "checks: connector: %d Sales Orders %s, acceptance %s, Mirakl %s, "
                "%d duplicates, %d open sync issues, %d pickings; baseline: %d "
                "Sales Orders %s, %d pickings; two-step: %d Sales Orders %s; %d "
                "orders whose total or line count differ"
                % (
                    len(sales),
                    dict(states),
                    dict(Counter(sales.mapped("mirakl_acceptance"))),
                    dict(Counter(sales.mapped("mirakl_state"))),
                    duplicates,
                    open_issues,
                    len(sales.picking_ids),
                    len(baseline),
                    dict(Counter(baseline.mapped("state"))),
                    len(baseline.picking_ids),
                    len(two_step),
                    dict(Counter(two_step.mapped("state"))),
                    len(differ),
                )
            )
            if set(mirakl_ids) != set(order_ids):
                problems.append(
                    "%d Sales Orders for %d orders" % (len(sales), len(order_ids))
                )
            if states != Counter({"sale": len(order_ids)}):
                problems.append("not all confirmed: %s" % dict(states))
            if duplicates:
                problems.append("%d duplicates" % duplicates)
            if open_issues:
                problems.append("%d open sync issues" % open_issues)
            for name, sales in (("baseline", baseline), ("two-step", two_step)):
                if len(sales) != len(order_ids) or set(sales.mapped("state")) != {
                    "sale"
                }:
                    problems.append("the %s run is incomplete" % name)
            if differ:
                problems.append("totals differ from the baseline: %s" % differ[:5])
        return problems

    def log_problems(self):
        """WARNING and worse lines of the Odoo log of this run."""
        with open(self.logfile, encoding="utf-8", errors="replace") as handle:
            return [
                line
                for line in handle
                if re.match(r"^\S+ \S+ \d+ (WARNING|ERROR|CRITICAL) ", line)
            ]

    def profile(self, count):
        print(
            "profile of the connector on %d more orders (two cron runs, not part "
            "of the figures):" % count
        )
        self.post_orders(self.make_specs(count))
        with profiled(own=True):
            self.run_cron()
            self.run_cron()

    def report(self):
        orders = self.orders
        per = 1000.0 / orders
        connector = [p for k, p in self.phases.items() if k.startswith("connector")]
        connector_s = sum(p["seconds"] for p in connector)
        served_s = sum(p["served"] for p in connector)
        odoo_s, two_step_s = (
            sum(p["seconds"] for k, p in self.phases.items() if k.startswith(prefix))
            for prefix in ("baseline", "two-step")
        )
        cycles = [
            sum(p["seconds"] for k, p in self.phases.items() if k.endswith(suffix))
            for suffix in ("#1", "#2")
        ]
        calls = sum((p["calls"] for p in connector), Counter())
        print("results for %d orders (seed %d):" % (orders, self.seed))
        print(
            "  Odoo's own create + confirm:      %7.2f s = %6.1f ms per order"
            % (odoo_s, odoo_s * per)
        )
        print(
            "  Odoo's own, confirmed later:      %7.2f s = %6.1f ms per order "
            "(quotation stored, confirmed in a later transaction like the "
            "connector's release; ratio connector/that: %.2f)"
            % (two_step_s, two_step_s * per, connector_s / two_step_s)
        )
        print(
            "  connector import+accept+release:  %7.2f s = %6.1f ms per order "
            "(cycle 1 import+accept %.1f ms, cycle 2 release %.1f ms)"
            % (connector_s, connector_s * per, cycles[0] * per, cycles[1] * per)
        )
        print(
            "    of which the in-process sandbox serving: %.2f s = %.1f ms per "
            "order (ratio without it: %.2f)"
            % (served_s, served_s * per, (connector_s - served_s) / odoo_s)
        )
        print(
            "  sandbox API calls of the connector: %s = %.2f per order"
            % (
                ", ".join("%s %d" % item for item in sorted(calls.items())),
                sum(calls.values()) / orders,
            )
        )
        print("  peak memory (RSS) of the process: %.0f MB" % peak_mb())
        return connector_s / odoo_s

    def run(self, profile=False):
        self.instrument()
        self.start_sandbox(API_KEY)
        try:
            specs = self.make_specs(self.orders)
            halves = [specs[: self.orders // 2], specs[self.orders // 2 :]]
            demand = Counter()
            for spec in specs:
                for line in spec["lines"]:
                    demand[line["sku"]] += line["quantity"]
            # Three runs reserve stock; leave room for a profile run too.
            stock_qty = 4 * max(demand.values()) + 10
            started = time.perf_counter()
            self.setup_shop(stock_qty)
            print(
                "setup: %d products with %d units each, shop connected: %.1f s"
                % (
                    len(self.catalogue["products"]),
                    stock_qty,
                    time.perf_counter() - started,
                )
            )
            print(
                "measuring, in this order: baseline and two-step on the 1st half, "
                "connector on the 1st then the 2nd half (cron run #1 imports and "
                "accepts, #2 releases), two-step and baseline on the 2nd half:"
            )
            order_ids = []
            for index, half in enumerate(halves):
                raw = self.post_orders(half)
                order_ids += [order["order_id"] for order in raw]
                baseline = self.baseline_vals(raw, "baseline")
                two_step = self.baseline_vals(raw, "two-step")
                name = ("1st", "2nd")[index]
                if index == 0:
                    self.measure("baseline, 1st half", self.run_baseline, baseline)
                    self.measure("two-step, 1st half", self.run_two_step, two_step)
                self.measure("connector, %s half #1" % name, self.run_cron)
                self.measure("connector, %s half #2" % name, self.run_cron)
            self.measure("two-step, 2nd half", self.run_two_step, two_step)
            self.measure("baseline, 2nd half", self.run_baseline, baseline)
            for summary in self.summaries:
                print("    cron run: %s" % summary)
            problems = self.check(order_ids)
            for label in ("connector, 1st half #1", "connector, 2nd half #1"):
                if self.phases[label]["commits"] < len(halves[0]):
                    problems.append("the cron did not commit per order (%s)" % label)
            ratio = self.report()
            if profile or ratio > TARGET:
                self.profile(min(self.orders, PROFILE_ORDERS))
        finally:
            self.stop_sandbox()
        bad = self.log_problems()
        if bad:
            print("%d warning/error lines in the Odoo log, first ones:" % len(bad))
            print("".join(bad[:10]), end="")
        if problems:
            print("CHECKS FAILED: %s" % "; ".join(problems))
        print("ratio connector/odoo = %.2f (target <= %.2f)" % (ratio, TARGET))
        return 1 if problems else 0


# === outside Odoo === #


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--db", default="mirakl_bench")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile", action="store_true", help="print a profile even below target"
    )
    parser.add_argument("--inner", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.orders < 2:
        parser.error("--orders must be at least 2")
    if args.inner:
        cfg, db, logfile = args.inner
        bench = Bench(cfg, db, args.orders, args.seed, logfile)
        return bench.run(profile=args.profile)
    inner = ["--orders", str(args.orders), "--seed", str(args.seed)]
    if args.profile:
        inner.append("--profile")
    return run_benchmark(__file__, args.db, args.keep_db, inner)


if __name__ == "__main__":
    sys.exit(main())
