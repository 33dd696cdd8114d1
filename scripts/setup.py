#!/usr/bin/env python3
"""Set up the project's local Odoo 18.0 environment (the demo and the tests do
it themselves when needed; this does it alone and says what it did).

    python3 scripts/setup.py [--odoo-source PATH_OR_URL] [--force] [--local]

When the running Python already imports Odoo 18.0 (your own installation),
the commands use it and there is nothing to set up (``--local`` builds the
local environment anyway). Otherwise it builds ``.venv/`` inside the checkout
(see scripts/local_env.py): a virtualenv, Odoo 18.0 from ``--odoo-source``
(a folder holding an Odoo 18.0 tree, a .tar.gz/.tar.xz/.zip archive of one, or
a URL of such an archive; default ``$ODOO_SOURCE``, else Odoo's nightly 18.0
source archive), Odoo's Python requirements, the project's requirements.txt,
an Odoo configuration file of its own; then it makes sure PostgreSQL answers.
A second run does nothing and says so; ``--force`` rebuilds.
"""
# pylint: disable=print-used

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import local_env


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--odoo-source",
        help="folder, archive (.tar.gz, .tar.xz, .zip) or URL of Odoo 18.0 "
        "(default: $ODOO_SOURCE, else %s)" % local_env.DEFAULT_ODOO_SOURCE,
    )
    parser.add_argument(
        "--force", action="store_true", help="remove .venv/ and build it again"
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="build the local environment even when this Python imports Odoo 18.0",
    )
    args = parser.parse_args(argv)
    own = local_env.odoo_version(sys.executable)
    if own == "18.0" and not (args.local or args.force or local_env.in_local_env()):
        print(
            "Odoo 18.0 is importable by %s: the demo and the tests use it (and your "
            "Odoo configuration file). Nothing to set up; --local builds the "
            "project's own environment anyway." % sys.executable
        )
        return 0
    try:
        python, done = local_env.ensure(args.odoo_source, force=args.force)
    except local_env.SetupError as exc:
        print("scripts/setup.py: %s" % exc, file=sys.stderr)
        return 2
    state = local_env.read_state() or {}
    if done:
        print("Done:")
        for line in done:
            print("  - %s" % line)
    else:
        print(
            "Nothing to do: the local environment is complete and PostgreSQL answers."
        )
    print(
        "Local environment: %s (Python %s, Odoo %s from %s)\n"
        "Odoo configuration: %s\n"
        "Run Odoo yourself with: %s -m odoo -c %s"
        % (
            local_env.LOCAL_DIR,
            state.get("python"),
            state.get("odoo_version"),
            state.get("odoo_source"),
            local_env.CONFIG_PATH,
            python,
            local_env.CONFIG_PATH,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
