"""One asynchronous import sent to Mirakl: a stock file (STO01), an offer
batch (OF24) or a product file (P41), followed until Mirakl reports it done
(STO02/OF02/P42) and its reports read (STO03/OF03; P44, P45 and P47).

The import keeps what was sent (the file, or the offers' JSON) so that an
error report's line numbers can be traced back to offers, and so that support
can see exactly what Mirakl received.

Its follow-up is the record's own (``_mirakl_check``, called for each import
by the shop's entry point ``_mirakl_check_imports``): one template for every
kind, in the manner of a connector's importer: read the status, and once it
is final read the reports, apply them to the import's offers, record the
outcome. The steps that differ are hooks, written here for stock files and
offer batches and extended for product files by the catalogue
(``catalogue/mirakl_offer_import.py``: each hook handles ``kind ==
'product'`` and leaves the others to ``super()``):

- ``_mirakl_read_status``: the status call (STO02, OF02, P42);
- ``_mirakl_status_vals`` and ``_mirakl_final_statuses``: what the status
  says, and which statuses are final or failed;
- ``_mirakl_read_reports``: the reports of a final import, as an
  ``ImportOutcome`` (None when a report could not be read: the next run
  asks again);
- ``_mirakl_failure_reason``: why a failed import's lines count as rejected;
- ``_mirakl_apply``: the outcome stored on the offers, their issues filed or
  closed;
- ``_mirakl_final_counts``, ``_mirakl_after_apply``: the counts of the
  record, and what follows on the shop (products created let offers go out);
- ``_mirakl_give_up``: an import Mirakl gave no final status for within
  ``IMPORT_GIVE_UP_HOURS``.
"""

import base64
import json
from dataclasses import dataclass, field
from datetime import timedelta

from odoo import _, api, fields, models

from ...lib.offers import parse_error_report

FINISHED_STATUSES = ("COMPLETE", "FAILED")
# Finished imports (and the files they keep) are deleted after this many days.
KEEP_DAYS = 30
# Per-offer sync issues filed for one import at most; the rest is summed up in
# one issue on the import (every offer still shows its own error).
MAX_OFFER_ISSUES = 100
# An import Mirakl still reports nothing final about after this long is given
# up: its lines are sent again by the next push.
IMPORT_GIVE_UP_HOURS = 24


