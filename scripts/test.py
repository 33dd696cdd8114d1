#!/usr/bin/env python3
"""The test command: fresh database, install and upgrade, whole suite, drop.

    python3 scripts/test.py [--keep-db] [--db NAME] [pytest arguments...]

1. creates a fresh database and installs mirakl_connector (and its
   dependencies) into it; any WARNING or ERROR line in the install log fails
   the run;
2. upgrades the module once (``-u``), with the same check, and runs the
   suite with Odoo's own runner during that upgrade (--no-odoo-runner skips
   it);
3. runs the whole suite with pytest-odoo (extra arguments go to pytest, for
   example ``-k sandbox`` or a test file path);
4. drops the database (unless --keep-db).

When this Python cannot import Odoo 18.0, the command first builds (once)
the project's own environment in .venv/ and runs on it (scripts/setup.py;
``--odoo-source`` or ODOO_SOURCE says where Odoo comes from).

Exit status is pytest's, or non-zero with a one-line reason when Odoo or
PostgreSQL cannot be set up.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_env import reexec_if_needed
from odoo_env import (
    MODULE,
    EnvironmentProblem,
    OdooRun,
)

# Installed next to the module for its tests only: the UK chart of accounts
# (tests/test_uk_chart.py books on a company using it). The module itself
# depends on no localisation.
TEST_MODULES = ("l10n_uk",)


def free_port():
    """A free TCP port on loopback (Odoo's test mode starts its HTTP server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def odoo_runner_summary(log):
    """The result line of Odoo's runner; fail when it ran no test at all."""
    match = re.search(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests", log)
    if not match or int(match.group(3)) == 0:
        raise SystemExit("Odoo's test runner ran no test of %s" % MODULE)
    if match.group(1) != "0" or match.group(2) != "0":
        raise SystemExit("Odoo's test runner: %s" % match.group(0))
    return match.group(0)


def _pytest_targets(run, pytest_args):
    """Map test paths given relative to the checkout onto the symlinked addon."""
    repo = run.module_dir.resolve()
    out, has_target = [], False
    for arg in pytest_args:
        path_part = arg.split("::", 1)[0]
        candidate = Path(path_part)
        if not arg.startswith("-") and (Path.cwd() / candidate).exists():
            absolute = (Path.cwd() / candidate).resolve()
            if absolute.is_relative_to(repo) and (
                absolute.suffix == ".py" or "tests" in absolute.relative_to(repo).parts
            ):
                rel = absolute.relative_to(repo)
                arg = str(run.module_dir / rel) + arg[len(path_part) :]
                has_target = True
        out.append(arg)
    if not has_target:
        out.append(str(run.module_dir / "tests"))
    return out


def main(argv=None):
    """The test command. Longer than 80 lines: its options, then the install,
    the upgrade with Odoo's runner and pytest, in the order the module
    docstring gives.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database name (default: a new unique name)")
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the database afterwards"
    )
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="use an existing database where the module is installed "
        "(upgrade it instead of creating it); implies --keep-db",
    )
    parser.add_argument(
        "--no-odoo-runner",
        action="store_true",
        help="skip the pass of Odoo's own test runner during the upgrade",
    )
    parser.add_argument(
        "--no-upgrade",
        action="store_true",
        help="with --reuse-db: skip the upgrade, only run pytest (quick loop)",
    )
    parser.add_argument(
        "--odoo-source",
        help="where to take Odoo 18.0 from when this Python cannot import it "
        "(see scripts/setup.py; default $ODOO_SOURCE, else Odoo's nightly archive)",
    )
    args, pytest_args = parser.parse_known_args(argv)
    reexec_if_needed(
        __file__, sys.argv[1:] if argv is None else list(argv), args.odoo_source
    )
    command_started = time.monotonic()
    db_name = args.db or "mirakl_test_%d_%d" % (os.getpid(), int(time.time()))
    run = OdooRun(db_name, http_port=free_port())
    keep = args.keep_db or args.reuse_db
    try:
        if not args.reuse_db:
            run.drop_db()
            started = time.monotonic()
            run.run_odoo_checked(
                ["-d", db_name, "-i", ",".join((MODULE,) + TEST_MODULES)], "install"
            )
            print(
                "install of %s into %s: clean (%.0f s)"
                % (MODULE, db_name, time.monotonic() - started)
            )
        tags = "/%s" % MODULE
        if not run.has_odoo_test_assets():
            # The browser tests need Odoo's own test assets (web/static/tests);
            # scripts/setup.py's environment completes a trimmed Odoo source.
            print(
                "scripts/test.py: this Odoo tree ships no test assets "
                "(web/static/tests): the tours (tests/test_tours.py) are skipped; "
                "the project's own environment (scripts/setup.py --local) runs them."
            )
            tags += ",-/%s:TestTours" % MODULE
            os.environ["MIRAKL_SKIP_TOURS"] = "Odoo's test assets are missing"
        if not (args.reuse_db and args.no_upgrade):
            started = time.monotonic()
            upgrade = ["-d", db_name, "-u", MODULE]
            if not args.no_odoo_runner:
                # The upgrade also runs the suite with Odoo's own runner, so
                # both runners see every test (a failure logs an ERROR line).
                upgrade += ["--test-enable", "--test-tags", tags]
            log = run.run_odoo_checked(upgrade, "upgrade")
            print(
                "upgrade (-u %s): clean (%.0f s)" % (MODULE, time.monotonic() - started)
            )
            if not args.no_odoo_runner:
                print("Odoo's test runner: %s" % odoo_runner_summary(log))
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "pytest_odoo_quiet",
            "--odoo-config=%s" % run.config_path,
            "--odoo-database=%s" % db_name,
            "--odoo-log-level=warn",
            # HttpCase tests (the tours) need Odoo's HTTP server.
            "--odoo-http",
            # Odoo 18's own pinned dependencies (passlib, Babel) import
            # modules that Python 3.13 removes: not this project's to fix.
            "-W",
            "ignore:'crypt' is deprecated:DeprecationWarning",
            "-W",
            "ignore:'cgi' is deprecated:DeprecationWarning",
            "-q",
            *_pytest_targets(run, pytest_args),
        ]
        # pytest collects from the symlinked path so that the tests import as
        # odoo.addons.mirakl_connector.tests whatever the checkout's folder is.
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parent), env.get("PYTHONPATH")])
        )
        proc = subprocess.run(cmd, cwd=str(run.addons_dir), env=env, check=False)
        print(
            "scripts/test.py: %s in %.0f s (%s)"
            % (
                "passed" if proc.returncode == 0 else "FAILED",
                time.monotonic() - command_started,
                sys.executable,
            )
        )
        return proc.returncode
    except EnvironmentProblem as exc:
        print("scripts/test.py: %s" % exc, file=sys.stderr)
        return 2
    finally:
        if not keep:
            try:
                run.drop_db()
            except EnvironmentProblem:
                pass
        run.cleanup()


if __name__ == "__main__":
    sys.exit(main())
