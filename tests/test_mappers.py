"""lib/mappers.py: Mirakl order JSON to neutral objects (no database)."""

import copy
import json
from datetime import datetime
from decimal import Decimal

from odoo.tests import BaseCase, tagged
from odoo.tools import file_open

from ..lib import mappers
from ..lib.countries import alpha2


def _payload():
    with file_open("mirakl_connector/tests/data/or11_order_uk.json") as handle:
        return json.load(handle)


@tagged("post_install", "-at_install")
class TestOrderMapper(BaseCase):
    def test_documented_order(self):
        order = mappers.parse_order(_payload())
        self.assertEqual(order.order_id, "UKF-104233-A")
        self.assertEqual(order.created, datetime(2025, 3, 3, 10, 12))
        self.assertEqual(order.tax_mode, "TAX_INCLUDED")
        self.assertEqual(order.customer_id, "C-55102")
        self.assertEqual(order.shipping_address.country_iso_code, "GBR")
        first, second = order.lines
        self.assertEqual(first.price_unit, Decimal("60.00"))
        self.assertEqual(first.taxes[0].rate, Decimal(20))
        self.assertEqual(first.live_commission, (Decimal("9.00"), Decimal("1.80")))
        self.assertEqual(second.live_quantity, 2)
        self.assertEqual(order.live_tax_total(), Decimal("15.66"))
        self.assertEqual(order.expected_amount_total(), Decimal("93.95"))
        self.assertEqual(len(order.digest), 40)

    def test_tolerates_what_mirakl_may_add_or_omit(self):
        raw = _payload()
        raw["brand_new_field"] = {"x": 1}
        raw["order_state"] = "SOME_NEW_STATE"
        raw["created_date"] = "2025-03-03T11:12:00.123+01:00"
        del raw["references"]
        line = raw["order_lines"][0]
        del line["price_unit"]
        line["commission_taxes"] = []
        line["commission_vat"] = 1.8
        raw["order_lines"][1]["quantity"] = 2.0
        order = mappers.parse_order(raw)
        self.assertEqual(order.created, datetime(2025, 3, 3, 10, 12))
        self.assertEqual(order.state, "SOME_NEW_STATE")
        self.assertIsNone(order.reference_for_customer)
        self.assertEqual(order.lines[0].price_unit, Decimal("60.00"))
        self.assertEqual(order.lines[0].commission_vat, Decimal("1.8"))
        self.assertEqual(order.lines[1].quantity, 2)

    def test_refusals_and_cancellations(self):
        raw = _payload()
        raw["order_lines"][0]["order_line_state"] = "REFUSED"
        line = raw["order_lines"][1]
        line["cancelations"] = [
            {
                "id": "C1",
                "quantity": 1,
                "amount": 15.0,
                "shipping_amount": 0,
                "taxes": [{"code": "GB_VAT_STD", "amount": 2.5}],
                "commission_amount": 2.25,
                "commission_taxes": [{"code": "GB_VAT", "amount": 0.45}],
            }
        ]
        order = mappers.parse_order(raw)
        refused, cancelled = order.lines
        self.assertEqual(refused.live_quantity, 0)
        self.assertEqual(refused.live_price, 0)
        self.assertEqual(cancelled.live_quantity, 1)
        self.assertEqual(cancelled.live_price, Decimal("15.00"))
        self.assertEqual(cancelled.live_taxes[0].amount, Decimal("2.50"))
        self.assertEqual(cancelled.live_commission, (Decimal("2.25"), Decimal("0.45")))
        self.assertEqual(order.expected_amount_total(), Decimal("15.00"))
        # A platform showing lines net of cancellations: nothing subtracted.
        net = mappers.parse_order(raw, cancellations_included=True)
        self.assertEqual(net.lines[1].live_quantity, 2)

    def test_tax_excluded_total_adds_taxes(self):
        raw = _payload()
        raw["order_tax_mode"] = "TAX_EXCLUDED"
        order = mappers.parse_order(raw)
        self.assertEqual(
            order.expected_amount_total(), Decimal("93.95") + Decimal("15.66")
        )

    def test_unusable_payloads_are_named(self):
        cases = {
            "no order_id": lambda raw: raw.pop("order_id"),
            "no created_date": lambda raw: raw.pop("created_date"),
            "no order lines": lambda raw: raw.update(order_lines=[]),
            "not a whole number": lambda raw: raw["order_lines"][0].update(
                quantity=1.5
            ),
            "not a number": lambda raw: raw["order_lines"][0].update(price="abc"),
            "has no id": lambda raw: raw["order_lines"][0].pop("order_line_id"),
            "unknown order_tax_mode": lambda raw: raw.update(order_tax_mode="GROSS"),
            "not an ISO-8601": lambda raw: raw.update(created_date="yesterday"),
        }
        for expected, breaks in cases.items():
            with self.subTest(expected):
                raw = copy.deepcopy(_payload())
                breaks(raw)
                with self.assertRaisesRegex(mappers.MiraklPayloadError, expected):
                    mappers.parse_order(raw)

    def test_country_codes(self):
        self.assertEqual(alpha2("GBR"), "GB")
        self.assertEqual(alpha2("irl"), "IE")
        self.assertEqual(alpha2("GB"), "GB")
        self.assertIsNone(alpha2("XYZ"))
        self.assertIsNone(alpha2(None))
