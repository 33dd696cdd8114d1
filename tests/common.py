"""Shared test harness: a real Mirakl sandbox on loopback, real HTTP, real ORM.

Nothing here fakes a call: every test that talks to "Mirakl" talks to the
project's own sandbox server (``sandbox/``) over HTTP on 127.0.0.1, started in
``setUpClass`` on a free port and reset before every test.

Odoo's test classes patch ``requests.Session.send`` so that only loopback
requests go out, and raise every timeout below 10 s to 10 s (which also breaks
``(connect, read)`` tuples). ``LoopbackRequestsMixin`` keeps the blocking of
external hosts but lets loopback calls keep their own timeouts, so the client's
timeout handling is tested for real against the sandbox's slow answers.
"""

import logging
import threading
from contextlib import contextmanager

import requests
import werkzeug.urls
from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import Registry
from odoo.osv import expression
from odoo.tests import BaseCase, TransactionCase, get_db_name
from odoo.tests.common import _super_send
from odoo.tools import safe_eval

from ..lib import is_loopback_host
from ..sandbox import SandboxServer

API_KEY = "sandbox-test-key-7f3c9a1e52b84d06"
SHOP_ID = 2001


class LoopbackRequestsMixin:
    """Let requests to loopback through untouched (own timeouts included)."""

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        host = werkzeug.urls.url_parse(r.url).host or ""
        if is_loopback_host(host.strip("[]")):
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)


class SandboxControl:
    """Thin client for the sandbox's control API (``/_sandbox/...``).

    Tests use it to set the stage (orders, configuration, clock, faults) and to
    read back exactly what the connector sent (the call log).
    """

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def _url(self, path):
        return "%s/_sandbox/%s" % (self.base_url, path.lstrip("/"))

    def call(self, method, path, **kwargs):
        """Any control-API call; raises on an error status."""
        response = self.session.request(method, self._url(path), timeout=30, **kwargs)
        response.raise_for_status()
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def reset(self, orders=0, seed=None, **config):
        body = {"orders": orders}
        if seed is not None:
            body["seed"] = seed
        if config:
            body["config"] = config
        return self.call("POST", "reset", json=body)

    def config(self, **changes):
        if changes:
            return self.call("PUT", "config", json=changes)
        return self.call("GET", "config")

    def create_orders(self, count=None, orders=None):
        body = {}
        if count is not None:
            body["count"] = count
        if orders is not None:
            body["orders"] = orders
        return self.call("POST", "orders", json=body)["orders"]

    def order(self, order_id):
        return self.call("GET", "orders/%s" % order_id)

    def cancel(self, order_id, lines=None, reason_code=None):
        """Cancel (operator/customer side); returns the order as OR11 shows it.

        ``lines``: mapping ``order_line_id -> quantity`` or list of
        ``{"order_line_id", "quantity"}``; ``None`` cancels the whole order.
        """
        body = {}
        if lines is not None:
            if isinstance(lines, dict):
                lines = [
                    {"order_line_id": line_id, "quantity": quantity}
                    for line_id, quantity in lines.items()
                ]
            body["lines"] = lines
        if reason_code is not None:
            body["reason_code"] = reason_code
        return self.call("POST", "orders/%s/cancel" % order_id, json=body)

    def ship(self, order_id):
        """Ship a SHIPPING order outside the seller API (Mirakl's back
        office); returns it as OR11 shows it."""
        return self.call("POST", "orders/%s/ship" % order_id, json={})

    def add_raw_order(self, order_json):
        """Store an OR11 order JSON verbatim; returns it as stored."""
        return self.call("POST", "orders/raw", json={"order": order_json})

    def add_malformed_order(self, order_json):
        """Serve a JSON object that breaks OR11's contract, verbatim."""
        return self.call("POST", "orders/malformed", json={"order": order_json})

    def catalogue(self):
        return self.call("GET", "catalogue")

    def now(self):
        return self.call("GET", "clock")["now"]

    def advance(self, seconds):
        return self.call("POST", "clock", json={"advance_seconds": seconds})

    def set_clock(self, moment):
        return self.call("POST", "clock", json={"set": moment})

    def fault(self, kind, **spec):
        spec["kind"] = kind
        return self.call("POST", "faults", json=spec)

    def faults(self):
        return self.call("GET", "faults")["faults"]

    def clear_faults(self):
        return self.call("DELETE", "faults")

    def calls(self, operation=None):
        params = {"operation": operation} if operation else None
        return self.call("GET", "calls", params=params)["calls"]

    def clear_calls(self):
        return self.call("DELETE", "calls")

    # payout data (sandbox ``billing``)

    def refund(self, order_id, lines, reason_code=None):
        """Refund SHIPPED lines: ``lines`` is a list of ``{"order_line_id",
        "quantity", "amount"?, "shipping_amount"?}``; the control answer
        ``{"refunds", "order"}``."""
        body = {"lines": lines}
        if reason_code is not None:
            body["reason_code"] = reason_code
        return self.call("POST", "orders/%s/refund" % order_id, json=body)

    def billing_item(self, kind, amount_excl_tax=None, **fields):
        """An operator item (``SUBSCRIPTION``, ``MANUAL_INVOICE``,
        ``MANUAL_CREDIT``, ``ONE_OFF_DEBIT``; ``RAW`` with
        ``transaction_type`` and ``amount``) -> ``{"lines", "document"}``."""
        body = dict(fields, type=kind)
        if amount_excl_tax is not None:
            body["amount_excl_tax"] = amount_excl_tax
        return self.call("POST", "billing/items", json=body)

    def close_cycle(self, **options):
        """Close a billing cycle now -> ``{"cycle", "document"}``."""
        return self.call("POST", "billing/close", json=options)

    def billing(self):
        """Every transaction line, cycle, document and refund, as stored."""
        return self.call("GET", "billing")


