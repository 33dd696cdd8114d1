#!/usr/bin/env python3
"""Benchmark: building and sending the product file of 10,000 variants in 50
categories, against Odoo's own read() of the same fields.

    python3 scripts/bench_catalogue.py [--templates 1000] [--db mirakl_bench_catalogue]
                                       [--keep-db] [--profile]

A script, not a test. It

1. creates a fresh database (dropping an older one of the same name) and
   installs mirakl_connector;
2. starts the Mirakl sandbox in a process of its own (so that the figures
   are Odoo's alone) with an operator model of 50 leaf categories (5 parents
   of 10) and the seed attributes (title, brand, description, EAN, weight,
   colour and size lists, care instructions...), and imports held back by
   ``import_delay_seconds`` so that the sandbox's own validation is not
   measured with the send;
3. creates, in one Python process inside Odoo, N templates of 10 variants
   (5 colours x 2 sizes: 10 x N variants), 50 Odoo categories each mapped to
   a Mirakl leaf, the attribute sources (4 product fields, a fixed value, 2
   variant axes), the list values confirmed, one offer per variant; then
   ANALYZEs the database as autovacuum would (set-up, not measured);
4. measures in the same run, twice each in a palindromic order (Odoo,
   connector, connector, Odoo):
   - Odoo's own ``read()`` of the mapped fields of every variant (``name``,
     ``description_sale``, ``barcode``, ``weight``, ``categ_id``,
     ``product_template_attribute_value_ids``), cache cleared first;
   - the connector's full send (``_mirakl_send_products(full=True)``): the
     readiness of every variant, the CSV files (1,000 lines each), the P41
     uploads, the import records, the offers' state and one P42 per file;
   then the peak Python memory of a full send (``tracemalloc``) against the
   largest file's size, the follow-up of the imports once the sandbox
   processed them (P42, P45 for every file: every product created), and an
   incremental send after 1 % of the variants changed;
5. prints the times, the ratio connector/Odoo (target: at most 2), the calls
   per operation and the memory, checks that the sandbox created every
   product and that the incremental file holds exactly the changed variants;
6. drops the database (unless --keep-db).
"""
# pylint: disable=print-used

import argparse
import base64
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from odoo_env import InnerBench, peak_mb, profiled, run_benchmark

API_KEY = "bench-sandbox-key"
SHOP_ID = 2001
PARENTS = 5
LEAVES_PER_PARENT = 10
COLOURS = ("Black", "White", "Navy blue", "Red", "Stone")
SIZES = ("8", "10")
FIELDS = (
    "name",
    "description_sale",
    "barcode",
    "weight",
    "categ_id",
    "product_template_attribute_value_ids",
)
FILE_SIZE = 1000
CREATE_BATCH = 100


def bench_model(model):
    """The seed model with 50 leaf categories under 5 parents; the seed's
    category-specific levels moved onto the new parents."""
    hierarchies = []
    for p in range(1, PARENTS + 1):
        parent = "P%02d" % p
        hierarchies.append(
            {"code": parent, "label": "Parent %d" % p, "level": 1, "parent_code": None}
        )
        for leaf in range(1, LEAVES_PER_PARENT + 1):
            number = (p - 1) * LEAVES_PER_PARENT + leaf
            hierarchies.append(
                {
                    "code": "C%02d" % number,
                    "label": "Category %d" % number,
                    "level": 2,
                    "parent_code": parent,
                }
            )
    attributes = []
    for attribute in model["attributes"]:
        if attribute["hierarchy_code"] == "":
            attributes.append(attribute)
        elif attribute["hierarchy_code"] == "WOMENSWEAR":
            for p in range(1, PARENTS + 1):
                attributes.append(dict(attribute, hierarchy_code="P%02d" % p))
    return {
        "hierarchies": hierarchies,
        "attributes": attributes,
        "values_lists": model["values_lists"],
    }


