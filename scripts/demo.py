#!/usr/bin/env python3
"""The demo command: Odoo with a Mirakl shop connected to the embedded sandbox.

    python3 scripts/demo.py [--db mirakl_demo] [--http-port 8069]
                            [--sandbox-port 8070] [--orders 12] [--no-serve]
                            [--odoo-source PATH_OR_URL]

0. when this Python cannot import Odoo 18.0, builds (once) the project's local
   environment in .venv/ and runs on it (see scripts/setup.py);

1. creates a fresh database (dropping an older one of the same name) and
   installs mirakl_connector;
2. starts the Mirakl sandbox on 127.0.0.1 with seeded orders waiting for
   acceptance;
3. sets the database up like a seller of the sandbox's catalogue
   (``sandbox_catalogue.setup_sandbox_shop``: GBP, UK VAT taxes, a product per
   offer SKU with stock, delivery methods) with a Mirakl shop pointing at the
   sandbox, tests its connection and runs one order import: the waiting
   orders become quotations and are accepted on Mirakl; every variant is
   offered on the shop and a full stock push sends its quantity;
4. serves Odoo on http://localhost:8069 (login admin, password admin) with
   the crons running, until Ctrl-C, then stops the sandbox. The shop's order
   import cron (every minute in the demo, triggered at start) sees the
   accepted orders paid (SHIPPING) and confirms them: pickings appear in the
   warehouse. The shop's stock job (every minute in the demo) sends the
   quantities that changed since, e.g. after an inventory adjustment.
   Before serving, two of the orders are delivered (invoiced at once) and
   confirmed shipped to Mirakl, a billing cycle is closed on the sandbox and
   the payout run books and posts its settlement entry: the invoices show
   paid and the payout waits on the in-transit account. Then the shop
   sends products: the brand's new range is mapped to the operator's model
   and sent (P41); one product is held back by readiness; once the sandbox
   integrated the others, their offers go out (OF24). Last, the daily order
   check compares Mirakl's orders with the Sales Orders (Sales > Mirakl >
   Overview shows the shop's card).

With ``--no-serve`` it does all of that, checks that Odoo serves its login
page on the port, stops, prints the summary and exits 0 (CI runs it so).
"""
# pylint: disable=print-used

import argparse
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_env import reexec_if_needed
from odoo_env import (
    MODULE,
    REPO_ROOT,
    EnvironmentProblem,
    OdooRun,
)

ERROR_LINE = r"^\S+ \S+ \d+ (ERROR|CRITICAL) "
DEMO_KEY = "demo-sandbox-key"
DEMO_SHOP_ID = 2001

SETUP_SHOP = """
import json, sys, urllib.request
import odoo
from odoo import api, SUPERUSER_ID
config, db, url, key, shop_id, scripts = sys.argv[1:7]
sys.path.insert(0, scripts)
from sandbox_catalogue import setup_sandbox_shop
odoo.tools.config.parse_config(["-c", config])
registry = odoo.modules.registry.Registry(db)
with urllib.request.urlopen(url + "/_sandbox/catalogue", timeout=30) as response:
    catalogue = json.load(response)
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    from sandbox_catalogue import setup_demo_company
    setup_demo_company(env)
    backend = setup_sandbox_shop(
        env,
        catalogue,
        name="Demo marketplace (sandbox)",
        api_url=url,
        api_key=key,
        shop_id=shop_id,
        team_id=env.ref("sales_team.team_sales_department").id,
        user_id=env.ref("base.user_admin").id,
        order_import_interval=1,
        stock_push_interval=1,
    )
    connection = backend.action_mirakl_test_connection()["params"]
    cr.commit()
    from sandbox_catalogue import map_demo_carriers
    map_demo_carriers(backend)
    stats = None
    if connection["type"] == "success":
        stats = backend._mirakl_import_orders()
        stats["text"] = backend._mirakl_stats_text(stats)
        cr.commit()
        stock = backend._mirakl_push_stock(full=True)
        stats["stock"] = stock["message"]
        cr.commit()
        from sandbox_catalogue import book_first_payout, setup_catalogue
        stats["payout"] = book_first_payout(env, backend, url)
        cr.commit()
        stats["catalogue"] = setup_catalogue(env, backend, url)
        cr.commit()
        stats["check"] = backend._mirakl_compare_orders()["message"]
        cr.commit()
    backend.order_cron_id._trigger()
    backend.stock_cron_id._trigger()
    print(json.dumps({"connection": connection, "stats": stats}))
"""