class SandboxMixin(LoopbackRequestsMixin):
    """Start one sandbox per test class; reset it before each test."""

    sandbox_orders = 0
    sandbox_config = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = SandboxServer(api_key=API_KEY, shop_id=SHOP_ID, port=0)
        cls.sandbox.start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.sandbox_url = cls.sandbox.url
        cls.control = SandboxControl(cls.sandbox_url)

    def setUp(self):
        super().setUp()
        self.control.reset(orders=self.sandbox_orders, **self.sandbox_config)


class SandboxCase(SandboxMixin, BaseCase):
    """Pure-Python tests (no database records) against the sandbox."""


class MiraklCommon(SandboxMixin, TransactionCase):
    """ORM tests with one Mirakl shop pointing at the sandbox."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls._mirakl_test_company()
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )
        cls.backend = cls.env["mirakl.backend"].create(
            {
                "name": "Sandbox shop",
                "company_id": cls.company.id,
                "api_url": cls.sandbox_url,
                "api_key": API_KEY,
                "shop_id": str(SHOP_ID),
                "warehouse_id": cls.warehouse.id,
            }
        )

    @classmethod
    def _mirakl_test_company(cls):
        """The company of the test shop (a class may give the shop its own)."""
        return cls.env.company


class CommittedShopCase(SandboxMixin, BaseCase):
    """Tests that need committed data: several cursors (workers) at once, or
    a scheduled run that commits as it goes (``mirakl_commit``).

    Other cursors cannot see a test transaction, so the shop, its products,
    taxes and carrier are created and committed in a cursor of their own in
    ``setUpClass``, and removed after the class (with its orders, contacts
    and deliveries). ``shop_vals`` adds values to the shop.
    """

    skus = ("WDR-BLK-10", "KHD-GRY-3-4Y")
    shop_vals = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            gbp = env.ref("base.GBP")
            cls.gbp_was_active = gbp.active
            gbp.active = True
            company = env.company
            taxes = env["account.tax"].create(
                [
                    {
                        "name": "%s VAT %s%%" % (cls.__name__, rate),
                        "amount": rate,
                        "type_tax_use": "sale",
                        "price_include_override": "tax_included",
                        "company_id": company.id,
                    }
                    for rate in (20.0, 0.0)
                ]
            )
            products = env["product.product"].create(
                [
                    {"name": sku, "default_code": sku, "is_storable": True}
                    for sku in cls.skus
                ]
            )
            service = env["product.product"].create(
                {"name": "%s shipping" % cls.__name__, "type": "service"}
            )
            carrier = env["delivery.carrier"].create(
                {"name": "%s carrier" % cls.__name__, "product_id": service.id}
            )
            pricelist = env["product.pricelist"].create(
                {"name": "%s GBP" % cls.__name__, "currency_id": gbp.id}
            )
            backend = env["mirakl.backend"].create(
                dict(
                    {
                        "name": "%s shop" % cls.__name__,
                        "api_url": cls.sandbox_url,
                        "api_key": API_KEY,
                        "shop_id": str(SHOP_ID),
                        "pricelist_id": pricelist.id,
                        "warehouse_id": env["stock.warehouse"]
                        .search([("company_id", "=", company.id)], limit=1)
                        .id,
                        "shipping_type_ids": [
                            Command.create({"code": code, "carrier_id": carrier.id})
                            for code in ("STD", "EXP")
                        ],
                    },
                    **cls.shop_vals,
                )
            )
            cls.ids = {
                "taxes": taxes.ids,
                "products": products.ids,
                "service": service.id,
                "carrier": carrier.id,
                "pricelist": pricelist.id,
                "backend": backend.id,
            }
        cls.addClassCleanup(cls._remove_committed_data)

    @classmethod
    def _remove_committed_data(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
            backend = env["mirakl.backend"].browse(cls.ids["backend"])
            orders = env["sale.order"].search([("mirakl_backend_id", "=", backend.id)])
            partners = env["res.partner"].search(
                [("mirakl_backend_id", "=", backend.id)]
            )
            orders.picking_ids.unlink()
            orders.unlink()
            env["res.partner"].search([("parent_id", "in", partners.ids)]).unlink()
            partners.unlink()
            backend.unlink()
            env["product.pricelist"].browse(cls.ids["pricelist"]).unlink()
            env["delivery.carrier"].browse(cls.ids["carrier"]).unlink()
            products = env["product.product"].browse(
                [*cls.ids["products"], cls.ids["service"]]
            )
            templates = products.product_tmpl_id
            products.unlink()
            templates.unlink()
            env["account.tax"].browse(cls.ids["taxes"]).unlink()
            env.ref("base.GBP").active = cls.gbp_was_active

    def in_cursor(self, job, **context):
        """``job(shop)`` in a cursor of its own, committed at the end."""
        with self.registry.cursor() as cr:
            # Odoo's runner holds the registry lock while tests run: give the
            # cursor its transaction so no lookup waits for it.
            cr.transaction = api.Transaction(self.registry)
            env = api.Environment(cr, SUPERUSER_ID, context)
            return job(env["mirakl.backend"].browse(self.ids["backend"]))

    def in_threads(self, *jobs, **context):
        """Run each ``job(shop)`` in its own thread and cursor, all at once."""
        barrier = threading.Barrier(len(jobs))
        results, errors = [None] * len(jobs), []

        def run(index, job):
            def started(backend):
                barrier.wait(timeout=30)
                return job(backend)

            try:
                results[index] = self.in_cursor(started, **context)
            except Exception as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        threads = [
            threading.Thread(target=run, args=(index, job))
            for index, job in enumerate(jobs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertFalse(errors)
        return results


class LogCapture(logging.Handler):
    """Collect every formatted record (and exception text) of a logger tree."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record))

    @property
    def text(self):
        return "\n".join(self.lines)


