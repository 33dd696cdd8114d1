"""Endpoints of the Mirakl seller (shop) REST API.

:class:`MiraklClient` is :class:`.transport.MiraklTransport` (one session,
the API key, ``shop_id``, timeouts, retries, the time budget, paging, error
mapping; its module docstring has the retry and time-budget policy) plus one
method per endpoint. The endpoints come by API section from three mixins:
:mod:`.endpoints_orders` (A01, PC01, V01, OR, SH, ST, OR29/OR30, RE01),
:mod:`.endpoints_offers` (OF, STO, H11, PM11, VL11, P41-P47) and
:mod:`.endpoints_payouts` (TL02, SBC11, IV01, IV02).

Writes, and whether a 5xx or a lost answer is retried (``idempotent``)::

    OR04  update_seller_references  yes  the same reference again changes nothing
    OR21  accept_order              no   a repeat meets ORDER_INVALID_STATE
    OR23  update_tracking           yes  the same tracking again changes nothing
    OR24  ship_order                no   a repeat meets ORDER_INVALID_STATE
    OR29  cancel_order              no   a repeat meets "cannot be cancelled"
    OR30  cancel_lines              no   a repeat would cancel again
    ST01  create_shipments          no   a repeat would create them again
    ST23  update_shipment_tracking  yes  the same tracking again changes nothing
    ST24  ship_shipments            no   a repeat reports shipped ones as errors
    STO01 import_stock              yes  quantities are absolute: a repeated
                                         file sets the same levels again
    OF24  import_offers             yes  full offers (a repeat sets the same
                                         values); Mirakl detects duplicates
    P41   import_products           no   a repeat makes a second import that
                                         the caller would not follow

After a write that was not retried, read the state back (OR11, ST11) before
sending it again.

Partial success: OR04, ST01, ST23 and ST24 report refused items inside their
2xx answer; the client returns those reports to the caller and raises
:class:`.MiraklProtocolError` only when a 2xx answer does not have the
documented shape. Imports (STO01, OF24) are asynchronous: their status
(STO02, OF02) and error report (STO03, OF03, CSV text read by
:func:`.offers.parse_error_report`) are read afterwards.

Payout data (TL02, SBC11, IV01, IV02) is read-only: transaction lines and
billing cycles are seek-paginated (pages up to 2000 and 1000), accounting
documents offset-paginated (up to 100); IV02 returns the document file's
bytes.

Catalogue (H11, PM11, VL11) is read-only: the operator's category tree,
attributes and value lists. Product imports (P41, a CSV upload) are
asynchronous like stock files: their status (P42, ``import_status``) and
reports (P44 error report, P45 new-product report, P47 transformation error
report; CSV text read by the helpers of :mod:`.products`) are read
afterwards.

Uploads (STO01, P41) are ``multipart/form-data`` bodies built by the
transport; logs and error excerpts show the file's name, size and first lines
only. Report downloads return the raw text (``raw=True`` in
:meth:`MiraklClient.request`).

A client is not thread-safe (one Session); use one per thread or job.
"""

from .endpoints_offers import OfferEndpoints
from .endpoints_orders import OrderEndpoints
from .endpoints_payouts import PayoutEndpoints
from .transport import MiraklTransport


class MiraklClient(OrderEndpoints, OfferEndpoints, PayoutEndpoints, MiraklTransport):
    """Client of one Mirakl shop: ``MiraklClient(base_url, api_key, shop_id)``.

    Its parameters, retries and time budget are those of
    :class:`.transport.MiraklTransport`; its endpoints are the methods of
    the mixins, one per API section.
    """
