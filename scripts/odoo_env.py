"""Find the local Odoo 18 installation and drive it for the test and demo commands.

Odoo is found the way any Odoo installation is found: ``import odoo`` must work
(an installed package, or a ``.pth`` file pointing at a source tree), and the
standard configuration file (``$ODOO_RC``, else ``~/.odoorc``, else
``~/.openerp_serverrc``) gives the database connection and the addons path.
When the running Python cannot import Odoo 18.0, the commands call
``local_env.reexec_if_needed``: they build (once) the project's own
environment in ``.venv/`` and run again on its Python, whose configuration
file is ``.venv/odoo.conf``.

The checkout may sit in a folder of any name: the commands expose it to Odoo as
``mirakl_connector`` through a symlink in a temporary addons folder, so the
addon is always importable as ``odoo.addons.mirakl_connector``.
"""

import configparser
import contextlib
import cProfile
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import local_env

MODULE = "mirakl_connector"
REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_MODULES = "sale_stock,stock_delivery,account"

# Log lines Odoo prints at these levels make an install or an upgrade fail.
BAD_LOG_LINE = re.compile(r"^\S+ \S+ \d+ (WARNING|ERROR|CRITICAL) ")
# What Odoo logs when its test bundles name test assets that the Odoo tree
# does not ship (a source trimmed of the addons' tests, like the project's
# offline copy of Odoo 18.0): only about Odoo's own */static/**/tests/* paths.
MISSING_TEST_ASSET = re.compile(
    r"IrAsset: the path \"(?P<glob>[^\"]+/static/[^\"]*tests/[^\"]*)\" did not "
    r"resolve|Could not get content for (?P<file>\S+/static/tests/\S+?)\.?'"
)


class EnvironmentProblem(Exception):
    """The machine lacks something the commands need (Odoo, PostgreSQL...)."""


def user_config_path():
    """The standard Odoo configuration file of this user (may not exist), or
    the local environment's own when running on its Python."""
    for var in ("ODOO_RC", "OPENERP_SERVER"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if local_env.in_local_env():
        return local_env.CONFIG_PATH
    rc = Path("~/.odoorc").expanduser()
    legacy = Path("~/.openerp_serverrc").expanduser()
    if not rc.exists() and legacy.exists():
        return legacy
    return rc


def read_user_options():
    """The [options] of the user's Odoo configuration file, as a dict."""
    path = user_config_path()
    parser = configparser.RawConfigParser()
    if path.exists():
        parser.read(path)
    if parser.has_section("options"):
        return dict(parser.items("options"))
    return {}


def _falsy(value):
    return value in (None, "", "False", "false", "None")


def default_addons_paths():
    """Addons folders of the Odoo installation (config first, else the package)."""
    options = read_user_options()
    paths = []
    if not _falsy(options.get("addons_path")):
        paths = [p.strip() for p in options["addons_path"].split(",") if p.strip()]
    if not paths:
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "import os, odoo; root = os.path.dirname(odoo.__file__);"
                    "print(os.path.join(root, 'addons'));"
                    "print(os.path.join(os.path.dirname(root), 'addons'))"
                ),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        paths = [p for p in probe.stdout.split() if os.path.isdir(p)]
    # Never let another copy of this addon shadow the checkout under test.
    return [p for p in paths if not (Path(p) / MODULE / "__manifest__.py").exists()]


