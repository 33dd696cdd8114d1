"""The project's own set-up (scripts/local_env.py): where Odoo comes from, how
a download is checked, which pins are installed. Archives are built here and
served over real HTTP on loopback; nothing is installed."""

import http.server
import importlib.util
import io
import os
import sys
import tarfile
import tempfile
import threading
import zipfile
from pathlib import Path

from odoo.tests import BaseCase, tagged

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _load_local_env():
    spec = importlib.util.spec_from_file_location(
        "mirakl_local_env", SCRIPTS / "local_env.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


local_env = _load_local_env()

RELEASE = "version_info = (%s, %s, 0, FINAL, '')\nserie = '%s.%s'\n"


def odoo_tree(root, major=18, minor=0, name="odoo-18.0"):
    """A minimal Odoo-like tree: odoo/release.py and requirements.txt."""
    tree = Path(root) / name
    (tree / "odoo").mkdir(parents=True)
    (tree / "addons").mkdir()
    (tree / "odoo" / "release.py").write_text(RELEASE % (major, minor, major, minor))
    (tree / "requirements.txt").write_text("pytz\n")
    return tree


def tar_bytes(tree, padding=0):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as handle:
        handle.add(tree, arcname=tree.name)
        if padding:
            # incompressible bytes, so the archive passes a size threshold
            data = io.BytesIO(os.urandom(padding))
            info = tarfile.TarInfo("%s/padding.bin" % tree.name)
            info.size = len(data.getvalue())
            handle.addfile(info, data)
    return buffer.getvalue()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


@tagged("post_install", "-at_install")
class TestLocalSetup(BaseCase):
    def setUp(self):
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix="mirakl-setup-test-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp, True))
        # The environment's folders point into the temporary folder.
        self.patch(local_env, "LOCAL_DIR", self.tmp / "venv")
        self.patch(local_env, "ODOO_DIR", self.tmp / "venv" / "odoo")
        (self.tmp / "venv").mkdir()
        self.patch(local_env, "say", lambda message: None)

    def serve(self, routes):
        """Serve {path: (status, body, headers)} on loopback; returns the base URL."""

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                status, body, headers = routes[self.path]
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = _Server(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()

        def stop():
            server.shutdown()
            server.server_close()

        self.addCleanup(stop)
        return "http://127.0.0.1:%d" % server.server_address[1]

    def test_release_version_and_root(self):
        tree = odoo_tree(self.tmp / "src")
        self.assertEqual(local_env.release_version(tree), (18, 0))
        self.assertEqual(local_env.find_odoo_root(self.tmp / "src"), tree)
        old = odoo_tree(self.tmp / "old", 17, 0, "odoo-17.0")
        self.assertEqual(local_env.release_version(old), (17, 0))
        self.assertIsNone(local_env.find_odoo_root(self.tmp / "venv"))

    def test_folder_source_is_copied_and_checked(self):
        tree = odoo_tree(self.tmp / "src")
        (tree / ".git").mkdir()
        self.assertEqual(local_env.install_odoo_source(str(tree)), str(tree))
        self.assertEqual(local_env.release_version(local_env.ODOO_DIR), (18, 0))
        self.assertFalse((local_env.ODOO_DIR / ".git").exists())

    def test_wrong_version_is_refused(self):
        old = odoo_tree(self.tmp / "old", 17, 0, "odoo-17.0")
        with self.assertRaisesRegex(local_env.SetupError, "not an Odoo 18.0.*17.0"):
            local_env.install_odoo_source(str(old))
        with self.assertRaisesRegex(local_env.SetupError, "no such file or folder"):
            local_env.install_odoo_source(str(self.tmp / "missing"))

    def test_archives_tar_and_zip(self):
        tree = odoo_tree(self.tmp / "src")
        archive = self.tmp / "odoo.tar.gz"
        archive.write_bytes(tar_bytes(tree))
        local_env.install_odoo_source(str(archive))
        self.assertEqual(local_env.release_version(local_env.ODOO_DIR), (18, 0))
        __import__("shutil").rmtree(local_env.ODOO_DIR)
        zipped = self.tmp / "odoo.zip"
        with zipfile.ZipFile(zipped, "w") as handle:
            for path in tree.rglob("*"):
                handle.write(path, path.relative_to(tree.parent))
        local_env.install_odoo_source(str(zipped))
        self.assertTrue((local_env.ODOO_DIR / "addons").is_dir())
        broken = self.tmp / "broken.tar.xz"
        broken.write_bytes(b"not an archive")
        __import__("shutil").rmtree(local_env.ODOO_DIR)
        with self.assertRaisesRegex(local_env.SetupError, "not a readable"):
            local_env.install_odoo_source(str(broken))

    def test_download_checked(self):
        tree = odoo_tree(self.tmp / "src")
        small = tar_bytes(tree)
        big = tar_bytes(tree, padding=300 * 1024)
        self.patch(local_env, "MIN_ARCHIVE_BYTES", 200 * 1024)
        url = self.serve(
            {
                "/odoo.tar.gz": (200, big, {}),
                "/small.tar.gz": (200, small, {}),
                "/missing.tar.gz": (404, b"Not found", {}),
                "/cut.tar.gz": (200, big[:1000], {"Content-Length": str(len(big))}),
            }
        )
        with self.assertRaisesRegex(local_env.SetupError, "too small.*--odoo-source"):
            local_env.install_odoo_source(url + "/small.tar.gz")
        with self.assertRaisesRegex(
            local_env.SetupError, "could not download.*404.*--odoo-source"
        ):
            local_env.install_odoo_source(url + "/missing.tar.gz")
        with self.assertRaisesRegex(local_env.SetupError, "stopped at|could not"):
            local_env.install_odoo_source(url + "/cut.tar.gz")
        self.assertFalse(local_env.ODOO_DIR.exists())
        local_env.install_odoo_source(url + "/odoo.tar.gz")
        self.assertEqual(local_env.release_version(local_env.ODOO_DIR), (18, 0))
        # nothing of the download is left behind
        self.assertEqual(
            sorted(p.name for p in local_env.LOCAL_DIR.iterdir()), ["odoo"]
        )

    def test_pins_have_wheels_for_the_running_python(self):
        """Odoo's Python >= 3.12 pins are chosen whatever the Python; LDAP is
        left out without its headers; psycopg2 becomes psycopg2-binary
        without PostgreSQL's headers."""
        tree = odoo_tree(self.tmp / "src")
        (tree / "requirements.txt").write_text(
            "lxml==4.9.3 ; python_version > '3.10' and python_version < '3.12'\n"
            "lxml==5.2.1; python_version >= '3.12' # (Noble)\n"
            "lxml-html-clean; python_version >= '3.12'\n"
            "gevent==24.2.1 ; sys_platform != 'win32' and python_version >= '3.12' "
            "and python_version < '3.13'\n"
            "gevent==24.11.1 ; sys_platform != 'win32' and python_version >= '3.13'\n"
            "psycopg2==2.9.9 ; python_version >= '3.12' and python_version < '3.13'\n"
            "python-ldap==3.4.4 ; sys_platform != 'win32' "
            "and python_version >= '3.12'\n"
            "pypiwin32 ; sys_platform == 'win32'\n"
            "pytz  # no version pinning\n"
        )
        self.patch(local_env, "ODOO_DIR", tree)
        self.patch(local_env, "_has_header", lambda *names: False)
        self.patch(local_env, "_postgres_headers", lambda: False)
        reqs, notes = local_env.odoo_requirements(sys.executable)
        self.assertEqual(
            reqs,
            [
                "lxml==5.2.1",
                "lxml-html-clean",
                "gevent==24.2.1",
                "psycopg2-binary==2.9.9",
                "pytz",
            ],
        )
        self.assertEqual(len(notes), 2)
        self.patch(local_env, "_has_header", lambda *names: True)
        self.patch(local_env, "_postgres_headers", lambda: True)
        reqs, notes = local_env.odoo_requirements(sys.executable)
        self.assertIn("psycopg2==2.9.9", reqs)
        self.assertIn("python-ldap==3.4.4", reqs)
        self.assertEqual(notes, [])

    def test_config_exposes_the_checkout_as_mirakl_connector(self):
        self.patch(local_env, "ADDONS_DIR", self.tmp / "venv" / "addons")
        self.patch(local_env, "CONFIG_PATH", self.tmp / "venv" / "odoo.conf")
        self.patch(local_env, "ODOO_DIR", odoo_tree(self.tmp / "src"))
        local_env.write_config()
        link = self.tmp / "venv" / "addons" / "mirakl_connector"
        self.assertEqual(link.resolve(), local_env.REPO_ROOT.resolve())
        text = (self.tmp / "venv" / "odoo.conf").read_text()
        self.assertIn("addons_path = %s" % (self.tmp / "venv" / "addons"), text)
        self.assertIn(str(local_env.ODOO_DIR / "addons"), text)
        self.assertIn("data_dir = ", text)
        # kept as it is on a second run (a user may have added db_host...)
        (self.tmp / "venv" / "odoo.conf").write_text(text + "db_host = db\n")
        local_env.write_config()
        self.assertIn("db_host = db", (self.tmp / "venv" / "odoo.conf").read_text())
