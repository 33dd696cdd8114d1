#!/usr/bin/env python3
"""Benchmark: the connector's stock computation and push at 5,000 and 50,000 SKUs.

    python3 scripts/bench_stock.py [--sizes 5000,50000] [--db mirakl_bench_stock]
                                   [--keep-db] [--profile]

A script, not a test. It

1. creates a fresh database (dropping an older one of the same name) and
   installs mirakl_connector;
2. starts the Mirakl sandbox in a process of its own (so that the figures
   are Odoo's alone) and, in one Python process inside Odoo, for each size N
   creates N storable products with an internal reference, their stock (one
   quant each in the shop's warehouse, 0 to 40 units, seeded), one offer each
   on a shop, and the same N offers on the sandbox, then ANALYZEs the
   database as autovacuum would (set-up, not measured);
3. measures in the same run, twice each in a palindromic order (Odoo,
   connector, connector, Odoo):
   - Odoo's own bulk free-quantity read of the same products
     (``products.with_context(warehouse_id=...).read(["free_qty"])``, cache
     cleared first);
   - the connector's computation of every offer's quantity to push
     (``_mirakl_stock_chunks``: free quantity, unreleased Mirakl orders,
     buffer, cap, SKU state), cache cleared first;
   then the full push (computation, files, STO01 calls and the sandbox's
   answers, STO02 and the offers' update), its peak Python memory (a second full
   push under ``tracemalloc``), and an incremental push after 1 % of the
   quantities changed;
4. prints, per size, the times, the ratio connector/Odoo, the HTTP calls per
   operation and the peak memory, and checks that the sandbox holds Odoo's
   quantity for every SKU;
5. drops the database (unless --keep-db).
"""
# pylint: disable=print-used

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from odoo_env import InnerBench, peak_mb, profiled, run_benchmark

API_KEY = "bench-sandbox-key"
SHOP_ID = 2001
CREATE_BATCH = 2000


