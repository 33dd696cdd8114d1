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
            "appears twice": lambda raw: raw["order_lines"][1].update(
                order_line_id=raw["order_lines"][0]["order_line_id"]
            ),
            "not a finite number": lambda raw: raw["order_lines"][0].update(
                price=float("inf")
            ),
            "quantity inf is not a whole": lambda raw: raw["order_lines"][0].update(
                quantity=float("inf")
            ),
            "not a usable id": lambda raw: raw.update(order_id="A\x00B"),
            "longer than 100": lambda raw: raw["order_lines"][0].update(
                order_line_id="L" * 101
            ),
        }
        for expected, breaks in cases.items():
            with self.subTest(expected):
                raw = copy.deepcopy(_payload())
                breaks(raw)
                with self.assertRaisesRegex(mappers.MiraklPayloadError, expected):
                    mappers.parse_order(raw)

    def test_texts_are_cleaned_and_noted(self):
        raw = _payload()
        customer = raw["customer"]
        customer["lastname"] = "H" * 200000
        customer["shipping_address"]["street_1"] = "12 Rowan\x00 Street\x07"
        order = mappers.parse_order(raw)
        self.assertEqual(order.customer_lastname, "H" * mappers.TEXT_MAX)
        self.assertEqual(order.shipping_address.street_1, "12 Rowan Street")
        self.assertEqual(
            order.notes,
            [
                "customer lastname: 200000 characters, cut to 255",
                "shipping address street_1: control characters removed",
            ],
        )
        self.assertEqual(mappers.parse_order(_payload()).notes, [])
        # The raw JSON keeps what Mirakl sent, escaped (never a NUL byte).
        self.assertNotIn("\x00", order.raw_json)

    def test_absurd_values(self):
        order = mappers.parse_order(_payload())
        self.assertEqual(mappers.value_problems(order, 1000, 10000), [])
        raw = _payload()
        first, second = raw["order_lines"]
        first["quantity"] = 10**9
        first["price"] = 60.0 * 10**9
        second["price_unit"] = -15.0
        raw["total_price"] = 1e300
        problems = mappers.value_problems(mappers.parse_order(raw), 1000, 10000)
        self.assertEqual(len(problems), 3, problems)
        self.assertIn(
            "quantity 1000000000 is above the shop's limit of 1000", problems[0]
        )
        self.assertIn("negative price_unit (-15.0)", problems[1])
        self.assertIn("above the shop's limit of 10000", problems[2])

    def test_known_states(self):
        self.assertIn("WAITING_ACCEPTANCE", mappers.KNOWN_ORDER_STATES)
        self.assertNotIn("SOME_NEW_STATE", mappers.KNOWN_ORDER_STATES)
        self.assertTrue(mappers.PRE_ACCEPTANCE_STATES <= mappers.KNOWN_ORDER_STATES)
        self.assertTrue(mappers.RELEASED_STATES <= mappers.KNOWN_ORDER_STATES)

    @staticmethod
    def _refund(**changes):
        refund = {
            "id": "R-1",
            "order_refund_id": None,
            "created_date": "2025-03-10T09:00:00Z",
            "quantity": 1,
            "reason_code": "RETURNED",
            "amount": 60.0,
            "shipping_amount": 3.95,
            "taxes": [{"code": "GB_VAT_STD", "amount": 10.0, "rate": 20}],
            "shipping_taxes": [{"code": "GB_VAT_STD", "amount": 0.66, "rate": 20}],
            "fees": [],
            "commission_amount": 9.0,
            "commission_tax_amount": 1.8,
            "commission_taxes": [{"code": "GB_VAT", "amount": 1.8}],
            "commission_total_amount": 10.8,
            "refund_state": "REFUNDED",
            "state": "REFUNDED",
            "transaction_date": "2025-03-10T09:05:00+01:00",
            "transaction_number": None,
        }
        refund.update(changes)
        return refund

    def test_refunds(self):
        raw = _payload()
        raw["order_lines"][0]["refunds"] = [self._refund()]
        order = mappers.parse_order(raw)
        (refund,) = order.lines[0].refunds
        self.assertEqual(order.lines[1].refunds, [])
        self.assertEqual(refund.refund_id, "R-1")
        self.assertEqual(refund.state, "REFUNDED")
        self.assertTrue(refund.refunded)
        self.assertEqual(refund.quantity, 1)
        self.assertEqual(refund.amount, Decimal("60.0"))
        self.assertEqual(refund.shipping_amount, Decimal("3.95"))
        self.assertEqual(refund.taxes, [mappers.Tax("GB_VAT_STD", 20, Decimal(10))])
        self.assertEqual(refund.tax_amount, Decimal("10.0"))
        self.assertEqual(refund.shipping_tax_amount, Decimal("0.66"))
        self.assertEqual(refund.reason_code, "RETURNED")
        self.assertEqual(refund.created, datetime(2025, 3, 10, 9, 0))
        self.assertEqual(refund.transaction_date, datetime(2025, 3, 10, 8, 5))
        self.assertEqual(refund.commission_amount, Decimal("9.0"))
        self.assertEqual(refund.commission_tax_amount, Decimal("1.8"))
        # Refunds leave what was sold as it is (the goods were shipped).
        self.assertEqual(order.expected_amount_total(), Decimal("93.95"))

    def test_refund_optional_fields(self):
        raw = _payload()
        raw["order_lines"][0]["refunds"] = [
            {"id": "R-2", "state": "WAITING_REFUND", "amount": "12.50"}
        ]
        (refund,) = mappers.parse_order(raw).lines[0].refunds
        self.assertEqual(refund.state, "WAITING_REFUND")
        self.assertFalse(refund.refunded)
        self.assertEqual(refund.quantity, 0)
        self.assertEqual(refund.amount, Decimal("12.50"))
        self.assertEqual(refund.shipping_amount, Decimal("0.00"))
        self.assertEqual((refund.taxes, refund.shipping_taxes), ([], []))
        self.assertIsNone(refund.reason_code)
        self.assertIsNone(refund.created)
        self.assertIsNone(refund.transaction_date)
        self.assertEqual(refund.commission_tax_amount, Decimal(0))
        # refund_state wins over the deprecated state
        raw["order_lines"][0]["refunds"] = [
            self._refund(refund_state="REFUNDED", state="WAITING_REFUND")
        ]
        (refund,) = mappers.parse_order(raw).lines[0].refunds
        self.assertEqual(refund.state, "REFUNDED")
        raw["order_lines"][0]["refunds"] = None
        self.assertEqual(mappers.parse_order(raw).lines[0].refunds, [])

    def test_refund_changes_the_digest(self):
        raw = _payload()
        plain = mappers.parse_order(raw).digest
        raw["order_lines"][0]["refunds"] = [
            self._refund(refund_state="WAITING_REFUND", state="WAITING_REFUND")
        ]
        waiting = mappers.parse_order(raw).digest
        raw["order_lines"][0]["refunds"] = [self._refund()]
        refunded = mappers.parse_order(raw).digest
        self.assertEqual(len({plain, waiting, refunded}), 3)
        self.assertEqual(mappers.parse_order(copy.deepcopy(raw)).digest, refunded)

    def test_unusable_refunds_are_named(self):
        def refunds(**changes):
            return lambda raw: raw["order_lines"][0].update(
                refunds=[self._refund(**changes)]
            )

        cases = {
            "refunds is not a list": lambda raw: raw["order_lines"][0].update(
                refunds={"id": "R-1"}
            ),
            "a refund is not an object": lambda raw: raw["order_lines"][0].update(
                refunds=["R-1"]
            ),
            "a refund has no id": refunds(id=None),
            "R-1: quantity 1.5 is not a whole": refunds(quantity=1.5),
            "R-1: quantity 'one' is not a number": refunds(quantity="one"),
            "R-1 amount is not a number": refunds(amount="ten"),
            "R-1 shipping_amount is not a number": refunds(shipping_amount=True),
            "R-1: no state": refunds(refund_state=None, state=""),
            "R-1 tax": refunds(taxes=[{"code": "X", "rate": "x", "amount": 1}]),
            "not an ISO-8601": refunds(transaction_date="soon"),
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
