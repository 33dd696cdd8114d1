"""The cockpit: each shop's card, what turns it red, the lists it opens, and
the graph and pivot views."""

import copy
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import API_KEY, SHOP_ID, action_records
from .order_common import OrderCommon, hours_ago
from .settlement_common import SettlementCommon

CARD_FIELDS = [
    name
    for name in (
        "cockpit_to_accept",
        "cockpit_accept_deadline",
        "cockpit_accept_deadline_text",
        "cockpit_accept_urgent",
        "cockpit_to_ship",
        "cockpit_ship_late",
        "cockpit_issues_person",
        "cockpit_issues_transient",
        "cockpit_check_issues",
        "cockpit_api_calls",
        "cockpit_api_rate_limited",
        "cockpit_api_server_errors",
        "cockpit_api_timeouts",
        "cockpit_api_latency",
        "cockpit_unsettled",
        "cockpit_in_transit",
        "cockpit_currency_id",
        "cockpit_import_age",
        "cockpit_stock_age",
        "cockpit_offer_age",
        "cockpit_payout_age",
        "cockpit_check_age",
        "cockpit_alerts",
        "cockpit_color",
        "name",
        "connection_state",
        "mirakl_shop_name",
    )
]


class CockpitMixin:
    def card(self, backend=None):
        """The shop as its card reads it (nothing cached)."""
        self.env.invalidate_all()
        return backend or self.backend

    def alerts(self, backend=None):
        return (self.card(backend).cockpit_alerts or "").splitlines()

    def new_shop(self, name):
        return self.env["mirakl.backend"].create(
            {
                "name": name,
                "company_id": self.company.id,
                "api_url": self.sandbox_url,
                "api_key": API_KEY,
                "shop_id": str(SHOP_ID),
            }
        )


