"""What a Mirakl order does to its Sales Order: store or update it, closed,
held, lost and unknown orders, the acceptance decisions, the release, OR04
seller references and acceptance deadlines.

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``); the order
import cycle that calls these is in ``mirakl_backend_order.py``.
"""

from collections import defaultdict
from datetime import timedelta

from odoo import _, fields, models

from ... import const
from ...lib import mappers
from ..core.mirakl_backend_run import ConcurrentImport


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    # === BUSINESS METHODS: the cycle, storing an order === #

    def _mirakl_store_order(self, order, cache, stock_budget, force, known):
        """Create or update the Sales Order of one claimed Mirakl order.

        Over 80 lines because the checks that keep the store exactly once
        (found, committed elsewhere, closed, lost, blocked) and the first
        actions on the new Sales Order must run in this order, which is
        easiest to check when read as one sequence.
        """
        sale = self.env["sale.order"].browse(known[0]) if known else None
        if not sale:
            # Another transaction may have created it since the page was read.
            sale = self.env["sale.order"].search(
                [
                    ("mirakl_backend_id", "=", self.id),
                    ("mirakl_order_id", "=", order.order_id),
                ],
                limit=1,
            )
        if not sale and self._mirakl_committed_since(
            "SELECT 1 FROM sale_order WHERE mirakl_backend_id = %s "
            "AND mirakl_order_id = %s",
            (self.id, order.order_id),
        ):
            raise ConcurrentImport(order.order_id)
        if sale:
            if (
                not force
                and sale.mirakl_digest == order.digest
                and order.order_id not in cache["issues"]
            ):
                return "unchanged"
            return self._mirakl_update_sale_order(sale, order, cache)
        if order.state in mappers.CLOSED_STATES:
            # Refused or cancelled before it ever reached Odoo: nothing to sell.
            return "lost" if self._mirakl_close_held_order(order) else "skipped"
        Issue = self.env["mirakl.sync.issue"]
        deadline = self._mirakl_deadline(order)
        if not force and deadline and deadline <= fields.Datetime.now():
            # Past the window and never stored: report it lost, stop trying.
            Issue._mirakl_record(
                self,
                "OR11",
                _(
                    "Order %(order)s is lost: it could not be imported and accepted "
                    "before %(deadline)s (UTC). Import it by id if the marketplace "
                    "still shows it waiting for acceptance.",
                    order=order.order_id,
                    deadline=deadline,
                ),
                category="lost",
                mirakl_ref=order.order_id,
                deadline=deadline,
                bump=False,
            )._mirakl_mark_lost(deadline)
            return "failed"
        resolved, blocking, warnings = self._mirakl_validate(order, cache)
        if blocking:
            Issue._mirakl_record(
                self,
                "OR11",
                _(
                    "Mirakl order %(order)s is not imported (and not accepted): "
                    "%(problems)s. Fix it, then retry (the next import retries "
                    "too).",
                    order=order.order_id,
                    problems="; ".join(blocking),
                ),
                category="mapping",
                mirakl_ref=order.order_id,
                deadline=self._mirakl_deadline(order),
            )
            return "failed"
        vals = self._mirakl_prepare_sale_order_vals(order, resolved, cache)
        sale = self.env["sale.order"].create(vals)
        cache["orders"][order.order_id] = (sale.id, order.digest)
        Issue._mirakl_resolve(self, "OR11", mirakl_ref=order.order_id)
        self._mirakl_post_notes(sale, order)
        self._mirakl_record_warnings(sale, order, warnings)
        sale._mirakl_check_amounts(order)
        sale._mirakl_sync_refunds(order)
        outcome = ["created"]
        if order.state in mappers.PRE_ACCEPTANCE_STATES:
            # Acceptance is the first action after the Sales Order exists.
            sale._mirakl_decide(stock_budget)
            if sale.mirakl_acceptance == "to_send" and sale._mirakl_send_decision():
                outcome.append(
                    "accepted" if sale.mirakl_acceptance == "accepted" else "refused"
                )
        else:
            sale.mirakl_acceptance = "accepted"
            if order.state == "SHIPPING":
                if sale._mirakl_release():
                    outcome.append("released")
            elif order.state in mappers.RELEASED_STATES:
                sale.message_post(
                    body=_(
                        "Imported in state %(state)s: not sent to the warehouse, "
                        "Mirakl already reports it past shipping.",
                        state=order.state,
                    )
                )
        return ",".join(outcome)

    def _mirakl_update_sale_order(self, sale, order, cache):
        """Apply what changed on Mirakl to an existing Sales Order.

        Over 80 lines because its steps depend on each other's results (the
        line changes decide whether quantities, shipping and amounts are
        redone; the state decides cancellation, acceptance and release last):
        kept as one sequence so that this order stays visible.
        """
        if self._mirakl_unknown_state(sale, order):
            return "updated"
        outcome = ["updated"]
        line_by_id = {
            line.mirakl_line_id: line for line in sale.order_line if line.mirakl_line_id
        }
        changes = defaultdict(lambda: self.env["sale.order.line"])
        for mline in order.lines:
            line = line_by_id.get(mline.line_id)
            if not line:
                continue
            vals = self._mirakl_prepare_line_mirakl_vals(mline)
            vals = {
                name: value
                for name, value in vals.items()
                if (
                    line.currency_id.compare_amounts(line[name], value)
                    if line._fields[name].type == "monetary"
                    else line[name] != value
                )
            }
            if (
                mline.state != mappers.WAITING_ACCEPTANCE
                and line.mirakl_decision is False
            ):
                vals["mirakl_decision"] = (
                    "refuse" if mline.state == "REFUSED" else "accept"
                )
            if vals:
                changes[tuple(sorted(vals.items()))] |= line
        for vals, lines in changes.items():
            lines.write(dict(vals))  # one write per distinct change (often one)
        # Quantities, shipping and totals move only with amounts, cancellations
        # or a line leaving; a plain state change (paid, shipped) skips them.
        lines_changed = order.order_id in cache["issues"] or any(
            name not in ("mirakl_line_state", "mirakl_decision")
            or value in mappers.DEAD_LINE_STATES
            or value == "refuse"
            for vals in changes
            for name, value in vals
        )
        old_raw = sale._mirakl_raw_data()
        old_customer = old_raw.get("customer")
        # The first read after the shop's decision re-checks everything.
        lines_changed = lines_changed or (
            old_raw.get("order_state") in mappers.PRE_ACCEPTANCE_STATES
        )
        vals = self._mirakl_prepare_order_state_vals(order, sale)
        if sale.state in ("draft", "sent") and old_customer != order.raw.get(
            "customer"
        ):
            partner_vals = self._mirakl_prepare_partner_vals(
                order, sale=sale, cache=cache
            )
            if partner_vals:
                # Odoo recomputes these from the partner and the delivery
                # address (a pricelist of another currency, for one): keep them.
                for name in (
                    "pricelist_id",
                    "fiscal_position_id",
                    "payment_term_id",
                    "user_id",
                    "team_id",
                ):
                    partner_vals[name] = sale[name].id
                vals.update(partner_vals)
            self._mirakl_post_notes(sale, order)
        sale.write(vals)
        # Refunds: stored at each read; REFUNDED ones get their credit note.
        sale._mirakl_sync_refunds(order)
        if sale.state != "cancel" and lines_changed:
            sale._mirakl_apply_line_quantities()
            self._mirakl_update_shipping_lines(sale, order, cache)
        warnings = self._mirakl_address_warnings(order)
        self._mirakl_record_warnings(sale, order, warnings)
        if sale.state != "cancel" and lines_changed:
            sale._mirakl_check_amounts(order)
        state = order.state
        if state in mappers.CLOSED_STATES:
            return ",".join(outcome + self._mirakl_apply_closed(sale, order))
        if state not in mappers.PRE_ACCEPTANCE_STATES and sale.mirakl_acceptance in (
            False,
            "pending",
            "to_send",
        ):
            # Accepted elsewhere (back office, automatic acceptance).
            sale.mirakl_acceptance = "accepted"
            self._mirakl_close_acceptance_issue(sale)
        if (
            state == "SHIPPING"
            and sale.state in ("draft", "sent")
            and sale._mirakl_release()
        ):
            outcome.append("released")
        return ",".join(outcome)

    def _mirakl_apply_closed(self, sale, order):
        """Mirakl refused or cancelled the order: cancel the Sales Order and
        close its acceptance issue; returns the stats keys to count."""
        outcome = []
        if sale.state != "cancel":
            reason = order.state_reason_label or order.state_reason_code or order.state
            sale._mirakl_cancel(
                _(
                    "Mirakl reports it %(state)s (%(reason)s)",
                    state=order.state,
                    reason=reason,
                )
            )
            outcome.append("cancelled")
        lost = False
        if sale.mirakl_acceptance in (False, "pending", "to_send", "expired"):
            lost = order.state_reason_code == mappers.AUTO_REFUSED
            if sale.mirakl_acceptance != "expired":
                sale.mirakl_acceptance = "expired" if lost else "refused"
        self._mirakl_close_acceptance_issue(sale, lost=lost)
        if lost:
            outcome.append("lost")
        return outcome

    def _mirakl_close_acceptance_issue(self, sale, lost=False):
        issues = self.env["mirakl.sync.issue"]._mirakl_resolve(
            self,
            "OR21",
            record=sale,
            mirakl_ref=sale.mirakl_order_id,
            resolution=lost
            and _("Refused by Mirakl after the acceptance deadline: a lost order."),
        )
        if lost:
            issues.write({"category": "lost"})

    def _mirakl_close_held_order(self, order):
        """Close the issues of an order held back without a Sales Order that
        Mirakl has since refused or cancelled, saying what happened.

        Returns True when it is a lost order: refused by Mirakl itself once
        the acceptance window was over (the issue is counted as lost).
        """
        deadline = mappers.acceptance_deadline(order, self.acceptance_window_hours)
        lost = order.state == "REFUSED" and (
            order.state_reason_code == mappers.AUTO_REFUSED
            or (
                not order.acceptance_decision_date and deadline <= fields.Datetime.now()
            )
        )
        reason = order.state_reason_label or order.state_reason_code or order.state
        if lost:
            resolution = _(
                "Refused by Mirakl after the acceptance deadline (%(reason)s): a "
                "lost order.",
                reason=reason,
            )
        elif order.state == "REFUSED":
            resolution = _("Refused on Mirakl (%(reason)s).", reason=reason)
        else:
            resolution = _("Cancelled on Mirakl (%(reason)s).", reason=reason)
        issues = self.env["mirakl.sync.issue"]._mirakl_resolve(
            self, "OR11", mirakl_ref=order.order_id, resolution=resolution
        )
        if lost:
            issues.write({"category": "lost", "deadline": deadline})
        return lost

    def _mirakl_refuse_held_order(self, issue):
        """OR21 refusing every line of the order an issue holds back (no
        Sales Order: implausible values, unknown state...), as the seller
        decided. Returns ``(ok, message)``; the issue is closed on success."""
        self.ensure_one()
        order_id = issue.mirakl_ref
        ok, result = self._mirakl_call(
            "OR11",
            lambda client: client.get_orders([order_id]),
            max_retries=const.BUTTON_MAX_RETRIES,
        )
        if not ok:
            return False, self._mirakl_explain(result)
        raw = next(
            (
                r
                for r in result
                if isinstance(r, dict) and r.get("order_id") == order_id
            ),
            None,
        )
        if raw is None:
            return False, _(
                "Mirakl has no order %(order)s in this shop.", order=order_id
            )
        lines = [
            mappers.usable_id(line.get("order_line_id"))
            for line in raw.get("order_lines") or ()
            if isinstance(line, dict)
            and line.get("order_line_state") == mappers.WAITING_ACCEPTANCE
        ]
        if raw.get("order_state") != mappers.WAITING_ACCEPTANCE or not all(lines):
            return False, _(
                "Mirakl shows order %(order)s in state %(state)s: only an order "
                "waiting for acceptance can be refused.",
                order=order_id,
                state=raw.get("order_state") or "-",
            )
        ok, result = self._mirakl_call(
            "OR21",
            lambda client: client.accept_order(order_id, dict.fromkeys(lines, False)),
            mirakl_ref=order_id,
            max_retries=const.BUTTON_MAX_RETRIES,
        )
        if not ok:
            return False, self._mirakl_explain(result)
        issue._mirakl_close(
            _("Refused on Mirakl by %(user)s.", user=self.env.user.name)
        )
        return True, _("Order %(order)s refused on Mirakl.", order=order_id)

    def _mirakl_unknown_state(self, sale, order):
        """An order state the connector does not know: the Sales Order only
        records it, with an issue, and nothing is decided from it (no
        acceptance, release or cancellation). True in that case."""
        Issue = self.env["mirakl.sync.issue"]
        if order.state in mappers.KNOWN_ORDER_STATES:
            if sale.mirakl_state not in mappers.KNOWN_ORDER_STATES:
                Issue._mirakl_resolve(self, "ORDER", record=sale, mirakl_ref="state")
            return False
        sale.write(self._mirakl_prepare_order_state_vals(order))
        Issue._mirakl_record(
            self,
            "ORDER",
            _(
                "Mirakl reports order %(order)s in state %(state)s, which the "
                "connector does not know: nothing is done with it (acceptance, "
                "release, cancellation) until Mirakl shows a known state. Check "
                "it on Mirakl.",
                order=order.order_id,
                state=order.state or "-",
            ),
            category="data",
            record=sale,
            mirakl_ref="state",
        )
        return True

    # === BUSINESS METHODS: acceptance, references, deadlines === #

    def _mirakl_partial_acceptance_allowed(self):
        self.ensure_one()
        return self._mirakl_switch(
            self.partial_acceptance, self.platform_partial_acceptance
        )

    def _mirakl_send_pending_decisions(self, stats, stock_budget):
        """Decide and send what earlier runs could not (failures, fixed stock)."""
        now = fields.Datetime.now()
        orders = self.env["sale.order"].search(
            [
                ("mirakl_backend_id", "=", self.id),
                ("mirakl_state", "in", list(mappers.PRE_ACCEPTANCE_STATES)),
                ("mirakl_acceptance", "in", ("pending", "to_send", False)),
                ("state", "in", ("draft", "sent")),
            ],
            order="mirakl_acceptance_deadline, id",
        )
        for sale in orders:
            if (
                sale.mirakl_acceptance_deadline
                and sale.mirakl_acceptance_deadline <= now
            ):
                continue  # lost: reported by _mirakl_check_deadlines
            if self._mirakl_out_of_time():
                stats["stopped"] = True
                break
            done, sent = self._mirakl_unit(
                lambda sale=sale: self._mirakl_retry_decision(sale, stock_budget),
                "the decision on %s" % sale.mirakl_order_id,
            )
            if done and sent:
                stats[sent] += 1

    def _mirakl_retry_decision(self, sale, stock_budget):
        """Decide again (unless a person decides) and send; returns the stats
        key to count, or None when nothing went to Mirakl."""
        if sale.mirakl_acceptance in (False, "pending") and (
            self.acceptance_policy != "manual"
        ):
            sale.mirakl_acceptance = False
            sale.order_line.filtered(
                lambda line: line.mirakl_line_state == mappers.WAITING_ACCEPTANCE
            ).mirakl_decision = False
            sale._mirakl_decide(stock_budget)
        if sale.mirakl_acceptance == "to_send" and sale._mirakl_send_decision():
            return "accepted" if sale.mirakl_acceptance == "accepted" else "refused"
        return None

    def _mirakl_release_paid_orders(self, stats):
        """Release paid orders held back earlier (an address fixed since)."""
        orders = self.env["sale.order"].search(
            [
                ("mirakl_backend_id", "=", self.id),
                ("mirakl_state", "=", "SHIPPING"),
                ("state", "in", ("draft", "sent")),
            ]
        )
        for sale in orders:
            if self._mirakl_out_of_time():
                stats["stopped"] = True
                break
            done, released = self._mirakl_unit(
                sale._mirakl_release, "the release of %s" % sale.mirakl_order_id
            )
            if done and released:
                stats["released"] += 1

    def _mirakl_send_seller_references(self, orders=None, max_retries=None):
        """OR04: write each Sales Order's number to Mirakl as the seller's reference."""
        self.ensure_one()
        if orders is None:
            orders = self.env["sale.order"].search(
                [
                    ("mirakl_backend_id", "=", self.id),
                    ("mirakl_seller_ref_pending", "=", True),
                    ("state", "!=", "cancel"),
                    ("mirakl_state", "not in", list(mappers.CLOSED_STATES)),
                ],
                limit=1000,
            )
        if not orders:
            return orders
        references = {so.mirakl_order_id: so.name for so in orders}
        ok, result = self._mirakl_call(
            "OR04",
            lambda client: client.update_seller_references(references),
            max_retries=max_retries,
        )
        if not ok:
            return orders.browse()
        Issue = self.env["mirakl.sync.issue"]
        sent = orders.browse()
        for so in orders:
            errors = result.get(so.mirakl_order_id) or []
            if errors:
                Issue._mirakl_record(
                    self,
                    "OR04",
                    _(
                        "Mirakl did not store %(name)s as the seller reference of "
                        "%(order)s: %(errors)s",
                        name=so.name,
                        order=so.mirakl_order_id,
                        errors="; ".join(
                            "%s %s" % (e.get("code") or "", e.get("message") or "")
                            for e in errors
                        ),
                    ),
                    category="validation",
                    record=so,
                    mirakl_ref=so.mirakl_order_id,
                )
                continue
            # One order at a time: another transaction writing an order
            # (its delivery validated, its invoice posted) only leaves its
            # reference pending, sent again by the next cycle (OR04 repeats
            # harmlessly).
            done, _result = self._mirakl_unit(
                lambda so=so: so.write({"mirakl_seller_ref_sent": so.name}),
                "the seller reference of %s" % so.mirakl_order_id,
            )
            if done:
                sent |= so
        open_issues = Issue.search(
            [
                ("backend_id", "=", self.id),
                ("operation", "=", "OR04"),
                ("state", "=", "open"),
                ("res_model", "=", "sale.order"),
                ("res_id", "in", sent.ids),
            ]
        )
        if open_issues:
            open_issues._mirakl_close(_("Resolved by a later successful call"))
        return sent

    def _mirakl_check_deadlines(self):
        """Escalate orders close to the end of their window; report lost ones."""
        now = fields.Datetime.now()
        Issue = self.env["mirakl.sync.issue"]
        escalate_from = now + timedelta(hours=self.acceptance_escalation_hours)
        # Orders with a Sales Order still not accepted.
        waiting = self.env["sale.order"].search(
            [
                ("mirakl_backend_id", "=", self.id),
                ("mirakl_state", "in", list(mappers.PRE_ACCEPTANCE_STATES)),
                ("mirakl_acceptance", "in", ("pending", "to_send", False)),
                ("state", "in", ("draft", "sent")),
                ("mirakl_acceptance_deadline", "<=", escalate_from),
            ]
        )
        for sale in waiting:
            if sale.mirakl_acceptance_deadline <= now:
                sale.mirakl_acceptance = "expired"
                Issue._mirakl_record(
                    self,
                    "OR21",
                    _(
                        "Order %(order)s is lost: it was not accepted before "
                        "%(deadline)s (UTC), the end of the marketplace's window. "
                        "It is no longer retried.",
                        order=sale.mirakl_order_id,
                        deadline=sale.mirakl_acceptance_deadline,
                    ),
                    category="lost",
                    record=sale,
                    mirakl_ref=sale.mirakl_order_id,
                    deadline=sale.mirakl_acceptance_deadline,
                )._mirakl_escalate()
                sale.message_post(
                    body=_("Lost: not accepted within the marketplace's window.")
                )
                continue
            issue = Issue._mirakl_record(
                self,
                "OR21",
                _(
                    "Order %(order)s is still not accepted and the marketplace "
                    "refuses it at %(deadline)s (UTC).",
                    order=sale.mirakl_order_id,
                    deadline=sale.mirakl_acceptance_deadline,
                ),
                category="deadline",
                record=sale,
                mirakl_ref=sale.mirakl_order_id,
                deadline=sale.mirakl_acceptance_deadline,
                bump=False,
            )
            issue._mirakl_escalate()
        # Orders held back by a validation issue, with no Sales Order yet.
        held = Issue.search(
            [
                ("backend_id", "=", self.id),
                ("state", "=", "open"),
                ("deadline", "!=", False),
                ("deadline", "<=", escalate_from),
                ("res_id", "in", [0, False]),
            ]
        )
        for issue in held:
            if issue.deadline <= now:
                issue._mirakl_mark_lost(issue.deadline)
            issue._mirakl_escalate()
