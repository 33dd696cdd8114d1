"""One IV01 accounting document: the operator's automatic invoice of a cycle,
or a manual invoice or credit, with its IV02 file; stored raw and exactly
once per shop and Mirakl id. With the vendor-bill option it becomes the
operator's vendor bill (``bill_id``).
"""

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
        return self.backend_id._mirakl_fetch_document_file(self)

    @api.depends("document_type", "invoice_number", "mirakl_id")
    def _compute_name(self):
        for document in self:
            document.name = "%s %s" % (
                document.document_type or _("Document"),
                document.invoice_number or document.mirakl_id,
            )
