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
from contextlib import contextmanager

import requests
import werkzeug.urls
from dateutil.relativedelta import relativedelta
from lxml import etree

from odoo import fields
from odoo.osv import expression
from odoo.tests import BaseCase, TransactionCase
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
