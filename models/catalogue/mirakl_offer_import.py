"""The follow-up of product files (P41): the product kind of the import
template of ``offers/mirakl_offer_import.py``.

Same model as ``offers/mirakl_offer_import.py`` (``mirakl.offer.import``).
Each hook handles ``kind == 'product'`` and leaves stock files and offer
batches to ``super()``: the status is P42; once final, the reports are the
transformation errors (P47, remarks about the file itself on its lines 0
and 1), the integration errors (P44) and the new products (P45, read only
for a complete import). Products Mirakl created let their offers go out.
"""

from odoo import _, fields, models

from ...lib.products import parse_new_product_report, parse_product_error_report
from ..offers.mirakl_offer_import import (
    IMPORT_GIVE_UP_HOURS,
    MAX_OFFER_ISSUES,
    ImportOutcome,
)

PRODUCT_FINISHED = ("COMPLETE", "FAILED", "TRANSFORMATION_FAILED", "CANCELLED")
PRODUCT_FAILED = ("FAILED", "TRANSFORMATION_FAILED", "CANCELLED")


class MiraklOfferImport(models.Model):
    _inherit = "mirakl.offer.import"

    # === BUSINESS METHODS: follow-up of product files === #

    def _mirakl_read_status(self):
        if self.kind != "product":
            return super()._mirakl_read_status()
        import_id = self.mirakl_import_id
        return self.backend_id._mirakl_call(
            "P42", lambda c: c.get_product_import(import_id), record=self
        )

    def _mirakl_status_vals(self, status):
        if self.kind != "product":
            return super()._mirakl_status_vals(status)
        return {
            "checked_date": fields.Datetime.now(),
            "mirakl_status": status.get("import_status"),
            "reason_status": status.get("reason_status") or False,
        }

    def _mirakl_final_statuses(self):
        if self.kind != "product":
            return super()._mirakl_final_statuses()
        return PRODUCT_FINISHED, PRODUCT_FAILED

    def _mirakl_read_reports(self, status, vals):
        """P47 and P44, then P45 for a complete import; the remarks about the
        file and the lines that name no product sent are issues."""
        if self.kind != "product":
            return super()._mirakl_read_reports(status, vals)
        Offer = self.env["mirakl.offer"].sudo()
        skus = {
            o.shop_sku: o.id for o in Offer.browse(self._mirakl_offer_ids()).exists()
        }
        read = self._mirakl_product_report_errors(status, vals, skus)
        if read is None:
            return None
        errors, file_messages, unmatched = read
        created = {}
        if status.get("import_status") == "COMPLETE" and status.get(
            "has_new_product_report"
        ):
            backend = self.backend_id
            import_id = self.mirakl_import_id
            ok, text = backend._mirakl_call(
                "P45",
                lambda c: c.get_product_import_new_product_report(import_id),
                record=self,
            )
            if not ok:
                return None
            vals["new_product_report"] = self._mirakl_encode(text)
            vals["new_product_report_name"] = "P45-%s.csv" % import_id
            for product in parse_new_product_report(
                text,
                backend._mirakl_product_columns()["sku"],
                backend.product_report_product_column,
            ):
                if product.sku in skus:
                    created[skus[product.sku]] = product.product_sku
        self._mirakl_report_file_problems(file_messages, unmatched)
        return ImportOutcome(errors=errors, created=created, remarks=file_messages)

    def _mirakl_failure_reason(self, status, outcome):
        if self.kind != "product":
            return super()._mirakl_failure_reason(status, outcome)
        return (
            status.get("reason_status")
            or "; ".join(outcome.remarks)
            or _(
                "Mirakl reports the import %(status)s.",
                status=status.get("import_status"),
            )
        )

    def _mirakl_final_counts(self, outcome, accepted):
        """Product files: Mirakl's P42 has no line counts; they are counted
        from the reports."""
        if self.kind != "product":
            return super()._mirakl_final_counts(outcome, accepted)
        return {
            "lines_in_error": len(outcome.errors),
            "lines_in_success": len(accepted),
        }

    def _mirakl_after_apply(self, accepted):
        """Products Mirakl created: their offers may go out now (unless this
        follow-up runs inside an offer send, which sends them itself)."""
        if self.kind != "product":
            return super()._mirakl_after_apply(accepted)
        if accepted and not self.env.context.get("mirakl_offer_export"):
            self.backend_id._mirakl_after_products_created(accepted)
        return None

    def _mirakl_product_report_errors(self, status, vals, skus):
        """Read a finished product import's P47 and P44 reports (stored in
        ``vals``): ``({offer id: message}, file-level messages, unmatched
        lines)``, or None when a report could not be read."""
        backend = self.backend_id
        import_id = self.mirakl_import_id
        mirakl_status = status.get("import_status")
        offer_ids = self._mirakl_offer_ids()
        columns = backend._mirakl_product_columns()
        errors, file_messages, unmatched = {}, [], []
        reports = (
            (
                "P47",
                "transformation_report",
                status.get("has_transformation_error_report")
                or mirakl_status == "TRANSFORMATION_FAILED",
                lambda c: c.get_product_import_transformation_error_report(import_id),
            ),
            (
                "P44",
                "error_report",
                status.get("has_error_report"),
                lambda c: c.get_product_import_error_report(import_id),
            ),
        )
        for operation, field_name, wanted, call in reports:
            if not wanted:
                continue
            ok, text = backend._mirakl_call(operation, call, record=self)
            if not ok:
                if mirakl_status == "TRANSFORMATION_FAILED" and operation == "P47":
                    continue  # the reason_status says why
                return None
            vals[field_name] = self._mirakl_encode(text)
            vals[field_name + "_name"] = "%s-%s.csv" % (operation, import_id)
            for line in parse_product_error_report(
                text, columns["sku"], backend.product_report_message_column
            ):
                offer_id = skus.get(line.sku) if line.sku else None
                if (
                    offer_id is None
                    and line.line
                    and 2 <= line.line <= (len(offer_ids) + 1)
                ):
                    offer_id = offer_ids[line.line - 2]
                if offer_id is None:
                    if not line.line or line.line <= 1:
                        file_messages.append(line.message)
                    else:
                        unmatched.append(line)
                    continue
                errors[offer_id] = (
                    "%s; %s" % (errors[offer_id], line.message)
                    if offer_id in errors
                    else line.message
                )
        return errors, file_messages, unmatched

    def _mirakl_report_file_problems(self, file_messages, unmatched):
        backend = self.backend_id
        Issue = self.env["mirakl.sync.issue"]
        if file_messages:
            Issue._mirakl_record(
                backend,
                "P47",
                _(
                    "Mirakl's remarks about the product file %(name)s: %(messages)s "
                    "(check the shop's product file settings: separator and "
                    "column names).",
                    name=self.name,
                    messages="; ".join(file_messages[:20]),
                ),
                category="config",
                record=self,
            )
        if unmatched:
            Issue._mirakl_record(
                backend,
                "P44",
                _(
                    "%(count)s report lines of %(name)s name no product that was "
                    "sent: %(lines)s",
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

    def _mirakl_apply(self, outcome, failed, file=True):
        """Store a finished product import's outcome on its offers; file the
        rejected products' issues and close the accepted ones'. Returns the
        ids of the offers whose product Mirakl accepted.

        A product Mirakl rejected is sent again only once its line changes,
        unless the whole file failed (``failed``: not the product's fault,
        so the next send sends it again)."""
        if self.kind != "product":
            return super()._mirakl_apply(outcome, failed, file=file)
        errors, created = outcome.errors, outcome.created
        cr = self.env.cr
        Offer = self.env["mirakl.offer"].sudo()
        Offer.flush_model()
        now = fields.Datetime.now()
        offer_ids = self._mirakl_offer_ids()
        error_ids = [oid for oid in offer_ids if oid in errors]
        ok_ids = [oid for oid in offer_ids if oid not in errors]
        cr.execute(
            """
            UPDATE mirakl_offer o
               SET product_state = 'done', product_digest = product_pending_digest,
                   product_error = NULL, product_error_digest = NULL,
                   product_import_id = NULL,
                   product_created_date = CASE WHEN v.product_sku IS NOT NULL
                        THEN %s ELSE o.product_created_date END,
                   mirakl_product_sku = COALESCE(NULLIF(v.product_sku, ''),
                                                 o.mirakl_product_sku)
              FROM unnest(%s::int[], %s::text[]) AS v(id, product_sku)
             WHERE o.id = v.id AND o.product_import_id = %s
            RETURNING o.id
            """,
            (
                now,
                ok_ids,
                [created.get(oid) for oid in ok_ids],
                self.id,
            ),
        )
        accepted = [row[0] for row in cr.fetchall()]
        cr.execute(
            """
            UPDATE mirakl_offer o
               SET product_state = 'error', product_error = v.message,
                   product_error_digest = CASE WHEN %s THEN NULL
                                          ELSE o.product_pending_digest END,
                   product_import_id = NULL
              FROM unnest(%s::int[], %s::text[]) AS v(id, message)
             WHERE o.id = v.id AND o.product_import_id = %s
            """,
            (failed, error_ids, [errors[oid] for oid in error_ids], self.id),
        )
        Offer.invalidate_model()
        self._mirakl_file_offer_issues("P41", accepted, error_ids, errors, failed)
        return accepted

    def _mirakl_accepted_text(self):
        if self.kind != "product":
            return super()._mirakl_accepted_text()
        return _("Accepted by a later product import")

    def _mirakl_rejected_text(self, offer, message, failed):
        if self.kind != "product":
            return super()._mirakl_rejected_text(offer, message, failed)
        return _(
            "Mirakl rejected the product of SKU %(sku)s (%(name)s): "
            "%(message)s. %(next)s",
            sku=offer.shop_sku,
            name=self.name,
            message=message,
            next=_("It is sent again with the next send.")
            if failed
            else _("It is sent again once its data changes."),
        )

    def _mirakl_rejected_summary_text(self, count):
        if self.kind != "product":
            return super()._mirakl_rejected_summary_text(count)
        return _(
            "Mirakl rejected %(count)s products of %(name)s; the first "
            "%(shown)s have their own issue, every product shows its "
            "reason (filter the products on 'Rejected').",
            count=count,
            name=self.name,
            shown=MAX_OFFER_ISSUES,
        )

    def _mirakl_give_up(self, reason):
        """A product import Mirakl has not reported on for too long: its
        products count as not sent, so the next send sends them again."""
        if self.kind != "product":
            return super()._mirakl_give_up(reason)
        message = _(
            "Mirakl gave no final status for %(name)s within %(hours)s hours "
            "(%(reason)s); its products will be sent again.",
            name=self.name,
            hours=IMPORT_GIVE_UP_HOURS,
            reason=reason,
        )
        self.env["mirakl.offer"].flush_model()
        self.env.cr.execute(
            """
            UPDATE mirakl_offer
               SET product_state = CASE WHEN product_digest IS NULL THEN 'new'
                                        ELSE 'done' END,
                   product_error = %s, product_import_id = NULL
             WHERE id = ANY(%s) AND product_import_id = %s
            """,
            (message, self._mirakl_offer_ids(), self.id),
        )
        self.env["mirakl.offer"].invalidate_model()
        self.write(
            {
                "state": "failed",
                "reason_status": message,
                "finished_date": fields.Datetime.now(),
            }
        )
        return None
