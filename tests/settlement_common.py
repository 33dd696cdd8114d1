"""Shared set-up of the finance tests: a shop whose payouts are booked."""

from .order_common import OrderCommon


class SettlementCommon(OrderCommon):
    """A shop set up for finance (accounts, UK VAT tags, transaction types),
    its settlements posted at once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fee_tax = cls.env["account.tax"].create(
            {
                "name": "VAT 20% on services (purchase)",
                "amount": 20.0,
                "amount_type": "percent",
                "type_tax_use": "purchase",
                "company_id": cls.company.id,
            }
        )
        cls.input_vat = cls.env["account.account"].create(
            {
                "name": "VAT on purchases",
                "code": "220100",
                "account_type": "liability_current",
                "company_ids": [(6, 0, cls.company.ids)],
            }
        )
        cls.env.invalidate_all()
        cls.fee_tax.repartition_line_ids.filtered(
            lambda r: r.repartition_type == "tax"
        ).account_id = cls.input_vat
        # UK VAT return boxes as tax tags, as l10n_uk sets them: "+N" on
        # invoice repartitions, "-N" (negated) on refund ones; sales base 6
        # and VAT 1, purchases base 7 and VAT 4.
        # (l10n_uk's own tags when it is installed: names are unique.)
        Tag = cls.env["account.account.tag"].with_context(active_test=False)
        uk = cls.env.ref("base.uk")

        def tag(sign, box):
            vals = {
                "name": "%s%s" % (sign, box),
                "applicability": "taxes",
                "tax_negate": sign == "-",
                "country_id": uk.id,
            }
            domain = [(key, "=", value) for key, value in vals.items()]
            return Tag.search(domain) or Tag.create(vals)

        cls.boxes = {
            box: {sign: tag(sign, box) for sign in "+-"} for box in ("1", "4", "6", "7")
        }
        for taxes, base_box, tax_box in (
            (list(cls.taxes.values()), "6", "1"),
            ([cls.fee_tax], "7", "4"),
        ):
            for tax in taxes:
                for line in tax.repartition_line_ids:
                    box = base_box if line.repartition_type == "base" else tax_box
                    sign = "+" if line.document_type == "invoice" else "-"
                    line.tag_ids = cls.boxes[box][sign]
        cls.backend._mirakl_setup_finance(fee_tax=cls.fee_tax)
        cls.backend.settlement_auto_post = True

    def setUp(self):
        super().setUp()
        self.assertTrue(self.backend._mirakl_refresh_carriers())

    # --- helpers ---

    def account_of(self, kind):
        return self.backend.transaction_map_ids.filtered(
            lambda row: row.transaction_type == kind
        ).account_id

    def book(self, **close):
        self.control.close_cycle(**close)
        result = self.backend._mirakl_import_payouts()
        self.env.invalidate_all()
        cycle = self.env["mirakl.billing.cycle"].search(
            [("backend_id", "=", self.backend.id)], limit=1
        )
        return result, cycle

    def balance(self, account, moves=None):
        domain = [("account_id", "=", account.id), ("parent_state", "=", "posted")]
        if moves is not None:
            domain.append(("move_id", "in", moves.ids))
        lines = self.env["account.move.line"].search(domain)
        return round(sum(lines.mapped("amount_residual")), 2)
