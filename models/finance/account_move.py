"""Settlement entries and operator bills among journal entries: the cycle an
entry settles, and the reconciliations made when either side is posted
(an order's line with its invoices, a refund's with its credit note, an
operator document's with its vendor bill), whichever is posted last.
"""

from odoo import fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    mirakl_cycle_id = fields.Many2one(
        "mirakl.billing.cycle",
        string="Mirakl billing cycle",
        copy=False,
        index="btree_not_null",
    )

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted._mirakl_reconcile_settlements()
        posted._mirakl_reconcile_operator_bills()
        return posted

    def _mirakl_reconcile_operator_bills(self):
        """Match each operator document's payable line in a settlement with
        the document's vendor bill, whichever of the two is posted last."""
        lines = self.filtered("mirakl_cycle_id").line_ids.filtered(
            lambda l: l.mirakl_document_id and not l.reconciled
        )
        bills = self.filtered(lambda m: m.move_type in ("in_invoice", "in_refund"))
        if bills:
            documents = (
                self.env["mirakl.accounting.document"]
                .sudo()
                .search([("bill_id", "in", bills.ids)])
            )
            if documents:
                lines |= self._mirakl_open_settlement_lines(
                    [("mirakl_document_id", "in", documents.ids)]
                )
        for line in lines.filtered(lambda l: l.parent_state == "posted"):
            self._mirakl_match(line, line.mirakl_document_id.bill_id)

    def _mirakl_open_settlement_lines(self, domain):
        """Posted, unmatched lines of settlement entries, among ``domain``."""
        return (
            self.env["account.move.line"]
            .sudo()
            .search(
                domain
                + [
                    ("parent_state", "=", "posted"),
                    ("reconciled", "=", False),
                    ("move_id.mirakl_cycle_id", "!=", False),
                ]
            )
        )

    def _mirakl_match(self, line, moves):
        """Reconcile a settlement line with the open lines of ``moves`` (its
        invoices, credit note or operator bill) on the same account, once
        they are posted."""
        counterpart = moves.filtered(lambda m: m.state == "posted").line_ids.filtered(
            lambda l, a=line.account_id: l.account_id == a and not l.reconciled
        )
        if counterpart:
            (line | counterpart).reconcile()

    def _mirakl_reconcile_settlements(self):
        """Match each order's settlement line with its invoices' receivable
        (same account), whichever of the two is posted last."""
        settlement_lines = self.filtered("mirakl_cycle_id").line_ids.filtered(
            lambda l: l.mirakl_sale_order_id and not l.reconciled
        )
        invoices = self.filtered(lambda m: m.is_invoice(include_receipts=False))
        if invoices:
            sales = invoices.line_ids.sale_line_ids.order_id
            credit_notes = invoices.filtered(lambda m: m.move_type == "out_refund")
            if credit_notes:
                sales |= (
                    self.env["mirakl.refund"]
                    .sudo()
                    .search([("credit_note_id", "in", credit_notes.ids)])
                    .sale_order_id
                )
            sales = sales.filtered("mirakl_backend_id")
            if sales:
                settlement_lines |= self._mirakl_open_settlement_lines(
                    [("mirakl_sale_order_id", "in", sales.ids)]
                )
        settlement_lines = settlement_lines.filtered(
            lambda l: l.parent_state == "posted"
        )
        # The credit notes of the refund lines, in one query.
        refund_lines = settlement_lines.filtered("mirakl_refund_id")
        refund_notes = {}
        if refund_lines:
            for refund in (
                self.env["mirakl.refund"]
                .sudo()
                .search(
                    [
                        ("sale_order_id", "in", refund_lines.mirakl_sale_order_id.ids),
                        (
                            "mirakl_refund_id",
                            "in",
                            refund_lines.mapped("mirakl_refund_id"),
                        ),
                    ]
                )
            ):
                refund_notes[refund.sale_order_id.id, refund.mirakl_refund_id] = (
                    refund.credit_note_id
                )
        for line in settlement_lines:
            if line.mirakl_refund_id:
                moves = refund_notes.get(
                    (line.mirakl_sale_order_id.id, line.mirakl_refund_id),
                    self.browse(),
                )
            else:
                moves = line.mirakl_sale_order_id.invoice_ids.filtered(
                    lambda m: m.move_type == "out_invoice"
                )
            self._mirakl_match(line, moves)