@contextmanager
def capture_logs(name="odoo.addons.mirakl_connector", level=logging.DEBUG):
    """Capture every log line of ``name`` (and children) down to ``level``."""
    logger = logging.getLogger(name)
    handler = LogCapture()
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


def action_records(env, action):
    """The records a window action shows: its domain and the named filters
    its context turns on (``search_default_<name>``), each read from the
    action's search view and evaluated as the web client does."""
    Model = env[action["res_model"]]
    context = action.get("context") or {}
    if isinstance(context, str):
        context = safe_eval.safe_eval(context, {"uid": env.uid})
    domain = action.get("domain") or []
    if isinstance(domain, str):
        domain = safe_eval.safe_eval(domain, {"uid": env.uid})
    search_view = action.get("search_view_id")
    if isinstance(search_view, (list, tuple)):
        search_view = search_view[0]
    arch = etree.fromstring(Model.get_view(search_view or False, "search")["arch"])
    eval_context = {
        "uid": env.uid,
        "context_today": lambda: fields.Date.context_today(Model),
        "relativedelta": relativedelta,
        "datetime": safe_eval.datetime,
        "time": safe_eval.time,
    }
    for key, value in context.items():
        if not key.startswith("search_default_") or not value:
            continue
        name = key.removeprefix("search_default_")
        nodes = arch.xpath("//filter[@name=$name]", name=name)
        if len(nodes) != 1:
            raise AssertionError("no filter %r in the search view" % name)
        if not nodes[0].get("domain"):
            continue  # a group-by
        filter_domain = safe_eval.safe_eval(nodes[0].get("domain"), eval_context)
        domain = expression.AND([domain, filter_domain])
    return Model.with_context(active_test=True).search(domain)
