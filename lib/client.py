"""HTTP client for the Mirakl seller (shop) REST API.

:class:`MiraklClient` owns one ``requests.Session``, sends the raw API key in
``Authorization``, adds ``shop_id`` to every call and a ``(connect, read)``
timeout to every request, retries what is safe to retry, pages lazily, and
turns every failure into one of the errors of :mod:`.exceptions`.

Retry policy (at most ``max_retries`` retries per call):

* 429: always retried (the call was refused, not processed), after
  ``Retry-After`` seconds, or after a backoff when the header is absent or
  unparseable; a ``Retry-After`` above ``retry_after_max`` is not waited for.
* 500/502/503/504, read timeouts, connections dropped after the request was
  sent: retried only when repeating the call is safe (GET, or a call flagged
  ``idempotent``), after ``Retry-After`` when the answer has one, else after an
  exponential backoff with full jitter; other 5xx statuses are not retried.
* failures before anything was sent (refused, DNS, connect timeout): retried.
* anything else (TLS, 4xx, answers that are not Mirakl's): never retried.

Time budget: a client given a ``deadline`` (a ``time.monotonic()`` value)
starts no attempt after it (:class:`.MiraklDeadlineError`), shortens each
attempt's timeouts to end by it, and does not wait for a retry that would
start after it. A scheduled job gives its deadline so that Mirakl's waits
(``Retry-After``, slow answers, retries) never outlast the job's own limit.

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

Uploads (STO01, P41) are ``multipart/form-data`` bodies built here; logs and
error excerpts show the file's name, size and first lines only. Report
downloads return the raw text (``raw=True`` in :meth:`MiraklClient.request`).

A client is not thread-safe (one Session); use one per thread or job.
"""

import email.utils
import ipaddress
import itertools
import json
import logging
import math
import random
import time
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from urllib.parse import quote, urlencode, urlsplit

import requests
from urllib3 import encode_multipart_formdata
from urllib3.exceptions import NewConnectionError

from . import const
from .exceptions import (
    MiraklAuthError,
    MiraklConfigError,
    MiraklConnectionError,
    MiraklDeadlineError,
    MiraklNotFoundError,
    MiraklProtocolError,
    MiraklRateLimitError,
    MiraklServerError,
    MiraklTimeoutError,
    MiraklTLSError,
    MiraklValidationError,
)
from .redact import excerpt, redact

_logger = logging.getLogger(__name__)

# Lines of an uploaded file shown in logs and error excerpts.
UPLOAD_EXCERPT_LINES = 5

_STATUS_ERRORS = {
    401: MiraklAuthError,
    403: MiraklAuthError,
    404: MiraklNotFoundError,
    429: MiraklRateLimitError,
}


@dataclass(frozen=True)
class _Call:
    """One logical API call (possibly made in several attempts).

    ``path`` is the path as shown in logs and errors (key masked); ``url`` is
    the real one.
    """

    method: str
    path: str
    operation: str
    url: str
    query: list
    body: bytes | None
    idempotent: bool
    content_type: str | None = None  # of the body; None: JSON
    body_excerpt: str | None = None  # shown instead of the body (uploads)
    accept: str | None = None  # None: the session's (JSON)


