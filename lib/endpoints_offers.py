"""Endpoints of what is for sale (OF, STO, H11, PM11, VL11, P41-P47).

A mixin of :class:`.client.MiraklClient` (whose module docstring has the
endpoint contract table): it calls the ``request``, ``iter_offset`` and
helpers of :class:`.transport.MiraklTransport`.
"""

from . import const
from .transport import _check_page_size, _comma, _decode, _segment


class OfferEndpoints:
    """Offers and stock (OF, STO), catalogue (H11, PM11, VL11) and product
    imports (P41-P47)."""

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

    # === IMPORT ANSWERS (STO01, OF24, P41; STO02, OF02) === #

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
