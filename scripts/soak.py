#!/usr/bin/env python3
"""Fault soak: the connector under a real multi-process Odoo server.

    python3 scripts/soak.py [--orders 300] [--fault-rate 0.2]
                            [--fault-minutes 8] [--minutes 25] [--no-kill]
                            [--db mirakl_soak] [--keep-db] [--seed 7]

A script, not a test. It

1. creates a fresh database set up like the demo's (``sandbox_catalogue``:
   products with stock, taxes, carriers, a Mirakl shop on the sandbox with
   a 5 s read timeout, its order and stock jobs every minute), a warehouse
   user, the shipment job every minute and the daily jobs due at once;
2. starts the Mirakl sandbox (its own process) and Odoo with ``--workers 2
   --max-cron-threads 2``, both on free loopback ports;
3. drives it: ``--orders`` sandbox orders created over the first minutes;
   about ``--fault-rate`` of Mirakl calls faulted through the sandbox's
   control API for ``--fault-minutes`` (429 with Retry-After, 500, 503,
   answers slower than the read timeout, dropped connections, writes
   applied whose answer is lost, malformed JSON, an HTML page); the
   warehouse user validating half of the deliveries over XML-RPC (half of
   those while Mirakl fails, the other half once it no longer does); a
   ``kill -9`` of the whole server while it accepts orders, and a restart;
4. once the faults stopped, waits until every order is decided and every
   validated delivery confirmed (bounded by ``--minutes``), stops Odoo and
   the sandbox, and compares the sandbox's orders and call log with Odoo's
   database, printing: orders, Sales Orders, duplicates, lost orders,
   acceptances per order, confirmations per delivery, confirmation latency
   percentiles, issues opened/resolved/open, crons killed by the time
   limit, ERROR lines and tracebacks of the server log by kind.

Every process it starts is stopped on exit (Ctrl-C included); the database
is dropped unless ``--keep-db``.
"""
# pylint: disable=print-used

import argparse
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xmlrpc.client
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_env import reexec_if_needed
from odoo_env import MODULE, REPO_ROOT, EnvironmentProblem, OdooRun

API_KEY = "soak-sandbox-key-4d1e"
SHOP_ID = 2001
WAREHOUSE = ("warehouse", "warehouse")
ERROR_LINE = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) \S+ (\S+): (.*)$")
TIME_LIMIT_LINE = re.compile(r"timeout after \d+s|virtual real time limit")
EXCEPTION_LINE = re.compile(
    r"^([A-Za-z_][\w.]*(Error|Exception|Failure|Violation|Fault))\b"
)
QUERY_TABLE = re.compile(r'\b(UPDATE|INSERT INTO|DELETE FROM|FROM)\s+"?(\w+)')
KILL_MARK = "=== soak: server restarted after kill -9 ==="
# Faults of the soak, with their share of a 20 % fault rate.
FAULTS = (
    ({"kind": "429", "retry_after": 3}, 0.04),
    ({"kind": "500"}, 0.03),
    ({"kind": "503", "retry_after": 2}, 0.03),
    ({"kind": "slow", "delay": 7}, 0.025),  # the shop's read timeout is 5 s
    ({"kind": "drop"}, 0.025),
    ({"kind": "drop_after"}, 0.025),
    ({"kind": "malformed"}, 0.02),
    ({"kind": "html"}, 0.02),
)

# Odoo's prefork server re-runs its own script (``sys.argv[0]``) for its
# websocket process: ``python -m odoo`` cannot be re-run so, this launcher
# can. Without gevent and psycogreen (optional in Odoo's requirements) the
# websocket process could only crash and be spawned again in a loop: an idle
# stand-in takes its place (the soak uses no live notification).
LAUNCHER = """
import os, sys, time
if sys.argv[1:2] == ["gevent"]:
    try:
        import gevent, psycogreen  # noqa: F401
    except ImportError:
        parent = os.getppid()
        while os.getppid() == parent:
            time.sleep(1)
        sys.exit(0)
import odoo
odoo.cli.main()
"""

