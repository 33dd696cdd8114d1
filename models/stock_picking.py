import json

from odoo import _, api, fields, models
from odoo.tools import float_round

from ..lib import mappers


class StockPicking(models.Model):
    _inherit = "stock.picking"

    mirakl_shipment_ids = fields.One2many(
        "mirakl.shipment", "picking_id", string="Mirakl confirmations"
    )
    mirakl_shipment_state = fields.Selection(
        [
            ("none", "Nothing to send"),
            ("pending", "To send"),
            ("blocked", "Needs a person"),
            ("done", "Accepted by Mirakl"),
        ],
        string="Mirakl",
        compute="_compute_mirakl_shipment_state",
    )

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
            json.loads(sale.mirakl_raw), backend.cancellations_included
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