class MiraklClient:
    """Client of one Mirakl shop: ``MiraklClient(base_url, api_key, shop_id)``.

    :param base_url: instance base URL, e.g. ``https://x.mirakl.net`` (a
        trailing ``/`` or ``/api`` is dropped); https only, except plain http to
        a loopback host (127.0.0.0/8, ::1, localhost)
    :param api_key: the shop API key, sent verbatim in ``Authorization``
    :param shop_id: optional shop id, added as a query parameter to every call
        (an empty value, such as an unset Odoo field, means none)
    :param connect_timeout: seconds to establish the connection
    :param read_timeout: seconds to wait for the answer
    :param max_retries: retries after the first attempt (see module docstring)
    :param backoff_base: first backoff ceiling; doubled at each retry
    :param backoff_max: upper bound of any backoff wait
    :param retry_after_max: longest ``Retry-After`` the client waits for
    :param user_agent: ``User-Agent`` header
    :param sleep: callable used for every wait (injectable for tests)
    :param deadline: ``time.monotonic()`` value by which every call must be
        over (see the module docstring); ``None``: no time budget
    :param observer: optional callable ``observer(operation, status, error,
        elapsed_ms)`` told about every HTTP attempt (``status`` ``None``
        without an answer, ``error`` the :class:`.MiraklError` it amounted
        to, if any), e.g. :meth:`.stats.CallStats.record`; an observer that
        raises is logged and never fails the call
    :raises MiraklConfigError: bad base URL or empty API key
    """

    def __init__(
        self,
        base_url,
        api_key,
        shop_id=None,
        *,
        connect_timeout=const.CONNECT_TIMEOUT,
        read_timeout=const.READ_TIMEOUT,
        max_retries=const.MAX_RETRIES,
        backoff_base=const.BACKOFF_BASE,
        backoff_max=const.BACKOFF_MAX,
        retry_after_max=const.RETRY_AFTER_MAX,
        user_agent=const.USER_AGENT,
        sleep=time.sleep,
        deadline=None,
        observer=None,
    ):
        self._api_key = _check_api_key(api_key)
        self.base_url = normalise_base_url(base_url, self._api_key)
        self.shop_id = str(shop_id) if shop_id else None
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._sleep = sleep
        self.deadline = deadline
        self._observer = observer
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": self._api_key,
                "Accept": "application/json",
                "User-Agent": user_agent,
            }
        )

    def __repr__(self):
        return "<MiraklClient %s shop_id=%s>" % (self.base_url, self.shop_id)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close the HTTP session (and its pooled connections)."""
        self.session.close()

    # === GENERIC CALLS === #

    def request(
        self,
        method,
        path,
        operation,
        params=None,
        json=None,
        idempotent=None,
        *,
        files=None,
        raw=False,
    ):
        """Call ``path`` (e.g. ``/api/orders``) and return the parsed JSON.

        :param method: HTTP method
        :param path: URL path below the instance base URL
        :param operation: Mirakl endpoint code (``OR11``...), for logs and errors
        :param params: query parameters, a mapping or ``(key, value)`` pairs; a
            list, tuple or set (sorted) value becomes a repeated parameter,
            ``None`` values are dropped, booleans become ``true``/``false``
            and datetimes ISO-8601 UTC (naive ones are taken as UTC)
        :param json: JSON-serialisable request body
        :param idempotent: whether repeating the call is safe (default: only
            for GET/HEAD/OPTIONS); decides the retries of 5xx and lost answers
        :param files: ``{part name: (filename, content bytes, media type)}``
            (or ``{part name: str}`` for a plain field) sent as
            ``multipart/form-data`` (instead of ``json``); logs and excerpts
            show each file's name, size and first lines only
        :param raw: return the answer's bytes as they came (report
            downloads; sends ``Accept: */*``) instead of decoding JSON
        :return: the decoded JSON, or ``None`` for 204 or an empty body;
            with ``raw``, the body's bytes
        :raises MiraklError: see :mod:`.exceptions`
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in const.SAFE_METHODS
        if files is not None and json is not None:
            raise ValueError("send either json or files, not both")
        query = _pairs(params)
        if self.shop_id is not None:
            query.append(("shop_id", self.shop_id))
        body = content_type = body_excerpt = None
        if files is not None:
            body, content_type, body_excerpt = _encode_multipart(files)
        elif json is not None:
            body = _encode_json(json)
        call = _Call(
            method=method,
            path=redact(path, (self._api_key,)),
            operation=operation,
            url=self.base_url + path,
            query=query,
            body=body,
            idempotent=idempotent,
            content_type=content_type,
            body_excerpt=body_excerpt,
            accept="*/*" if raw else None,
        )
        if _logger.isEnabledFor(logging.DEBUG):
            _logger.debug(
                "Mirakl %s %s %s request: %s",
                operation,
                method,
                call.path,
                self._request_excerpt(call),
            )
        retries = 0
        while True:
            timeout = self._attempt_timeout(call)
            started = time.monotonic()
            response, error, safe = self._attempt(call, timeout)
            elapsed_ms = (time.monotonic() - started) * 1000
            if isinstance(error, MiraklTimeoutError) and timeout != self.timeout:
                error = self._deadline_error(call, "no answer by the deadline")
            delay = None if error is None else self._retry_delay(error, retries, safe)
            self._log_attempt(call, response, error, elapsed_ms, retries, delay)
            self._observe(call, response, error, elapsed_ms)
            if delay is None:
                break
            retries += 1
            self._sleep(delay)
        if error is not None:
            if retries:
                error.message = "%s (gave up after %d %s)" % (
                    error.message,
                    retries,
                    "retry" if retries == 1 else "retries",
                )
            raise error
        if raw:
            return response.content
        return self._parse_body(call, response)

    def iter_offset(
        self, path, operation, items_key, params=None, page_size=const.PAGE_SIZE
    ):
        """Yield the items of an offset-paginated GET endpoint, page by page.

        Sends ``max``/``offset``; the answer must hold the list ``items_key``
        and ``total_count``. Stops at ``offset >= total_count`` or on an empty
        page, advancing by the number of items received. Only one page is held
        at a time; pages are fetched as the generator is consumed.

        :raises MiraklProtocolError: a page without its list or ``total_count``
        """
        base = [(k, v) for k, v in _pairs(params) if k not in ("max", "offset")]
        offset = 0
        while True:
            query = base + [("max", page_size), ("offset", offset)]
            page = self.request("GET", path, operation, params=query)
            items = self._page_items(page, items_key, operation, path)
            total = page.get("total_count")
            if not isinstance(total, int) or isinstance(total, bool):
                raise self._shape_error(operation, path, "no total_count", page)
            yield from items
            offset += len(items)
            if not items or offset >= total:
                return

    def iter_seek(
        self, path, operation, params=None, page_size=const.PAGE_SIZE, items_key="data"
    ):
        """Yield the items of a seek-paginated GET endpoint, page by page.

        Sends ``limit`` and, after the first page, ``page_token`` (with the
        same filters), following ``next_page_token`` until it is absent.

        :raises MiraklProtocolError: a page without its list, or a token that
            does not move forward
        """
        base = [(k, v) for k, v in _pairs(params) if k not in ("limit", "page_token")]
        token = None
        while True:
            query = base + [("limit", page_size)]
            if token:
                query.append(("page_token", token))
            page = self.request("GET", path, operation, params=query)
            items = self._page_items(page, items_key, operation, path)
            yield from items
            next_token = page.get("next_page_token")
            if not next_token:
                return
            if next_token == token:
                raise self._shape_error(operation, path, "page token repeats", page)
            token = next_token

    # === ENDPOINTS === #

    def get_account(self):
        """A01 ``GET /api/account``: the shop's account (``shop_id``, name...).

        :raises MiraklProtocolError: the answer has no ``shop_id``
        """
        account = self.request("GET", "/api/account", "A01")
        if not isinstance(account, dict) or "shop_id" not in account:
            raise self._shape_error("A01", "/api/account", "no shop_id", account)
        return account

    def get_platform_configuration(self):
        """PC01 ``GET /api/platform/configuration``: the platform's features."""
        path = "/api/platform/configuration"
        config = self.request("GET", path, "PC01")
        if not isinstance(config, dict):
            raise self._shape_error("PC01", path, "not an object", config)
        return config

    def get_version(self):
        """V01 ``GET /api/version``: health check; returns the decoded answer."""
        return self.request("GET", "/api/version", "V01")

    def iter_orders(
        self,
        order_ids=None,
        order_state_codes=None,
        start_date=None,
        end_date=None,
        start_update_date=None,
        end_update_date=None,
        channel_codes=None,
        customer_debited=None,
        order_tax_mode=None,
        sort=None,
        order=None,
        page_size=const.PAGE_SIZE,
    ):
        """OR11 ``GET /api/orders``: iterate over the matching orders.

        Offset pagination, lazily. ``order_ids`` (at most 100),
        ``order_state_codes`` and ``channel_codes`` are iterables sent
        comma-separated; an empty ``order_ids`` matches nothing (no call),
        ``None`` means no filter. Dates are datetimes (naive = UTC).
        ``start_update_date`` is widened by Mirakl: expect orders seen before.
        ``page_size`` is at most 100.
        """
        _check_page_size(page_size)
        if order_ids is not None:
            order_ids = [str(order_id) for order_id in order_ids]
            if not order_ids:
                return iter(())
            if len(order_ids) > const.OR11_MAX_ORDER_IDS:
                raise ValueError(
                    "OR11 takes at most %d order ids, got %d (use get_orders)"
                    % (const.OR11_MAX_ORDER_IDS, len(order_ids))
                )
        params = {
            "order_ids": _comma(order_ids),
            "order_state_codes": _comma(order_state_codes),
            "channel_codes": _comma(channel_codes),
            "start_date": start_date,
            "end_date": end_date,
            "start_update_date": start_update_date,
            "end_update_date": end_update_date,
            "customer_debited": customer_debited,
            "order_tax_mode": order_tax_mode,
            "sort": sort,
            "order": order,
        }
        return self.iter_offset("/api/orders", "OR11", "orders", params, page_size)

    def get_orders(self, order_ids):
        """OR11 by id: the orders among ``order_ids`` (batches of 100 ids).

        Duplicate ids are asked once; unknown ids are simply absent.
        """
        ids = list(dict.fromkeys(str(order_id) for order_id in order_ids))
        size = const.OR11_MAX_ORDER_IDS
        orders = []
        for start in range(0, len(ids), size):
            orders.extend(self.iter_orders(order_ids=ids[start : start + size]))
        return orders

    def accept_order(self, order_id, decisions):
        """OR21 ``PUT /api/orders/{order_id}/accept``: accept or refuse lines.

        :param decisions: mapping ``order_line_id -> bool`` or iterable of
            ``(order_line_id, bool)``; Mirakl wants a decision for every line
        Never retried on a lost answer or a 5xx: a repeat could meet "already
        decided" (``ORDER_INVALID_STATE``).
        """
        if isinstance(decisions, Mapping):
            decisions = decisions.items()
        lines = []
        for line_id, accepted in decisions:
            if not isinstance(accepted, bool):
                raise TypeError(
                    "decision for order line %s must be True or False, not %r"
                    % (line_id, accepted)
                )
            lines.append({"id": str(line_id), "accepted": accepted})
        if not lines:
            raise ValueError("OR21 needs a decision for every order line")
        self.request(
            "PUT",
            "/api/orders/%s/accept" % _segment(order_id),
            "OR21",
            json={"order_lines": lines},
            idempotent=False,
        )

    def update_seller_references(self, references):
        """OR04 ``PUT /api/orders``: set ``order_reference_for_seller``.

        :param references: mapping ``order_id -> reference`` (or iterable of
            pairs; a later pair for the same order wins). A reference is a
            non-blank string of at most 2000 characters, or ``None`` to remove
            it. Sent in batches of 100 orders (Mirakl's limit; Mirakl allows
            OR04 about once a minute, so batch the orders of a sync).
        :return: dict ``order_id -> list of error dicts`` (``{code, field,
            message}`` as Mirakl reports them inside its 200 answer, e.g. an
            unknown order); an empty list means the order was updated
        :raises MiraklProtocolError: a 2xx answer without an
            ``updated_orders`` list, or one that does not account for every
            order sent
        Flagged idempotent (retried on 5xx and lost answers, like OR23):
        setting the same reference again changes nothing.
        """
        if isinstance(references, Mapping):
            references = references.items()
        wanted = {}
        for order_id, reference in references:
            if reference is not None:
                if not isinstance(reference, str):
                    raise TypeError(
                        "reference for order %s must be a string or None, not %r"
                        % (order_id, reference)
                    )
                if not reference.strip() or len(reference) > const.OR04_MAX_REFERENCE:
                    raise ValueError(
                        "reference for order %s must be non-blank and at most %d "
                        "characters" % (order_id, const.OR04_MAX_REFERENCE)
                    )
            wanted[str(order_id)] = reference
        order_ids = list(wanted)
        size = const.OR04_MAX_ORDERS
        results = {}
        for start in range(0, len(order_ids), size):
            batch = order_ids[start : start + size]
            body = {
                "orders": [
                    {
                        "order_id": order_id,
                        "references": {"order_reference_for_seller": wanted[order_id]},
                    }
                    for order_id in batch
                ]
            }
            answer = self.request(
                "PUT", "/api/orders", "OR04", json=body, idempotent=True
            )
            results.update(self._or04_errors(answer, batch))
        return results

    def _or04_errors(self, answer, order_ids):
        """``order_id -> errors`` from an OR04 answer covering ``order_ids``."""
        path = "/api/orders"
        elements = self._page_items(answer, "updated_orders", "OR04", path, "PUT")
        errors = {}
        for element in elements:
            order_id = element.get("order_id") if isinstance(element, dict) else None
            element_errors = element.get("errors") if order_id is not None else None
            if element_errors is None:
                element_errors = []
            if (
                order_id is None
                or not isinstance(element_errors, list)
                or not all(isinstance(e, dict) for e in element_errors)
            ):
                raise self._shape_error(
                    "OR04", path, "malformed updated_orders element", answer, "PUT"
                )
            errors[str(order_id)] = element_errors
        missing = [order_id for order_id in order_ids if order_id not in errors]
        if missing:
            raise self._shape_error(
                "OR04",
                path,
                "no result for order(s) %s" % ", ".join(missing),
                answer,
                "PUT",
            )
        return {order_id: errors[order_id] for order_id in order_ids}

    def update_tracking(
        self,
        order_id,
        carrier_code=None,
        carrier_name=None,
        carrier_url=None,
        tracking_number=None,
        carrier_standard_code=None,
    ):
        """OR23 ``PUT /api/orders/{order_id}/tracking``: set the tracking.

        Registered carrier: ``carrier_code`` (from SH21) + ``tracking_number``;
        other carriers: ``carrier_name`` + optional ``carrier_url``. Only the
        given fields are sent; ``carrier_url`` only with ``carrier_name``
        (Mirakl computes it for registered carriers). Safe to repeat.
        """
        body = {
            "carrier_code": carrier_code,
            "carrier_name": carrier_name,
            "carrier_url": carrier_url if carrier_name is not None else None,
            "tracking_number": tracking_number,
            "carrier_standard_code": carrier_standard_code,
        }
        self.request(
            "PUT",
            "/api/orders/%s/tracking" % _segment(order_id),
            "OR23",
            json={key: value for key, value in body.items() if value is not None},
            idempotent=True,
        )

    def ship_order(self, order_id):
        """OR24 ``PUT /api/orders/{order_id}/ship``: confirm the shipment.

        The order must be in SHIPPING. Never retried on a lost answer or 5xx.
        """
        self.request(
            "PUT",
            "/api/orders/%s/ship" % _segment(order_id),
            "OR24",
            idempotent=False,
        )

    def list_carriers(self):
        """SH21 ``GET /api/shipping/carriers``: list of ``{code, label, ...}``."""
        return self._get_list("/api/shipping/carriers", "SH21", "carriers")

    def list_shipping_types(self):
        """SH12 ``GET /api/shipping/types``: list of ``{code, label, ...}``."""
        return self._get_list("/api/shipping/types", "SH12", "shipping_types")

    def iter_items_to_ship(self, order_ids=None, page_size=const.PAGE_SIZE):
        """ST12 ``GET /api/shipments/items_to_ship``: iterate, seek-paginated.

        ``order_ids`` is sent as repeated ``order_id`` parameters; an empty
        iterable matches nothing (no call), ``None`` means every order.
        ``page_size`` is at most 100.
        """
        _check_page_size(page_size)
        params = {}
        if order_ids is not None:
            params["order_id"] = [str(order_id) for order_id in order_ids]
            if not params["order_id"]:
                return iter(())
        return self.iter_seek(
            "/api/shipments/items_to_ship", "ST12", params, page_size=page_size
        )

    # === MULTIPLE SHIPMENTS (ST) === #

    def create_shipments(self, shipments):
        """ST01 ``POST /api/shipments``: create shipments (multi-shipment).

        Needs PC01 ``features.shipment.multi_shipment``.

        :param shipments: iterable of ST01 shipments, sent as given:
            ``{"order_id", "shipment_lines": [{"order_line_id", "quantity"
            (>= 1), "package_reference"?}], "tracking"?: {"carrier_code" |
            "carrier_name", "carrier_standard_code"?, "tracking_number"?,
            "tracking_url"?}, "shipped"? (true: shipped at once; default
            false, then ship them with :meth:`ship_shipments`),
            "invoice_reference"?, "shipping_from"?}``; sent in batches of
            1000, in order
        :return: ``{"success": [...], "errors": [...]}`` over every batch:
            the created shipments as Mirakl returns them (``id``,
            ``order_id``, ``status``, ``shipment_lines``, ``tracking``...)
            and the refused ones as ``{"order_id", "message"}`` (Mirakl
            gives no machine code); no call at all for no shipment
        :raises MiraklProtocolError: a 2xx answer without both lists, or a
            created shipment without ``id``

        Never retried on a lost answer or a 5xx: a repeat would create the
        shipments a second time. After such a failure, look for them with
        :meth:`iter_shipments` before sending them again; a failure in a
        later batch leaves the earlier batches created.
        """
        shipments = list(shipments)
        for shipment in shipments:
            if not isinstance(shipment, Mapping) or not shipment.get("order_id"):
                raise TypeError("every shipment must be a dict with an order_id")
        results = {"success": [], "errors": []}
        path = "/api/shipments"
        size = const.ST_MAX_SHIPMENTS
        for start in range(0, len(shipments), size):
            body = {"shipments": [dict(s) for s in shipments[start : start + size]]}
            answer = self.request("POST", path, "ST01", json=body, idempotent=False)
            success, errors = self._st_results(answer, "ST01", path, "POST")
            results["success"].extend(success)
            results["errors"].extend(errors)
        return results

    def ship_shipments(self, shipment_ids):
        """ST24 ``PUT /api/shipments/ship``: mark shipments as shipped.

        :param shipment_ids: iterable of shipment ids (from ST01 or ST11);
            duplicates are sent once, in batches of 1000
        :return: ``{"success": [{"id"}], "errors": [{"id", "message"}]}``
            (Mirakl reports refused shipments inside its 200 answer, e.g. an
            unknown id or one already shipped); no call for no id
        :raises MiraklProtocolError: a 2xx answer that is not an object of
            ``shipment_success``/``shipment_errors`` lists (an empty one may
            be left out), or one that does not account for every id sent

        Never retried on a lost answer or a 5xx (like OR24): the shipments
        would stay shipped, but a repeat reports the ones the lost attempt
        shipped as errors; read them back with :meth:`iter_shipments`.
        """
        ids = list(dict.fromkeys(str(shipment_id) for shipment_id in shipment_ids))
        bodies = [{"id": shipment_id} for shipment_id in ids]
        return self._st_batches(
            "PUT", "/api/shipments/ship", "ST24", bodies, idempotent=False
        )

    def update_shipment_tracking(self, items):
        """ST23 ``POST /api/shipments/tracking``: set the tracking of shipments.

        :param items: mapping ``shipment_id -> tracking`` or iterable of
            ``(shipment_id, tracking)`` pairs; ``tracking`` is a dict with
            ``carrier_code`` (registered carrier, SH21) or ``carrier_name``
            (others), and optional ``carrier_standard_code``,
            ``tracking_number``, ``tracking_url`` (unregistered carriers only;
            Mirakl computes it for registered ones). ``None`` values are not
            sent. Batches of 1000.
        :return: ``{"success": [{"id"}], "errors": [{"id", "message"}]}``;
            no call for no item
        :raises MiraklProtocolError: as :meth:`ship_shipments`

        Flagged idempotent (retried on 5xx and lost answers, like OR23):
        setting the same tracking again changes nothing.
        """
        if isinstance(items, Mapping):
            items = items.items()
        bodies = []
        for shipment_id, tracking in items:
            if not isinstance(tracking, Mapping):
                raise TypeError(
                    "tracking of shipment %s must be a dict, not %r"
                    % (shipment_id, tracking)
                )
            bodies.append(
                {
                    "id": str(shipment_id),
                    "tracking": {k: v for k, v in tracking.items() if v is not None},
                }
            )
        return self._st_batches(
            "POST", "/api/shipments/tracking", "ST23", bodies, idempotent=True
        )

    def iter_shipments(
        self,
        order_ids=None,
        states=None,
        last_updated_from=None,
        last_updated_to=None,
        sort=None,
        page_size=const.PAGE_SIZE,
    ):
        """ST11 ``GET /api/shipments``: iterate over shipments, seek-paginated.

        ``order_ids`` (an iterable) and ``states`` (``shipment_state_code``:
        ``SHIPPING``, ``SHIPPED``...; a list, tuple or set) are sent as
        repeated parameters; an empty ``order_ids`` matches nothing (no
        call), ``None`` means no filter; more than 100 order ids are asked
        100 at a time. The
        ``last_updated_*`` bounds are datetimes (naive = UTC). ``sort`` is
        ``dateCreated,ASC`` (Mirakl's default) or ``dateCreated,DESC``.
        ``page_size`` is at most 100. Read-only: retried like every GET.
        """
        _check_page_size(page_size)
        params = {
            "shipment_state_code": states,
            "last_updated_from": last_updated_from,
            "last_updated_to": last_updated_to,
            "sort": sort,
        }
        if order_ids is None:
            return self.iter_seek("/api/shipments", "ST11", params, page_size)
        ids = list(dict.fromkeys(str(order_id) for order_id in order_ids))
        size = const.ST11_MAX_ORDER_IDS
        return itertools.chain.from_iterable(
            self.iter_seek(
                "/api/shipments",
                "ST11",
                dict(params, order_id=ids[start : start + size]),
                page_size,
            )
            for start in range(0, len(ids), size)
        )

    def _st_batches(self, method, path, operation, bodies, idempotent):
        """Send ST23/ST24 ``shipments`` in batches; merged success/errors."""
        results = {"success": [], "errors": []}
        size = const.ST_MAX_SHIPMENTS
        for start in range(0, len(bodies), size):
            batch = bodies[start : start + size]
            answer = self.request(
                method,
                path,
                operation,
                json={"shipments": batch},
                idempotent=idempotent,
            )
            success, errors = self._st_results(
                answer, operation, path, method, [b["id"] for b in batch]
            )
            results["success"].extend(success)
            results["errors"].extend(errors)
        return results

    def _st_results(self, answer, operation, path, method, sent_ids=None):
        """``(success, errors)`` of an ST01/ST23/ST24 answer.

        ST01 must hold both lists; ST23/ST24 may leave an empty one out but
        must account for every id of ``sent_ids``.
        """
        lists = {}
        for key in ("shipment_success", "shipment_errors"):
            value = answer.get(key) if isinstance(answer, dict) else None
            if value is None and sent_ids is not None and isinstance(answer, dict):
                value = []
            if not isinstance(value, list) or not all(
                isinstance(item, dict) for item in value
            ):
                raise self._shape_error(
                    operation, path, "no %s list" % key, answer, method
                )
            lists[key] = value
        success, errors = lists["shipment_success"], lists["shipment_errors"]
        if any(not item.get("id") for item in success):
            raise self._shape_error(
                operation, path, "a shipment_success element without id", answer, method
            )
        if sent_ids is not None:
            seen = {str(item.get("id")) for item in success + errors}
            missing = [i for i in sent_ids if i not in seen]
            if missing:
                raise self._shape_error(
                    operation,
                    path,
                    "no result for shipment(s) %s" % ", ".join(missing),
                    answer,
                    method,
                )
        return success, errors

    # === CANCELLATIONS AND REASONS === #

    def cancel_order(self, order_id):
        """OR29 ``PUT /api/orders/{order_id}/cancel``: cancel the whole order.

        Allowed while the order's ``can_cancel`` is true (OR11); otherwise
        Mirakl answers 400 (:class:`.MiraklValidationError`; the sandbox's
        code is ``ORDER_CANCEL_NOT_ALLOWED``). Never retried on a lost
        answer or a 5xx: a repeat after a success meets that refusal, which
        would hide the success; read the order back instead.
        """
        self.request(
            "PUT",
            "/api/orders/%s/cancel" % _segment(order_id),
            "OR29",
            idempotent=False,
        )

    def cancel_lines(self, cancelations, order_tax_mode=None):
        """OR30 ``PUT /api/orders/cancel``: cancel quantities of order lines.

        :param cancelations: iterable of dicts ``{"order_line_id",
            "quantity", "amount", "shipping_amount", "reason_code" (RE01,
            type CANCELATION), "taxes"?: [{"code", "amount"}],
            "shipping_taxes"?: [...], "fees"?: [...],
            "currency_iso_code"?}``, sent as given (Decimal amounts become
            JSON numbers); ``taxes``/``shipping_taxes`` are required when the
            line has taxes
        :param order_tax_mode: ``TAX_INCLUDED`` or ``TAX_EXCLUDED``: the mode
            of the amounts sent and answered (default: the platform's)
        :return: the created cancellations (``cancelation_id``,
            ``order_line_id``, ``quantity``, amounts, taxes...); no call for
            no cancellation
        :raises MiraklValidationError: Mirakl refused the call (400, nothing
            cancelled), with its code
        :raises MiraklProtocolError: a 2xx answer without a ``cancelations``
            list, or one that does not account for every line sent

        Never retried on a lost answer or a 5xx: a repeat would cancel a
        second time; read the order's ``cancelations`` back (OR11) first.
        """
        elements = [dict(element) for element in cancelations]
        for element in elements:
            if not element.get("order_line_id"):
                raise TypeError("every cancellation needs an order_line_id")
        if not elements:
            return []
        body = {"cancelations": elements}
        if order_tax_mode is not None:
            body["order_tax_mode"] = order_tax_mode
        answer = self.request(
            "PUT", "/api/orders/cancel", "OR30", json=body, idempotent=False
        )
        return self._or30_created(answer, elements)

    def _or30_created(self, answer, elements):
        """The created cancellations of an OR30 answer to ``elements``."""
        path = "/api/orders/cancel"
        created = self._page_items(answer, "cancelations", "OR30", path, "PUT")
        if not all(
            isinstance(item, dict)
            and item.get("cancelation_id") is not None
            and item.get("order_line_id") is not None
            for item in created
        ):
            raise self._shape_error(
                "OR30", path, "malformed cancelations element", answer, "PUT"
            )
        answered = {str(item["order_line_id"]) for item in created}
        missing = sorted({str(e["order_line_id"]) for e in elements} - answered)
        if missing:
            raise self._shape_error(
                "OR30",
                path,
                "no cancellation for order line(s) %s" % ", ".join(missing),
                answer,
                "PUT",
            )
        return created

    def list_reasons(self, reason_type=None, locale=None):
        """RE01 ``GET /api/reasons``: ``[{code, label, type, is_shop_right}]``.

        :param reason_type: keep only that ``type`` (``CANCELATION``,
            ``REFUND``, ``INCIDENT_OPEN``...); filtered here, RE01 has no
            type filter
        :param locale: language of the labels (e.g. ``en_GB``)
        """
        path = "/api/reasons"
        answer = self.request("GET", path, "RE01", params={"locale": locale})
        reasons = self._page_items(answer, "reasons", "RE01", path)
        return [
            reason
            for reason in reasons
            if isinstance(reason, dict)
            and (reason_type is None or reason.get("type") == reason_type)
        ]

    # === OFFERS AND STOCK (OF, STO) === #

    def import_stock(self, content, filename="stock.csv"):
        """STO01 ``POST /api/offers/stock/imports``: upload a stock file.

        :param content: the CSV (str, sent as UTF-8, or bytes), e.g. from
            :func:`.offers.build_stock_file`: ``"offer-sku";"quantity"``
            lines, ``;``-separated; sent as the ``file`` part of a
            ``multipart/form-data`` body
        :param filename: the file name given to Mirakl
        :return: the import id (str), for :meth:`get_stock_import`
        :raises MiraklProtocolError: a 2xx answer without ``import_id``

        Flagged idempotent (retried on 5xx and lost answers): quantities
        are absolute, so a file imported twice sets the same levels twice.
        The import is asynchronous: poll :meth:`get_stock_import` (Mirakl
        allows it every 15 s at most) until ``COMPLETE`` or ``FAILED``.
        """
        if isinstance(content, str):
            content = content.encode("utf-8")
        if not isinstance(content, bytes):
            raise TypeError("content must be str or bytes, not %r" % type(content))
        path = "/api/offers/stock/imports"
        answer = self.request(
            "POST",
            path,
            "STO01",
            files={"file": (filename, content, "text/csv")},
            idempotent=True,
        )
        return self._import_id(answer, "STO01", path, "POST", str)

    def get_stock_import(self, import_id):
        """STO02 ``GET /api/offers/stock/imports/{import_id}/status``.

        :return: dict ``{import_id, status (WAITING, RUNNING, COMPLETE,
            FAILED), date_created, has_error_report, lines_in_success,
            lines_in_error, shop_id, reason_status?}``
        :raises MiraklNotFoundError: unknown import
        :raises MiraklProtocolError: an answer without ``status``
        """
        path = "/api/offers/stock/imports/%s/status" % _segment(import_id)
        return self._import_status(self.request("GET", path, "STO02"), "STO02", path)

    def get_stock_import_error_report(self, import_id):
        """STO03 ``GET /api/offers/stock/imports/{import_id}/error_report``.

        :return: the CSV text (first column the line number in error, second
            the reason, then the columns sent); read it with
            :func:`.offers.parse_error_report`
        :raises MiraklNotFoundError: unknown import, or no error report
        """
        path = "/api/offers/stock/imports/%s/error_report" % _segment(import_id)
        return _decode(self.request("GET", path, "STO03", raw=True))

    def import_offers(self, offers):
        """OF24 ``POST /api/offers``: create, update or delete offers.

        :param offers: iterable of OF24 offers (dicts, sent as given; Decimal
            prices become JSON numbers): ``shop_sku``, ``price``,
            ``state_code`` (OF61), ``update_delete`` (``"update"`` or
            ``"delete"``), ``product_id`` and ``product_id_type`` (at
            creation), ``quantity``, ``description``, ``leadtime_to_ship``...
            **Full replace**: every field not sent goes back to its default
            on Mirakl's side (``quantity`` to 0), so always send the whole
            offer. One call; split big sets yourself
        :return: the import id (int), for :meth:`get_offer_import`
        :raises MiraklValidationError: Mirakl refused the body as a whole
        :raises MiraklProtocolError: a 2xx answer without an integer
            ``import_id``

        Flagged idempotent (retried on 5xx and lost answers): the offers are
        complete, so a repeat sets the same values, and Mirakl answers a
        duplicate request with the existing import id. The import is
        asynchronous: poll :meth:`get_offer_import` (at most once a minute).
        """
        elements = [dict(offer) for offer in offers]
        if not elements:
            raise ValueError("OF24 needs at least one offer")
        for element in elements:
            if not element.get("shop_sku"):
                raise TypeError("every offer needs a shop_sku")
        path = "/api/offers"
        answer = self.request(
            "POST", path, "OF24", json={"offers": elements}, idempotent=True
        )
        return self._import_id(answer, "OF24", path, "POST", int)

    def get_offer_import(self, import_id):
        """OF02 ``GET /api/offers/imports/{import}``: an offer import's status.

        :return: dict ``{import_id, status (WAITING, RUNNING, COMPLETE,
            FAILED...), date_created, has_error_report, lines_read,
            lines_in_success, lines_in_error, lines_in_pending,
            offer_inserted, offer_updated, offer_deleted, mode,
            reason_status?}``
        :raises MiraklNotFoundError: unknown import
        :raises MiraklProtocolError: an answer without ``status``
        """
        path = "/api/offers/imports/%s" % _segment(import_id)
        return self._import_status(self.request("GET", path, "OF02"), "OF02", path)

    def get_offer_import_error_report(self, import_id):
        """OF03 ``GET /api/offers/imports/{import}/error_report``.

        :return: the CSV text (OF01 columns such as ``sku``, ``product-id``,
            ``price``... then ``error-line`` and ``error-message``); read it
            with :func:`.offers.parse_error_report`
        :raises MiraklNotFoundError: unknown import, or no error report
        """
        path = "/api/offers/imports/%s/error_report" % _segment(import_id)
        return _decode(self.request("GET", path, "OF03", raw=True))

    def iter_offers(self, sku=None, offer_state_codes=None, page_size=const.PAGE_SIZE):
        """OF21 ``GET /api/offers``: iterate over the shop's offers.

        Offset pagination, lazily. ``sku`` keeps the offer of that shop SKU;
        ``offer_state_codes`` (iterable, sent comma-separated) keeps those
        conditions. Each offer has ``offer_id``, ``shop_sku``,
        ``product_sku``, ``quantity``, ``price``, ``active``,
        ``state_code``... ``page_size`` is at most 100.
        """
        _check_page_size(page_size)
        params = {"sku": sku, "offer_state_codes": _comma(offer_state_codes)}
        return self.iter_offset("/api/offers", "OF21", "offers", params, page_size)

    def list_offer_states(self):
        """OF61 ``GET /api/offers/states``: offer conditions ``[{code, label}]``.

        :raises MiraklProtocolError: an element without ``code``
        """
        path = "/api/offers/states"
        states = self._get_list(path, "OF61", "offer_states")
        if not all(isinstance(s, dict) and s.get("code") is not None for s in states):
            raise self._shape_error("OF61", path, "an offer state without code", states)
        return states

    # === CATALOGUE (H11, PM11, VL11) AND PRODUCT IMPORTS (P41-P47) === #

    def list_hierarchies(self, hierarchy=None, max_level=None):
        """H11 ``GET /api/hierarchies``: the operator's category tree.

        :param hierarchy: a category code: that category and its children
            (default: the whole tree)
        :param max_level: how many levels of children
        :return: list of ``{code, label, level, parent_code}`` (the root
            categories have no ``parent_code``)
        :raises MiraklProtocolError: an answer without a ``hierarchies``
            list, or an element without ``code``
        """
        path = "/api/hierarchies"
        answer = self.request(
            "GET",
            path,
            "H11",
            params={"hierarchy": hierarchy, "max_level": max_level},
        )
        nodes = self._page_items(answer, "hierarchies", "H11", path)
        return list(self._checked_items(nodes, "H11", path, ("code",)))

    def list_product_attributes(self, hierarchy=None, max_level=None, with_roles=True):
        """PM11 ``GET /api/products/attributes``: the operator's attributes.

        :param hierarchy: a category code: the attributes that apply to it
            (and to its children within ``max_level``); default: all
        :param with_roles: ask for each attribute's ``roles`` (which one is
            the SKU, the category, the variant group...)
        :return: list of ``{code, label, description, hierarchy_code, type,
            type_parameters [{name, value}], values_list (deprecated),
            requirement_level (REQUIRED, RECOMMENDED, OPTIONAL, DISABLED),
            variant, roles [{type, parameters}]...}``; an attribute whose
            requirement level differs by category comes once per category
        :raises MiraklProtocolError: an answer without an ``attributes``
            list, or an element without ``code``
        """
        path = "/api/products/attributes"
        answer = self.request(
            "GET",
            path,
            "PM11",
            params={
                "hierarchy": hierarchy,
                "max_level": max_level,
                "with_roles": with_roles,
            },
        )
        attributes = self._page_items(answer, "attributes", "PM11", path)
        return list(self._checked_items(attributes, "PM11", path, ("code",)))

    def list_values_lists(self, code=None):
        """VL11 ``GET /api/values_lists``: the operator's value lists.

        :param code: one list's code (default: every list)
        :return: list of ``{code, label, values [{code, label}]}``
        :raises MiraklProtocolError: an answer without a ``values_lists``
            list, or a list without ``code``
        """
        path = "/api/values_lists"
        answer = self.request("GET", path, "VL11", params={"code": code})
        lists = self._page_items(answer, "values_lists", "VL11", path)
        return list(self._checked_items(lists, "VL11", path, ("code",)))

    def import_products(self, content, filename="products.csv", operator_format=True):
        """P41 ``POST /api/products/imports``: upload a product file.

        :param content: the CSV (str, sent as UTF-8, or bytes), e.g. from
            :func:`.products.build_product_file`; sent as the ``file`` part
            of a ``multipart/form-data`` body
        :param operator_format: sent as the ``operator_format`` part: the
            file's columns are the operator's attribute codes
        :return: the import id (int), for :meth:`get_product_import`
        :raises MiraklProtocolError: a 2xx answer without ``import_id``

        Not retried on 5xx or lost answers: a repeat would be a second
        import. The import is asynchronous: poll :meth:`get_product_import`
        (Mirakl recommends product files hourly, every 15 minutes at most).
        """
        if isinstance(content, str):
            content = content.encode("utf-8")
        if not isinstance(content, bytes):
            raise TypeError("content must be str or bytes, not %r" % type(content))
        path = "/api/products/imports"
        answer = self.request(
            "POST",
            path,
            "P41",
            files={
                "file": (filename, content, "text/csv"),
                "operator_format": "true" if operator_format else "false",
            },
            idempotent=False,
        )
        return self._import_id(answer, "P41", path, "POST", int)

    def get_product_import(self, import_id):
        """P42 ``GET /api/products/imports/{import}``: a product import's status.

        :return: dict ``{import_id, import_status (TRANSFORMATION_WAITING,
            TRANSFORMATION_RUNNING, TRANSFORMATION_FAILED, WAITING, RUNNING,
            SENT, COMPLETE, CANCELLED, FAILED), has_error_report,
            has_new_product_report, has_transformation_error_report,
            integration_details, reason_status?...}``
        :raises MiraklNotFoundError: unknown import
        :raises MiraklProtocolError: an answer without ``import_status``
        """
        path = "/api/products/imports/%s" % _segment(import_id)
        answer = self.request("GET", path, "P42")
        if not isinstance(answer, dict) or not isinstance(
            answer.get("import_status"), str
        ):
            raise self._shape_error("P42", path, "no import status", answer)
        return answer

    def get_product_import_error_report(self, import_id):
        """P44 ``GET /api/products/imports/{import}/error_report``: the CSV
        text of the products in error (read it with
        :func:`.products.parse_product_error_report`).

        :raises MiraklNotFoundError: unknown import, or no error report
        """
        return self._product_report(import_id, "error_report", "P44")

    def get_product_import_new_product_report(self, import_id):
        """P45 ``GET /api/products/imports/{import}/new_product_report``: the
        CSV text of the products Mirakl created (read it with
        :func:`.products.parse_new_product_report`).

        :raises MiraklNotFoundError: unknown import, or no such report
        """
        return self._product_report(import_id, "new_product_report", "P45")

    def get_product_import_transformation_error_report(self, import_id):
        """P47 ``GET /api/products/imports/{import}/transformation_error_report``:
        the CSV text of what could not be read from the file.

        :raises MiraklNotFoundError: unknown import, or no such report
        """
        return self._product_report(import_id, "transformation_error_report", "P47")

    def _product_report(self, import_id, name, operation):
        path = "/api/products/imports/%s/%s" % (_segment(import_id), name)
        return _decode(self.request("GET", path, operation, raw=True))

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

    def _checked_items(self, items, operation, path, keys):
        """Yield ``items``, each of which must be a dict with ``keys``."""
        for item in items:
            if not isinstance(item, dict) or any(key not in item for key in keys):
                raise self._shape_error(
                    operation,
                    path,
                    "an element without %s" % ", ".join(keys),
                    item,
                )
            yield item

    def _import_id(self, answer, operation, path, method, kind):
        """The ``import_id`` of an STO01 (str), OF24 or P41 (int) answer."""
        value = answer.get("import_id") if isinstance(answer, dict) else None
        if kind is int and isinstance(value, str) and value.isdigit():
            value = int(value)  # tolerated: the number as a string
        if kind is str and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind) or isinstance(value, bool) or value == "":
            raise self._shape_error(operation, path, "no import_id", answer, method)
        return value

    def _import_status(self, answer, operation, path):
        """An STO02/OF02 answer, checked: an object with a ``status``."""
        if not isinstance(answer, dict) or not isinstance(answer.get("status"), str):
            raise self._shape_error(operation, path, "no import status", answer)
        return answer

    # === ONE ATTEMPT === #

    def _time_left(self):
        """Seconds left before the deadline, or ``None`` without one."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def _attempt_timeout(self, call):
        """``(connect, read)`` timeouts of the next attempt, ending by the
        deadline.

        :raises MiraklDeadlineError: the deadline has passed (nothing is sent)
        """
        left = self._time_left()
        if left is None or left >= max(self.timeout):
            return self.timeout
        if left <= 0:
            raise self._deadline_error(call, "not sent: the deadline has passed")
        return (min(self.timeout[0], left), min(self.timeout[1], left))

    def _deadline_error(self, call, text):
        return MiraklDeadlineError(
            "%s (the caller's time budget is spent)" % text,
            operation=call.operation,
            method=call.method,
            path=call.path,
            request_excerpt=self._request_excerpt(call),
        )

    def _send(self, call, timeout=None):
        """Make one HTTP attempt; return the response or raise requests' error."""
        headers = {}
        if call.body is not None:
            headers["Content-Type"] = call.content_type or "application/json"
        if call.accept is not None:
            headers["Accept"] = call.accept
        return self.session.request(
            call.method,
            call.url,
            params=call.query,
            data=call.body,
            headers=headers,
            timeout=timeout or self.timeout,
            allow_redirects=False,
        )

    def _attempt(self, call, timeout=None):
        """Make one attempt (within ``timeout``) and classify it.

        :return: ``(response, error, safe)``: the response (``None`` when none
            came), the error it amounts to (``None`` on success), and whether
            repeating the call is safe
        """
        try:
            response = self._send(call, timeout)
        except requests.RequestException as exc:
            safe = call.idempotent or _failed_before_sending(exc)
            return None, self._error_for_transport(call, exc), safe
        if _logger.isEnabledFor(logging.DEBUG):
            _logger.debug(
                "Mirakl %s response %s: %s",
                call.operation,
                response.status_code,
                self._text_excerpt(_decode(response.content)),
            )
        safe = call.idempotent or response.status_code == 429
        return response, self._error_for_response(call, response), safe

    def _error_for_transport(self, call, exc):
        """Return the MiraklError for a request that got no answer.

        The requests exception is deliberately not chained: it holds the
        prepared request, headers (hence the API key) included.
        """
        if isinstance(exc, requests.exceptions.SSLError):
            cls, text = MiraklTLSError, "TLS handshake or certificate failure"
        elif isinstance(exc, requests.exceptions.ConnectTimeout):
            cls, text = MiraklTimeoutError, "no connection within %ss" % self.timeout[0]
        elif isinstance(exc, requests.exceptions.Timeout):
            cls, text = MiraklTimeoutError, "no answer within %ss" % self.timeout[1]
        elif _failed_before_sending(exc):
            cls, text = MiraklConnectionError, "cannot connect to Mirakl"
        else:
            cls, text = MiraklConnectionError, "connection lost before the answer"
        return cls(
            self._text_excerpt(
                "%s (%s)" % (text, _root_cause(exc)), const.MESSAGE_LIMIT
            ),
            operation=call.operation,
            method=call.method,
            path=call.path,
            request_excerpt=self._request_excerpt(call),
        )

    def _error_for_response(self, call, response):
        """Return the MiraklError an answer amounts to, ``None`` for a 2xx."""
        status = response.status_code
        if 200 <= status < 300:
            return None
        code, message = _error_details(response.content)
        if 300 <= status < 400:
            cls = MiraklProtocolError
            message = "unexpected redirect to %s; check the base URL" % (
                response.headers.get("Location"),
            )
        elif status in _STATUS_ERRORS:
            cls = _STATUS_ERRORS[status]
        elif status >= 500:
            cls = MiraklServerError
        elif status >= 400:
            cls = MiraklValidationError
        else:
            cls = MiraklProtocolError
        retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        message = message or response.reason or "unexpected answer"
        if retry_after is not None:
            message = "%s (Retry-After %gs)" % (message, retry_after)
        return cls(
            self._text_excerpt(message, const.MESSAGE_LIMIT),
            status=status,
            code=code and self._text_excerpt(code, const.MESSAGE_LIMIT),
            operation=call.operation,
            method=call.method,
            path=call.path,
            request_excerpt=self._request_excerpt(call),
            response_excerpt=self._text_excerpt(_decode(response.content)),
            retry_after=retry_after,
        )

    def _retry_delay(self, error, retries, safe):
        """Seconds to wait before retrying after ``error``, or ``None`` to stop.

        :param retries: retries already made for this call
        :param safe: whether repeating the call is safe (see ``_attempt``)
        """
        if retries >= self.max_retries or not error.transient or not safe:
            return None
        if isinstance(error, MiraklDeadlineError):
            return None
        if (error.status or 0) >= 500 and error.status not in const.RETRYABLE_STATUSES:
            return None
        if error.retry_after is not None:
            delay = error.retry_after
            if delay > self.retry_after_max:
                return None
        else:
            delay = random.uniform(
                0.0, min(self.backoff_max, self.backoff_base * 2**retries)
            )
        left = self._time_left()
        if left is not None and delay >= left:
            return None  # the retry would start after the deadline
        return delay

    def _log_attempt(self, call, response, error, elapsed_ms, retries, delay):
        """Log the one INFO line of an attempt (never headers nor payloads)."""
        outcome = response.status_code if response is not None else type(error).__name__
        if delay is None:
            _logger.info(
                "Mirakl %s %s %s -> %s in %.0f ms",
                call.operation,
                call.method,
                call.path,
                outcome,
                elapsed_ms,
            )
        else:
            _logger.info(
                "Mirakl %s %s %s -> %s in %.0f ms, retry %d/%d in %.2fs",
                call.operation,
                call.method,
                call.path,
                outcome,
                elapsed_ms,
                retries + 1,
                self.max_retries,
                delay,
            )

    def _observe(self, call, response, error, elapsed_ms):
        """Tell the observer about an attempt; its failure never fails the call."""
        if self._observer is None:
            return
        try:
            self._observer(
                call.operation,
                response.status_code if response is not None else None,
                error,
                elapsed_ms,
            )
        except Exception:  # statistics must never break a call to Mirakl
            _logger.warning(
                "Mirakl %s: the call observer failed", call.operation, exc_info=True
            )

    def _parse_body(self, call, response):
        """Decode a 2xx JSON answer; ``None`` for 204 or an empty body.

        :raises MiraklProtocolError: the answer is not JSON (e.g. an HTML page)
        """
        if response.status_code == 204 or not response.content.strip():
            return None
        content_type = response.headers.get("Content-Type", "")
        if content_type and "json" not in content_type.lower():
            reason = "answer is %s, not JSON" % content_type
        else:
            try:
                return json.loads(response.content)
            except ValueError:
                reason = "malformed JSON answer"
        raise MiraklProtocolError(
            reason,
            status=response.status_code,
            operation=call.operation,
            method=call.method,
            path=call.path,
            request_excerpt=self._request_excerpt(call),
            response_excerpt=self._text_excerpt(_decode(response.content)),
        )

    # === HELPERS === #

    def _get_list(self, path, operation, key):
        """GET ``path`` and return the list held under ``key``."""
        data = self.request("GET", path, operation)
        return self._page_items(data, key, operation, path)

    def _page_items(self, page, items_key, operation, path, method="GET"):
        """Return ``page[items_key]``, which must be a list."""
        items = page.get(items_key) if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise self._shape_error(
                operation, path, "no %s list" % items_key, page, method
            )
        return items

    def _shape_error(self, operation, path, what, payload, method="GET"):
        """Build the MiraklProtocolError for JSON of an unexpected shape."""
        return MiraklProtocolError(
            "unexpected answer: %s" % what,
            operation=operation,
            method=method,
            path=redact(path, (self._api_key,)),
            response_excerpt=self._text_excerpt(json.dumps(payload)),
        )

    def _request_excerpt(self, call):
        """Redacted, truncated text of the request: path, query and body."""
        text = "%s %s?%s" % (call.method, call.path, urlencode(call.query))
        if call.body_excerpt is not None:
            text = "%s\n%s" % (text, call.body_excerpt)
        elif call.body is not None:
            text = "%s\n%s" % (text, _decode(call.body))
        return self._text_excerpt(text)

    def _text_excerpt(self, text, limit=const.EXCERPT_LIMIT):
        """Mask the API key in ``text``, then truncate it to ``limit``."""
        return excerpt(redact(text, (self._api_key,)), limit)


