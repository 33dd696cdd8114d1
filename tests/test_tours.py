"""Each person's day in Odoo's own screens, in headless Chromium: the admin
creates a shop and tests it, operations import and accept orders, the
warehouse validates a delivery that needs a tracking number, finance reviews
a booked billing cycle. The tours are in static/tests/tours/mirakl_tours.js.

With MIRAKL_SCREENSHOTS set to a folder, every ``screenshot(name)`` step of a
tour saves ``<name>.png`` there (scripts/screenshots.py does that for the
README's pictures).
"""

import base64
import json
import os
import re
import unittest
from pathlib import Path

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests import common as odoo_test_common
from odoo.tools import file_path

from .common import API_KEY
from .order_common import OrderCommon

SCREENSHOTS = os.environ.get("MIRAKL_SCREENSHOTS")


def missing_test_asset(message):
    """The Odoo test asset that a browser or bundle error is about, when this
    Odoo tree does not ship it (an Odoo source trimmed of its addons' tests,
    like the project's offline copy, lacks web/static/tests/...); else None."""
    match = re.search(r"Could not get content for (\S+/static/tests/\S+?)\.?'", message)
    if not match:
        return None
    try:
        file_path(match.group(1))
    except FileNotFoundError:
        return match.group(1)
    return None


class TourBrowser(odoo_test_common.ChromeBrowser):
    """Odoo's test browser for these tours: it saves a screenshot when a step
    asks (MIRAKL_SCREENSHOTS), and does not count as a failure the console
    error of an Odoo test asset that this Odoo tree does not ship."""

    def _handle_console(self, type, args=None, stackTrace=None, **kw):
        if args:
            text = str(self._from_remoteobject(args[0]))
            if type == "log" and text.startswith("mirakl-screenshot:"):
                self._mirakl_screenshot(text.split(":", 1)[1])
            elif type == "error" and missing_test_asset(text):
                self._logger.info("Odoo test asset missing from this tree: %s", text)
                return None
        return super()._handle_console(type, args=args, stackTrace=stackTrace, **kw)

    def _mirakl_screenshot(self, name):
        if not SCREENSHOTS:
            return
        path = Path(SCREENSHOTS) / ("%s.png" % name)

        def save(future):
            data = (future.result(timeout=0) or {}).get("data")
            if data:
                path.write_bytes(base64.b64decode(data))

        self._websocket_send(
            "Page.captureScreenshot", with_future=True
        ).add_done_callback(save)


