"""The project's own Odoo 18.0 environment, for machines that have none.

When the running Python cannot import Odoo 18.0, the demo, the tests, the
benchmarks and CI build (once) and then use a local environment inside the
checkout, ignored by git:

    .venv/              a virtualenv of the running Python
    .venv/odoo/         the Odoo 18.0 source tree (from --odoo-source, ODOO_SOURCE
                        or Odoo's nightly source archive), importable through
                        .venv/.../site-packages/odoo-18.0.pth
    .venv/addons/       mirakl_connector -> the checkout (whatever its folder name)
    .venv/odoo.conf     Odoo's configuration for it (addons_path, data_dir)
    .venv/data/         Odoo's filestore and sessions
    .venv/setup.json    what was installed, so that a second run does nothing

Odoo's Python requirements are installed with pins that have wheels for the
running Python, psycopg2-binary where PostgreSQL's headers are missing, and
python-ldap only where its headers exist; then the project's
requirements.txt. PostgreSQL is started when installed and not answering,
installed with apt when missing (root on Debian/Ubuntu only), and given a role
for the current user. Nothing here asks a question; the user's ~/.odoorc is
never read for the local environment nor written.

Only the standard library is used: this runs under a bare Python.
"""
# pylint: disable=print-used

import ast
import configparser
import getpass
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import venv
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODULE = "mirakl_connector"
LOCAL_DIR = REPO_ROOT / ".venv"
ODOO_DIR = LOCAL_DIR / "odoo"
ADDONS_DIR = LOCAL_DIR / "addons"
CONFIG_PATH = LOCAL_DIR / "odoo.conf"
STATE_PATH = LOCAL_DIR / "setup.json"
DATA_DIR = LOCAL_DIR / "data"

# Odoo's own nightly source archive of 18.0 (a tarball of the whole Community
# tree, addons moved under odoo/addons). --odoo-source or ODOO_SOURCE replace it.
DEFAULT_ODOO_SOURCE = (
    "https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz"
)
# An Odoo 18.0 source archive is far larger than this; anything smaller is an
# error page or a truncated download.
MIN_ARCHIVE_BYTES = 20 * 1024 * 1024
SUPPORTED_PYTHONS = ((3, 10), (3, 11), (3, 12))
# Odoo 18.0's requirements.txt pins Debian/Ubuntu versions per Python; the
# pins of its python_version >= '3.12' lines (Ubuntu 24.04) have wheels for
# Python 3.10 to 3.12, the older ones not always (gevent, lxml, Pillow...).
PIN_PYTHON = "3.12"
# Set by a command that re-executed itself in the local environment.
REEXEC_MARK = "MIRAKL_CONNECTOR_LOCAL_ENV"


class SetupError(Exception):
    """The local environment cannot be built; the message says what to do."""


def say(message):
    print(message, flush=True)


def venv_python(base=LOCAL_DIR):
    if os.name == "nt":
        return base / "Scripts" / "python.exe"
    return base / "bin" / "python"


def in_local_env():
    """True when this process runs on the local environment's Python."""
    try:
        return Path(sys.prefix).resolve() == LOCAL_DIR.resolve()
    except OSError:
        return False