class Bench(InnerBench):
    """The measured run, inside one Odoo process (``--inner``)."""

    def __init__(self, cfg, db, sizes, logfile, profile=False):
        super().__init__(cfg, db, logfile)
        self.sizes = sizes
        self.profile = profile
        self.rng = random.Random(11)

    # --- set-up (not measured) ---

    def setup(self, size, index):
        """N products with stock, a shop offering them, the sandbox's offers."""
        prefix = "B%d-" % index
        with self.registry.cursor() as cr:
            env = self.env(cr)
            company = env.company
            warehouse = env["stock.warehouse"].search(
                [("company_id", "=", company.id)], limit=1
            )
            skus = ["%s%06d" % (prefix, n) for n in range(size)]
            product_ids = []
            for start in range(0, size, CREATE_BATCH):
                products = env["product.product"].create(
                    [
                        {
                            "name": "Bench %s" % sku,
                            "default_code": sku,
                            "is_storable": True,
                        }
                        for sku in skus[start : start + CREATE_BATCH]
                    ]
                )
                product_ids += products.ids
                env.invalidate_all()
            env.flush_all()
            # One quant per product, as an inventory adjustment leaves it.
            quantities = [self.rng.randint(0, 40) for _sku in skus]
            cr.execute(
                """
                INSERT INTO stock_quant (product_id, location_id, company_id,
                                         quantity, reserved_quantity, in_date,
                                         create_date, write_date, create_uid,
                                         write_uid)
                SELECT p, %s, %s, q, 0, now() AT TIME ZONE 'UTC',
                       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', 1, 1
                  FROM unnest(%s::int[], %s::float8[]) AS v(p, q)
                """,
                (warehouse.lot_stock_id.id, company.id, product_ids, quantities),
            )
            backend = env["mirakl.backend"].create(
                {
                    "name": "Bench shop %d" % size,
                    "company_id": company.id,
                    "api_url": self.sandbox_url,
                    "api_key": API_KEY,
                    "shop_id": str(SHOP_ID),
                    "warehouse_id": warehouse.id,
                    "order_import_enabled": False,
                }
            )
            for start in range(0, size, CREATE_BATCH):
                env["mirakl.offer"].create(
                    [
                        {"backend_id": backend.id, "product_id": product_id}
                        for product_id in product_ids[start : start + CREATE_BATCH]
                    ]
                )
                env.invalidate_all()
            cr.commit()
        # Planner statistics as autovacuum keeps them on a live database.
        with self.registry.cursor() as cr:
            cr.execute("ANALYZE")
        for start in range(0, size, 10000):
            self.control(
                "POST",
                "offers",
                json={
                    "offers": [
                        {"sku": sku, "quantity": 0}
                        for sku in skus[start : start + 10000]
                    ]
                },
            )
        return (
            backend.id,
            product_ids,
            warehouse.id,
            dict(zip(skus, quantities, strict=True)),
        )

    # --- measurements ---

    def odoo_read(self, product_ids, warehouse_id):
        with self.registry.cursor() as cr:
            env = self.env(cr)
            products = env["product.product"].browse(product_ids)
            env.invalidate_all()
            started = time.perf_counter()
            values = products.with_context(warehouse_id=warehouse_id).read(["free_qty"])
            elapsed = time.perf_counter() - started
            assert len(values) == len(product_ids)
            return elapsed

    def connector_compute(self, backend_id, profile=False):
        with self.registry.cursor() as cr:
            env = self.env(cr)
            backend = env["mirakl.backend"].browse(backend_id)
            env.invalidate_all()
            started = time.perf_counter()
            with profiled(profile):
                rows = sum(len(chunk) for chunk in backend._mirakl_stock_chunks())
            elapsed = time.perf_counter() - started
            return elapsed, rows

    def push(self, backend_id, full, trace=False):
        with self.registry.cursor() as cr:
            env = self.env(cr)
            backend = (
                env["mirakl.backend"]
                .browse(backend_id)
                .with_context(mirakl_commit=True)
            )
            env.invalidate_all()
            if trace:
                tracemalloc.start()
            started = time.perf_counter()
            result = backend._mirakl_push_stock(full=full)
            elapsed = time.perf_counter() - started
            peak = 0
            if trace:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            cr.commit()
            if not result["ok"]:
                raise SystemExit("push failed: %s" % result["message"])
            return elapsed, result, peak

    def change_stock(self, product_ids, share):
        changed = self.rng.sample(product_ids, max(1, int(len(product_ids) * share)))
        with self.registry.cursor() as cr:
            cr.execute(
                "UPDATE stock_quant SET quantity = quantity + 3 "
                "WHERE product_id = ANY(%s)",
                (changed,),
            )
        return len(changed)

    def check(self, backend_id, expected):
        offers = {
            o["sku"]: o["quantity"] for o in self.control("GET", "offers")["offers"]
        }
        wrong = [sku for sku, qty in expected.items() if offers.get(sku) != qty]
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT push_state, count(*) FROM mirakl_offer WHERE backend_id = %s "
                "GROUP BY push_state",
                (backend_id,),
            )
            states = dict(cr.fetchall())
        return wrong, states

    def run_size(self, size, index):
        started = time.perf_counter()
        backend_id, product_ids, warehouse_id, quantities = self.setup(size, index)
        print("\n%d SKUs: set-up %.0f s" % (size, time.perf_counter() - started))
        odoo_times, connector_times = [], []
        odoo_times.append(self.odoo_read(product_ids, warehouse_id))
        for _i in range(2):
            elapsed, rows = self.connector_compute(backend_id)
            connector_times.append(elapsed)
            if rows != size:
                raise SystemExit("computed %d rows for %d offers" % (rows, size))
        odoo_times.append(self.odoo_read(product_ids, warehouse_id))
        if self.profile:
            self.connector_compute(backend_id, profile=True)
        odoo, connector = sum(odoo_times) / 2, sum(connector_times) / 2
        print(
            "  Odoo free_qty read        %8.3f s  (%s)"
            % (odoo, ", ".join("%.3f" % t for t in odoo_times))
        )
        print(
            "  connector computation     %8.3f s  (%s)"
            % (connector, ", ".join("%.3f" % t for t in connector_times))
        )
        print("  ratio connector/Odoo      %8.2f" % (connector / odoo))
        before = self.calls()
        elapsed, result, _peak = self.push(backend_id, full=True)
        calls = self.calls() - before
        print(
            "  full push                 %8.3f s  %d lines, %d files; calls %s"
            % (elapsed, result["lines"], result["files"], dict(sorted(calls.items())))
        )
        wrong, states = self.check(backend_id, quantities)
        print(
            "  sandbox quantities wrong: %d; offers by status: %s"
            % (len(wrong), states)
        )
        elapsed, result, peak = self.push(backend_id, full=True, trace=True)
        print(
            "  full push under tracemalloc %6.3f s, peak Python memory %.1f MB"
            % (elapsed, peak / 2**20)
        )
        changed = self.change_stock(product_ids, 0.01)
        before = self.calls()
        elapsed, result, _peak = self.push(backend_id, full=False)
        calls = self.calls() - before
        print(
            "  incremental push (%d changed) %6.3f s  %d lines, %d files; calls %s"
            % (
                changed,
                elapsed,
                result["lines"],
                result["files"],
                dict(sorted(calls.items())),
            )
        )
        problems = []
        if wrong:
            problems.append("%d SKUs with a wrong quantity on the sandbox" % len(wrong))
        if result["lines"] != changed:
            problems.append(
                "incremental push sent %d lines for %d changes"
                % (result["lines"], changed)
            )
        return connector / odoo, problems

    def run(self):
        problems = []
        ratios = {}
        try:
            self.start_sandbox(API_KEY, seed_offers=False)
            for index, size in enumerate(self.sizes):
                ratios[size], found = self.run_size(size, index)
                problems += found
        finally:
            self.stop_sandbox()
        print(
            "\nratio connector/Odoo: %s"
            % ", ".join("%d SKUs %.2f" % kv for kv in ratios.items())
        )
        print("peak RSS of the process: %.0f MB" % peak_mb())
        if problems:
            print("CHECKS FAILED: %s" % "; ".join(problems))
            return 1
        return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--db", default="mirakl_bench_stock")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--profile", action="store_true", help="profile the computation too"
    )
    parser.add_argument("--inner", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if args.inner:
        cfg, db, logfile = args.inner
        return Bench(cfg, db, sizes, logfile, profile=args.profile).run()
    inner = ["--sizes", args.sizes] + (["--profile"] if args.profile else [])
    return run_benchmark(__file__, args.db, args.keep_db, inner)


if __name__ == "__main__":
    sys.exit(main())
