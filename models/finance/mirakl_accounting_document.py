"""One IV01 accounting document: the operator's automatic invoice of a cycle,
or a manual invoice or credit, with its IV02 file; stored raw and exactly
once per shop and Mirakl id. With the vendor-bill option it becomes the
operator's vendor bill (``bill_id``).
"""

import base64
from collections import defaultdict
from decimal import Decimal

from odoo import _, api, fields, models


class MiraklAccountingDocument(models.Model):
    _name = "mirakl.accounting.document"
    _description = "Mirakl Accounting Document"
    _order = "issue_date desc, id desc"
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    mirakl_id = fields.Char(string="Mirakl document ID", required=True, readonly=True)
    invoice_number = fields.Char(
        string="Document number", readonly=True, help="IV01 invoice_id, once issued."
    )
    document_type = fields.Char(string="Type", readonly=True)
    mirakl_state = fields.Char(string="State on Mirakl", readonly=True)
    cycle_id = fields.Many2one(
        "mirakl.billing.cycle", readonly=True, index=True, ondelete="set null"
    )
    mirakl_cycle_id = fields.Char(string="Mirakl cycle ID", readonly=True, index=True)
    date_created = fields.Datetime(readonly=True)
    issue_date = fields.Datetime(string="Issued on", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    total_excl_taxes = fields.Monetary(string="Total excl. VAT", readonly=True)
    total_incl_taxes = fields.Monetary(string="Total incl. VAT", readonly=True)
    total_taxes = fields.Monetary(string="VAT", readonly=True)
    raw_json = fields.Text(string="IV01 document", readonly=True)
    file = fields.Binary(string="Document file", attachment=True, readonly=True)
    file_name = fields.Char(string="File name", readonly=True)
    bill_id = fields.Many2one(
        "account.move",
        string="Vendor bill",
        readonly=True,
        copy=False,
        help="The operator's bill (or refund) for this document, when the shop "
        "books operator charges as vendor bills.",
    )

    _sql_constraints = [
        (
            "backend_mirakl_id_uniq",
            "unique(backend_id, mirakl_id)",
            "A Mirakl accounting document is stored once per shop.",
        ),
    ]

    def _mirakl_retry_issue(self, issue):
        """Retry of a failed file download (IV02)."""
        self.ensure_one()
        if issue.operation != "IV02":
            return None
        return self._mirakl_fetch_file()

    @api.depends("document_type", "invoice_number", "mirakl_id")
    def _compute_name(self):
        for document in self:
            document.name = "%s %s" % (
                document.document_type or _("Document"),
                document.invoice_number or document.mirakl_id,
            )

    # === BUSINESS METHODS === #

    def _mirakl_fetch_file(self):
        """IV02: this document's file (a PDF as far as is known). True when
        stored; a failure is a sync issue on the document (Retry fetches it)."""
        self.ensure_one()
        document = self
        mirakl_id = document.mirakl_id
        ok, content = self.backend_id._mirakl_call(
            "IV02",
            lambda client: client.download_accounting_document(mirakl_id),
            record=document,
        )
        if not ok:
            return False
        extension = "pdf" if content[:5] == b"%PDF-" else "bin"
        document.write(
            {
                "file": base64.b64encode(content),
                "file_name": "%s.%s"
                % (document.invoice_number or mirakl_id, extension),
            }
        )
        return True

    def _mirakl_attach_to(self, move):
        """These documents' files, attached to ``move`` (an entry or bill)."""
        for doc in self.filtered("file"):
            self.env["ir.attachment"].sudo().create(
                {
                    "name": doc.file_name or doc.name,
                    "datas": doc.file,
                    "res_model": "account.move",
                    "res_id": move.id,
                }
            )

    def _mirakl_operator_bill(self, charges, cycle):
        """The vendor bill (refund, for a credit) of this operator document:
        a line per account and VAT, the document's number as reference and
        its VAT to the penny. Created once per document."""
        self.ensure_one()
        document, backend = self, self.backend_id
        if document.bill_id:
            return document.bill_id
        gross = sum((base + vat for _a, _t, base, vat in charges), Decimal(0))
        move_type = "in_invoice" if gross < 0 else "in_refund"
        sign = -1 if move_type == "in_invoice" else 1
        Account = self.env["account.account"].sudo()
        moment = document.issue_date or cycle.date_created or fields.Datetime.now()
        bill = (
            self.env["account.move"]
            .sudo()
            .with_company(backend.company_id)
            .create(
                {
                    "move_type": move_type,
                    "partner_id": backend.operator_partner_id.id,
                    "ref": document.invoice_number,
                    "invoice_date": moment.date(),
                    "date": moment.date(),
                    "currency_id": (document.currency_id or cycle.currency_id).id,
                    "invoice_line_ids": [
                        (
                            0,
                            0,
                            {
                                "name": Account.browse(account_id).name,
                                "account_id": account_id,
                                "quantity": 1.0,
                                "price_unit": float(sign * base),
                                "tax_ids": [(6, 0, tax.ids)]
                                if tax and vat
                                else [(5, 0, 0)],
                            },
                        )
                        for account_id, tax, base, vat in charges
                    ],
                }
            )
        )
        # The VAT is the document's, not Odoo's recomputation of each base.
        wanted = defaultdict(Decimal)
        for _account, tax, _base, vat in charges:
            if tax and vat:
                wanted[tax.tax_group_id.id] += sign * vat
        totals = bill.tax_totals or {}
        changed = False
        for subtotal in totals.get("subtotals", []):
            for group in subtotal["tax_groups"]:
                if group["id"] in wanted:
                    amount = float(wanted[group["id"]])
                    if bill.currency_id.compare_amounts(
                        group["tax_amount_currency"], amount
                    ):
                        group["tax_amount_currency"] = amount
                        changed = True
        if changed:
            bill.tax_totals = totals
        document.bill_id = bill
        document._mirakl_attach_to(bill)
        return bill