# === MODULE HELPERS === #


def normalise_base_url(base_url, api_key=None):
    """Validate the instance base URL and return it without trailing ``/api``.

    The one rule for what a Mirakl base URL may be (the Odoo shop record
    validates its field with it too).

    :param api_key: masked in the error messages, should the URL contain it
    :raises MiraklConfigError: not http(s), credentials/query in the URL, or
        plain http to a host that is not loopback
    """
    url = (base_url or "").strip().rstrip("/")
    shown = redact(url, (api_key,))
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    if (
        not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
    ):
        raise MiraklConfigError(
            "Mirakl base URL %r is not a plain https URL such as "
            "https://example.mirakl.net" % shown
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise MiraklConfigError(
            "Mirakl base URL %r must use https (plain http is only allowed "
            "to a loopback host)" % shown
        )
    return url.removesuffix("/api")


def is_loopback_host(host):
    """Whether ``host`` is localhost, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_api_key(api_key):
    """Return the API key without surrounding blanks.

    :raises MiraklConfigError: empty, or not a single printable ASCII token
    """
    key = (api_key or "").strip()
    if not key:
        raise MiraklConfigError("Mirakl API key is empty")
    if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
        raise MiraklConfigError(
            "Mirakl API key contains spaces, control or non-ASCII characters"
        )
    return key


def _check_page_size(page_size, maximum=const.MAX_PAGE_SIZE):
    """Refuse a page size Mirakl would refuse (1 to ``maximum``)."""
    if not 1 <= page_size <= maximum:
        raise ValueError(
            "page_size must be between 1 and %d, got %r" % (maximum, page_size)
        )


def _pairs(params):
    """Normalise query parameters into a list of ``(key, str)`` pairs.

    A list or tuple value becomes a repeated parameter, a set too (sorted, for
    a stable URL); ``None`` values are dropped.
    """
    if not params:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    pairs = []
    for key, value in items:
        if isinstance(value, AbstractSet):
            value = sorted(value, key=str)
        values = value if isinstance(value, (list, tuple)) else [value]
        pairs.extend((key, _format_param(v)) for v in values if v is not None)
    return pairs


def _format_param(value):
    """Format one query value: booleans, datetimes (UTC) and dates."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _comma(values):
    """Join an iterable into a comma-separated string (``None`` stays)."""
    if values is None:
        return None
    if isinstance(values, str):
        return values
    return ",".join(str(value) for value in values) or None


def _segment(value):
    """Quote one URL path segment (an order id)."""
    return quote(str(value), safe="")


def _encode_json(payload):
    """Serialise a request body (datetimes as ISO-8601 UTC, Decimals as numbers)."""
    return json.dumps(payload, default=_json_value).encode("utf-8")


def _json_value(value):
    """JSON form of what ``json`` cannot serialise (Decimal: a JSON number)."""
    if isinstance(value, Decimal):
        return float(value)
    return _format_param(value)


def _encode_multipart(files):
    """``(body, content type, excerpt)`` of a ``multipart/form-data`` upload.

    :param files: ``{name: (filename, content bytes, media type)}``, or
        ``{name: str}`` for a plain form field
    The excerpt names each part with its size and first lines (never the
    whole file).
    """
    summary = []
    fields = {}
    for name, part in files.items():
        if isinstance(part, str):
            summary.append("[%s: %s]" % (name, part))
            fields[name] = part
            continue
        filename, content, media_type = part
        head = _decode(content[: const.EXCERPT_LIMIT]).splitlines()[
            :UPLOAD_EXCERPT_LINES
        ]
        summary.append(
            "[%s: %s, %d bytes]\n%s" % (name, filename, len(content), "\n".join(head))
        )
        fields[name] = (filename, content, media_type or "application/octet-stream")
    body, content_type = encode_multipart_formdata(fields)
    return body, content_type, "\n".join(summary)


def _decode(content):
    """Bytes to text (UTF-8, undecodable bytes replaced, a BOM kept): excerpts
    and downloaded reports."""
    return content.decode("utf-8", errors="replace")


def _exception_chain(exc):
    """Yield ``exc`` and its causes/contexts, outermost first."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _root_cause(exc):
    """Text of the innermost exception behind ``exc`` (``Connection refused``)."""
    root = list(_exception_chain(exc))[-1]
    return str(root) or type(root).__name__


def _failed_before_sending(exc):
    """Whether ``exc`` happened before any byte of the request was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.SSLError) or not isinstance(
        exc, requests.exceptions.ConnectionError
    ):
        return False
    return any(isinstance(e, NewConnectionError) for e in _exception_chain(exc))


def _parse_retry_after(value):
    """Seconds to wait from a ``Retry-After`` header; ``None`` if unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _error_details(content):
    """Extract ``(code, message)`` from an error body of unconfirmed shape.

    Tolerates ``{"status", "message", "code"}``, ``{"message", "errors":
    [{"code", "field", "message"}]}``, ``{"error": ...}`` and plain text
    (markup such as an HTML error page gives no message).
    """
    text = _decode(content).strip()
    try:
        data = json.loads(text)
    except ValueError:
        return None, (None if text.startswith("<") else " ".join(text.split()) or None)
    if isinstance(data, str):
        return None, data or None
    if not isinstance(data, dict):
        return None, None
    code, message = data.get("code"), data.get("message")
    error = data.get("error")
    if isinstance(error, dict):
        code = code or error.get("code")
        message = message or error.get("message")
    elif isinstance(error, str):
        message = message or error
    errors = data.get("errors")
    errors = (
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    )
    if errors:
        code = code or errors[0].get("code")
        details = "; ".join(
            ": ".join(str(e[k]) for k in ("field", "message") if e.get(k))
            for e in errors
        )
        message = ": ".join(str(m) for m in (message, details) if m)
    return (str(code) if code else None), (str(message) if message else None)
