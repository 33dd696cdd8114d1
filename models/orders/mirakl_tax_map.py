from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class MiraklTaxMap(models.Model):
    """Which Odoo sale tax a Mirakl tax code means, for one shop.

    Without a row for a code, a Mirakl tax maps by rate to the company's
    single sale tax of that rate whose price-included mode matches the
    order's tax mode. A code may have two rows: one price-included tax (for
    TAX_INCLUDED orders) and one price-excluded tax (for TAX_EXCLUDED ones).
    The mapped tax's rate must equal the rate Mirakl charged.
    """

    _name = "mirakl.tax.map"
    _description = "Mirakl Tax Mapping"
    _order = "backend_id, code, id"

    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    code = fields.Char(
        string="Mirakl tax code", required=True, help="For example GB_VAT_STD."
    )
    tax_id = fields.Many2one(
        "account.tax",
        string="Odoo tax",
        required=True,
        check_company=True,
        domain="[('type_tax_use', '=', 'sale')]",
    )
    price_include = fields.Boolean(related="tax_id.price_include")
    rate = fields.Float(related="tax_id.amount", string="Rate (%)")

    _sql_constraints = [
        (
            "code_tax_unique",
            "unique(backend_id, code, tax_id)",
            "This Mirakl tax code is already mapped to this tax.",
        )
    ]

    @api.constrains("code", "tax_id")
    def _check_one_tax_per_mode(self):
        for row in self:
            same = self.search(
                [
                    ("backend_id", "=", row.backend_id.id),
                    ("code", "=", row.code),
                    ("id", "!=", row.id),
                ]
            ).filtered(
                lambda other, row=row: (
                    other.tax_id.price_include == row.tax_id.price_include
                    and other.tax_id.amount == row.tax_id.amount
                )
            )
            if same:
                raise ValidationError(
                    _(
                        "Mirakl tax %(code)s is already mapped to %(tax)s, a tax of "
                        "the same rate and price-included mode.",
                        code=row.code,
                        tax=same[0].tax_id.display_name,
                    )
                )