@tagged("post_install", "-at_install")
class TestTours(OrderCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        if os.environ.get("MIRAKL_SKIP_TOURS"):
            raise unittest.SkipTest(os.environ["MIRAKL_SKIP_TOURS"])
        super().setUpClass()
        cls.backend.acceptance_policy = "manual"
        # Odoo's own onboarding tours would run beside ours for the admin.
        cls.env.ref("base.user_admin").tour_enabled = False
        # Data that reads like a UK seller's (the screenshots show it).
        cls.company.name = "Hartley & Finch Ltd"
        if not cls.env["account.move.line"].search_count(
            [("company_id", "=", cls.company.id)], limit=1
        ):
            cls.company.currency_id = cls.gbp
        cls.backend.name = "Fashion marketplace"
        Group = cls.env["account.tax.group"]
        for (rate, included), tax in cls.taxes.items():
            label = "VAT %g%%" % rate
            group = Group.search(
                [("name", "=", label), ("company_id", "=", cls.company.id)]
            ) or Group.create({"name": label, "company_id": cls.company.id})
            tax.write(
                {
                    "name": label if included else "%s (excl.)" % label,
                    "tax_group_id": group.id,
                }
            )

    def setUp(self):
        super().setUp()
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        self.patch(odoo_test_common, "ChromeBrowser", TourBrowser)

    def tour(self, name, login, url="/odoo", **globals_):
        """Start tour ``name`` as ``login``, with ``globals_`` set on the page."""
        options = {
            "stepDelay": 0,
            "keepWatchBrowser": False,
            "debug": False,
            "startUrl": url,
            "delayToCheckUndeterminisms": 0,
        }
        code = "".join(
            "window.%s = %s; " % (key, json.dumps(value))
            for key, value in globals_.items()
        )
        code += "odoo.startTour(%s, %s)" % (json.dumps(name), json.dumps(options))
        self.start_tour(
            url,
            name,
            login=login,
            code=code,
            timeout=120,
        )

    def test_cockpit_opens_the_list_behind_a_figure(self):
        self.backend.acceptance_policy = "all"
        sale = self.released(("std", 1))
        self.backend.acceptance_policy = "manual"
        self.create_orders(self.order_spec(("std2", 1)))
        self.import_orders()
        new_test_user(
            self.env,
            login="mirakl_ops_cockpit",
            groups="sales_team.group_sale_salesman,"
            "mirakl_connector.mirakl_connector_group_user",
        )
        self.tour(
            "mirakl_connector_cockpit",
            "mirakl_ops_cockpit",
            miraklOrderId=sale.mirakl_order_id,
        )

    def test_admin_creates_a_shop_and_tests_it(self):
        self.tour(
            "mirakl_connector_shop",
            "admin",
            miraklSandboxUrl=self.sandbox_url,
            miraklApiKey=API_KEY,
        )
        shop = self.env["mirakl.backend"].search([("name", "=", "Tour marketplace")])
        self.assertEqual(shop.connection_state, "ok")
        self.assertTrue(shop.mirakl_shop_name)

    def test_operations_import_and_accept_orders(self):
        # Operations: a salesperson seeing their own documents, responsible
        # for the shop (its orders are theirs), with Mirakl rights.
        self.backend.user_id = new_test_user(
            self.env,
            login="mirakl_ops",
            groups="sales_team.group_sale_salesman,"
            "mirakl_connector.mirakl_connector_group_user",
        )
        first, _second = self.create_orders(
            self.order_spec(("std", 1)), self.order_spec(("std2", 2))
        )
        order_id = first["order_id"]
        self.tour("mirakl_connector_orders", "mirakl_ops", miraklOrderId=order_id)
        sale = self.sale_of(order_id)
        self.assertEqual(sale.mirakl_acceptance, "accepted")
        (call,) = [c for c in self.control.calls() if c["operation"] == "OR21"]
        self.assertIn(order_id, call["path"])

    def test_warehouse_asked_for_the_tracking_number(self):
        self.backend.shipping_type_ids.filtered(
            lambda s: s.code == "EXP"
        ).mandatory_tracking = True
        self.backend.acceptance_policy = "all"
        sale = self.released(("std", 1), shipping_type="EXP")
        sale.picking_ids.action_assign()
        new_test_user(
            self.env,
            login="mirakl_warehouse",
            groups="stock.group_stock_user",
        )
        self.tour(
            "mirakl_connector_delivery",
            "mirakl_warehouse",
            miraklOrderId=sale.mirakl_order_id,
            miraklSaleName=sale.name,
        )
        picking = sale.picking_ids
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.carrier_tracking_ref, "DPD-TOUR-42")
        self.assertEqual(
            picking.mirakl_shipment_ids.mapped("tracking_number"), ["DPD-TOUR-42"]
        )

    def test_finance_reviews_a_booked_cycle(self):
        fee_tax = self.env["account.tax"].create(
            {
                "name": "VAT 20% on services (purchase)",
                "amount": 20.0,
                "amount_type": "percent",
                "type_tax_use": "purchase",
                "company_id": self.company.id,
            }
        )
        self.backend.write({"acceptance_policy": "all", "settlement_auto_post": True})
        self.backend._mirakl_setup_finance(fee_tax=fee_tax)
        self.assertTrue(self.backend._mirakl_refresh_carriers())
        sale = self.shipped(("std", 1))
        self.control.close_cycle()
        self.backend._mirakl_import_payouts()
        cycle = self.env["mirakl.billing.cycle"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(cycle.state, "booked", cycle.check_message)
        new_test_user(
            self.env,
            login="mirakl_finance",
            groups="account.group_account_invoice",
        )
        self.tour("mirakl_connector_finance", "mirakl_finance")
        self.assertTrue(sale.invoice_ids)