SETUP = """
import json, sys, urllib.request
import odoo
from odoo import Command, SUPERUSER_ID, api, fields
config, db, url, key, shop_id, scripts, login, password = sys.argv[1:9]
sys.path.insert(0, scripts)
from sandbox_catalogue import setup_sandbox_shop
odoo.tools.config.parse_config(["-c", config])
registry = odoo.modules.registry.Registry(db)
with urllib.request.urlopen(url + "/_sandbox/catalogue", timeout=30) as response:
    catalogue = json.load(response)
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    backend = setup_sandbox_shop(
        env, catalogue, name="Soak shop", api_url=url, api_key=key,
        shop_id=shop_id, stock_qty=400, order_import_interval=1,
        stock_push_interval=1, read_timeout=5,
        user_id=env.ref("base.user_admin").id,
    )
    connection = backend.action_mirakl_test_connection()["params"]
    env["res.users"].create({
        "name": "Warehouse", "login": login, "password": password,
        "groups_id": [Command.set([env.ref("stock.group_stock_user").id])],
    })
    env.ref("mirakl_connector.ir_cron_mirakl_sync_shipments").interval_number = 1
    for xmlid in ("refresh_platform", "stock_daily", "import_payouts"):
        env.ref("mirakl_connector.ir_cron_mirakl_" + xmlid).nextcall = (
            fields.Datetime.now()
        )
    print(json.dumps({"backend": backend.id, "connection": connection}))
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


class Soak:
    def __init__(self, args, run):
        self.args = args
        self.run = run
        self.http_port = free_port()
        self.gevent_port = free_port()
        self.sandbox_port = free_port()
        self.sandbox_url = "http://127.0.0.1:%d" % self.sandbox_port
        self.odoo_url = "http://127.0.0.1:%d" % self.http_port
        self.server_log = run.tmp / "server.log"
        self.sandbox = self.server = None
        self.sandbox_log = None
        self.events = []
        self.validated = {}  # picking id -> validation time (UTC)
        self.fault_end = None
        self.kill_time = None
        self.backend_id = None

    # --- processes ---

    def start_sandbox(self):
        self.sandbox_log = open(self.run.tmp / "sandbox.log", "w", encoding="utf-8")  # noqa: SIM115
        self.sandbox = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                "--port",
                str(self.sandbox_port),
                "--api-key",
                API_KEY,
                "--shop-id",
                str(SHOP_ID),
                "--orders",
                "0",
                "--seed",
                str(self.args.seed),
            ],
            cwd=str(REPO_ROOT),
            stdout=self.sandbox_log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                self.control("GET", "config")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise EnvironmentProblem("the sandbox did not start on %s" % self.sandbox_url)

    def start_server(self):
        launcher = self.run.tmp / "odoo_launcher.py"
        launcher.write_text(LAUNCHER, encoding="utf-8")
        with open(self.server_log, "a", encoding="utf-8") as log:
            if self.kill_time:
                log.write("%s\n" % KILL_MARK)
                log.flush()
            self.server = subprocess.Popen(
                [
                    sys.executable,
                    str(launcher),
                    "-c",
                    str(self.run.config_path),
                    "-d",
                    self.args.db,
                    "--workers=2",
                    "--max-cron-threads=2",
                    "--http-interface=127.0.0.1",
                    "--http-port=%d" % self.http_port,
                    "--gevent-port=%d" % self.gevent_port,
                    "--limit-time-real=120",
                    "--log-level=info",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: kill -9 reaches the workers
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.odoo_url + "/web/login", timeout=10):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.server.poll() is not None:
                    break
                time.sleep(0.5)
        raise EnvironmentProblem("Odoo did not serve %s" % self.odoo_url)

    def kill_server(self):
        os.killpg(self.server.pid, signal.SIGKILL)
        self.server.wait(30)

    def stop_server(self):
        if self.server is None or self.server.poll() is not None:
            return
        os.killpg(self.server.pid, signal.SIGTERM)
        try:
            self.server.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(30)

    def stop(self):
        self.stop_server()
        if self.sandbox is not None and self.sandbox.poll() is None:
            self.sandbox.terminate()
            self.sandbox.wait(30)
        if self.sandbox_log:
            self.sandbox_log.close()

    # --- the sandbox's control API and Odoo's XML-RPC ---

    def control(self, method, path, body=None):
        request = urllib.request.Request(
            "%s/_sandbox/%s" % (self.sandbox_url, path),
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            content = response.read()
        return json.loads(content) if content else None

    def rpc(self):
        common = xmlrpc.client.ServerProxy(self.odoo_url + "/xmlrpc/2/common")
        uid = common.authenticate(self.args.db, *WAREHOUSE, {})
        models = xmlrpc.client.ServerProxy(self.odoo_url + "/xmlrpc/2/object")

        def call(model, method, *args, **kwargs):
            return models.execute_kw(
                self.args.db, uid, WAREHOUSE[1], model, method, list(args), kwargs
            )

        return call

    def note(self, text):
        self.events.append((time.monotonic(), text))
        print("  [%4.0f s] %s" % (time.monotonic() - self.started, text), flush=True)

    # --- the drive ---

    def set_up(self):
        setup = subprocess.run(
            [
                sys.executable,
                "-c",
                SETUP,
                str(self.run.config_path),
                self.args.db,
                self.sandbox_url,
                API_KEY,
                str(SHOP_ID),
                str(Path(__file__).resolve().parent),
                *WAREHOUSE,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if setup.returncode != 0:
            print(setup.stderr[-5000:], file=sys.stderr)
            raise EnvironmentProblem("could not set the soak database up")
        outcome = json.loads(setup.stdout.strip().splitlines()[-1])
        if outcome["connection"]["type"] != "success":
            raise EnvironmentProblem(outcome["connection"]["message"])
        self.backend_id = outcome["backend"]

    def add_faults(self):
        scale = self.args.fault_rate / 0.2
        for spec, rate in FAULTS:
            self.control("POST", "faults", dict(spec, rate=rate * scale))

    def validate_half(self, call):
        """The warehouse user validates the deliveries of every other order:
        half of those as soon as they are ready, the other half once the
        faults stopped (the latency Mirakl's confirmations have then)."""
        pickings = call(
            "stock.picking",
            "search_read",
            [
                ("picking_type_code", "=", "outgoing"),
                ("state", "=", "assigned"),
                ("sale_id.mirakl_backend_id", "!=", False),
            ],
            fields=["id", "sale_id", "name"],
        )
        done = 0
        for picking in pickings:
            sale_id = picking["sale_id"][0]
            if sale_id % 2 or picking["id"] in self.validated:
                continue
            if sale_id % 4 and not self.fault_end:
                continue  # half of them once the faults stopped
            moves = call(
                "stock.move",
                "search_read",
                [("picking_id", "=", picking["id"])],
                fields=["id", "product_uom_qty"],
            )
            for move in moves:
                call(
                    "stock.move",
                    "write",
                    [move["id"]],
                    {"quantity": move["product_uom_qty"], "picked": True},
                )
            call(
                "stock.picking",
                "write",
                [picking["id"]],
                {"carrier_tracking_ref": "SOAK%08d" % picking["id"]},
            )
            # skip_sms: no text message to the customer (the SMS wizard).
            call(
                "stock.picking",
                "button_validate",
                [picking["id"]],
                context={"skip_sms": True},
            )
            self.validated[picking["id"]] = utcnow()
            done += 1
        return done

    def kill_during_acceptances(self):
        """kill -9 the whole server right after an acceptance went out."""
        seen = len(self.control("GET", "calls?operation=OR21")["calls"])
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if len(self.control("GET", "calls?operation=OR21")["calls"]) > seen:
                break
        self.kill_server()
        self.kill_time = utcnow()
        self.note("kill -9 of the server (%s acceptances sent so far)" % seen)
        time.sleep(5)
        self.start_server()
        self.note("server restarted")

    def settled(self):
        """Every order decided and released, the warehouse's half of the
        deliveries validated, each of those orders shipped on Mirakl and
        every confirmation row done in Odoo."""
        orders = self.control("GET", "orders")["orders"]
        if len(orders) < self.args.orders or any(
            o["order_state"] == "WAITING_ACCEPTANCE" for o in orders
        ):
            return False
        shipped = {o["order_id"] for o in orders if o["order_state"] == "SHIPPED"}
        conn = self.run.db_connect(self.args.db)
        with conn.cursor() as cr:
            cr.execute(
                """
                SELECT so.id, so.mirakl_order_id, so.state,
                       bool_and(p.state IN ('done', 'cancel'))
                  FROM sale_order so
                  LEFT JOIN stock_picking p ON p.sale_id = so.id
                 WHERE so.mirakl_backend_id = %s
                 GROUP BY so.id
                """,
                (self.backend_id,),
            )
            sales = cr.fetchall()
            cr.execute(
                "SELECT count(*) FROM mirakl_shipment "
                "WHERE backend_id = %s AND state IN ('pending', 'blocked')",
                (self.backend_id,),
            )
            waiting_rows = cr.fetchone()[0]
        conn.close()
        if (
            waiting_rows
            or len(sales) < len(orders)
            or any(state != "sale" for _i, _o, state, _d in sales)
        ):
            return False
        ours = [
            (order_id, done) for sale_id, order_id, _s, done in sales if not sale_id % 2
        ]
        return all(done and order_id in shipped for order_id, done in ours)

    def drive(self):
        self.started = time.monotonic()
        stop_at = self.started + self.args.minutes * 60
        order_seconds = self.args.order_minutes * 60
        fault_until = self.started + self.args.fault_minutes * 60
        kill_after = self.started + order_seconds / 2
        self.add_faults()
        self.note("faults on (%.0f %% of calls)" % (self.args.fault_rate * 100))
        created = 0
        call = None
        killed = self.args.no_kill
        last_validation = 0.0
        while time.monotonic() < stop_at:
            now = time.monotonic()
            due = min(
                self.args.orders,
                math.ceil(self.args.orders * (now - self.started + 1) / order_seconds),
            )
            if due > created:
                self.control("POST", "orders", {"count": due - created})
                created = due
            if self.fault_end is None and now >= fault_until:
                self.control("DELETE", "faults")
                self.fault_end = utcnow()
                self.note("faults off; %s orders created" % created)
            if not killed and now >= kill_after:
                self.kill_during_acceptances()
                killed = True
                call = None
            if now - last_validation >= 20:
                last_validation = now
                try:
                    call = call or self.rpc()
                    count = self.validate_half(call)
                    if count:
                        self.note("warehouse validated %s deliveries" % count)
                except (OSError, xmlrpc.client.Error) as error:
                    self.note("warehouse: %s" % str(error).splitlines()[0][:120])
                    call = None
            if self.fault_end and created >= self.args.orders and self.settled():
                self.note("settled: every order decided, every delivery confirmed")
                return True
            time.sleep(3)
        self.note("time bound reached before everything settled")
        return False

    # --- the comparison ---

    def figures(self, settled):
        """The soak's figures from the sandbox's orders and calls and
        Odoo's records. Longer than 80 lines: one flat list of the
        figures the soak prints, each computed where it is named.
        """
        orders = {o["order_id"]: o for o in self.control("GET", "orders")["orders"]}
        calls = [
            c
            for c in self.control("GET", "calls")["calls"]
            if (c.get("user_agent") or "").startswith("mirakl_connector/")
        ]
        for name, data in (("orders", orders), ("calls", calls)):
            (self.run.tmp / ("sandbox_%s.json" % name)).write_text(
                json.dumps(data), encoding="utf-8"
            )

        def applied(operation):
            """Calls Mirakl carried out, per order: answered 2xx without a
            fault, or slow, or carried out then dropped (``drop_after``);
            the other faults answer in the operation's place."""
            per_order = Counter()
            for c in calls:
                if c["fault"] in (None, "slow"):
                    status = c["status"] or 0
                elif c["fault"] == "drop_after":
                    status = c.get("applied_status") or 0
                else:
                    continue
                if c["operation"] == operation and 200 <= status < 300:
                    per_order[c["path"].split("/")[3]] += 1
            return per_order

        accepted = applied("OR21")
        shipped = applied("OR24")
        conn = self.run.db_connect(self.args.db)
        with conn.cursor() as cr:
            cr.execute(
                "SELECT mirakl_order_id, count(*), min(mirakl_acceptance) "
                "FROM sale_order WHERE mirakl_backend_id = %s GROUP BY 1",
                (self.backend_id,),
            )
            sales = {row[0]: row[1:] for row in cr.fetchall()}
            cr.execute(
                """
                SELECT so.mirakl_order_id FROM stock_picking p
                  JOIN sale_order so ON so.id = p.sale_id
                  JOIN stock_picking_type t ON t.id = p.picking_type_id
                 WHERE p.state = 'done' AND t.code = 'outgoing'
                   AND so.mirakl_backend_id = %s
                """,
                (self.backend_id,),
            )
            deliveries = [row[0] for row in cr.fetchall()]
            cr.execute(
                "SELECT state, latency_seconds, event_date FROM mirakl_shipment "
                "WHERE backend_id = %s AND kind IN ('order', 'shipment')",
                (self.backend_id,),
            )
            rows = cr.fetchall()
            cr.execute(
                "SELECT state, category, operation FROM mirakl_sync_issue "
                "WHERE backend_id = %s",
                (self.backend_id,),
            )
            issues = cr.fetchall()
        conn.close()
        latencies = [r[1] for r in rows if r[0] == "done"]
        fault_end = self.fault_end or utcnow()
        calm = [r[1] for r in rows if r[0] == "done" and r[2] >= fault_end]
        lost = [
            oid
            for oid, order in orders.items()
            if oid not in sales
            or sales[oid][1] == "expired"
            or order.get("order_state_reason_code") == "AUTO_REFUSED"
        ]
        log = self.server_log.read_text(encoding="utf-8", errors="replace")
        before_kill, _mark, after_kill = log.partition(KILL_MARK)
        window = [c for c in calls if c["time"] < fault_end.isoformat()]
        faulted = sum(1 for c in window if c["fault"])
        sandbox_text = (self.run.tmp / "sandbox.log").read_text(
            encoding="utf-8", errors="replace"
        )
        return {
            "settled": settled,
            "orders": len(orders),
            "sales": sum(count for count, _acc in sales.values()),
            "duplicates": sum(count - 1 for count, _acc in sales.values())
            + sum(n - 1 for n in accepted.values() if n > 1)
            + sum(n - 1 for n in shipped.values() if n > 1),
            "lost": lost,
            "acceptances": Counter(accepted.get(oid, 0) for oid in orders),
            "deliveries": len(deliveries),
            "confirmations": Counter(shipped.get(oid, 0) for oid in deliveries),
            "rows": Counter(r[0] for r in rows),
            "latency": latencies,
            "calm_latency": calm,
            "issues": issues,
            "calls": len(calls),
            "window": len(window),
            "faulted": faulted,
            "logs": [self.log_kinds(before_kill), self.log_kinds(after_kill)],
            "key_in_logs": log.count(API_KEY) + sandbox_text.count(API_KEY),
        }

    @staticmethod
    def log_kinds(text):
        errors, tracebacks, limits = Counter(), Counter(), 0
        lines = text.splitlines()
        for index, line in enumerate(lines):
            match = ERROR_LINE.match(line)
            if match:
                errors[error_kind(match, lines[index + 1 : index + 60])] += 1
            if TIME_LIMIT_LINE.search(line):
                limits += 1
            if line.startswith("Traceback (most recent call last)"):
                for follow in lines[index + 1 : index + 200]:
                    found = EXCEPTION_LINE.match(follow)
                    if found:
                        tracebacks[found.group(1)] += 1
                        break
        return {"errors": errors, "tracebacks": tracebacks, "time_limit": limits}


def error_kind(match, following):
    """An ERROR line's kind. Odoo logs every failed query as "bad query";
    its kind names the statement, the table and PostgreSQL's own message
    (the "ERROR:" line after the query), e.g. a serialization failure."""
    logger, message = match.group(2), match.group(3)
    if not message.startswith("bad query"):
        return "%s: %s" % (logger, message[:70])
    statement = QUERY_TABLE.search(message)
    reason = next(
        (f[len("ERROR:") :].strip() for f in following if f.startswith("ERROR:")),
        "?",
    )
    return "%s: bad query (%s): %s" % (
        logger,
        " ".join(statement.groups()) if statement else "?",
        reason[:70],
    )


def report(figures, elapsed, args):
    def pct(values):
        if not values:
            return "-"
        return "p50 %.1f s, p95 %.1f s, max %.1f s (%d)" % (
            statistics.median(values),
            percentile(values, 0.95),
            max(values),
            len(values),
        )

    issues = figures["issues"]
    opened = len(issues)
    resolved = sum(1 for i in issues if i[0] == "resolved")
    still = Counter("%s/%s" % (i[2], i[1]) for i in issues if i[0] == "open")
    lines = [
        "Soak summary (%d orders, %.0f %% faults for %s min, kill -9: %s; %.0f s):"
        % (
            args.orders,
            args.fault_rate * 100,
            args.fault_minutes,
            "no" if args.no_kill else "yes",
            elapsed,
        ),
        "  Settled before the time bound:   %s"
        % ("yes" if figures["settled"] else "NO"),
        "  Orders on Mirakl / Sales Orders: %d / %d"
        % (figures["orders"], figures["sales"]),
        "  Duplicates:                      %d" % figures["duplicates"],
        "  Lost orders:                     %d %s"
        % (len(figures["lost"]), " ".join(figures["lost"][:5])),
        "  Acceptances per order:           %s"
        % dict(sorted(figures["acceptances"].items())),
        "  Deliveries validated:            %d" % figures["deliveries"],
        "  Confirmations per delivery:      %s"
        % dict(sorted(figures["confirmations"].items())),
        "  Confirmation rows:               %s" % dict(figures["rows"]),
        "  Confirmation latency, all:       %s" % pct(figures["latency"]),
        "  ... validated after faults:      %s" % pct(figures["calm_latency"]),
        "  Mirakl calls:                    %d (%d while faulting, %d faulted: "
        "%.1f %%)"
        % (
            figures["calls"],
            figures["window"],
            figures["faulted"],
            100.0 * figures["faulted"] / max(figures["window"], 1),
        ),
        "  Issues opened / resolved / open: %d / %d / %d %s"
        % (opened, resolved, opened - resolved, dict(still)),
        "  API key in any log:              %d" % figures["key_in_logs"],
    ]
    for label, kinds in zip(
        ("before the kill", "after the restart"), figures["logs"], strict=False
    ):
        lines.append(
            "  Server log %-18s  crons killed by the time limit: %d; "
            "ERROR lines: %d; tracebacks: %d"
            % (
                label + ":",
                kinds["time_limit"],
                sum(kinds["errors"].values()),
                sum(kinds["tracebacks"].values()),
            )
        )
        for kind, count in kinds["errors"].most_common(8):
            lines.append("      ERROR %4d  %s" % (count, kind))
        for kind, count in kinds["tracebacks"].most_common(8):
            lines.append("      trace %4d  %s" % (count, kind))
    print("\n".join(lines))


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="mirakl_soak")
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--order-minutes", type=float, default=5)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--fault-minutes", type=float, default=8)
    parser.add_argument("--minutes", type=float, default=25)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-kill", action="store_true")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    if not 0 < args.orders <= 2000 or not 0 <= args.fault_rate <= 0.5:
        parser.error("--orders must be 1 to 2000 and --fault-rate 0 to 0.5")
    reexec_if_needed(__file__, sys.argv[1:] if argv is None else list(argv))
    begun = time.monotonic()
    run = OdooRun(args.db)
    soak = Soak(args, run)
    try:
        print("1/4 creating database %s and installing %s..." % (args.db, MODULE))
        run.drop_db()
        run.run_odoo_checked(["-d", args.db, "-i", MODULE], "install")
        print("2/4 starting the sandbox on %s..." % soak.sandbox_url)
        soak.start_sandbox()
        soak.set_up()
        print(
            "3/4 serving Odoo on %s (2 workers, 2 cron threads) and driving it..."
            % soak.odoo_url
        )
        soak.start_server()
        settled = soak.drive()
        print("4/4 stopping Odoo and the sandbox, comparing...")
        soak.stop_server()
        figures = soak.figures(settled)
        report(figures, time.monotonic() - begun, args)
        return 0 if settled else 1
    except KeyboardInterrupt:
        return 130
    except EnvironmentProblem as exc:
        print("scripts/soak.py: %s" % exc, file=sys.stderr)
        return 2
    finally:
        soak.stop()
        if not args.keep_db:
            try:
                run.drop_db()
            except EnvironmentProblem as exc:
                print("could not drop %s: %s" % (args.db, exc), file=sys.stderr)
        print("logs: %s" % run.tmp if args.keep_db else "", end="")
        if not args.keep_db:
            run.cleanup()


if __name__ == "__main__":
    sys.exit(main())
