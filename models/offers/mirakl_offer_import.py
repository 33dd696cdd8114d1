"""One asynchronous import sent to Mirakl: a stock file (STO01), an offer
batch (OF24) or a product file (P41), followed until Mirakl reports it done
(STO02/OF02/P42) and its reports read (STO03/OF03; P44, P45 and P47).

The import keeps what was sent (the file, or the offers' JSON) so that an
error report's line numbers can be traced back to offers, and so that support
can see exactly what Mirakl received.
"""

import base64
import json
from datetime import timedelta

from odoo import _, api, fields, models

FINISHED_STATUSES = ("COMPLETE", "FAILED")
# Finished imports (and the files they keep) are deleted after this many days.
KEEP_DAYS = 30


class MiraklOfferImport(models.Model):
    _name = "mirakl.offer.import"
    _description = "Mirakl Stock, Offer or Product Import"
    _order = "id desc"
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    kind = fields.Selection(
        [
            ("stock", "Stock file"),
            ("offer", "Offers (price and condition)"),
            ("product", "Product file"),
        ],
        required=True,
        readonly=True,
    )
    mode = fields.Selection(
        [
            ("incremental", "Changes only"),
            ("full", "Full"),
            ("manual", "Chosen offers"),
        ],
        readonly=True,
    )
    mirakl_import_id = fields.Char(string="Mirakl import ID", readonly=True, index=True)
    state = fields.Selection(
        [
            ("sent", "Sent"),
            ("done", "Complete"),
            ("error", "Complete with errors"),
            ("failed", "Failed"),
        ],
        default="sent",
        required=True,
        readonly=True,
        index=True,
    )
    mirakl_status = fields.Char(string="Mirakl status", readonly=True)
    reason_status = fields.Text(string="Mirakl reason", readonly=True)
    sent_date = fields.Datetime(
        string="Sent on", default=fields.Datetime.now, readonly=True
    )
    checked_date = fields.Datetime(string="Last checked", readonly=True)
    finished_date = fields.Datetime(string="Finished on", readonly=True)
    line_count = fields.Integer(string="Lines sent", readonly=True)
    lines_in_success = fields.Integer(string="Lines accepted", readonly=True)
    lines_in_error = fields.Integer(string="Lines rejected", readonly=True)
    offer_ids_json = fields.Text(
        string="Offers sent (ids)",
        readonly=True,
        help="Ids of the offers sent, in the order of the file's lines.",
    )
    file = fields.Binary(string="File sent", attachment=True, readonly=True)
    file_name = fields.Char(string="File name", readonly=True)
    error_report = fields.Binary(string="Error report", attachment=True, readonly=True)
    error_report_name = fields.Char(string="Error report name", readonly=True)
    new_product_report = fields.Binary(
        string="New-product report", attachment=True, readonly=True
    )
    new_product_report_name = fields.Char(
        string="New-product report name", readonly=True
    )
    transformation_report = fields.Binary(
        string="Transformation error report", attachment=True, readonly=True
    )
    transformation_report_name = fields.Char(
        string="Transformation error report name", readonly=True
    )

    @api.depends("kind", "mode", "line_count")
    def _compute_name(self):
        kinds = {
            "stock": _("Stock file"),
            "offer": _("Offers"),
            "product": _("Product file"),
        }
        modes = dict(self._fields["mode"]._description_selection(self.env))
        for record in self:
            record.name = _(
                "%(kind)s (%(mode)s): %(lines)s lines",
                kind=kinds.get(record.kind, record.kind),
                mode=(modes.get(record.mode) or "").lower() or "-",
                lines=record.line_count,
            )

    @api.autovacuum
    def _gc_finished_imports(self):
        """Finished imports older than ``KEEP_DAYS`` go (with their files)."""
        limit = fields.Datetime.now() - timedelta(days=KEEP_DAYS)
        self.search([("state", "!=", "sent"), ("sent_date", "<", limit)]).unlink()

    # === ACTION METHODS === #

    def action_check(self):
        """Ask Mirakl for these imports' status now (STO02/OF02)."""
        for backend, imports in self.env["mirakl.backend"]._mirakl_per_shop(self):
            backend._mirakl_check_imports(imports.ids)
        return True

    # === BUSINESS METHODS === #

    def _mirakl_offer_ids(self):
        self.ensure_one()
        return json.loads(self.offer_ids_json or "[]")

    @api.model
    def _mirakl_record_sent(
        self, backend, kind, mode, mirakl_import_id, offer_ids, content, file_name
    ):
        """The record of a file Mirakl accepted for import (STO01, OF24,
        P41): its id on Mirakl, the offers it carries and the file itself."""
        return self.sudo().create(
            {
                "backend_id": backend.id,
                "kind": kind,
                "mode": mode,
                "mirakl_import_id": str(mirakl_import_id),
                "line_count": len(offer_ids),
                "offer_ids_json": json.dumps(list(offer_ids)),
                "file": self._mirakl_encode(content),
                "file_name": file_name,
            }
        )

    @api.model
    def _mirakl_encode(self, content):
        if isinstance(content, str):
            content = content.encode()
        return base64.b64encode(content)
