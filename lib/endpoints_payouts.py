"""Endpoints of payout data (TL02, SBC11, IV01, IV02), all read-only.

A mixin of :class:`.client.MiraklClient` (whose module docstring has the
endpoint contract table): it calls the ``request``, ``iter_offset``,
``iter_seek`` and helpers of :class:`.transport.MiraklTransport`.
"""

from . import const
from .transport import _check_page_size, _segment


class PayoutEndpoints:
    """Transaction lines (TL02), billing cycles (SBC11) and accounting
    documents (IV01, IV02)."""

    # === PAYOUT DATA (TL02, SBC11, IV01, IV02) === #

    def iter_transaction_lines(
        self, seller_billing_cycle_id=None, page_size=const.TL02_MAX_LIMIT, **filters
    ):
        """TL02 ``GET /api/sellerpayment/transactions_logs``: transaction lines.

        Seek pagination, lazily (``data``, ``next_page_token``).
        ``seller_billing_cycle_id`` is one id or an iterable of ids (at most
        100); ``filters`` are TL02 parameters sent as given (``payment_state``,
        ``transaction_type``, ``order_id``, ``order_line_id``,
        ``last_updated_from``, ``date_created_from``, ``date_created_to``,
        ``accounting_document_number``, ``sort``...): a list, tuple or set
        becomes a repeated parameter, datetimes ISO-8601 UTC. ``page_size``
        is at most 2000. Each line has ``id``, ``type``, ``amount`` (signed:
        a credit to the seller is positive), ``amount_credited``,
        ``amount_debited``, ``balance``, ``currency_iso_code``,
        ``date_created``, ``last_updated``, ``payment_state``,
        ``seller_billing_cycle_id``, ``accounting_document_id``,
        ``accounting_document_number`` and ``entities`` (``order``,
        ``order_line``, ``refund``, ``order_tax``, ``shop_tax``,
        ``manual_accounting_document``...). Never infer a sign from the type.

        :raises MiraklProtocolError: a page without a ``data`` list, or a line
            that is not an object with ``id``, ``type`` and ``amount``
        """
        _check_page_size(page_size, const.TL02_MAX_LIMIT)
        params = dict(filters, seller_billing_cycle_id=seller_billing_cycle_id)
        path = "/api/sellerpayment/transactions_logs"
        return self._checked_items(
            self.iter_seek(path, "TL02", params, page_size),
            "TL02",
            path,
            ("id", "type", "amount"),
        )

    def iter_billing_cycles(self, page_size=const.SBC11_MAX_LIMIT, **filters):
        """SBC11 ``GET /api/seller-billing-cycles``: billing cycles (payouts).

        Seek pagination, lazily. ``filters``: ``id``, ``pay_out_state``
        (Mirakl's default ``TO_PAY``, ``FAILED``, ``PAID``), ``start_date``,
        ``end_date`` (creation), ``currency``... (a list, tuple or set becomes
        a repeated parameter). ``page_size`` is at most 1000. Each cycle has ``id``,
        ``date_created``, ``currency_iso_code``, ``payment_voucher_number``,
        ``amount_transferred_to_seller``, ``amount_transferred_to_operator``,
        ``pay_out {state, reference, transaction_date, failure_reason}``,
        ``pay_out_psp_code`` and ``summary`` (signed ``total_*`` figures).

        :raises MiraklProtocolError: a page without a ``data`` list, or a
            cycle that is not an object with ``id`` and
            ``amount_transferred_to_seller``
        """
        _check_page_size(page_size, const.SBC11_MAX_LIMIT)
        path = "/api/seller-billing-cycles"
        return self._checked_items(
            self.iter_seek(path, "SBC11", filters, page_size),
            "SBC11",
            path,
            ("id", "amount_transferred_to_seller"),
        )

    def iter_accounting_documents(
        self,
        document_type="ALL",
        seller_billing_cycle_id=None,
        page_size=const.MAX_PAGE_SIZE,
    ):
        """IV01 ``GET /api/invoices``: accounting documents, offset-paginated.

        ``document_type`` is ``ALL`` (default here; Mirakl's own default is
        ``AUTO_INVOICE``), ``AUTO_INVOICE``, ``MANUAL_INVOICE`` or
        ``MANUAL_CREDIT``; ``seller_billing_cycle_id`` one id or an iterable
        (repeated parameter). ``page_size`` is at most 100. Each document has
        ``invoice_id``, ``type``, ``state``, ``issue_date``,
        ``total_amount_excl_taxes``, ``total_amount_incl_taxes``,
        ``total_taxes [{code, amount}]``, ``details``, ``payment`` and, for
        an AUTO_INVOICE, ``seller_billing_cycle_id`` and ``summary``
        (``amount_transferred``...).

        :raises MiraklProtocolError: a page without ``invoices`` or
            ``total_count``, or a document that is not an object with
            ``type``
        """
        _check_page_size(page_size)
        params = {
            "type": document_type,
            "seller_billing_cycle_id": seller_billing_cycle_id,
        }
        return self._checked_items(
            self.iter_offset("/api/invoices", "IV01", "invoices", params, page_size),
            "IV01",
            "/api/invoices",
            ("type",),
        )

    def download_accounting_document(self, document_id):
        """IV02 ``GET /api/invoices/{accounting_document_id}``: the file.

        :param document_id: the document's ``invoice_id`` (TL02
            ``accounting_document_id``)
        :return: the file's bytes as served (a PDF on the sandbox)
        :raises MiraklNotFoundError: unknown document
        :raises MiraklProtocolError: an empty answer
        """
        path = "/api/invoices/%s" % _segment(document_id)
        content = self.request("GET", path, "IV02", raw=True)
        if not content:
            raise self._shape_error("IV02", path, "empty document", None)
        return content
