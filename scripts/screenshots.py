#!/usr/bin/env python3
"""Take the README's and the Apps page's screenshots with the tours.

    python3 scripts/screenshots.py [--out static/description/screenshots]

Runs the tours of tests/test_tours.py (the test command, pytest part only,
on a fresh database) with MIRAKL_SCREENSHOTS set: every ``screenshot(name)``
step of a tour saves ``<name>.png`` (1366x768, headless Chromium) into the
folder. The pictures are therefore the screens the tours just checked, never
drawn by hand; run it after changing a screen and commit the PNG files.
"""
# pylint: disable=print-used

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "static" / "description" / "screenshots"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=str(DEFAULT_OUT), help="folder of the PNG files"
    )
    args, extra = parser.parse_known_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    before = {p.name: p.stat().st_mtime for p in out.glob("*.png")}
    env = dict(os.environ, MIRAKL_SCREENSHOTS=str(out))
    cmd = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "test.py"),
        "--no-odoo-runner",
        str(REPO_ROOT / "tests" / "test_tours.py"),
        *extra,
    ]
    code = subprocess.run(cmd, env=env, check=False).returncode
    taken = sorted(
        p.name for p in out.glob("*.png") if before.get(p.name) != p.stat().st_mtime
    )
    print("%d screenshots in %s: %s" % (len(taken), out, ", ".join(taken) or "none"))
    if code == 0 and not taken:
        print("no screenshot was taken: is Chromium installed?", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
