"""Customer invoices of Mirakl orders, at the tax point.

By default a Mirakl Sales Order is invoiced when its delivery is done (the
basic tax point for goods); a shop can invoice when Mirakl reports the
customer debited instead (the order's release), or leave invoicing to people.
The invoice is Odoo's own (``sale.order._create_invoices``: lines and taxes as
on the Sales Order, so its total is what the customer paid on Mirakl), posted
at once, its receivable on the shop's marketplace receivable account when one
is set. Invoicing never blocks a delivery: a failure is a sync issue.
"""

import logging

import psycopg2

from odoo import _, fields, models
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import float_compare

_logger = logging.getLogger(__name__)


class AccountMove(models.Model):
    _inherit = "account.move"

    mirakl_backend_id = fields.Many2one(
        "mirakl.backend",
        string="Mirakl shop",
        copy=False,
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        help="The shop of the Mirakl order this customer invoice or credit "
        "note is for.",
    )

    def _mirakl_post_for_shop(self, backend):
        """Post these customer invoices or credit notes of ``backend``'s
        orders, their receivable on the shop's marketplace receivable when
        one is set."""
        backend.ensure_one()
        self.mirakl_backend_id = backend
        if backend.receivable_account_id:
            self.line_ids.filtered(
                lambda line: line.display_type == "payment_term"
            ).account_id = backend.receivable_account_id
        self.action_post()


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def _prepare_invoice(self):
        """Override of `sale` to tag the invoices of Mirakl orders with their
        shop (also those made by hand)."""
        vals = super()._prepare_invoice()
        if self.mirakl_backend_id:
            vals["mirakl_backend_id"] = self.mirakl_backend_id.id
        return vals

    def _mirakl_invoice_due(self, trigger):
        """Invoice these Mirakl orders if the shop invoices at ``trigger``
        (``shipped`` or ``debited``). Never raises: a failure is a sync issue
        on the order."""
        for sale in self.filtered(
            lambda s: (
                s.mirakl_backend_id.invoice_policy == trigger
                and s.state == "sale"
                and s.invoice_status == "to invoice"
            )
        ):
            if trigger == "shipped" and sale._mirakl_deliveries_open():
                continue
            # The caller's own pending writes first: a conflict there is the
            # caller's (Odoo retries a request that meets one).
            self.env.flush_all()
            try:
                with self.env.cr.savepoint():
                    sale._mirakl_invoice()
            except Exception as error:  # the delivery must go through
                if (
                    isinstance(error, psycopg2.Error)
                    and error.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY
                ):
                    raise  # another transaction wrote the same rows: retried
                _logger.info(
                    "Mirakl order %s: invoice failed: %s",
                    sale.mirakl_order_id,
                    error,
                    exc_info=True,
                )
                self.env["mirakl.sync.issue"]._mirakl_record(
                    sale.mirakl_backend_id,
                    "INVOICE",
                    _(
                        "The invoice of %(order)s could not be created: %(error)s",
                        order=sale.name,
                        error=error,
                    ),
                    category="data",
                    record=sale,
                    mirakl_ref=sale.mirakl_order_id,
                )

    def _mirakl_deliveries_open(self):
        return self.picking_ids.filtered(
            lambda p: (
                p.picking_type_code == "outgoing" and p.state not in ("done", "cancel")
            )
        )

    def _mirakl_invoice(self):
        """Create, route and post this order's invoice; check it."""
        self.ensure_one()
        sale = self.sudo()
        backend = sale.mirakl_backend_id
        invoices = sale._create_invoices(final=True)
        invoices._mirakl_post_for_shop(backend)
        sale._mirakl_check_invoice_taxes()
        Issue = self.env["mirakl.sync.issue"]
        total = sum(invoices.mapped("amount_total"))
        if (
            sale.mirakl_total_price
            and not sale._mirakl_deliveries_open()
            and float_compare(
                total,
                sale.mirakl_total_price,
                precision_rounding=sale.currency_id.rounding,
            )
        ):
            Issue._mirakl_record(
                backend,
                "INVOICE",
                _(
                    "The invoices of %(order)s total %(total)s but the customer "
                    "paid %(paid)s on Mirakl.",
                    order=sale.name,
                    total=total,
                    paid=sale.mirakl_total_price,
                ),
                category="drift",
                record=sale,
                mirakl_ref="total",
            )
        Issue._mirakl_resolve(
            backend, "INVOICE", record=sale, mirakl_ref=sale.mirakl_order_id
        )
        _logger.info(
            "Mirakl order %s: invoiced (%s)",
            sale.mirakl_order_id,
            ", ".join(invoices.mapped("name")),
        )
        # Refunds Mirakl reported before the invoice existed.
        sale._mirakl_credit_refunds()
        return invoices

    def _mirakl_check_invoice_taxes(self):
        """The VAT Mirakl charged on a line against the product's own sale tax:
        the seller, not the marketplace, is liable for the difference."""
        self.ensure_one()
        company = self.company_id
        for line in self.order_line.filtered(
            lambda l: l.mirakl_line_id and l.product_id and l.tax_id
        ):
            own = line.product_id.taxes_id.filtered(
                lambda t, c=company: t.company_id == c
            )
            charged = sorted(set(line.tax_id.mapped("amount")))
            expected = sorted(set(own.mapped("amount")))
            if own and charged != expected:
                self.env["mirakl.sync.issue"]._mirakl_record(
                    self.mirakl_backend_id,
                    "INVOICE",
                    _(
                        "Mirakl charged VAT at %(charged)s %% on %(product)s "
                        "(order %(order)s) but the product's own sale tax is "
                        "%(expected)s %%. The seller is liable for the VAT due: "
                        "check the product's VAT category and the marketplace's "
                        "tax configuration.",
                        charged="/".join("%g" % rate for rate in charged),
                        product=line.product_id.display_name,
                        order=self.name,
                        expected="/".join("%g" % rate for rate in expected),
                    ),
                    category="mapping",
                    record=self,
                    mirakl_ref="tax:%s" % line.mirakl_line_id,
                )
