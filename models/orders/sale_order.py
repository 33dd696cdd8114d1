import json
import logging
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from ... import const
from ...lib import mappers

_logger = logging.getLogger(__name__)

ACCEPTANCE_STATES = [
    ("pending", "Waiting for a decision"),
    ("to_send", "Decision to send"),
    ("accepted", "Accepted"),
    ("refused", "Refused"),
    ("expired", "Lost (window passed)"),
]


class SaleOrder(models.Model):
    _inherit = "sale.order"

    mirakl_backend_id = fields.Many2one(
        "mirakl.backend",
        string="Mirakl shop",
        copy=False,
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
    )
    mirakl_order_id = fields.Char(
        string="Mirakl order", copy=False, readonly=True, index="btree_not_null"
    )
    mirakl_commercial_id = fields.Char(
        string="Mirakl commercial order", copy=False, readonly=True
    )
    mirakl_state = fields.Char(
        string="Mirakl state",
        copy=False,
        readonly=True,
        help="The order's state on Mirakl (order_state), as last read.",
    )
    mirakl_status = fields.Selection(
        [*const.ORDER_STATES, const.ORDER_STATE_OTHER],
        string="On Mirakl",
        compute="_compute_mirakl_status",
        store=True,
        help="The order's state on Mirakl, in plain words (the code is in the "
        "Mirakl tab).",
    )
    mirakl_tax_mode_label = fields.Char(
        string="Marketplace prices", compute="_compute_mirakl_tax_mode_label"
    )
    mirakl_invoice_policy = fields.Selection(
        related="mirakl_backend_id.invoice_policy", string="Mirakl invoicing"
    )
    mirakl_state_reason = fields.Char(
        string="Mirakl state reason", copy=False, readonly=True
    )
    mirakl_created_date = fields.Datetime(
        string="Created on Mirakl", copy=False, readonly=True
    )
    mirakl_last_updated = fields.Datetime(
        string="Last updated on Mirakl", copy=False, readonly=True
    )
    mirakl_synced_at = fields.Datetime(
        string="Last read from Mirakl", copy=False, readonly=True
    )
    mirakl_tax_mode = fields.Char(string="Mirakl tax mode", copy=False, readonly=True)
    mirakl_shipping_late = fields.Boolean(
        string="Past Mirakl's shipping deadline",
        compute="_compute_mirakl_shipping_late",
        search="_search_mirakl_shipping_late",
        help="Paid on Mirakl (to ship) and past Mirakl's shipping deadline.",
    )
    mirakl_acceptance_deadline = fields.Datetime(
        string="Accept before",
        copy=False,
        readonly=True,
        help="Creation on Mirakl plus the shop's acceptance window: after it "
        "the marketplace refuses the order.",
    )
    mirakl_shipping_deadline = fields.Datetime(
        string="Ship before",
        copy=False,
        readonly=True,
        help="Mirakl's shipping deadline (OR11 shipping_deadline): the order "
        "must be confirmed shipped by then. It is also the Sales Order's "
        "delivery date, so that the delivery is scheduled for it.",
    )
    mirakl_acceptance = fields.Selection(
        ACCEPTANCE_STATES, string="Mirakl acceptance", copy=False, readonly=True
    )
    mirakl_accepted_date = fields.Datetime(
        string="Accepted on", copy=False, readonly=True
    )
    mirakl_seller_ref_sent = fields.Char(
        string="Reference sent to Mirakl",
        copy=False,
        readonly=True,
        help="The Sales Order number as last written to Mirakl (OR04).",
    )
    mirakl_seller_ref_pending = fields.Boolean(
        compute="_compute_mirakl_seller_ref_pending",
        store=True,
        index="btree_not_null",
        help="Technical: the order number still has to be written to Mirakl.",
    )
    mirakl_total_price = fields.Monetary(
        string="Mirakl total",
        copy=False,
        readonly=True,
        help="What the customer pays on Mirakl for the lines still sold, tax included.",
    )
    mirakl_tax_total = fields.Monetary(
        string="Mirakl tax total", copy=False, readonly=True
    )
    mirakl_amount_mismatch = fields.Boolean(
        string="Amounts differ from Mirakl", copy=False, readonly=True
    )
    mirakl_commission_fee = fields.Monetary(
        string="Commission", compute="_compute_mirakl_commission", store=True
    )
    mirakl_commission_vat = fields.Monetary(
        string="Commission VAT", compute="_compute_mirakl_commission", store=True
    )
    mirakl_commission_total = fields.Monetary(
        string="Commission incl. VAT",
        compute="_compute_mirakl_commission",
        store=True,
    )
    mirakl_expected_net = fields.Monetary(
        string="Expected net payout",
        compute="_compute_mirakl_commission",
        store=True,
        help="Gross paid by the customer minus the commission and its VAT.",
    )
    mirakl_digest = fields.Char(copy=False, readonly=True)
    mirakl_raw = fields.Text(
        string="Mirakl order JSON",
        copy=False,
        readonly=True,
        prefetch=False,
        # The customer's personal data as Mirakl sent it: system
        # administrators only (the connector reads it with _mirakl_raw_data).
        groups="base.group_system",
    )
    mirakl_issue_count = fields.Integer(
        string="Mirakl issues", compute="_compute_mirakl_issue_count"
    )

    _sql_constraints = [
        (
            "mirakl_order_unique",
            "unique(mirakl_backend_id, mirakl_order_id)",
            "This Mirakl order already has a Sales Order in this shop.",
        )
    ]

    # === COMPUTE METHODS === #

    @api.depends("mirakl_state")
    def _compute_mirakl_status(self):
        known = dict(const.ORDER_STATES)
        for order in self:
            state = order.mirakl_state
            order.mirakl_status = (
                state if state in known else (state and const.ORDER_STATE_OTHER[0])
            )

    @api.depends("mirakl_tax_mode")
    def _compute_mirakl_tax_mode_label(self):
        for order in self:
            mode = order.mirakl_tax_mode
            order.mirakl_tax_mode_label = const.TAX_MODES.get(mode, mode or False)

    @api.depends(
        "order_line.mirakl_commission_fee",
        "order_line.mirakl_commission_vat",
        "mirakl_total_price",
    )
    def _compute_mirakl_commission(self):
        for order in self:
            lines = order.order_line
            fee = sum(lines.mapped("mirakl_commission_fee"))
            vat = sum(lines.mapped("mirakl_commission_vat"))
            order.mirakl_commission_fee = fee
            order.mirakl_commission_vat = vat
            order.mirakl_commission_total = fee + vat
            order.mirakl_expected_net = order.mirakl_total_price - fee - vat

    @api.depends("name", "mirakl_seller_ref_sent", "mirakl_backend_id")
    def _compute_mirakl_seller_ref_pending(self):
        for order in self:
            order.mirakl_seller_ref_pending = bool(
                order.mirakl_backend_id and order.name != order.mirakl_seller_ref_sent
            )

    @api.depends("mirakl_status", "mirakl_shipping_deadline")
    def _compute_mirakl_shipping_late(self):
        now = fields.Datetime.now()
        for order in self:
            order.mirakl_shipping_late = bool(
                order.mirakl_status == "SHIPPING"
                and order.mirakl_shipping_deadline
                and order.mirakl_shipping_deadline < now
            )

    def _search_mirakl_shipping_late(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(_("Unsupported search on the shipping deadline."))
        late = [
            ("mirakl_status", "=", "SHIPPING"),
            ("mirakl_shipping_deadline", "<", fields.Datetime.now()),
        ]
        if (operator == "=") == value:
            return late
        return ["!", "&", *late]

    def _compute_mirakl_issue_count(self):
        groups = self.env["mirakl.sync.issue"]._read_group(
            [
                ("res_model", "=", "sale.order"),
                ("res_id", "in", self.ids),
                ("state", "=", "open"),
            ],
            ["res_id"],
            ["__count"],
        )
        counts = dict(groups)
        for order in self:
            order.mirakl_issue_count = counts.get(order.id, 0)

    def _mirakl_shipping_type(self):
        """The shop's shipping type of this order: by its delivery method,
        else by the code Mirakl sent."""
        self.ensure_one()
        types = self.sudo().mirakl_backend_id.shipping_type_ids
        found = types.filtered(lambda st: st.carrier_id == self.carrier_id)[:1]
        if not found:
            code = self._mirakl_raw_data().get("shipping_type_code")
            found = types.filtered(lambda st: st.code == code)[:1]
        return found

    def _mirakl_raw_data(self):
        """The order as Mirakl last sent it (a dict; empty when unknown)."""
        self.ensure_one()
        return json.loads(self.sudo().mirakl_raw or "{}")

    # === ACTION METHODS === #

    def action_confirm(self):
        """Override of `sale` to keep Mirakl orders out of the warehouse until paid.

        A Mirakl order is released (confirmed) by the connector when Mirakl
        reports it SHIPPING: before that it may still be refused, or the
        customer's payment may fail.
        """
        if not self.env.context.get("mirakl_release"):
            for order in self.filtered("mirakl_backend_id"):
                if order.mirakl_state not in mappers.RELEASED_STATES:
                    raise UserError(
                        _(
                            "%(order)s is a Mirakl order in state %(state)s: it is "
                            "confirmed automatically once Mirakl reports it "
                            "SHIPPING (accepted and paid by the customer).",
                            order=order.name,
                            state=order.mirakl_state or "-",
                        )
                    )
        return super().action_confirm()

    def _action_cancel(self):
        """Override of `sale` to cancel Mirakl orders on Mirakl too.

        Waiting for acceptance: every line is refused (OR21) now. Accepted:
        the cancellation (OR29) is queued and sent after the commit. Already
        shipped or closed on Mirakl: nothing is sent. Cancellations that come
        from Mirakl itself are not echoed back.
        """
        if not self.env.context.get("mirakl_from_mirakl"):
            for order in self.filtered("mirakl_backend_id"):
                order._mirakl_cancel_on_mirakl()
        return super()._action_cancel()

    def _mirakl_cancel_on_mirakl(self):
        self.ensure_one()
        state = self.mirakl_state
        if state in mappers.PRE_ACCEPTANCE_STATES:
            lines = self._mirakl_waiting_lines()
            lines.mirakl_decision = "refuse"
            self.mirakl_acceptance = "to_send"
            if not self._mirakl_send_decision(const.BUTTON_MAX_RETRIES):
                raise UserError(
                    _(
                        "Mirakl did not take the refusal of %(order)s; the Sales "
                        "Order stays as it is. See the sync issues and try again.",
                        order=self.mirakl_order_id,
                    )
                )
            return
        if state in mappers.CLOSED_STATES or state in (
            "SHIPPED",
            "TO_COLLECT",
            "RECEIVED",
            "CLOSED",
        ):
            return
        raw = self._mirakl_raw_data()
        if not raw.get("can_cancel") and not self.env.context.get(
            "mirakl_force_cancel"
        ):
            raise UserError(
                _(
                    "Mirakl does not allow cancelling %(order)s now (state "
                    "%(state)s). Cancel it on the marketplace, or wait until it "
                    "may be cancelled.",
                    order=self.mirakl_order_id,
                    state=state,
                )
            )
        Shipment = self.env["mirakl.shipment"].sudo()
        row = Shipment.create(
            {
                "backend_id": self.mirakl_backend_id.id,
                "sale_order_id": self.id,
                "kind": "cancel",
                "event_date": fields.Datetime.now(),
            }
        )
        Shipment._mirakl_send_after_commit(row.ids)
        self.message_post(body=_("Cancellation queued for Mirakl (OR29)."))

    def action_mirakl_cancel_lines(self):
        """Open the wizard cancelling units that cannot be fulfilled (OR30)."""
        self.ensure_one()
        if self.mirakl_state != "SHIPPING":
            raise UserError(
                _("Lines of a Mirakl order can be cancelled while it is SHIPPING.")
            )
        return {
            "type": "ir.actions.act_window",
            "name": _("Cancel lines on Mirakl"),
            "res_model": "mirakl.order.cancel",
            "view_mode": "form",
            "target": "new",
            "context": {"default_sale_order_id": self.id},
        }

    def action_mirakl_accept(self):
        """Accept every line still waiting on Mirakl (button)."""
        self.ensure_one()
        order = self.with_env(self.mirakl_backend_id._mirakl_as_operator().env)
        order._mirakl_check_decidable()
        lines = order._mirakl_waiting_lines()
        lines.mirakl_decision = "accept"
        return order._mirakl_send_decision_action()

    def action_mirakl_refuse(self):
        """Open the wizard to refuse some (or all) lines."""
        self.ensure_one()
        self._mirakl_check_decidable()
        return {
            "type": "ir.actions.act_window",
            "name": _("Refuse lines on Mirakl"),
            "res_model": "mirakl.order.refuse",
            "view_mode": "form",
            "target": "new",
            "context": {"default_sale_order_id": self.id},
        }

    def action_mirakl_resync(self):
        """Re-read the order from Mirakl and apply what changed."""
        self.ensure_one()
        if not self.mirakl_backend_id:
            raise UserError(_("This Sales Order does not come from Mirakl."))
        backend = self.mirakl_backend_id._mirakl_as_operator()
        result = backend._mirakl_import_order_ids(
            [self.mirakl_order_id], max_retries=const.BUTTON_MAX_RETRIES, force=True
        )
        return backend._mirakl_import_notification(result)

    def action_mirakl_open_issues(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "mirakl_connector.mirakl_sync_issue_action"
        )
        action["domain"] = [("res_model", "=", "sale.order"), ("res_id", "=", self.id)]
        action["context"] = {"search_default_open": 1}
        return action

    def _mirakl_retry_issue(self, issue):
        """Retry the Mirakl operation of a sync issue filed on this order."""
        self.ensure_one()
        backend = self.mirakl_backend_id
        if issue.operation == "OR21":
            if self.mirakl_acceptance == "expired":
                return False
            self._mirakl_refresh_from_mirakl(const.BUTTON_MAX_RETRIES)
            if self.mirakl_acceptance in ("pending", "to_send"):
                self._mirakl_decide()
                self._mirakl_send_decision(const.BUTTON_MAX_RETRIES)
            return self.mirakl_acceptance in ("accepted", "refused")
        if issue.operation == "OR04":
            sent = backend._mirakl_send_seller_references(
                self, max_retries=const.BUTTON_MAX_RETRIES
            )
            return bool(sent)
        if issue.operation in ("OR11", "ORDER"):
            result = backend._mirakl_import_order_ids(
                [self.mirakl_order_id],
                max_retries=const.BUTTON_MAX_RETRIES,
                force=True,
            )
            return not result["failed"] and issue.state == "resolved"
        return None

    # === BUSINESS METHODS: acceptance === #

    def _mirakl_check_decidable(self):
        if self.mirakl_state != mappers.WAITING_ACCEPTANCE:
            raise UserError(
                _(
                    "Mirakl order %(order)s is %(state)s: only orders waiting for "
                    "acceptance can be accepted or refused.",
                    order=self.mirakl_order_id,
                    state=self.mirakl_state,
                )
            )
        if self.mirakl_acceptance == "expired":
            raise UserError(_("The acceptance window of this order has passed."))

    def _mirakl_waiting_lines(self):
        return self.order_line.filtered(
            lambda line: (
                line.mirakl_line_id
                and line.mirakl_line_state == mappers.WAITING_ACCEPTANCE
            )
        )

    def _mirakl_send_decision_action(self):
        ok = self._mirakl_send_decision(const.BUTTON_MAX_RETRIES)
        backend = self.mirakl_backend_id
        if ok:
            return backend._mirakl_notification(
                _("Mirakl"),
                _("Decision sent to Mirakl for %(order)s.", order=self.mirakl_order_id),
                "success",
            )
        issue = self.env["mirakl.sync.issue"].search(
            backend.env["mirakl.sync.issue"]._mirakl_key_domain(
                backend, "OR21", self, self.mirakl_order_id
            ),
            limit=1,
        )
        return backend._mirakl_notification(
            _("Mirakl refused or did not answer"),
            issue.message or _("The decision could not be sent."),
            "danger",
            sticky=True,
        )

    def _mirakl_decide(self, stock_budget=None):
        """Apply the shop's acceptance policy to the lines still undecided.

        Sets ``mirakl_decision`` on lines and ``mirakl_acceptance`` on the
        order: ``to_send`` when a decision can go to Mirakl, ``pending`` when a
        person must decide. ``stock_budget`` (product id -> free quantity) is
        shared by the orders of one run so two orders do not both count on
        the same units.
        """
        self.ensure_one()
        backend = self.mirakl_backend_id
        lines = self._mirakl_waiting_lines()
        if not lines or self.mirakl_acceptance in ("accepted", "refused", "expired"):
            return
        if any(line.mirakl_decision for line in lines) and all(
            line.mirakl_decision for line in lines
        ):
            self.mirakl_acceptance = "to_send"
            return
        policy = backend.acceptance_policy
        if policy == "manual":
            self.mirakl_acceptance = "pending"
            self._mirakl_file_decision_issue(
                _("The shop accepts orders by hand: accept or refuse it on the order.")
            )
            return
        if policy == "stock":
            short = self._mirakl_short_lines(lines, stock_budget)
            if short:
                if not backend._mirakl_partial_acceptance_allowed():
                    self.mirakl_acceptance = "pending"
                    self._mirakl_file_decision_issue(
                        _(
                            "Free stock does not cover %(skus)s and the platform "
                            "does not allow refusing single lines: accept or "
                            "refuse the order by hand.",
                            skus=", ".join(short.mapped("mirakl_offer_sku")),
                        )
                    )
                    return
                short.mirakl_decision = "refuse"
                (lines - short).mirakl_decision = "accept"
                self.message_post(
                    body=_(
                        "Refusing lines without free stock: %(skus)s.",
                        skus=", ".join(short.mapped("mirakl_offer_sku")),
                    )
                )
                self.mirakl_acceptance = "to_send"
                return
        lines.mirakl_decision = "accept"
        self.mirakl_acceptance = "to_send"

    def _mirakl_short_lines(self, lines, stock_budget):
        """Lines whose product's free stock (less what other accepted, not yet
        released Mirakl orders need) does not cover the quantity."""
        backend = self.mirakl_backend_id
        budget = stock_budget if stock_budget is not None else {}
        products = lines.product_id.filtered(lambda p: p.is_storable)
        missing = products.filtered(lambda p: p.id not in budget)
        if missing:
            budget.update(backend._mirakl_free_stock(missing))
        short = self.env["sale.order.line"]
        wanted = defaultdict(float)
        for line in lines:
            if line.product_id.is_storable:
                wanted[line.product_id.id] += line.product_uom_qty
        for line in lines:
            product = line.product_id
            if product.is_storable and (
                float_compare(
                    wanted[product.id],
                    budget.get(product.id, 0.0),
                    precision_rounding=product.uom_id.rounding,
                )
                > 0
            ):
                short |= line
        for line in lines - short:
            if line.product_id.is_storable:
                budget[line.product_id.id] -= line.product_uom_qty
        return short

    def _mirakl_file_decision_issue(self, message):
        self.env["mirakl.sync.issue"]._mirakl_record(
            self.mirakl_backend_id,
            "OR21",
            message,
            category="decision",
            record=self,
            mirakl_ref=self.mirakl_order_id,
            deadline=self.mirakl_acceptance_deadline,
        )

    def _mirakl_send_decision(self, max_retries=None):
        """OR21 with the decided lines; True when Mirakl took it.

        A refused or failed call leaves the order ``to_send``: the next run
        tries again until the window closes.
        """
        self.ensure_one()
        backend = self.mirakl_backend_id
        lines = self._mirakl_waiting_lines()
        if not lines or any(not line.mirakl_decision for line in lines):
            return False
        decisions = {
            line.mirakl_line_id: line.mirakl_decision == "accept" for line in lines
        }
        if (
            len(set(decisions.values())) > 1
            and not backend._mirakl_partial_acceptance_allowed()
        ):
            self.mirakl_acceptance = "pending"
            lines.mirakl_decision = False
            self._mirakl_file_decision_issue(
                _(
                    "The platform does not allow accepting some lines and refusing "
                    "others: accept or refuse the whole order."
                )
            )
            return False
        ok, result = backend._mirakl_call(
            "OR21",
            lambda client: client.accept_order(self.mirakl_order_id, decisions),
            record=self,
            mirakl_ref=self.mirakl_order_id,
            max_retries=max_retries,
            deadline=self.mirakl_acceptance_deadline,
        )
        if not ok:
            if result.code == "ORDER_INVALID_STATE":
                # Decided elsewhere (back office, auto-acceptance): re-read.
                self._mirakl_refresh_from_mirakl(max_retries)
            return False
        accepted = any(decisions.values())
        now = fields.Datetime.now()
        kept = lines.filtered(lambda line: decisions[line.mirakl_line_id])
        kept.mirakl_line_state = "WAITING_DEBIT"
        (lines - kept).mirakl_line_state = "REFUSED"
        self.write(
            {
                "mirakl_acceptance": "accepted" if accepted else "refused",
                "mirakl_accepted_date": now if accepted else False,
                "mirakl_state": "WAITING_DEBIT" if accepted else "REFUSED",
            }
        )
        self.env["mirakl.sync.issue"]._mirakl_resolve(
            backend, "OR21", record=self, mirakl_ref=self.mirakl_order_id
        )
        refused = [lid for lid, ok_ in decisions.items() if not ok_]
        if accepted and refused:
            self._mirakl_apply_line_quantities()
        if refused:  # an acceptance shows in the Mirakl tab; a refusal is news
            self.message_post(
                body=_("Refused on Mirakl: %(lines)s.", lines=", ".join(refused))
            )
        if not accepted:
            self._mirakl_cancel(_("every line was refused on Mirakl"))
        return True

    def _mirakl_refresh_from_mirakl(self, max_retries=None):
        backend = self.mirakl_backend_id
        return backend._mirakl_import_order_ids(
            [self.mirakl_order_id], max_retries=max_retries, force=True
        )

    # === BUSINESS METHODS: release, cancellation, line quantities === #

    def _mirakl_release(self):
        """Confirm the order (create the picking) once Mirakl reports it paid."""
        self.ensure_one()
        if self.state not in ("draft", "sent"):
            return False
        problems = self._mirakl_release_problems()
        Issue = self.env["mirakl.sync.issue"]
        if problems:
            Issue._mirakl_record(
                self.mirakl_backend_id,
                "ORDER",
                _(
                    "Mirakl order %(order)s is paid but cannot go to the warehouse: "
                    "%(problems)s",
                    order=self.mirakl_order_id,
                    problems="; ".join(problems),
                ),
                category="data",
                record=self,
                mirakl_ref="release",
            )
            return False
        self.with_context(mirakl_release=True).action_confirm()
        Issue._mirakl_resolve(
            self.mirakl_backend_id, "ORDER", record=self, mirakl_ref="release"
        )
        self._mirakl_invoice_due("debited")
        return True

    def _mirakl_release_problems(self):
        problems = []
        shipping = self.partner_shipping_id
        if not shipping.street or not shipping.city or not shipping.country_id:
            problems.append(_("the delivery address is incomplete"))
        if shipping.country_id.zip_required and not shipping.zip:
            problems.append(_("the delivery address has no postcode"))
        if not any(
            line.product_uom_qty > 0 and not line.is_delivery
            for line in self.order_line
        ):
            problems.append(_("no line is left to deliver"))
        return problems

    def _mirakl_cancel(self, reason):
        """Cancel the Sales Order (and its open pickings) with a chatter note."""
        self.ensure_one()
        if self.state == "cancel":
            return
        done = self.picking_ids.filtered(lambda p: p.state == "done")
        self.with_context(
            disable_cancel_warning=True, mirakl_from_mirakl=True
        )._action_cancel()
        self.message_post(
            body=_("Cancelled because %(reason)s.", reason=reason),
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
        if done:
            self.env["mirakl.sync.issue"]._mirakl_record(
                self.mirakl_backend_id,
                "ORDER",
                _(
                    "Mirakl cancelled %(order)s but deliveries %(pickings)s are "
                    "already done: arrange the return.",
                    order=self.mirakl_order_id,
                    pickings=", ".join(done.mapped("name")),
                ),
                category="drift",
                record=self,
                mirakl_ref="cancel",
            )

    def _mirakl_apply_line_quantities(self):
        """Quantities of product lines = what Mirakl still sells."""
        for line in self.order_line.filtered("mirakl_line_id"):
            live = line._mirakl_live_quantity()
            if float_compare(
                line.product_uom_qty, live, precision_rounding=line.product_uom.rounding
            ):
                line.write({"product_uom_qty": live, "price_unit": line.price_unit})

    # === BUSINESS METHODS: amounts === #

    def _mirakl_check_amounts(self, order):
        """Flag the order when its totals differ from Mirakl's by a penny or more."""
        self.ensure_one()
        currency = self.currency_id
        expected_total = float(order.expected_amount_total())
        expected_tax = float(order.live_tax_total())
        messages = []
        if currency.compare_amounts(self.amount_total, expected_total):
            messages.append(
                _(
                    "total %(odoo)s in Odoo, %(mirakl)s on Mirakl",
                    odoo=self.amount_total,
                    mirakl=expected_total,
                )
            )
        if order.has_taxes() and currency.compare_amounts(
            self.amount_tax, expected_tax
        ):
            messages.append(
                _(
                    "tax %(odoo)s in Odoo, %(mirakl)s on Mirakl",
                    odoo=self.amount_tax,
                    mirakl=expected_tax,
                )
            )
        vals = {
            "mirakl_total_price": expected_total,
            "mirakl_tax_total": expected_tax,
            "mirakl_amount_mismatch": bool(messages),
        }
        changed = {
            name: value
            for name, value in vals.items()
            if (
                currency.compare_amounts(self[name], value)
                if name != "mirakl_amount_mismatch"
                else self[name] != value
            )
        }
        if changed:
            self.write(changed)
        Issue = self.env["mirakl.sync.issue"]
        if order.total_price is None:
            Issue._mirakl_record(
                self.mirakl_backend_id,
                "ORDER",
                _(
                    "Mirakl sent no total_price for %(order)s: its total "
                    "(%(total)s from the lines) could not be checked against "
                    "Mirakl's own. Check the order on Mirakl.",
                    order=self.mirakl_order_id,
                    total=expected_total,
                ),
                category="data",
                record=self,
                mirakl_ref="total",
            )
        else:
            Issue._mirakl_resolve(
                self.mirakl_backend_id, "ORDER", record=self, mirakl_ref="total"
            )
        if messages:
            Issue._mirakl_record(
                self.mirakl_backend_id,
                "ORDER",
                _(
                    "Amounts of %(order)s differ from Mirakl: %(diff)s. The Sales "
                    "Order keeps Mirakl's prices; check the tax mapping.",
                    order=self.mirakl_order_id,
                    diff="; ".join(messages),
                ),
                category="drift",
                record=self,
                mirakl_ref="amounts",
            )
        else:
            Issue._mirakl_resolve(
                self.mirakl_backend_id, "ORDER", record=self, mirakl_ref="amounts"
            )
        return not messages

    @api.model
    def _mirakl_dump(self, raw):
        return json.dumps(raw, sort_keys=True, default=str)
