"""The suite itself: every test runs under both pytest-odoo and Odoo's runner."""

import ast
import importlib
import inspect
import sys
import unittest
from pathlib import Path

from odoo.tests import BaseCase, tagged

from .. import lib

TESTS_DIR = Path(__file__).resolve().parent
ADDON_DIR = TESTS_DIR.parent
# odoo.addons.mirakl_connector, whatever the checkout's folder is called.
ADDON_PACKAGE = __name__.rsplit(".", 2)[0]

# Which package may import which (docs/development.rst, "Layout"). The
# concern packages of models/ in load order, with the other concerns each
# may import besides lib, const, core and itself: a DAG. The cockpit imports
# no concern: it reads their fields through the ORM.
MODEL_LAYERS = {
    "core": (),
    "orders": (),
    "shipments": ("orders",),
    "offers": (),
    "catalogue": ("offers",),
    "finance": ("orders",),
    "cockpit": (),
}
LIB_THIRD_PARTY = ("requests", "urllib3")


def allowed_in_models(package):
    """What a file of models/<package>/ may import from the addon, as its
    package docstring's ``May import:`` line says it."""
    if package == "core":
        return ("lib", "const", "core")
    return ("lib", "const", "core", *MODEL_LAYERS[package], package)


def addon_imports(path):
    """``(line, target)`` of every import of ``path``: ``target`` is the
    imported module's path inside the addon as a tuple (``("models", "core",
    "mirakl_backend")``, ``("lib",)``, ``("const",)``), ``("..",)`` for a
    relative import reaching above the addon, ``(None, name)`` for any other
    module."""
    package = path.relative_to(ADDON_DIR).parent.parts
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            up = node.level - 1
            if up > len(package):
                yield node.lineno, ("..",)
                continue
            base = package[: len(package) - up]
            if node.module:
                yield node.lineno, base + tuple(node.module.split("."))
            else:  # from . import a, b: a and b are modules of base
                for alias in node.names:
                    yield node.lineno, base + (alias.name,)
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module]
        else:
            continue
        for name in names:
            if name == ADDON_PACKAGE or name.startswith(ADDON_PACKAGE + "."):
                yield node.lineno, tuple(name[len(ADDON_PACKAGE) + 1 :].split("."))
            else:
                yield node.lineno, (None, name)


def sandbox_rules(docstring):
    """``{module: sandbox modules it may import}`` read from the table of
    the sandbox package's docstring: rows ``names -> modules`` (or
    ``nothing``, or ``every module above [except x]``), a row going on over
    the more indented lines below it."""
    rows = []
    for line in docstring.splitlines():
        if line.startswith("    ") and "->" in line:
            names, _arrow, allowed = line.partition("->")
            rows.append(([n.strip() for n in names.split(",")], allowed.strip()))
        elif rows and line.startswith("     ") and line.strip():
            rows[-1] = (rows[-1][0], rows[-1][1] + " " + line.strip())
    rules, above = {}, []
    for names, text in rows:
        if text == "nothing":
            allowed = set()
        elif text.startswith("every module above"):
            excluded = text.partition("except")[2].split(",")
            allowed = set(above) - {name.strip() for name in excluded}
        else:
            allowed = {name.strip() for name in text.split(",")}
        for name in names:
            rules[name] = allowed
        above += names
    return rules


def _outside(target, allowed_roots):
    return target[0] is None and target[1].split(".")[0] in allowed_roots


def layering_violations():
    """Every import of lib/, sandbox/ and models/ that breaks the rules, as
    ``file:line imports module: the rule``."""
    found = []

    def check(path, ok, rule):
        for line, target in addon_imports(path):
            if not ok(target):
                name = target[1] if target[0] is None else ".".join(target)
                found.append(
                    "%s:%s imports %s: %s"
                    % (path.relative_to(ADDON_DIR), line, name, rule)
                )

    stdlib = sys.stdlib_module_names
    for path in sorted(ADDON_DIR.glob("lib/*.py")):
        check(
            path,
            lambda t: (
                _outside(t, stdlib) or _outside(t, LIB_THIRD_PARTY) or t[0] == "lib"
            ),
            "lib/ may import the standard library, requests, urllib3 and lib/",
        )
    docstring = ast.get_docstring(
        ast.parse((ADDON_DIR / "sandbox" / "__init__.py").read_text())
    )
    rules = sandbox_rules(docstring)
    for path in sorted(ADDON_DIR.glob("sandbox/*.py")):
        allowed = rules.get(path.stem)
        if allowed is None:
            found.append("sandbox/%s is not in the sandbox's import table" % path.name)
            continue
        check(
            path,
            lambda t, allowed=allowed: (
                _outside(t, stdlib)
                or (t[0] == "sandbox" and len(t) > 1 and t[1] in allowed)
            ),
            "sandbox/%s may import the standard library and %s"
            % (path.stem, ", ".join(sorted(allowed)) or "no sandbox module"),
        )
    for path in sorted(ADDON_DIR.glob("models/*/*.py")):
        allowed = allowed_in_models(path.parent.name)
        check(
            path,
            lambda t, allowed=allowed: (
                t[0] is None
                or t[0] in ("lib", "const")
                or (t[0] == "models" and len(t) > 1 and t[1] in allowed)
            ),
            "models/%s may import %s" % (path.parent.name, ", ".join(allowed)),
        )
    return found


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

    def test_models_are_in_concern_packages(self):
        """models/ holds only its concern packages, imported in load order."""
        models_dir = ADDON_DIR / "models"
        self.assertEqual(
            sorted(p.name for p in models_dir.glob("*.py")), ["__init__.py"]
        )
        packages = sorted(p.parent.name for p in models_dir.glob("*/__init__.py"))
        self.assertEqual(packages, sorted(MODEL_LAYERS))
        init = ast.parse((models_dir / "__init__.py").read_text())
        imported = [
            alias.name
            for node in init.body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        ]
        self.assertEqual(imported, list(MODEL_LAYERS))

    def test_each_package_says_what_it_may_import(self):
        """The rule of each package of models/ is written in its docstring."""
        for package in MODEL_LAYERS:
            with self.subTest(package=package):
                init = ADDON_DIR / "models" / package / "__init__.py"
                docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
                self.assertIn(
                    "May import: %s." % ", ".join(allowed_in_models(package)),
                    docstring,
                )

    def test_imports_follow_the_layers(self):
        """lib/ imports only the stdlib, requests and urllib3; sandbox/ only
        the stdlib and the sandbox modules its docstring's table allows;
        models/core/ only lib, const and core; a concern package lib, const,
        core, itself and the concerns of MODEL_LAYERS."""
        self.assertEqual(layering_violations(), [])

    def test_sandbox_imports_have_no_cycle(self):
        """The sandbox's modules import one another without a cycle (its
        state imports the stores at the top, none imports it back)."""
        graph = {}
        for path in ADDON_DIR.glob("sandbox/*.py"):
            graph[path.stem] = {
                target[1]
                for _line, target in addon_imports(path)
                if target[0] == "sandbox" and len(target) > 1
            }
        done, path = set(), []

        def visit(module):
            self.assertNotIn(module, path, "import cycle: %s" % " -> ".join(path))
            if module in done:
                return
            path.append(module)
            for other in sorted(graph.get(module, ())):
                visit(other)
            path.pop()
            done.add(module)

        for module in sorted(graph):
            visit(module)
