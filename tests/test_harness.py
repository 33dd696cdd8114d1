"""The suite itself: every test runs under both pytest-odoo and Odoo's runner."""

import ast
import importlib
import inspect
import unittest
from pathlib import Path

from odoo.tests import BaseCase, tagged

from .. import lib

TESTS_DIR = Path(__file__).resolve().parent
ADDON_DIR = TESTS_DIR.parent


@tagged("post_install", "-at_install")
class TestHarness(BaseCase):
    def test_every_test_module_is_collected_by_odoo(self):
        """Odoo's runner only sees modules imported in tests/__init__.py."""
        init = ast.parse((TESTS_DIR / "__init__.py").read_text())
        imported = {
            alias.name
            for node in ast.walk(init)
            if isinstance(node, ast.ImportFrom) and node.level == 1
            for alias in node.names
        }
        modules = sorted(p.stem for p in TESTS_DIR.glob("test_*.py"))
        self.assertTrue(modules)
        self.assertEqual(sorted(set(modules) - imported), [])

    def test_every_test_class_is_an_odoo_test_case(self):
        """A plain unittest.TestCase would be silently skipped by Odoo's runner."""
        package = __name__.rsplit(".", 1)[0]
        for path in sorted(TESTS_DIR.glob("test_*.py")):
            module = importlib.import_module("%s.%s" % (package, path.stem))
            for name, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ != module.__name__:
                    continue
                if issubclass(cls, unittest.TestCase):
                    with self.subTest(test_class=name):
                        self.assertTrue(issubclass(cls, BaseCase))

    def test_manifest_is_the_single_source_of_the_version(self):
        manifest = ast.literal_eval((ADDON_DIR / "__manifest__.py").read_text())
        self.assertEqual(manifest["version"], "18.0.1.0.0")
        self.assertEqual(lib.__version__, manifest["version"])
        self.assertIn(manifest["version"], lib.USER_AGENT)
        self.assertEqual(manifest["license"], "LGPL-3")
        self.assertEqual(manifest["external_dependencies"], {"python": ["requests"]})
        for data_file in manifest["data"]:
            with self.subTest(data_file=data_file):
                self.assertTrue((ADDON_DIR / data_file).is_file())

    def test_lib_and_sandbox_never_import_odoo(self):
        """lib/ is pure Python; the sandbox shares no code with lib/."""
        for folder in ("lib", "sandbox"):
            for path in (ADDON_DIR / folder).glob("*.py"):
                tree = ast.parse(path.read_text())
                for node in ast.walk(tree):
                    names = []
                    if isinstance(node, ast.Import):
                        names = [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom):
                        names = [node.module or ""]
                        if node.level > 1:
                            names.append("..")  # reaching outside the package
                    for name in names:
                        with self.subTest(
                            file=str(path.relative_to(ADDON_DIR)), name=name
                        ):
                            self.assertFalse(name == "odoo" or name.startswith("odoo."))
                            self.assertNotEqual(name, "..")
                            if folder == "sandbox":
                                self.assertNotIn("lib", name.split("."))
