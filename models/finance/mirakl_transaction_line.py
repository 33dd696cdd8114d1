"""One TL02 transaction line of a billing cycle (signed ``amount``: a credit
to the seller is positive), stored raw and exactly once per shop and Mirakl
id.
"""

from odoo import fields, models


class MiraklTransactionLine(models.Model):
    _name = "mirakl.transaction.line"
    _description = "Mirakl Transaction Line"
    _order = "date_created, id"
    _rec_name = "mirakl_id"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    mirakl_id = fields.Char(string="Mirakl line ID", required=True, readonly=True)
    cycle_id = fields.Many2one(
        "mirakl.billing.cycle", readonly=True, index=True, ondelete="set null"
    )
    mirakl_cycle_id = fields.Char(string="Mirakl cycle ID", readonly=True, index=True)
    transaction_type = fields.Char(string="Type", readonly=True, index=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    amount = fields.Monetary(
        readonly=True, help="Signed: a credit to the seller is positive."
    )
    payment_state = fields.Char(string="Payment state", readonly=True)
    date_created = fields.Datetime(readonly=True)
    last_updated = fields.Datetime(string="Last updated", readonly=True)
    transaction_date = fields.Datetime(string="Transaction date", readonly=True)
    mirakl_order_id = fields.Char(string="Mirakl order", readonly=True, index=True)
    mirakl_order_line_id = fields.Char(string="Mirakl order line", readonly=True)
    mirakl_refund_id = fields.Char(string="Mirakl refund", readonly=True, index=True)
    sale_order_id = fields.Many2one(
        "sale.order", readonly=True, index="btree_not_null", ondelete="set null"
    )
    accounting_document_id = fields.Char(string="Accounting document", readonly=True)
    accounting_document_number = fields.Char(string="Operator document", readonly=True)
    tax_code = fields.Char(
        string="Tax code",
        readonly=True,
        help="order_tax or shop_tax code of a tax line.",
    )
    tax_rate = fields.Float(string="Tax rate", readonly=True)
    raw_json = fields.Text(string="TL02 line", readonly=True)

    _sql_constraints = [
        (
            "backend_mirakl_id_uniq",
            "unique(backend_id, mirakl_id)",
            "A Mirakl transaction line is stored once per shop.",
        ),
    ]
