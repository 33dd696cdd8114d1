import json

from odoo import _, api, fields, models
from odoo.tools import float_round

from ...lib import mappers


class StockPicking(models.Model):
    _inherit = "stock.picking"

    mirakl_shipment_ids = fields.One2many(
        "mirakl.shipment", "picking_id", string="Mirakl confirmations"
    )
    mirakl_shipment_state = fields.Selection(
        [
            ("none", "Nothing to send"),
            ("pending", "To send to Mirakl"),
            ("blocked", "Needs a person"),
            ("done", "Confirmed on Mirakl"),
        ],
        string="Mirakl",
        compute="_compute_mirakl_shipment_state",
        compute_sudo=True,
    )

    mirakl_order_id = fields.Char(
        string="Mirakl order", compute="_compute_mirakl_facts", compute_sudo=True
    )
    mirakl_backend_id = fields.Many2one(
        "mirakl.backend",
        string="Mirakl shop",
        compute="_compute_mirakl_facts",
        compute_sudo=True,
    )
    mirakl_shipping_type = fields.Char(
        string="Mirakl shipping",
        compute="_compute_mirakl_facts",
        compute_sudo=True,
        help="The marketplace's shipping type of the order.",
    )
    mirakl_carrier_code = fields.Char(
        string="Carrier on Mirakl",
        compute="_compute_mirakl_facts",
        compute_sudo=True,
        help="How the delivery method is told to Mirakl: its mapped Mirakl "
        "carrier code, or its name and tracking URL when it is not mapped.",
    )
    mirakl_tracking_required = fields.Boolean(
        string="Tracking number required",
        compute="_compute_mirakl_facts",
        compute_sudo=True,
        help="The marketplace's shipping type requires a tracking number: the "
        "order is not confirmed shipped to Mirakl without one.",
    )
    mirakl_shipping_deadline = fields.Datetime(
        string="Ship before",
        compute="_compute_mirakl_facts",
        compute_sudo=True,
        help="Mirakl's shipping deadline of the order.",
    )

    @api.depends("sale_id", "carrier_id")
    def _compute_mirakl_facts(self):
        for picking in self:
            sale = picking.sale_id
            backend = sale.mirakl_backend_id
            if not backend or picking.picking_type_code != "outgoing":
                picking.mirakl_order_id = False
                picking.mirakl_backend_id = False
                picking.mirakl_shipping_type = False
                picking.mirakl_carrier_code = False
                picking.mirakl_tracking_required = False
                picking.mirakl_shipping_deadline = False
                continue
            shipping_type = sale._mirakl_shipping_type()
            picking.mirakl_order_id = sale.mirakl_order_id
            picking.mirakl_backend_id = backend
            picking.mirakl_shipping_type = shipping_type.display_name or False
            picking.mirakl_tracking_required = shipping_type.mandatory_tracking
            picking.mirakl_shipping_deadline = sale.mirakl_shipping_deadline
            mapped = backend.carrier_ids.filtered(
                lambda c, carrier=picking.carrier_id: (
                    carrier and c.carrier_id == carrier
                )
            )[:1]
            if mapped:
                picking.mirakl_carrier_code = mapped.code
            elif picking.carrier_id:
                picking.mirakl_carrier_code = _(
                    "not mapped: sent as %(name)s", name=picking.carrier_id.name
                )
            else:
                picking.mirakl_carrier_code = _("no delivery method")

    @api.depends("mirakl_shipment_ids.state")
    def _compute_mirakl_shipment_state(self):
        for picking in self:
            states = set(picking.mirakl_shipment_ids.mapped("state")) - {"cancel"}
            if not states:
                picking.mirakl_shipment_state = "none"
            elif "blocked" in states:
                picking.mirakl_shipment_state = "blocked"
            elif "pending" in states:
                picking.mirakl_shipment_state = "pending"
            else:
                picking.mirakl_shipment_state = "done"

    # === CRUD / ACTION METHODS === #

    def _action_done(self):
        """Override of `stock` to queue the Mirakl confirmation with the moves.

        The confirmation is stored in this transaction (it commits or rolls
        back with the stock moves) and sent after the commit; a failure there
        never touches the stock.
        """
        result = super()._action_done()
        self._mirakl_queue_shipments()
        sales = self.sudo()._mirakl_outgoing().sale_id
        if sales:
            sales._mirakl_invoice_due("shipped")
        return result

    def _pre_action_done_hook(self):
        """Override of `stock` to ask for the tracking number first when the
        marketplace's shipping type requires one (the warehouse may still
        validate without it: the confirmation then waits for the number)."""
        if not self.env.context.get("mirakl_tracking_checked"):
            missing = self.filtered(
                lambda p: p.mirakl_tracking_required and not p.carrier_tracking_ref
            )
            if missing:
                return missing._mirakl_tracking_wizard_action()
        return super()._pre_action_done_hook()

    def _mirakl_tracking_wizard_action(self):
        return {
            "name": _("Tracking number required by the marketplace"),
            "type": "ir.actions.act_window",
            "res_model": "mirakl.picking.tracking",
            "view_mode": "form",
            "target": "new",
            "context": dict(
                self.env.context,
                default_line_ids=[
                    fields.Command.create({"picking_id": picking.id})
                    for picking in self
                ],
            ),
        }

    def _mirakl_marketplace_deliveries(self):
        return self.filtered(
            lambda p: (
                p.picking_type_code == "outgoing" and p.sudo().sale_id.mirakl_backend_id
            )
        )

    def _send_confirmation_email(self):
        """Override of `stock` (and `stock_sms`): Odoo never e-mails or texts a
        marketplace's customer (Mirakl operators forbid sellers to contact
        them outside the marketplace); carriers are still called."""
        marketplace = self._mirakl_marketplace_deliveries()
        if marketplace:
            super(
                StockPicking,
                marketplace.with_context(skip_sms=True, mirakl_no_customer_mail=True),
            )._send_confirmation_email()
        return super(StockPicking, self - marketplace)._send_confirmation_email()

    def message_post_with_source(self, source_ref, **kwargs):
        """Override of `mail` to drop stock's delivery confirmation e-mail to a
        marketplace's customer (see ``_send_confirmation_email``)."""
        if self.env.context.get("mirakl_no_customer_mail"):
            template = self.company_id.stock_mail_confirmation_template_id
            if template and source_ref in (template, template.id):
                return self.env["mail.message"]
        return super().message_post_with_source(source_ref, **kwargs)

    def _check_warn_sms(self):
        """Override of `stock_sms`: no SMS to a marketplace's customer, so no
        warning about it either."""
        parent = getattr(super(), "_check_warn_sms", None)
        pickings = parent() if parent else self.browse()
        return pickings - pickings._mirakl_marketplace_deliveries()

    def send_to_shipper(self):
        """Override of `stock_delivery`: fixed-price and rule-based delivery
        methods have no carrier to send to; for a marketplace delivery Odoo's
        note would read "tracking number False" and mislead the warehouse."""
        self.ensure_one()
        if self._mirakl_marketplace_deliveries() and self.carrier_id.delivery_type in (
            "fixed",
            "base_on_rule",
        ):
            return None
        return super().send_to_shipper()

    def write(self, vals):
        result = super().write(vals)
        if "carrier_tracking_ref" in vals or "carrier_id" in vals:
            self._mirakl_update_tracking()
        return result

    def action_mirakl_open_shipments(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "mirakl.shipment",
            "view_mode": "list,form",
            "domain": [("picking_id", "=", self.id)],
            "name": _("Mirakl confirmations"),
        }

    # === BUSINESS METHODS === #

    def _mirakl_outgoing(self):
        return self.filtered(
            lambda p: (
                p.picking_type_code == "outgoing"
                and p.sale_id.mirakl_backend_id
                and p.state == "done"
            )
        )

    def _mirakl_queue_shipments(self):
        if self.env.context.get("mirakl_no_outbox"):
            return
        # Warehouse staff validate deliveries; the outbox is the connector's
        # own bookkeeping, written with its rights.
        rows = self.env["mirakl.shipment"].sudo()
        for picking in self.sudo()._mirakl_outgoing():
            rows |= picking._mirakl_prepare_outbox()
        if rows:
            rows._mirakl_send_after_commit(rows.ids)

    def _mirakl_tracking_vals(self):
        """Carrier and tracking number as Mirakl wants them."""
        self.ensure_one()
        backend = self.sale_id.mirakl_backend_id
        vals = {
            "carrier_code": False,
            "carrier_name": False,
            "carrier_url": False,
            "tracking_number": self.carrier_tracking_ref or False,
        }
        carrier = self.carrier_id
        if not carrier:
            return vals
        mapped = backend.carrier_ids.filtered(lambda c: c.carrier_id == carrier)[:1]
        if mapped:
            vals["carrier_code"] = mapped.code
        else:
            vals["carrier_name"] = carrier.name
            url = self.carrier_tracking_url
            if url and url.startswith("http"):
                vals["carrier_url"] = url
        return vals

    def _mirakl_line_quantities(self):
        """Done quantity per Mirakl line id, in the sale line's unit."""
        quantities = {}
        for move in self.move_ids.filtered(lambda m: m.state == "done"):
            line = move.sale_line_id
            if not line.mirakl_line_id:
                continue
            qty = move.product_uom._compute_quantity(move.quantity, line.product_uom)
            quantities[line.mirakl_line_id] = (
                quantities.get(line.mirakl_line_id, 0) + qty
            )
        return {
            line_id: int(float_round(qty, precision_digits=0))
            for line_id, qty in quantities.items()
            if qty > 0
        }

    def _mirakl_prepare_outbox(self):
        """The confirmations this done delivery calls for."""
        self.ensure_one()
        sale = self.sale_id
        backend = sale.mirakl_backend_id
        Shipment = self.env["mirakl.shipment"]
        if sale.mirakl_state not in ("SHIPPING",) or self.mirakl_shipment_ids:
            if sale.mirakl_state != "SHIPPING":
                sale.message_post(
                    body=_(
                        "Delivery %(picking)s done while Mirakl shows the order "
                        "%(state)s: nothing sent to Mirakl.",
                        picking=self.name,
                        state=sale.mirakl_state,
                    )
                )
            return Shipment
        base = dict(
            self._mirakl_tracking_vals(),
            backend_id=backend.id,
            sale_order_id=sale.id,
            picking_id=self.id,
            event_date=self.date_done or fields.Datetime.now(),
        )
        last = not sale.picking_ids.filtered(
            lambda p: (
                p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")
            )
        )
        rows = Shipment
        if backend._mirakl_multi_shipment():
            lines = self._mirakl_line_quantities()
            if lines:
                rows |= Shipment.create(
                    dict(
                        base,
                        kind="shipment",
                        payload=json.dumps(
                            [
                                {"order_line_id": lid, "quantity": qty}
                                for lid, qty in sorted(lines.items())
                            ]
                        ),
                    )
                )
        if last:
            rows |= self._mirakl_prepare_undelivered_cancellation(base)
            if not backend._mirakl_multi_shipment():
                rows |= Shipment.create(dict(base, kind="order"))
        elif not backend._mirakl_multi_shipment():
            sale.message_post(
                body=_(
                    "Delivery %(picking)s done; Mirakl is told the order shipped "
                    "when its last delivery is done (the platform has no partial "
                    "shipments).",
                    picking=self.name,
                )
            )
        return rows

    def _mirakl_prepare_undelivered_cancellation(self, base):
        """Units never delivered (no backorder) are cancelled on Mirakl first."""
        sale = self.sale_id
        backend = sale.mirakl_backend_id
        Shipment = self.env["mirakl.shipment"]
        order = mappers.parse_order(
            sale._mirakl_raw_data(), backend.cancellations_included
        )
        mlines = {line.line_id: line for line in order.lines}
        elements = []
        reason = backend.cancel_reason_id.code
        for line in sale.order_line.filtered("mirakl_line_id"):
            missing = line.product_uom_qty - line.qty_delivered
            mline = mlines.get(line.mirakl_line_id)
            if missing < 1 or not mline or not mline.live_quantity:
                continue
            elements.append(
                Shipment._mirakl_prepare_cancel_line(
                    sale, mline, int(missing), reason or ""
                )
            )
        if not elements:
            return Shipment
        row = Shipment.create(
            dict(
                base,
                kind="cancel_lines",
                payload=json.dumps(elements),
                reason_code=reason or False,
            )
        )
        if not reason:
            row.state = "blocked"
            row._mirakl_issue(
                _(
                    "Undelivered units of %(order)s must be cancelled on Mirakl, but "
                    "the shop has no cancellation reason (Mirakl shop > Shipments).",
                    order=sale.mirakl_order_id,
                ),
                category="config",
            )
        return row

    def _mirakl_update_tracking(self):
        """Tracking entered after validation: complete and release the rows."""
        rows = self.env["mirakl.shipment"].sudo()
        for picking in self.sudo()._mirakl_outgoing():
            todo = picking.mirakl_shipment_ids.filtered(
                lambda r: (
                    r.state in ("pending", "blocked")
                    and r.kind in ("order", "shipment")
                    and not r.tracking_sent
                )
            )
            if todo:
                todo.write(dict(picking._mirakl_tracking_vals(), state="pending"))
                rows |= todo
        if rows:
            rows._mirakl_send_after_commit(rows.ids)