@dataclass
class ImportOutcome:
    """What the reports of a finished import say."""

    errors: dict  # offer id -> Mirakl's message (the line was rejected)
    created: dict = field(default_factory=dict)  # offer id -> product SKU (P45)
    remarks: list = field(default_factory=list)  # messages about the file (P47)


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

    # === BUSINESS METHODS: follow-up (template) === #

    def _mirakl_check(self):
        """Ask Mirakl about this import; once it is final, read its reports
        and apply them to its offers (accepted quantities, offers or
        products; each rejected line as the offer's error and a sync issue).

        :return: False when a call failed (the next run asks again), True
            otherwise (final and applied, or not final yet).
        """
        self.ensure_one()
        backend = self.backend_id
        ok, status = self._mirakl_read_status()
        if not ok:
            if self.sent_date < fields.Datetime.now() - timedelta(
                hours=IMPORT_GIVE_UP_HOURS
            ):
                self._mirakl_give_up(backend._mirakl_explain(status))
            return False
        vals = self._mirakl_status_vals(status)
        finished, failed_statuses = self._mirakl_final_statuses()
        mirakl_status = vals["mirakl_status"]
        if mirakl_status not in finished:
            self.write(vals)
            return True
        outcome = self._mirakl_read_reports(status, vals)
        if outcome is None:
            self.write(vals)
            return False
        failed = mirakl_status in failed_statuses
        if failed:
            reason = self._mirakl_failure_reason(status, outcome)
            for offer_id in self._mirakl_offer_ids():
                outcome.errors.setdefault(offer_id, reason)
        accepted = self._mirakl_apply(outcome, failed)
        vals.update(
            state="failed" if failed else "error" if outcome.errors else "done",
            finished_date=fields.Datetime.now(),
            **self._mirakl_final_counts(outcome, accepted),
        )
        self.write(vals)
        backend._mirakl_commit()
        self._mirakl_after_apply(accepted)
        return True

    # === BUSINESS METHODS: follow-up of stock files and offer batches === #

    def _mirakl_read_status(self):
        """``(ok, status)`` of the status call (STO02, OF02)."""
        stock = self.kind == "stock"
        import_id = self.mirakl_import_id
        return self.backend_id._mirakl_call(
            "STO02" if stock else "OF02",
            lambda client: (
                client.get_stock_import(import_id)
                if stock
                else client.get_offer_import(import_id)
            ),
            record=self,
        )

    def _mirakl_status_vals(self, status):
        """The record's values from a status answer (``mirakl_status`` set)."""
        return {
            "checked_date": fields.Datetime.now(),
            "mirakl_status": status.get("status"),
            "reason_status": status.get("reason_status") or False,
            "lines_in_success": status.get("lines_in_success") or 0,
            "lines_in_error": status.get("lines_in_error") or 0,
        }

    def _mirakl_final_statuses(self):
        """``(final statuses, failed statuses)`` of this kind of import."""
        return FINISHED_STATUSES, ("FAILED",)

    def _mirakl_read_reports(self, status, vals):
        """The error report of a final import (STO03, OF03), stored in
        ``vals``, as an ``ImportOutcome``; None when it could not be read."""
        report = []
        if status.get("has_error_report"):
            stock = self.kind == "stock"
            import_id = self.mirakl_import_id
            ok, text = self.backend_id._mirakl_call(
                "STO03" if stock else "OF03",
                lambda client: (
                    client.get_stock_import_error_report(import_id)
                    if stock
                    else client.get_offer_import_error_report(import_id)
                ),
                record=self,
            )
            if not ok:
                return None
            report = parse_error_report(text)
            vals["error_report"] = self._mirakl_encode(text)
            vals["error_report_name"] = "errors-%s.csv" % import_id
        return ImportOutcome(errors=self._mirakl_report_errors(report))

    def _mirakl_failure_reason(self, status, outcome):
        """Why every line of a failed import counts as rejected."""
        return status.get("reason_status") or _("Mirakl reports the import failed.")

    def _mirakl_final_counts(self, outcome, accepted):
        """Line counts of a finished import (stock and offers: Mirakl's)."""
        return {}

    def _mirakl_after_apply(self, accepted):
        """What follows a finished import on the shop (stock, offers: nothing)."""

    def _mirakl_give_up(self, reason):
        """An import Mirakl has not reported on for too long: its lines count
        as rejected, so the next incremental push sends them again."""
        message = _(
            "Mirakl gave no final status for %(name)s within %(hours)s hours "
            "(%(reason)s); its lines will be sent again.",
            name=self.name,
            hours=IMPORT_GIVE_UP_HOURS,
            reason=reason,
        )
        offer_ids = self._mirakl_offer_ids()
        self._mirakl_apply(
            ImportOutcome(errors=dict.fromkeys(offer_ids, message)),
            False,
            file=False,
        )
        # No quantity is -1: the next incremental push sends these lines again.
        self.env.cr.execute(
            "UPDATE mirakl_offer SET pending_quantity = -1 "
            "WHERE id = ANY(%s) AND push_state = 'error' AND push_error = %s",
            (offer_ids, message),
        )
        self.env["mirakl.offer"].invalidate_model(["pending_quantity"])
        self.write(
            {
                "state": "failed",
                "reason_status": message,
                "finished_date": fields.Datetime.now(),
            }
        )

    def _mirakl_report_errors(self, report):
        """{offer id: message} of this import's error-report lines.

        Stock reports are matched on the SKU; offer reports on ``error-line``
        (the offer's position in the call), then on the SKU.
        """
        offer_ids = self._mirakl_offer_ids()
        Offer = self.env["mirakl.offer"].sudo()
        skus = {offer.shop_sku: offer.id for offer in Offer.browse(offer_ids).exists()}
        errors = {}
        unmatched = []
        for line in report:
            offer_id = None
            if self.kind == "offer" and line.line and 0 < line.line <= len(offer_ids):
                offer_id = offer_ids[line.line - 1]
            if offer_id is None and line.sku:
                offer_id = skus.get(line.sku)
            if offer_id is None:
                unmatched.append(line)
                continue
            errors[offer_id] = (
                "%s; %s" % (errors[offer_id], line.message)
                if offer_id in errors
                else line.message
            )
        if unmatched:
            self.env["mirakl.sync.issue"]._mirakl_record(
                self.backend_id,
                "STO03" if self.kind == "stock" else "OF03",
                _(
                    "%(count)s error-report lines of %(name)s name no offer that "
                    "was sent: %(lines)s",
                    count=len(unmatched),
                    name=self.name,
                    lines="; ".join(
                        "%s: %s" % (line.sku or line.line, line.message)
                        for line in unmatched[:20]
                    ),
                ),
                category="protocol",
                record=self,
            )
        return errors

    def _mirakl_apply(self, outcome, failed, file=True):
        """Store a finished import's outcome on its offers, file and close the
        offers' sync issues (``file=False``: store only). Returns the ids of
        the offers whose line Mirakl accepted."""
        errors = outcome.errors
        cr = self.env.cr
        Offer = self.env["mirakl.offer"].sudo()
        Offer.flush_model()
        now = fields.Datetime.now()
        offer_ids = self._mirakl_offer_ids()
        error_ids = [oid for oid in offer_ids if oid in errors]
        ok_ids = [oid for oid in offer_ids if oid not in errors]
        # The quantity this import carried: accepted unless a later import
        # carries a newer one (then that import decides).
        cr.execute(
            """
            UPDATE mirakl_offer
               SET push_state = 'done', pushed_quantity = pending_quantity,
                   pushed_date = %s, push_error = NULL, pending_import_id = NULL
             WHERE id = ANY(%s) AND pending_import_id = %s
            """,
            (now, ok_ids, self.id),
        )
        cr.execute(
            """
            UPDATE mirakl_offer o
               SET push_state = 'error', push_error = v.message,
                   pending_import_id = NULL
              FROM unnest(%s::int[], %s::text[]) AS v(id, message)
             WHERE o.id = v.id AND o.pending_import_id = %s
            """,
            (error_ids, [errors[oid] for oid in error_ids], self.id),
        )
        if self.kind == "offer":
            cr.execute(
                """
                UPDATE mirakl_offer
                   SET export_state = CASE WHEN active THEN 'done' ELSE 'new' END,
                       export_digest = CASE WHEN active
                                       THEN pending_export_digest END,
                       exported_date = %s, export_error = NULL,
                       export_import_id = NULL
                 WHERE id = ANY(%s) AND export_import_id = %s
                """,
                (now, ok_ids, self.id),
            )
            cr.execute(
                """
                UPDATE mirakl_offer o
                   SET export_state = 'error', export_error = v.message,
                       export_import_id = NULL
                  FROM unnest(%s::int[], %s::text[]) AS v(id, message)
                 WHERE o.id = v.id AND o.export_import_id = %s
                """,
                (error_ids, [errors[oid] for oid in error_ids], self.id),
            )
        Offer.invalidate_model()
        if file:
            operation = "STO01" if self.kind == "stock" else "OF24"
            self._mirakl_file_offer_issues(operation, ok_ids, error_ids, errors, failed)
        return ok_ids

    def _mirakl_file_offer_issues(self, operation, ok_ids, error_ids, errors, failed):
        """Close the accepted offers' open issues of ``operation``; file one
        issue per rejected offer (at most ``MAX_OFFER_ISSUES``, then one
        summary on the import). The words are the kind's (``_mirakl_*_text``)."""
        backend = self.backend_id
        Issue = self.env["mirakl.sync.issue"].sudo()
        if ok_ids:
            Issue.search(
                [
                    ("backend_id", "=", backend.id),
                    ("operation", "=", operation),
                    ("res_model", "=", "mirakl.offer"),
                    ("res_id", "in", ok_ids),
                    ("state", "=", "open"),
                ]
            )._mirakl_close(self._mirakl_accepted_text())
        Offer = self.env["mirakl.offer"].sudo()
        for offer in Offer.browse(error_ids[:MAX_OFFER_ISSUES]):
            Issue._mirakl_record(
                backend,
                operation,
                self._mirakl_rejected_text(offer, errors[offer.id], failed),
                category="data",
                record=offer,
                mirakl_ref=offer.shop_sku,
            )
        if len(error_ids) > MAX_OFFER_ISSUES:
            Issue._mirakl_record(
                backend,
                operation,
                self._mirakl_rejected_summary_text(len(error_ids)),
                category="data",
                record=self,
            )

    def _mirakl_accepted_text(self):
        """Resolution of an offer's issue once a later import was accepted."""
        return _("Accepted by a later import")

    def _mirakl_rejected_text(self, offer, message, failed):
        """The issue of one offer whose line Mirakl rejected."""
        return _(
            "Mirakl rejected %(what)s of SKU %(sku)s (%(name)s): %(message)s",
            what=_("the quantity") if self.kind == "stock" else _("the offer"),
            sku=offer.shop_sku,
            name=self.name,
            message=message,
        )

    def _mirakl_rejected_summary_text(self, count):
        """The import's issue when more than ``MAX_OFFER_ISSUES`` were rejected."""
        return _(
            "Mirakl rejected %(count)s lines of %(name)s; the first "
            "%(shown)s have their own issue, every offer shows its error "
            "(filter the offers on 'Rejected').",
            count=count,
            name=self.name,
            shown=MAX_OFFER_ISSUES,
        )