@tagged("post_install", "-at_install")
class TestCockpit(CockpitMixin, OrderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend.receivable_account_id = cls.env["account.account"].create(
            {
                "name": "Mirakl marketplace receivable",
                "code": "MKR013",
                "account_type": "asset_receivable",
                "reconcile": True,
                "company_ids": [(6, 0, cls.company.ids)],
            }
        )

    def test_figures_and_the_lists_they_open(self):
        Issue = self.env["mirakl.sync.issue"]
        to_ship = self.released(("std", 1))
        late = self.released(("zero", 1))
        delivered = self.shipped(("std2", 1))
        # Mirakl's shipping deadline of one paid order passes.
        raw = copy.deepcopy(self.control.order(late.mirakl_order_id))
        raw["shipping_deadline"] = hours_ago(3)
        raw["last_updated_date"] = self.control.now()
        self.control.add_raw_order(raw)
        self.backend.acceptance_policy = "manual"
        first, second = self.create_orders(
            self.order_spec(("std", 1)), self.order_spec(("std2", 2))
        )
        self.import_orders()
        waiting = self.sale_of(first["order_id"]) | self.sale_of(second["order_id"])
        self.assertEqual(waiting.mapped("mirakl_acceptance"), ["pending", "pending"])
        self.assertEqual(delivered.mirakl_state, "SHIPPED")
        self.assertEqual(
            fields.Datetime.to_string(to_ship.mirakl_shipping_deadline),
            self.control.order(to_ship.mirakl_order_id)["shipping_deadline"]
            .replace("T", " ")
            .removesuffix("Z"),
        )
        # The shop accepts by hand: each order to accept waits for a person.
        decisions = self.open_issues()
        self.assertEqual(decisions.mapped("category"), ["decision", "decision"])
        person = Issue._mirakl_record(
            self.backend, "SH12", "Shipping type X is not mapped", category="mapping"
        )
        transient = Issue._mirakl_record(
            self.backend, "SH21", "Mirakl did not answer", "timeout", transient=True
        )
        other = self.new_shop("Other shop")
        Issue._mirakl_record(other, "SH12", "Not ours", category="mapping")

        backend = self.card()
        self.assertRecordValues(
            backend,
            [
                {
                    "cockpit_to_accept": 2,
                    "cockpit_accept_deadline": min(
                        waiting.mapped("mirakl_acceptance_deadline")
                    ),
                    "cockpit_accept_urgent": False,
                    "cockpit_to_ship": 2,
                    "cockpit_ship_late": 1,
                    "cockpit_issues_person": 3,
                    "cockpit_issues_transient": 1,
                    "cockpit_check_issues": 0,
                    "cockpit_api_calls": len(self.control.calls()),
                    "cockpit_api_rate_limited": 0,
                    "cockpit_unsettled": delivered.invoice_ids.amount_residual_signed,
                    "cockpit_in_transit": 0.0,
                    "cockpit_currency_id": self.company.currency_id.id,
                    "cockpit_stock_age": "never",
                    "cockpit_offer_age": "off",
                    "cockpit_payout_age": "never",
                    "cockpit_check_age": "never",
                    "cockpit_import_late": False,
                    "cockpit_stock_late": False,
                    "cockpit_payout_late": False,
                    "cockpit_color": 1,
                }
            ],
        )
        self.assertGreater(backend.cockpit_unsettled, 0)
        self.assertIn(
            backend.cockpit_import_age, ("less than a minute ago", "1 min ago")
        )
        # 72 hours ahead, in whole days (rounded down).
        self.assertRegex(backend.cockpit_accept_deadline_text, r"^in [23] days$")
        self.assertEqual(
            self.alerts(),
            [
                "Paid orders past Mirakl's shipping deadline: 1.",
                "Sync issues needing a person: 3.",
            ],
        )
        # The other shop's card has its own figures.
        self.assertRecordValues(
            other,
            [{"cockpit_to_accept": 0, "cockpit_issues_person": 1, "cockpit_color": 1}],
        )
        # Each figure opens its list, filtered with a named filter.
        for action, expected in (
            (backend.action_cockpit_to_accept(), waiting),
            (backend.action_cockpit_to_ship(), to_ship | late),
            (backend.action_cockpit_ship_late(), late),
            (backend.action_cockpit_issues_person(), decisions | person),
            (backend.action_cockpit_issues_transient(), transient),
            (backend.action_cockpit_check_issues(), Issue),
            (backend.action_cockpit_unsettled(), delivered.invoice_ids),
            (backend.action_cockpit_in_transit(), self.env["mirakl.billing.cycle"]),
            (backend.action_cockpit_payouts(), self.env["mirakl.billing.cycle"]),
            (
                backend.action_cockpit_imports(),
                to_ship | late | delivered | waiting,
            ),
            (
                backend.action_cockpit_stock(),
                self.env["mirakl.offer.import"],
            ),
        ):
            with self.subTest(action=action["name"]):
                self.assertTrue(action["name"].startswith(backend.name))
                self.assertEqual(action_records(self.env, action), expected)
        api_rows = action_records(self.env, backend.action_cockpit_api())
        self.assertEqual(sum(api_rows.mapped("calls")), backend.cockpit_api_calls)
        self.assertEqual(api_rows.backend_id, backend)
        # Plain words: the card names no Mirakl code.
        texts = " ".join(
            str(value)
            for value in backend.read(CARD_FIELDS)[0].values()
            if isinstance(value, str)
        )
        for code in ("WAITING_ACCEPTANCE", "SHIPPING", "OR11", "STO01", "SBC11"):
            self.assertNotIn(code, texts)

    def test_a_mirakl_user_opens_what_the_card_counts(self):
        ops = new_test_user(
            self.env,
            "mirakl_ops",
            groups="base.group_user,mirakl_connector.mirakl_connector_group_user",
        )
        to_ship = self.released(("std", 1))
        delivered = self.shipped(("std2", 1))
        self.import_orders()
        self.assertNotEqual(to_ship.user_id, ops)  # another salesperson's
        backend = self.card().with_user(ops)
        self.assertEqual(backend.cockpit_to_ship, 1)
        self.assertEqual(
            backend.cockpit_unsettled, delivered.invoice_ids.amount_residual_signed
        )
        env = self.env(user=ops)
        self.assertEqual(action_records(env, backend.action_cockpit_to_ship()), to_ship)
        self.assertEqual(
            action_records(env, backend.action_cockpit_unsettled()),
            delivered.invoice_ids,
        )
        # The orders and invoices open, lines included...
        self.assertTrue(to_ship.with_user(ops).order_line.mapped("name"))
        self.assertTrue(
            delivered.invoice_ids.with_user(ops).invoice_line_ids.mapped("name")
        )
        # ... and changing them stays under the Sales rules.
        with self.assertRaises(AccessError):
            to_ship.with_user(ops).write({"client_order_ref": "changed"})

    def test_what_turns_a_card_red(self):
        backend = self.card()
        self.assertEqual(self.alerts(), [])
        self.assertEqual(backend.cockpit_color, 10)
        # The connection fails.
        self.control.fault("401", operation="A01", count=1)
        backend.action_mirakl_test_connection()
        self.assertIn("The connection to Mirakl failed.", self.alerts())
        self.assertIn("Sync issues needing a person: 1.", self.alerts())
        self.assertEqual(self.card().cockpit_color, 1)
        backend.action_mirakl_test_connection()  # fixed: its issue closes
        self.assertEqual(self.alerts(), [])
        # An order to accept close to the end of its window.
        backend.write({"acceptance_policy": "manual", "acceptance_window_hours": 10})
        (order,) = self.create_orders(self.order_spec(("std", 1)))
        self.import_orders()
        self.assertTrue(self.card().cockpit_accept_urgent)
        self.assertRegex(
            self.alerts()[0], r"^Orders to accept: 1, the first due in (9|10) h\.$"
        )
        self.sale_of(order["order_id"]).action_mirakl_accept()
        self.assertEqual(self.alerts(), [])
        # A job without success for too long, or never.
        backend.order_watermark = fields.Datetime.now() - timedelta(hours=2)
        self.assertTrue(self.card().cockpit_import_late)
        self.assertEqual(self.alerts(), ["Order import: no success for 2 h."])
        self.import_orders()
        self.cr.execute(
            "UPDATE mirakl_backend SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(days=3), backend.id),
        )
        self.assertEqual(
            self.alerts(),
            [
                "Stock push: never succeeded.",
                "Payout import: never succeeded.",
                "Order check: never succeeded.",
            ],
        )
        backend.write({"stock_push_enabled": False, "payout_import_enabled": False})
        backend._mirakl_compare_orders()
        self.assertEqual(self.alerts(), [])
        # Paid orders past Mirakl's shipping deadline.
        backend.acceptance_policy = "all"
        sale = self.released(("std2", 1))
        sale.mirakl_shipping_deadline = fields.Datetime.now() - timedelta(minutes=1)
        self.assertEqual(
            self.alerts(), ["Paid orders past Mirakl's shipping deadline: 1."]
        )
        self.deliver(sale.picking_ids)
        backend._mirakl_sync_shipments()
        self.import_orders()
        self.assertEqual(self.alerts(), [])
        # Calls failing: from 5 failures and 5 % of the calls.
        self.control.fault("500", operation="V01", count=5)

        def version():
            backend._mirakl_call("V01", lambda c: c.get_version(), max_retries=0)

        for _i in range(4):
            version()
        self.assertFalse(self.card().cockpit_api_alert)
        version()
        card = self.card()
        self.assertTrue(card.cockpit_api_alert)
        self.assertEqual(card.cockpit_api_server_errors, 5)
        self.assertIn(
            "Calls to Mirakl failing: 5 of %s in the last 24 hours."
            % card.cockpit_api_calls,
            self.alerts(),
        )
        self.assertEqual(card.cockpit_color, 1)

    def test_card_queries_do_not_grow_with_orders_or_shops(self):
        Issue = self.env["mirakl.sync.issue"]
        partner = self.env["res.partner"].create({"name": "Marketplace customer"})
        now = fields.Datetime.now()

        def shop_with(name, orders):
            shop = self.new_shop(name)
            self.env["sale.order"].create(
                [
                    {
                        "partner_id": partner.id,
                        "mirakl_backend_id": shop.id,
                        "mirakl_order_id": "%s-%s" % (name, i),
                        "mirakl_state": ("WAITING_ACCEPTANCE", "SHIPPING")[i % 2],
                        "mirakl_acceptance_deadline": now + timedelta(hours=i),
                        "mirakl_shipping_deadline": now
                        + timedelta(hours=-1 if i % 3 == 0 else 1),
                    }
                    for i in range(orders)
                ]
            )
            for i in range(orders // 10 + 1):
                Issue._mirakl_record(shop, "SH12", "x", "mapping", mirakl_ref=str(i))
                Issue._mirakl_record(
                    shop, "SH21", "y", "timeout", mirakl_ref=str(i), transient=True
                )
            self.env["mirakl.call.stat"].create(
                {"backend_id": shop.id, "hour": now, "operation": "OR11", "calls": 3}
            )
            return shop

        def queries(shops):
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            values = shops.read(CARD_FIELDS)
            return self.cr.sql_log_count - before, values

        few = shop_with("Few", 2)
        many = shop_with("Many", 60)
        more = shop_with("More", 30)
        queries(few)  # warm the registry's caches
        count_few, (values_few,) = queries(few)
        count_many, (values_many,) = queries(many)
        count_all, values_all = queries(few | many | more)
        self.assertEqual(values_few["cockpit_to_accept"], 1)
        self.assertEqual(values_many["cockpit_to_accept"], 30)
        self.assertEqual(values_many["cockpit_to_ship"], 30)
        self.assertEqual(values_many["cockpit_ship_late"], 10)
        self.assertEqual(values_many["cockpit_issues_person"], 7)
        self.assertEqual(values_many["cockpit_api_calls"], 3)
        self.assertEqual([v["cockpit_to_accept"] for v in values_all], [1, 30, 15])
        self.assertEqual(count_few, count_many)
        self.assertEqual(count_few, count_all)
        self.assertLessEqual(count_few, 12)  # one grouped query per figure

    def test_graph_and_pivot_views(self):
        for xmlid, model in (
            ("mirakl_connector.sale_order_mirakl_action", "sale.order"),
            ("mirakl_connector.mirakl_sync_issue_action", "mirakl.sync.issue"),
            ("mirakl_connector.mirakl_billing_cycle_action", "mirakl.billing.cycle"),
            ("mirakl_connector.mirakl_call_stat_action", "mirakl.call.stat"),
        ):
            with self.subTest(action=xmlid):
                action = self.env.ref(xmlid)
                modes = [mode for _view, mode in action.views]
                self.assertIn("graph", modes)
                self.assertIn("pivot", modes)
                self.assertIn(modes[0], ("list", "kanban"))
                views = self.env[model].get_views(action.views)["views"]
                self.assertIn("graph", views)
                self.assertIn("pivot", views)
        # Sync issues by kind: needs a person, or transient.
        Issue = self.env["mirakl.sync.issue"]
        Issue._mirakl_record(self.backend, "SH12", "a", "mapping")
        Issue._mirakl_record(self.backend, "SH21", "b", "timeout", transient=True)
        Issue._mirakl_record(self.backend, "RE01", "c", "server", transient=True)
        groups = dict(
            Issue._read_group(
                [("backend_id", "=", self.backend.id)], ["kind"], ["__count"]
            )
        )
        self.assertEqual(groups, {"person": 1, "transient": 2})


@tagged("post_install", "-at_install")
class TestCockpitMoney(CockpitMixin, SettlementCommon):
    def transit_balance(self, cycle):
        lines = cycle.move_id.line_ids.filtered(
            lambda line: line.account_id == self.backend.transit_account_id
        )
        return sum(lines.mapped("balance"))

    def test_money_waiting_and_the_billing_cycle_figures(self):
        first = self.shipped(("std", 2), ("zero", 1))
        second = self.shipped(("reduced", 1))
        invoices = (first | second).invoice_ids
        self.assertEqual(invoices.mirakl_backend_id, self.backend)
        backend = self.card()
        self.assertAlmostEqual(
            backend.cockpit_unsettled,
            sum(invoices.mapped("amount_residual_signed")),
            places=2,
        )
        self.assertEqual(
            action_records(self.env, backend.action_cockpit_unsettled()), invoices
        )
        self.control.billing_item("SUBSCRIPTION", "25.00", vat_rate="20")
        _result, cycle = self.book()
        self.assertEqual(cycle.state, "booked")
        # Settled: the invoices are no longer waiting, the payout is in transit.
        backend = self.card()
        self.assertEqual(backend.cockpit_unsettled, 0.0)
        self.assertFalse(action_records(self.env, backend.action_cockpit_unsettled()))
        self.assertGreater(self.transit_balance(cycle), 0)
        self.assertAlmostEqual(
            backend.cockpit_in_transit, self.transit_balance(cycle), places=2
        )
        self.assertTrue(cycle.in_transit)
        self.assertEqual(
            action_records(self.env, backend.action_cockpit_in_transit()), cycle
        )
        # The cycle's commission and fees, VAT included, as costs.
        self.assertAlmostEqual(
            cycle.commission_amount,
            first.mirakl_commission_total + second.mirakl_commission_total,
            places=2,
        )
        self.assertAlmostEqual(cycle.fee_amount, 30.0, places=2)
        (month,) = self.env["mirakl.billing.cycle"]._read_group(
            [("backend_id", "=", self.backend.id)],
            ["date_created:month"],
            ["amount_transferred:sum", "commission_amount:sum", "fee_amount:sum"],
        )
        self.assertEqual(
            month[1:],
            (cycle.amount_transferred, cycle.commission_amount, cycle.fee_amount),
        )
        # Seen on the bank: no longer in transit.
        bank = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.company.id)], limit=1
        )
        self.env["account.bank.statement.line"].create(
            {
                "journal_id": bank.id,
                "date": cycle.pay_out_date.date(),
                "amount": cycle.amount_transferred,
                "payment_ref": "MIRAKL %s" % cycle.pay_out_reference,
            }
        )
        cycle.action_match_bank()
        backend = self.card()
        self.assertEqual(backend.cockpit_in_transit, 0.0)
        self.assertFalse(cycle.in_transit)
        self.assertFalse(action_records(self.env, backend.action_cockpit_in_transit()))
