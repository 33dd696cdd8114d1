#!/usr/bin/env python3
"""Dump every model this addon touches: its fields and SQL constraints, and
for each method the ordered classes of its MRO that define it. Run before
and after moving code between files: the two dumps must differ only in
module paths.

    python3 scripts/model_dump.py [--db NAME] [--reuse-db] [--keep-db]
                                  [--paths] [--out FILE]

Without ``--reuse-db`` a fresh database is created with the module installed
(and dropped afterwards unless ``--keep-db``). With ``--reuse-db`` the registry
of an existing database is loaded from this checkout's code, without any
upgrade: the way to compare two checkouts on one database.

A model is dumped when a class of ``mirakl_connector`` is in its MRO. Each
defining class of this addon is written ``mirakl_connector.<concern>:<Class>``,
its concern being its package under ``models/`` (the flat files of the layout
before the concern packages are mapped by ``FLAT_FILES``), so that the order
of same-method overrides between concerns shows; ``--paths`` writes the
module path instead, for a readable diff of what moved. Other addons' classes
are written ``<module>:<Class>``.
"""

import argparse
import inspect
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_env import reexec_if_needed
from odoo_env import MODULE, EnvironmentProblem, OdooRun

PREFIX = "odoo.addons.%s." % MODULE

# The concern of each file of models/ in the flat layout (up to dfa4cc7).
FLAT_FILES = {
    "core": "ir_cron mirakl_call_stat mirakl_backend mirakl_sync_issue "
    "res_config_settings",
    "orders": "mirakl_backend_order mirakl_order_check sale_order sale_order_line "
    "res_partner mirakl_tax_map mirakl_shipping_type",
    "shipments": "mirakl_backend_shipment mirakl_shipment stock_picking "
    "mirakl_carrier mirakl_reason",
    "offers": "mirakl_backend_stock mirakl_offer mirakl_offer_import product",
    "catalogue": "mirakl_backend_catalogue mirakl_offer_product product_catalogue "
    "mirakl_category mirakl_category_map mirakl_attribute "
    "mirakl_attribute_requirement mirakl_value_list mirakl_value mirakl_value_map",
    "finance": "mirakl_backend_payout mirakl_payout mirakl_transaction_map "
    "mirakl_invoice mirakl_refund mirakl_settlement",
    "cockpit": "mirakl_backend_cockpit",
}
FLAT_CONCERN = {
    stem: concern for concern, stems in FLAT_FILES.items() for stem in stems.split()
}


def _concern(module):
    """``orders`` for ...models.orders.x and for the flat ...models.sale_order;
    the first folder (``wizards``) elsewhere in the addon."""
    parts = module[len(PREFIX) :].split(".")
    if parts[0] == "models" and len(parts) == 3:
        return parts[1]
    if parts[0] == "models" and len(parts) == 2:
        return FLAT_CONCERN.get(parts[1], parts[1])
    return parts[0]


def _label(cls, paths):
    module = cls.__module__ or ""
    if module.startswith(PREFIX):
        where = module if paths else "%s.%s" % (MODULE, _concern(module))
    else:
        where = module
    return "%s:%s" % (where, cls.__qualname__)


def _is_method(value):
    return inspect.isfunction(value) or isinstance(
        value, (classmethod, staticmethod, property)
    )


def dump(registry, paths=False):
    """The dump as a list of lines (sorted by model)."""
    lines = []
    for name in sorted(registry):
        model_class = registry[name]
        mro = model_class.__mro__[1:]
        if not any((c.__module__ or "").startswith(PREFIX) for c in mro):
            continue
        lines.append("model %s" % name)
        for fname in sorted(model_class._fields):
            field = model_class._fields[fname]
            lines.append("  field %s %s" % (fname, field.type))
        for constraint in sorted(model_class._sql_constraints):
            lines.append("  sql constraint %s: %s" % constraint[:2])
        methods = {}
        for cls in mro:
            for attr, value in vars(cls).items():
                if _is_method(value):
                    methods.setdefault(attr, []).append(_label(cls, paths))
        for attr in sorted(methods):
            lines.append("  method %s: %s" % (attr, " > ".join(methods[attr])))
    return lines


def inner(cfg, db, out, paths):
    # pylint: disable=import-outside-toplevel
    import odoo

    odoo.tools.config.parse_config(["-c", cfg, "--log-level=warn"])
    registry = odoo.modules.registry.Registry(db)
    text = "\n".join(dump(registry, paths)) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="mirakl_model_dump")
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--paths", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--inner", nargs=2, metavar=("CONFIG", "DB"))
    args = parser.parse_args()
    if args.inner:
        inner(args.inner[0], args.inner[1], args.out, args.paths)
        return 0
    reexec_if_needed(__file__, sys.argv[1:])
    run = OdooRun(args.db)
    try:
        if not args.reuse_db:
            run.drop_db()
            run.run_odoo_checked(["-d", args.db, "-i", MODULE], "install")
        cmd = [sys.executable, __file__, "--inner", str(run.config_path), args.db]
        if args.out:
            cmd += ["--out", os.path.abspath(args.out)]
        if args.paths:
            cmd.append("--paths")
        return subprocess.run(cmd, check=False).returncode
    except EnvironmentProblem as exc:
        print("scripts/model_dump.py: %s" % exc, file=sys.stderr)
        return 2
    finally:
        if not (args.keep_db or args.reuse_db):
            try:
                run.drop_db()
            except EnvironmentProblem:
                pass
        run.cleanup()


if __name__ == "__main__":
    sys.exit(main())