class Bench(InnerBench):
    """The measured run, inside one Odoo process (``--inner``)."""

    def __init__(self, cfg, db, templates, logfile, profile=False):
        super().__init__(cfg, db, logfile)
        self.templates = templates
        self.profile = profile

    # --- set-up (not measured) ---

    def setup(self):
        """The benchmark's set-up: the operator's model, the shop, the
        templates, variants and mappings of the run. Longer than 80
        lines: one linear script of set-up steps, read top to bottom.
        """
        model = self.control("GET", "product-model")
        self.control("PUT", "product-model", json=bench_model(model))
        with self.registry.cursor() as cr:
            env = self.env(cr)
            company = env.company
            backend = env["mirakl.backend"].create(
                {
                    "name": "Bench catalogue shop",
                    "company_id": company.id,
                    "api_url": self.sandbox_url,
                    "api_key": API_KEY,
                    "shop_id": str(SHOP_ID),
                    "order_import_enabled": False,
                    "stock_push_enabled": False,
                    "product_export_enabled": True,
                    "product_file_size": FILE_SIZE,
                }
            )
            if not backend._mirakl_refresh_product_model():
                raise SystemExit("the operator's model could not be read")
            Attribute = env["product.attribute"]
            colour = Attribute.create(
                {
                    "name": "Bench colour",
                    "value_ids": [(0, 0, {"name": c}) for c in COLOURS],
                }
            )
            size = Attribute.create(
                {
                    "name": "Bench size",
                    "value_ids": [(0, 0, {"name": s}) for s in SIZES],
                }
            )
            root = env["product.category"].create({"name": "Bench range"})
            leaves = env["mirakl.category"].search(
                [("backend_id", "=", backend.id), ("is_leaf", "=", True)],
                order="code",
            )
            categories = env["product.category"].create(
                [
                    {"name": "Bench %s" % leaf.code, "parent_id": root.id}
                    for leaf in leaves
                ]
            )
            env["mirakl.category.map"].create(
                [
                    {
                        "backend_id": backend.id,
                        "categ_id": categ.id,
                        "mirakl_category_id": leaf.id,
                    }
                    for categ, leaf in zip(categories, leaves, strict=True)
                ]
            )
            self.set_sources(env, backend, colour, size)
            template_ids = []
            for start in range(0, self.templates, CREATE_BATCH):
                batch = env["product.template"].create(
                    [
                        {
                            "name": "Bench dress %05d" % number,
                            "categ_id": categories[number % len(categories)].id,
                            "is_storable": True,
                            "list_price": 50.0,
                            "weight": 0.4,
                            "description_sale": "Bench dress %05d, washed linen; "
                            "machine wash at 30 degrees." % number,
                            "attribute_line_ids": [
                                (
                                    0,
                                    0,
                                    {
                                        "attribute_id": colour.id,
                                        "value_ids": [(6, 0, colour.value_ids.ids)],
                                    },
                                ),
                                (
                                    0,
                                    0,
                                    {
                                        "attribute_id": size.id,
                                        "value_ids": [(6, 0, size.value_ids.ids)],
                                    },
                                ),
                            ],
                        }
                        for number in range(
                            start, min(start + CREATE_BATCH, self.templates)
                        )
                    ]
                )
                template_ids += batch.ids
                env.invalidate_all()
            env.flush_all()
            cr.execute(
                """
                UPDATE product_product
                   SET default_code = 'BV' || lpad(id::text, 8, '0'),
                       barcode = '2' || lpad(id::text, 12, '0')
                 WHERE product_tmpl_id = ANY(%s)
                """,
                (template_ids,),
            )
            cr.execute(
                "SELECT id FROM product_product WHERE product_tmpl_id = ANY(%s) "
                "ORDER BY id",
                (template_ids,),
            )
            product_ids = [row[0] for row in cr.fetchall()]
            env.invalidate_all()
            # The offers, without the readiness check of each batch (done once
            # below): that is set-up, not the measured send.
            backend.product_export_enabled = False
            for start in range(0, len(product_ids), 2000):
                env["mirakl.offer"].create(
                    [
                        {"backend_id": backend.id, "product_id": product_id}
                        for product_id in product_ids[start : start + 2000]
                    ]
                )
                env.invalidate_all()
            backend.product_export_enabled = True
            backend._mirakl_check_products()
            suggested = env["mirakl.value.map"].search(
                [("backend_id", "=", backend.id), ("state", "=", "suggested")]
            )
            suggested.with_context(mirakl_no_recheck=True).action_confirm()
            counts = backend._mirakl_check_products()
            if counts["not_ready"]:
                raise SystemExit("%s variants not ready after set-up" % counts)
            cr.commit()
            backend_id = backend.id
        with self.registry.cursor() as cr:
            cr.execute("ANALYZE")
        return backend_id, product_ids, template_ids

    @staticmethod
    def set_sources(env, backend, colour, size):
        fields = env["ir.model.fields"]
        attributes = {
            a.code: a
            for a in env["mirakl.attribute"].search([("backend_id", "=", backend.id)])
        }
        for code, name in (
            ("title", "name"),
            ("description", "description_sale"),
            ("care_instructions", "description_sale"),
            ("ean", "barcode"),
            ("weight", "weight"),
        ):
            attributes[code].write(
                {
                    "source": "field",
                    "source_field_id": fields._get("product.product", name).id,
                }
            )
        attributes["brand"].write({"source": "fixed", "fixed_value": "Bench & Co"})
        attributes["colour"].write(
            {"source": "attribute", "source_attribute_id": colour.id}
        )
        attributes["size"].write(
            {"source": "attribute", "source_attribute_id": size.id}
        )

    # --- measurements ---

    def odoo_read(self, product_ids):
        with self.registry.cursor() as cr:
            env = self.env(cr)
            products = env["product.product"].browse(product_ids)
            env.invalidate_all()
            started = time.perf_counter()
            values = products.read(list(FIELDS))
            elapsed = time.perf_counter() - started
            assert len(values) == len(product_ids)
            return elapsed

    def send(self, backend_id, full=True, trace=False, profile=False):
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
            with profiled(profile, sql=True):
                started = time.perf_counter()
                result = backend._mirakl_send_products(full=full)
                elapsed = time.perf_counter() - started
            peak = 0
            if trace:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            cr.commit()
            if not result["ok"]:
                raise SystemExit("send failed: %s" % result["message"])
            return elapsed, result, peak

    def largest_file(self, backend_id):
        with self.registry.cursor() as cr:
            env = self.env(cr)
            record = env["mirakl.offer.import"].search(
                [("backend_id", "=", backend_id), ("kind", "=", "product")],
                order="line_count desc, id desc",
                limit=1,
            )
            return len(base64.b64decode(record.file))

    def follow(self, backend_id):
        self.control("POST", "clock", json={"advance_seconds": 3601})
        with self.registry.cursor() as cr:
            env = self.env(cr)
            backend = env["mirakl.backend"].browse(backend_id)
            started = time.perf_counter()
            backend.with_context(mirakl_commit=True)._mirakl_check_imports()
            elapsed = time.perf_counter() - started
            cr.commit()
            cr.execute(
                "SELECT product_state, count(*) FROM mirakl_offer "
                "WHERE backend_id = %s GROUP BY product_state",
                (backend_id,),
            )
            return elapsed, dict(cr.fetchall())

    def change(self, template_ids, share):
        changed = template_ids[: max(1, int(len(template_ids) * share))]
        with self.registry.cursor() as cr:
            env = self.env(cr)
            for template in env["product.template"].browse(changed):
                template.description_sale = template.description_sale + " New."
            cr.commit()
            return len(env["product.template"].browse(changed).product_variant_ids)

    def run(self):
        """The measured run and its report. Longer than 80 lines: one
        linear sequence of measured phases, each printing its figures.
        """
        problems = []
        try:
            self.start_sandbox(API_KEY, seed_offers=False, import_delay_seconds=3600)
            started = time.perf_counter()
            backend_id, product_ids, template_ids = self.setup()
            size = len(product_ids)
            print(
                "%d variants (%d templates) in %d categories: set-up %.0f s"
                % (
                    size,
                    len(template_ids),
                    PARENTS * LEAVES_PER_PARENT,
                    time.perf_counter() - started,
                )
            )
            odoo_times, connector_times = [], []
            odoo_times.append(self.odoo_read(product_ids))
            before = self.calls()
            for _i in range(2):
                elapsed, result, _peak = self.send(backend_id)
                connector_times.append(elapsed)
                if result["products"] != size:
                    problems.append("a full send sent %d lines" % result["products"])
            calls = self.calls() - before
            odoo_times.append(self.odoo_read(product_ids))
            odoo, connector = sum(odoo_times) / 2, sum(connector_times) / 2
            print(
                "  Odoo read() of the mapped fields  %8.3f s  (%s)"
                % (odoo, ", ".join("%.3f" % t for t in odoo_times))
            )
            print(
                "  connector full send               %8.3f s  (%s)"
                % (connector, ", ".join("%.3f" % t for t in connector_times))
            )
            print("  ratio connector/Odoo (target <= 2) %7.2f" % (connector / odoo))
            print(
                "  per full send: %d files, calls %s"
                % (result["files"], dict(sorted((k, v // 2) for k, v in calls.items())))
            )
            if self.profile:
                self.send(backend_id, profile=True)
            elapsed, result, peak = self.send(backend_id, trace=True)
            file_bytes = self.largest_file(backend_id)
            print(
                "  full send under tracemalloc %.3f s: peak Python memory %.1f MB; "
                "largest file %.1f MB (%d lines)"
                % (elapsed, peak / 2**20, file_bytes / 2**20, FILE_SIZE)
            )
            elapsed, states = self.follow(backend_id)
            products = len(self.control("GET", "products")["products"])
            print(
                "  follow-up of every import (P42, P45; the sandbox validates "
                "and integrates meanwhile) %.1f s: offers by product status %s; "
                "%d products on the sandbox" % (elapsed, states, products)
            )
            if products != size or states.get("done") != size:
                problems.append("%d of %d products created" % (products, size))
            changed = self.change(template_ids, 0.01)
            before = self.calls()
            elapsed, result, _peak = self.send(backend_id, full=False)
            calls = self.calls() - before
            print(
                "  incremental send (%d variants changed) %.3f s: %d lines, %d "
                "files; calls %s"
                % (
                    changed,
                    elapsed,
                    result["products"],
                    result["files"],
                    dict(sorted(calls.items())),
                )
            )
            if result["products"] != changed:
                problems.append(
                    "incremental send sent %d lines for %d changes"
                    % (result["products"], changed)
                )
            ratio = connector / odoo
            if ratio > 2:
                problems.append("ratio %.2f above the target of 2" % ratio)
        finally:
            self.stop_sandbox()
        print("peak RSS of the process: %.0f MB" % peak_mb())
        if problems:
            print("CHECKS FAILED: %s" % "; ".join(problems))
            return 1
        return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=int, default=1000)
    parser.add_argument("--db", default="mirakl_bench_catalogue")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile a send too")
    parser.add_argument("--inner", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        cfg, db, logfile = args.inner
        return Bench(cfg, db, args.templates, logfile, profile=args.profile).run()
    inner = ["--templates", str(args.templates)]
    if args.profile:
        inner.append("--profile")
    return run_benchmark(__file__, args.db, args.keep_db, inner)


if __name__ == "__main__":
    sys.exit(main())
