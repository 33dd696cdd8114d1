"""The Mirakl references of a settlement entry's journal items: the order,
refund, Sales Order or operator document each line settles.
"""

from odoo import fields, models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    mirakl_order_id = fields.Char(
        string="Mirakl order", index="btree_not_null", copy=False
    )
    mirakl_refund_id = fields.Char(string="Mirakl refund", copy=False)
    mirakl_sale_order_id = fields.Many2one(
        "sale.order", string="Mirakl Sales Order", copy=False, index="btree_not_null"
    )
    mirakl_document_id = fields.Many2one(
        "mirakl.accounting.document",
        string="Mirakl operator document",
        copy=False,
        index="btree_not_null",
    )