def wait_for_sandbox(url, timeout=20):
    request = urllib.request.Request(
        url + "/api/version", headers={"Authorization": DEMO_KEY}
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise EnvironmentProblem("the Mirakl sandbox did not start on %s" % url)


def check_serving(run, db, port, timeout=120):
    """Start Odoo's server on the demo database, wait for its login page, stop
    it; fail on an ERROR line in its log. Returns what was seen."""
    url = "http://127.0.0.1:%d/web/login" % port
    log_path = run.tmp / "serve.log"
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen(
            run.odoo_cmd("-d", db, "--max-cron-threads=0"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    status, body = response.status, response.read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        else:
            status = None
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    errors = [line for line in text.splitlines() if re.match(ERROR_LINE, line)]
    if server.returncode not in (0, -signal.SIGINT) or errors or status != 200:
        print(text[-5000:], file=sys.stderr)
        raise EnvironmentProblem(
            "Odoo did not serve %s cleanly (HTTP %s, %d error lines)"
            % (url, status, len(errors))
        )
    if b"oe_login_form" not in body:
        raise EnvironmentProblem("%s answered without Odoo's login form" % url)
    return "served %s (HTTP 200, login form)" % url.replace("127.0.0.1", "localhost")


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    """The demo command. Longer than 80 lines: its options and then one linear
    sequence of demo steps, each printing what it did.
    """
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="mirakl_demo")
    parser.add_argument("--http-port", type=int, default=8069)
    parser.add_argument("--sandbox-port", type=int, default=8070)
    parser.add_argument("--orders", type=int, default=12)
    parser.add_argument(
        "--no-serve",
        action="store_true",
        help="set everything up, check that Odoo serves, print the summary and "
        "exit instead of serving until Ctrl-C",
    )
    parser.add_argument(
        "--odoo-source",
        help="where to take Odoo 18.0 from when this Python cannot import it "
        "(see scripts/setup.py)",
    )
    args = parser.parse_args(argv)
    reexec_if_needed(
        __file__, sys.argv[1:] if argv is None else list(argv), args.odoo_source
    )
    started = time.monotonic()
    run = OdooRun(
        args.db,
        http_port=args.http_port,
        extra_options={"max_cron_threads": "1", "http_interface": "127.0.0.1"},
    )
    sandbox = sandbox_log = None
    try:
        print("1/4 creating database %s and installing %s..." % (args.db, MODULE))
        run.drop_db()
        run.run_odoo_checked(["-d", args.db, "-i", MODULE], "install")

        sandbox_url = "http://127.0.0.1:%d" % args.sandbox_port
        if args.no_serve:
            sandbox_log = open(run.tmp / "sandbox.log", "w", encoding="utf-8")  # noqa: SIM115
        print("2/4 starting the Mirakl sandbox on %s..." % sandbox_url)
        sandbox = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                "--port",
                str(args.sandbox_port),
                "--api-key",
                DEMO_KEY,
                "--shop-id",
                str(DEMO_SHOP_ID),
                "--orders",
                str(args.orders),
            ],
            cwd=str(REPO_ROOT),
            # Served, the demo shows Mirakl's calls as they come; checked
            # (--no-serve), they go to a log.
            stdout=sandbox_log,
            stderr=subprocess.STDOUT if sandbox_log else None,
        )
        wait_for_sandbox(sandbox_url)

        print(
            "3/4 creating the shop (products, taxes, carriers, stock), testing its "
            "connection and importing the waiting orders..."
        )
        setup = subprocess.run(
            [
                sys.executable,
                "-c",
                SETUP_SHOP,
                str(run.config_path),
                args.db,
                sandbox_url,
                DEMO_KEY,
                str(DEMO_SHOP_ID),
                str(Path(__file__).resolve().parent),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if setup.returncode != 0:
            print(setup.stderr, file=sys.stderr)
            raise EnvironmentProblem("could not create the demo shop (see above)")
        outcome = json.loads(setup.stdout.strip().splitlines()[-1])
        result = outcome["connection"]
        if result["type"] != "success":
            raise EnvironmentProblem(
                "the demo shop could not connect to the sandbox: %s" % result["message"]
            )
        stats = outcome["stats"]
        if stats["error"] or stats["failed"]:
            print(
                "    Some orders were not imported: see Mirakl > Sync issues.",
                file=sys.stderr,
            )
        summary = [
            "  Test connection: %s" % result["message"],
            "  First order import: %s." % stats["text"],
            "  First stock push: %s" % stats["stock"],
            "  First payout: %s" % stats["payout"],
            *stats["catalogue"],
            "  Order check: %s" % stats["check"],
        ]
        if args.no_serve:
            print(
                "4/4 checking that Odoo serves http://localhost:%d..." % args.http_port
            )
            summary.append("  Odoo: %s" % check_serving(run, args.db, args.http_port))
            print(
                "Demo ready in %.0f s (--no-serve: Odoo and the sandbox stopped; the "
                "database %s is kept):" % (time.monotonic() - started, args.db)
            )
            print("\n".join(summary))
            return 0
        print("Demo ready in %.0f s:" % (time.monotonic() - started))
        print("\n".join(summary))
        print(
            "4/4 serving Odoo on http://localhost:%d (login admin, password admin);"
            " the shop's cron imports orders every minute and confirms the paid"
            " ones; the sandbox's control API is at %s/_sandbox/. Ctrl-C stops"
            " both." % (args.http_port, sandbox_url)
        )
        server = subprocess.Popen(run.odoo_cmd("-d", args.db))
        try:
            return server.wait()
        except KeyboardInterrupt:
            server.send_signal(signal.SIGINT)
            return server.wait()
    except KeyboardInterrupt:
        return 130
    except EnvironmentProblem as exc:
        print("scripts/demo.py: %s" % exc, file=sys.stderr)
        return 2
    finally:
        if sandbox and sandbox.poll() is None:
            sandbox.terminate()
            sandbox.wait(timeout=10)
        if sandbox_log:
            sandbox_log.close()
        run.cleanup()


if __name__ == "__main__":
    sys.exit(main())
