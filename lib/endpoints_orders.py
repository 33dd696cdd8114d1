"""Endpoints of the order side (A01, PC01, V01, OR, SH, ST, OR29/OR30, RE01).

A mixin of :class:`.client.MiraklClient` (whose module docstring has the
endpoint contract table): it calls the ``request``, ``iter_offset``,
``iter_seek`` and helpers of :class:`.transport.MiraklTransport`.
"""

import itertools
from collections.abc import Mapping

from . import const
from .transport import _check_page_size, _comma, _segment


class OrderEndpoints:
    """A01/PC01/V01, orders (OR), shipping (SH, ST) and cancellations (RE01)."""

    # === ACCOUNT, PLATFORM, ORDERS AND SHIPPING (A01, PC01, V01, OR, SH, ST12) === #

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