class OdooRun:
    """A temporary addons folder and configuration file for one command."""

    def __init__(self, db_name, http_port=None, extra_options=None):
        self.db_name = db_name
        self.tmp = Path(tempfile.mkdtemp(prefix="mirakl_connector_"))
        self.addons_dir = self.tmp / "addons"
        self.addons_dir.mkdir()
        (self.addons_dir / MODULE).symlink_to(REPO_ROOT, target_is_directory=True)
        self.module_dir = self.addons_dir / MODULE
        options = {
            key: value
            for key, value in read_user_options().items()
            if key.startswith("db_") or key in ("data_dir",)
        }
        options["addons_path"] = ",".join(
            [str(self.addons_dir)] + default_addons_paths()
        )
        options["db_name"] = db_name
        options["dbfilter"] = "^%s$" % re.escape(db_name)
        options["without_demo"] = "all"
        options["max_cron_threads"] = "0"
        if http_port:
            options["http_port"] = str(http_port)
        options.update(extra_options or {})
        self.config_path = self.tmp / "odoo.conf"
        parser = configparser.RawConfigParser()
        parser["options"] = options
        with open(self.config_path, "w", encoding="utf-8") as handle:
            parser.write(handle)
        self.options = options

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def odoo_cmd(self, *args):
        return [sys.executable, "-m", "odoo", "-c", str(self.config_path), *args]

    def db_connect(self, dbname="postgres"):
        import psycopg2  # imported late: only needed once Odoo is known present

        kwargs = {"dbname": dbname}
        for key in ("host", "port", "user", "password"):
            value = self.options.get("db_%s" % key)
            if not _falsy(value):
                kwargs[key] = value
        try:
            return psycopg2.connect(**kwargs)
        except psycopg2.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc
            raise EnvironmentProblem(
                "PostgreSQL is not reachable with the settings of %s: %s"
                % (user_config_path(), first)
            ) from exc

    def drop_db(self):
        conn = self.db_connect()
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.db_name,),
            )
            cr.execute('DROP DATABASE IF EXISTS "%s"' % self.db_name.replace('"', ""))
        conn.close()
        filestore = self.options.get("data_dir")
        if not _falsy(filestore):
            shutil.rmtree(
                Path(filestore) / "filestore" / self.db_name, ignore_errors=True
            )

    def has_odoo_test_assets(self):
        """False when the Odoo tree lacks its own test assets (a source
        trimmed of its addons' tests): Odoo's runner then cannot build the
        bundles of browser tests and stops."""
        sample = Path("web/static/tests/legacy/helpers/cleanup.js")
        folders = self.options["addons_path"].split(",")
        return any((Path(folder) / sample).is_file() for folder in folders)

    def missing_test_asset(self, line):
        """True when a log line is only about an Odoo test asset that none of
        the addons folders holds (see MISSING_TEST_ASSET)."""
        match = MISSING_TEST_ASSET.search(line)
        if not match or match.group(0) and MODULE + "/" in match.group(0):
            return False
        pattern = match.group("glob") or match.group("file")
        folders = self.options["addons_path"].split(",")
        return not any(list(Path(folder).glob(pattern)) for folder in folders)

    def run_odoo_checked(self, args, label):
        """Run odoo-bin with ``args``; fail if it exits non-zero or logs a warning."""
        log_path = self.tmp / ("%s.log" % label)
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.run(
                self.odoo_cmd(*args, "--stop-after-init", "--log-level=info"),
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        text = log_path.read_text(encoding="utf-8", errors="replace")
        bad = [
            line
            for line in text.splitlines()
            if BAD_LOG_LINE.match(line) and not self.missing_test_asset(line)
        ]
        if proc.returncode != 0 or bad:
            print(text[-20000:], file=sys.stderr)
            if bad:
                print("warning/error lines:", *bad[:20], sep="\n", file=sys.stderr)
            raise SystemExit(
                "%s failed (exit %s, %d warning/error lines); log above."
                % (label, proc.returncode, len(bad))
            )
        return text


def run_benchmark(script, db, keep_db, args):
    """Outer half of a benchmark script: a fresh database ``db`` with the
    module installed, then ``script args --inner CONFIG DB LOGFILE`` in a new
    Python process (the measured run), then the database dropped unless
    ``keep_db``. Returns the exit code (2: the environment is not usable)."""
    name = "scripts/%s" % Path(script).name
    local_env.reexec_if_needed(script, sys.argv[1:])
    run = OdooRun(db)
    try:
        print("creating database %s and installing %s..." % (db, MODULE))
        run.drop_db()
        run.run_odoo_checked(["-d", db, "-i", MODULE], "install")
        cmd = [sys.executable, str(Path(script).resolve()), *args, "--inner"]
        cmd += [str(run.config_path), db, str(run.tmp / "bench.log")]
        return subprocess.run(cmd, check=False).returncode
    except EnvironmentProblem as exc:
        print("%s: %s" % (name, exc), file=sys.stderr)
        return 2
    finally:
        if not keep_db:
            try:
                run.drop_db()
            except EnvironmentProblem as exc:
                print("could not drop %s: %s" % (db, exc), file=sys.stderr)
        run.cleanup()


class InnerBench:
    """The measured half of a benchmark, inside one Odoo process, with the
    Mirakl sandbox in a process of its own (so that the figures are Odoo's
    alone): the registry, a superuser environment, the sandbox's control
    API and its call log. Odoo logs at ``log_level`` into ``logfile``."""

    def __init__(self, cfg, db, logfile, log_level="warn"):
        # pylint: disable=import-outside-toplevel
        import odoo

        sys.path.insert(0, str(REPO_ROOT))
        odoo.tools.config.parse_config(
            ["-c", cfg, "--log-level=%s" % log_level, "--logfile", logfile]
        )
        odoo.netsvc.init_logger()
        self.registry = odoo.modules.registry.Registry(db)
        self.logfile = logfile
        self.sandbox = None
        self.sandbox_url = None
        self.http = None

    def env(self, cr):
        # pylint: disable=import-outside-toplevel
        from odoo import SUPERUSER_ID, api

        return api.Environment(cr, SUPERUSER_ID, {})

    def start_sandbox(self, api_key, **config):
        """``python3 -m sandbox`` on a free port, reset with ``config``."""
        # pylint: disable=import-outside-toplevel
        import requests

        self.sandbox = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--api-key", api_key, "--orders", "0"],
            cwd=str(REPO_ROOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.sandbox_url = self.sandbox.stdout.readline().split()[-1]
        self.http = requests.Session()
        self.control("POST", "reset", json={"orders": 0, "config": config})

    def stop_sandbox(self):
        if self.sandbox is not None:
            self.sandbox.terminate()
            self.sandbox.wait(30)

    def control(self, method, path, **kwargs):
        response = self.http.request(
            method, "%s/_sandbox/%s" % (self.sandbox_url, path), timeout=600, **kwargs
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def calls(self):
        """Calls the sandbox received, per operation."""
        return Counter(c["operation"] for c in self.control("GET", "calls")["calls"])


@contextlib.contextmanager
def profiled(enabled=True, sql=False, own=False, stream=None):
    """``--profile`` of a benchmark: a cProfile of the block (cumulative and
    own time), the connector's own functions when ``own``, and with ``sql``
    the time of each kind of SQL query (Odoo's query hooks of this thread).
    Does nothing when not ``enabled``."""
    if not enabled:
        yield
        return
    queries = Counter()

    def hook(_cr, query, _params, _start, delay):
        text = query.code if hasattr(query, "code") else str(query)
        queries[" ".join(text.split())[:90]] += delay

    if sql:
        threading.current_thread().query_hooks = (hook,)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        if sql:
            threading.current_thread().query_hooks = ()
        out = io.StringIO()
        for text, delay in queries.most_common(12):
            out.write("  SQL %6.3f s  %s\n" % (delay, text))
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(25)
        if own:
            out.write("The connector's own functions:\n")
            stats.print_stats("mirakl_connector/(models|lib)", 25)
        stats.sort_stats("tottime").print_stats(15)
        (stream or sys.stdout).write(out.getvalue() + "\n")


def peak_mb():
    """Peak resident memory (RSS) of this process so far, in MB."""
    # pylint: disable=import-outside-toplevel
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