def odoo_version(python):
    """Odoo's major version as ``python`` imports it, or None."""
    try:
        probe = subprocess.run(
            [str(python), "-c", "import odoo.release as r; print(r.major_version)"],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return probe.stdout.strip() if probe.returncode == 0 else None


# --------------------------------------------------------------------------
# Odoo's source: a folder, an archive or a URL
# --------------------------------------------------------------------------


def release_version(tree):
    """(major, minor) of an Odoo tree's odoo/release.py, or None."""
    release = Path(tree) / "odoo" / "release.py"
    if not release.is_file():
        return None
    match = re.search(
        r"^version_info\s*=\s*\(\s*(?:'saas~)?(\d+)'?\s*,\s*(\d+)",
        release.read_text(encoding="utf-8", errors="replace"),
        re.MULTILINE,
    )
    return (int(match.group(1)), int(match.group(2))) if match else None


def find_odoo_root(folder, depth=2):
    """The folder holding odoo/release.py: ``folder`` or one below it."""
    folder = Path(folder)
    if (folder / "odoo" / "release.py").is_file():
        return folder
    if depth:
        for child in sorted(p for p in folder.iterdir() if p.is_dir()):
            found = find_odoo_root(child, depth - 1)
            if found:
                return found
    return None


def _check_tree(tree, source):
    version = release_version(tree)
    if version != (18, 0):
        found = "%d.%d" % version if version else "no odoo/release.py"
        raise SetupError(
            "%s is not an Odoo 18.0 source tree (%s). Give an Odoo 18.0 folder or "
            "archive with --odoo-source (or ODOO_SOURCE)." % (source, found)
        )


def download(url, target):
    """Fetch ``url`` into ``target`` with progress lines; check its size."""
    say("    downloading %s" % url)
    request = urllib.request.Request(url, headers={"User-Agent": "mirakl_connector"})
    received, started, next_report = 0, time.monotonic(), 0.0
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            expected = int(response.headers.get("Content-Length") or 0)
            with open(target, "wb") as handle:
                while True:
                    chunk = response.read(1024 * 1024)
                    if not chunk:
                        break
                    handle.write(chunk)
                    received += len(chunk)
                    elapsed = time.monotonic() - started
                    if elapsed >= next_report:
                        next_report = elapsed + 5
                        share = (
                            " (%d %%)" % (100 * received // expected)
                            if expected
                            else ""
                        )
                        say("    %.0f MB%s" % (received / 1e6, share))
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise SetupError(
            "could not download Odoo 18.0 from %s (%s). Download an Odoo 18.0 "
            "source archive (or clone Odoo's 18.0 branch) elsewhere and give it "
            "with --odoo-source PATH (or ODOO_SOURCE=PATH)." % (url, exc)
        ) from exc
    if expected and received != expected:
        raise SetupError(
            "the download of %s stopped at %d of %d bytes: retry, or give a local "
            "copy with --odoo-source PATH." % (url, received, expected)
        )
    if received < MIN_ARCHIVE_BYTES:
        raise SetupError(
            "%s gave %d bytes, too small for an Odoo 18.0 source archive: give one "
            "with --odoo-source PATH (or ODOO_SOURCE=PATH)." % (url, received)
        )
    say("    %.0f MB in %.0f s" % (received / 1e6, time.monotonic() - started))


def _extract(archive, target):
    name = archive.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as handle:
            handle.extractall(target)
        return
    try:
        with tarfile.open(archive) as handle:
            if hasattr(tarfile, "data_filter"):
                handle.extractall(target, filter="data")
            else:
                handle.extractall(target)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise SetupError(
            "%s is not a readable .tar.gz, .tar.xz or .zip archive (%s): give an "
            "Odoo 18.0 source folder or archive with --odoo-source." % (archive, exc)
        ) from exc


def install_odoo_source(source):
    """Put an Odoo 18.0 tree at .venv/odoo from ``source`` (folder, archive or
    URL); returns a description of the source for setup.json."""
    staging = Path(tempfile.mkdtemp(prefix="odoo-src-", dir=LOCAL_DIR))
    try:
        if re.match(r"^(https?|ftp)://", source):
            archive = staging / Path(source.split("?", 1)[0]).name
            if not re.search(r"\.(tar\.gz|tgz|tar\.xz|txz|zip)$", archive.name):
                archive = archive.with_name("odoo-source.tar.gz")
            download(source, archive)
        else:
            path = Path(source).expanduser().resolve()
            if not path.exists():
                raise SetupError("--odoo-source %s: no such file or folder." % source)
            archive = path if path.is_file() else None
            if archive is None:
                root = find_odoo_root(path)
                _check_tree(root or path, source)
                say("    copying the Odoo tree from %s" % root)
                shutil.copytree(
                    root,
                    ODOO_DIR,
                    symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "__pycache__", "*.pyc"),
                )
                return str(path)
            source = str(path)
        say("    unpacking %s" % archive.name)
        unpacked = staging / "unpacked"
        _extract(archive, unpacked)
        root = find_odoo_root(unpacked)
        _check_tree(root or unpacked, source)
        shutil.move(str(root), str(ODOO_DIR))
        return source
    finally:
        shutil.rmtree(staging, ignore_errors=True)


PLACEHOLDER = (
    "Placeholder written by mirakl_connector's set-up: this Odoo source ships "
    "without its addons' tests, and Odoo's test bundles name this file."
)


def complete_test_assets(tree):
    """Write an empty placeholder for every test asset (``*/static/tests/*``)
    that an addon's manifest names but the tree lacks: an Odoo source trimmed
    of its tests (like the project's offline copy) otherwise cannot build the
    bundles of browser tests (tours), and Odoo's runner stops on them. Only
    missing files are written; returns how many."""
    tree = Path(tree)
    written = 0
    for manifest in list(tree.glob("addons/*/__manifest__.py")) + list(
        tree.glob("odoo/addons/*/__manifest__.py")
    ):
        try:
            assets = ast.literal_eval(manifest.read_text(encoding="utf-8")).get(
                "assets"
            )
        except (ValueError, SyntaxError):
            continue
        root = manifest.parent.parent
        for entries in (assets or {}).values():
            for entry in entries:
                if isinstance(entry, (list, tuple)):
                    paths = [] if entry[0] == "include" else entry[1:]
                else:
                    paths = [entry]
                for path in paths:
                    if (
                        not isinstance(path, str)
                        or "/static/tests/" not in path
                        or any(char in path for char in "*?[")
                    ):
                        continue
                    target = root / path
                    if target.exists():
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if target.suffix == ".xml":
                        text = "<?xml version='1.0'?>\n<!-- %s -->\n<templates/>\n"
                    else:
                        text = "/* %s */\n"
                    target.write_text(text % PLACEHOLDER, encoding="utf-8")
                    written += 1
    return written


# --------------------------------------------------------------------------
# Python packages
# --------------------------------------------------------------------------

# Evaluated by the virtualenv's Python: Odoo's requirement lines, their
# markers read as if Python were PIN_PYTHON (platform markers stay real).
_PICK_PINS = r"""
import json, sys
try:
    from pip._vendor.packaging.markers import Marker
    from pip._vendor.packaging.requirements import Requirement
except ImportError:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
path, pin_python = sys.argv[1:3]
env = {"python_version": pin_python, "python_full_version": pin_python + ".0"}
out = []
for line in open(path, encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    req = Requirement(line)
    if req.marker is not None and not req.marker.evaluate(env):
        continue
    out.append([req.name, str(req.specifier)])
print(json.dumps(out))
"""


def _has_header(*names):
    include_dirs = ["/usr/include", "/usr/local/include"]
    return all(any((Path(d) / n).is_file() for d in include_dirs) for n in names)


def _postgres_headers():
    pg_config = shutil.which("pg_config")
    if not pg_config:
        return False
    try:
        include = subprocess.run(
            [pg_config, "--includedir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return False
    return (Path(include) / "libpq-fe.h").is_file()


def odoo_requirements(python):
    """Odoo's requirement specifiers for this machine (list of strings) and
    notes on the choices made."""
    picked = json.loads(
        subprocess.run(
            [
                str(python),
                "-c",
                _PICK_PINS,
                str(ODOO_DIR / "requirements.txt"),
                PIN_PYTHON,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    reqs, notes = [], []
    for name, spec in picked:
        lowered = name.lower()
        if lowered == "python-ldap" and not _has_header(
            "ldap.h", "lber.h", "sasl/sasl.h"
        ):
            notes.append("python-ldap left out (no LDAP/SASL headers: LDAP login only)")
            continue
        if lowered == "psycopg2" and not _postgres_headers():
            name = "psycopg2-binary"
            notes.append("psycopg2-binary instead of psycopg2 (no PostgreSQL headers)")
        reqs.append(name + spec)
    return reqs, notes


def pip_install(python, args, what):
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    cmd += ["--no-input", "--prefer-binary", "-q", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise SetupError(
            "pip could not install %s:\n    %s\nFix the cause above (network, "
            "package registry, compiler), then rerun with --force."
            % (what, "\n    ".join(tail))
        )


def _requirements_digest():
    digest = hashlib.sha256()
    for name in ("requirements.txt",):
        digest.update((REPO_ROOT / name).read_bytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------

_CONNECT = r"""
import sys, psycopg2
kwargs = dict(a.split("=", 1) for a in sys.argv[1:])
try:
    psycopg2.connect(dbname="postgres", connect_timeout=5, **kwargs).close()
except psycopg2.OperationalError as exc:
    print(str(exc).strip().replace("\n", " "))
    sys.exit(1)
"""


def _db_options(config_path):
    parser = configparser.RawConfigParser()
    parser.read(config_path)
    options = dict(parser.items("options")) if parser.has_section("options") else {}
    out = {}
    for key in ("host", "port", "user", "password"):
        value = options.get("db_%s" % key)
        if value not in (None, "", "False", "false", "None"):
            out[key] = value
    return out


def _try_connect(python, db_options):
    args = ["%s=%s" % item for item in db_options.items()]
    proc = subprocess.run(
        [str(python), "-c", _CONNECT, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0, proc.stdout.strip() or proc.stderr.strip()


def _clusters():
    """Debian's PostgreSQL clusters as (version, name)."""
    return [
        (path.parent.name, path.name)
        for path in sorted(Path("/etc/postgresql").glob("*/*"))
        if path.is_dir()
    ]


def _is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _run(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SetupError(
            "%s failed (%s):\n    %s"
            % (what, " ".join(cmd), (proc.stdout + proc.stderr).strip()[-2000:])
        )


def _start_clusters():
    for version, name in _clusters():
        say("    starting PostgreSQL cluster %s/%s" % (version, name))
        subprocess.run(
            ["pg_ctlcluster", version, name, "start"],
            capture_output=True,
            check=False,
        )


def _install_postgres():
    say("    installing PostgreSQL with apt-get (about a minute)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            raise SetupError(
                "%s failed:\n    %s\nInstall PostgreSQL 12 or newer yourself, "
                "then rerun."
                % (" ".join(cmd), (proc.stdout + proc.stderr).strip()[-1500:])
            )


def ensure_postgres(python, config_path, announce=True):
    """Make PostgreSQL answer for the current user; returns what was done."""
    db_options = _db_options(config_path)
    ok, error = _try_connect(python, db_options)
    if ok:
        return []
    done = []
    user = db_options.get("user") or getpass.getuser()
    remote = db_options.get("host") not in (None, "localhost", "127.0.0.1", "::1")
    if remote and not db_options.get("host", "").startswith("/"):
        raise SetupError(
            "PostgreSQL at %s does not answer (%s): fix db_host/db_port/db_user/"
            "db_password in %s." % (db_options["host"], error, config_path)
        )
    if "does not exist" not in error or "role" not in error:
        # No server answering: start the local cluster, or install one.
        debian = Path("/etc/debian_version").exists() and shutil.which("apt-get")
        if not _clusters() and not shutil.which("pg_ctl"):
            if _is_root() and debian:
                _install_postgres()
                done.append("installed PostgreSQL (apt-get install postgresql)")
            else:
                raise SetupError(
                    "PostgreSQL is not installed (%s). Install it, for example "
                    "`sudo apt-get install postgresql` on Debian/Ubuntu, then rerun."
                    % error
                )
        if shutil.which("pg_ctlcluster") and _clusters():
            _start_clusters()
            done.append("started PostgreSQL")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok, error = _try_connect(python, db_options)
            if ok or ("role" in error and "does not exist" in error):
                break
            time.sleep(1)
        if ok:
            return done
        if "role" not in error:
            raise SetupError(
                "PostgreSQL does not answer (%s). Start it, for example `sudo "
                "pg_ctlcluster <version> main start` or `sudo service postgresql "
                "start`, then rerun." % error
            )
    # The server answers but has no role for this user.
    command = "createuser --superuser %s" % user
    if _is_root() and shutil.which("su") and _user_exists("postgres"):
        say("    creating the PostgreSQL role %s" % user)
        _run(["su", "postgres", "-c", command], "creating the PostgreSQL role")
        done.append("created PostgreSQL role %s" % user)
    else:
        raise SetupError(
            "PostgreSQL has no role for %s: run `sudo -u postgres %s`, then rerun."
            % (user, command)
        )
    ok, error = _try_connect(python, db_options)
    if not ok:
        raise SetupError("PostgreSQL still refuses the connection: %s" % error)
    return done


def _user_exists(name):
    try:
        import pwd

        pwd.getpwnam(name)
        return True
    except (ImportError, KeyError):
        return False


# --------------------------------------------------------------------------
# The environment
# --------------------------------------------------------------------------


def read_state():
    try:
        return json.loads(STATE_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _site_packages(python):
    return subprocess.run(
        [
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def write_config():
    """.venv/odoo.conf: the addons path (the checkout as mirakl_connector,
    Odoo's addons) and the data dir; kept when it exists (a user may have
    added db_host and friends)."""
    ADDONS_DIR.mkdir(exist_ok=True)
    link = ADDONS_DIR / MODULE
    if not link.is_symlink():
        if link.exists():
            shutil.rmtree(link)
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    if CONFIG_PATH.exists():
        return
    addons = [ADDONS_DIR] + [
        p for p in (ODOO_DIR / "addons", ODOO_DIR / "odoo" / "addons") if p.is_dir()
    ]
    parser = configparser.RawConfigParser()
    parser["options"] = {
        "addons_path": ",".join(str(p) for p in addons),
        "data_dir": str(DATA_DIR),
    }
    with open(CONFIG_PATH, "w", encoding="utf-8") as handle:
        handle.write(
            "; Written by scripts/setup.py for the project's local environment.\n"
            "; Add db_host, db_port, db_user, db_password here for a PostgreSQL\n"
            "; that is not the local one.\n"
        )
        parser.write(handle)


def _check_python():
    if sys.version_info[:2] not in SUPPORTED_PYTHONS:
        raise SetupError(
            "Odoo 18.0 runs on Python 3.10 to 3.12; this is Python %d.%d (%s). Run "
            "the command with one of those, for example `python3.12 %s`."
            % (*sys.version_info[:2], sys.executable, " ".join(sys.argv))
        )


def _create_venv():
    try:
        venv.EnvBuilder(with_pip=True, symlinks=os.name != "nt").create(LOCAL_DIR)
    except (subprocess.CalledProcessError, OSError) as exc:
        hint = (
            "install Python's venv module (Debian/Ubuntu: apt-get install python3-venv)"
        )
        raise SetupError(
            "could not create %s (%s): %s, then rerun." % (LOCAL_DIR, exc, hint)
        ) from exc


def ensure(source=None, force=False):
    """Build the local environment unless it is complete; then make sure
    PostgreSQL answers. Returns (python, list of what was done)."""
    _check_python()
    if force and in_local_env():
        raise SetupError(
            "--force rebuilds %s: run it with the Python that built it (for "
            "example python3), not with the environment's own." % LOCAL_DIR
        )
    python = venv_python()
    state = read_state()
    done = []
    if force and LOCAL_DIR.exists():
        say("--force: removing %s" % LOCAL_DIR)
        shutil.rmtree(LOCAL_DIR)
        state = None
    if state and python.exists() and odoo_version(python) == "18.0":
        if state.get("requirements") != _requirements_digest():
            say("requirements.txt changed: installing it into %s" % LOCAL_DIR)
            pip_install(
                python, ["-r", str(REPO_ROOT / "requirements.txt")], "requirements.txt"
            )
            state["requirements"] = _requirements_digest()
            STATE_PATH.write_text(json.dumps(state, indent=2), encoding="utf-8")
            done.append("installed the changed requirements.txt")
        if "test_asset_placeholders" not in state:
            count = complete_test_assets(ODOO_DIR)
            state["test_asset_placeholders"] = count
            STATE_PATH.write_text(json.dumps(state, indent=2), encoding="utf-8")
            if count:
                done.append(
                    "wrote %d placeholders for Odoo's missing test assets" % count
                )
        write_config()
    else:
        done += _build(source)
    pg_done = ensure_postgres(python, CONFIG_PATH)
    if state is None or pg_done:
        step = "[5/5] " if state is None else ""
        say("%sPostgreSQL: %s" % (step, "; ".join(pg_done) or "answers"))
    return python, done + pg_done


def _build(source):
    source = source or os.environ.get("ODOO_SOURCE") or DEFAULT_ODOO_SOURCE
    started = time.monotonic()
    say(
        "Setting up the project's local Odoo 18.0 environment in %s (once; about "
        "two minutes from a local Odoo archive, plus the download otherwise)."
        % LOCAL_DIR
    )
    if LOCAL_DIR.exists():
        say("    removing the incomplete %s" % LOCAL_DIR)
        shutil.rmtree(LOCAL_DIR)
    say(
        "[1/5] virtualenv of %s (Python %d.%d)"
        % (sys.executable, *sys.version_info[:2])
    )
    _create_venv()
    python = venv_python()
    say("[2/5] Odoo 18.0 source from %s" % source)
    source_text = install_odoo_source(source)
    placeholders = complete_test_assets(ODOO_DIR)
    if placeholders:
        say(
            "    %d test assets missing from this Odoo source: empty placeholders "
            "written, so that Odoo's browser tests (tours) can run" % placeholders
        )
    pth = Path(_site_packages(python)) / "odoo-18.0.pth"
    pth.write_text(str(ODOO_DIR) + "\n", encoding="utf-8")
    reqs, notes = odoo_requirements(python)
    say(
        "[3/5] Odoo's Python requirements (%d packages, pins of Odoo's Python %s "
        "lines; about a minute)" % (len(reqs), PIN_PYTHON)
    )
    for note in notes:
        say("    " + note)
    pip_install(python, ["--upgrade", "pip"], "pip")
    optional = [r for r in reqs if r.lower().startswith("python-ldap")]
    pip_install(python, [r for r in reqs if r not in optional], "Odoo's requirements")
    for req in optional:
        try:
            pip_install(python, [req], req)
        except SetupError:
            say("    %s could not be built: left out (LDAP login only)" % req)
    say("[4/5] the project's requirements.txt")
    pip_install(python, ["-r", str(REPO_ROOT / "requirements.txt")], "requirements.txt")
    version = odoo_version(python)
    if version != "18.0":
        raise SetupError(
            "the environment was built but its Python does not import Odoo 18.0 "
            "(got %r): rerun with --force." % version
        )
    write_config()
    launcher = LOCAL_DIR / "bin" / "odoo"
    launcher.write_text(
        '#!/bin/sh\nexec "%s" -m odoo "$@"\n' % python, encoding="utf-8"
    )
    launcher.chmod(0o755)
    state = {
        "odoo_source": source_text,
        "odoo_version": version,
        "python": "%d.%d.%d" % sys.version_info[:3],
        "base_python": sys.executable,
        "requirements": _requirements_digest(),
        "odoo_requirements": reqs,
        "notes": notes,
        "test_asset_placeholders": placeholders,
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    STATE_PATH.write_text(json.dumps(state, indent=2), encoding="utf-8")
    say("    Python environment built in %.0f s" % (time.monotonic() - started))
    return [
        "built %s: Odoo 18.0 from %s, %d Python packages"
        % (LOCAL_DIR, source_text, len(reqs))
    ]


def reexec_if_needed(script, argv, source=None):
    """Run ``script argv`` again on the local environment's Python when the
    running Python cannot import Odoo 18.0 (building the environment first).
    Returns normally when the running Python has Odoo 18.0; exits otherwise."""
    if odoo_version(sys.executable) == "18.0":
        return
    name = "scripts/%s" % Path(script).name
    if os.environ.get(REEXEC_MARK) or in_local_env():
        print(
            "%s: the local environment %s does not import Odoo 18.0: rebuild it "
            "with `python3 scripts/setup.py --force`." % (name, LOCAL_DIR),
            file=sys.stderr,
        )
        sys.exit(2)
    say(
        "%s: Odoo 18.0 is not importable by %s: using the project's local "
        "environment (%s)." % (name, sys.executable, LOCAL_DIR)
    )
    try:
        python, _done = ensure(source)
    except SetupError as exc:
        print("%s: %s" % (name, exc), file=sys.stderr)
        sys.exit(2)
    env = dict(os.environ, **{REEXEC_MARK: "1", "ODOO_RC": str(CONFIG_PATH)})
    sys.stdout.flush()
    os.execve(str(python), [str(python), str(Path(script).resolve()), *argv], env)
