"""The offer, stock, catalogue and payout endpoints of the seller API.

OF21, OF24, OF02, OF03, OF61 and STO01-03 (offers and stock: ``offers``
holds them), H11, PM11, VL11 and P41-P47 (the operator's model and product
imports: ``catalogue``), TL02, SBC11, IV01 and IV02 (payout data:
``billing``). The ``api`` docstring lists their parameters and answers,
and its ``ROUTES`` dispatch to them.
"""

from . import billing, billing_views, offer_files, offer_views
from . import offers as offer_store
from .api_request import (
    _dates_of,
    _decode_token,
    _encode_token,
    _seek_page,
    _window,
)
from .common import RawAnswer, SandboxError, bad_request, iso

# === offers: OF21, OF24, OF02, OF03, OF61; stock: STO01, STO02, STO03 === #


def list_offers(state, request):
    query = request.query
    paginate = query.boolean("paginate", default=True)
    page_size = query.integer(
        "max", 10, minimum=1, maximum=state.config["max_page_size"]
    )
    offset = query.integer("offset", 0, minimum=0)
    sort = query.choice("sort", offer_store.SORTS, "totalPrice")
    direction = query.choice("order", ("asc", "desc"), "asc")
    sku = query.text("sku")
    states = query.csv("offer_state_codes")
    product_id = query.text("product_id")
    favorite = query.boolean("favorite", default=False)
    store = state.offers
    if sku is not None:
        offer = store.offers.get(sku)
        offers = [offer] if offer is not None else []
    else:
        offers = store.sorted_offers(sort, direction == "desc")
    if states is not None:
        wanted = set(states)
        offers = [o for o in offers if o.state_code in wanted]
    if product_id is not None:
        offers = [o for o in offers if o.product.product_sku == product_id]
    if favorite:
        offers = []  # sandbox offers are never favourites
    page = offers[offset : offset + page_size] if paginate else offers
    return 200, {
        "offers": [offer_views.render_offer(o) for o in page],
        "total_count": len(offers),
    }


def import_offers(state, request):
    offer_import = state.offers.create_offer_import(request.json())
    return 201, {"import_id": offer_import.import_id}


def offer_import_status(state, request):
    return 200, state.offers.get_offer_import(request.params["import"]).status_view()


def _report(text, content_type, what):
    if text is None:
        raise SandboxError(404, "%s has no error report" % what)
    return 200, RawAnswer(text.encode("utf-8"), content_type)


def offer_import_error_report(state, request):
    offer_import = state.offers.get_offer_import(request.params["import"])
    return _report(
        state.offers.offer_error_report(offer_import),
        "application/octet-stream",
        "Offer import %s" % offer_import.import_id,
    )


def offer_states(state, request):
    request.query.boolean("active")  # validated; every sandbox state is active
    request.query.text("locale")
    states = [
        {"code": code, "label": label} for code, label in offer_store.OFFER_STATES
    ]
    return 200, {"offer_states": states, "total_count": len(states)}


def _uploaded_file(request):
    """The part named ``file`` of a multipart upload (STO01, P41)."""
    parts = offer_files.parse_multipart(request.body, request.content_type)
    if parts is None:
        raise bad_request("The body must be multipart/form-data with a file part")
    files = [part for part in parts if part.name == "file"]
    if not files:
        raise bad_request("The multipart body has no part named file")
    return files[0]


def import_stock(state, request):
    upload = _uploaded_file(request)
    stock_import = state.offers.create_stock_import(upload.content, upload.filename)
    return 201, {"import_id": stock_import.import_id}


def stock_import_status(state, request):
    stock_import = state.offers.get_stock_import(request.params["import_id"])
    return 200, stock_import.status_view(state.shop_id)


def stock_import_error_report(state, request):
    stock_import = state.offers.get_stock_import(request.params["import_id"])
    return _report(
        state.offers.stock_error_report(stock_import),
        "text/csv; charset=utf-8",
        "Stock import %s" % stock_import.import_id,
    )


# === catalogue: H11, PM11, VL11; products: P41, P42, P44, P45, P47 === #


def list_hierarchies(state, request):
    query = request.query
    nodes = state.products.hierarchies(
        query.text("hierarchy"), query.integer("max_level", None, minimum=0)
    )
    return 200, {"hierarchies": nodes}


def list_product_attributes(state, request):
    query = request.query
    query.boolean("all_operator_attributes")  # validated; every one is shown
    attributes = state.products.attributes(
        query.text("hierarchy"),
        query.integer("max_level", None, minimum=0),
        with_roles=query.boolean("with_roles", default=False),
    )
    return 200, {"attributes": attributes}


def list_values_lists(state, request):
    lists = state.products.values_lists(request.query.text("code"))
    return 200, {"values_lists": lists}


def import_products(state, request):
    upload = _uploaded_file(request)
    product_import = state.products.create_import(upload.content, upload.filename)
    return 201, {"import_id": product_import.import_id}


def product_import_status(state, request):
    product_import = state.products.get_import(request.params["import"])
    return 200, product_import.status_view(state.shop_id)


def _product_report(state, request, build, what):
    store = state.products
    product_import = store.get_import(request.params["import"])
    text = build(product_import)
    if text is None:
        raise SandboxError(
            404, "Product import %s has no %s" % (product_import.import_id, what)
        )
    return 200, RawAnswer(text.encode("utf-8"), "text/csv; charset=utf-8")


def product_error_report(state, request):
    return _product_report(state, request, state.products.error_report, "error report")


def product_new_product_report(state, request):
    return _product_report(
        state, request, state.products.new_product_report, "new product report"
    )


def product_transformation_error_report(state, request):
    return _product_report(
        state,
        request,
        state.products.transformation_error_report,
        "transformation error report",
    )


# === payout data: TL02, SBC11, IV01, IV02 === #

TL02_MAX_LIMIT = 2000
SBC11_MAX_LIMIT = 1000
IV01_MAX = 100
TL02_SORTS = ("dateCreated", "lastUpdated")


def list_transaction_lines(state, request):
    query = request.query
    limit = query.integer("limit", 10, minimum=1, maximum=TL02_MAX_LIMIT)
    token = query.text("page_token")
    if token is not None:
        seek = _decode_token(token)
    else:
        field, desc = query.seek_sort(TL02_SORTS, "dateCreated", "DESC")
        seek = {"offset": 0, "sort": field, "desc": desc}
        for name in (
            "seller_billing_cycle_id",
            "transaction_type",
            "order_id",
            "order_line_id",
        ):
            seek[name] = query.csv(name)
        seek["payment_state"] = query.csv("payment_state", billing.PAYMENT_STATES)
        for name in ("accounting_document_id", "accounting_document_number"):
            seek[name] = query.text(name)
        for name in (
            "last_updated_from",
            "date_created_from",
            "date_created_to",
            "transaction_date_from",
            "transaction_date_to",
        ):
            seek[name] = iso(query.date(name))
    updated_from, created_from, created_to, tx_from, tx_to = _dates_of(
        seek,
        "last_updated_from",
        "date_created_from",
        "date_created_to",
        "transaction_date_from",
        "transaction_date_to",
    )
    lists = {
        name: seek.get(name)
        for name in (
            "seller_billing_cycle_id",
            "transaction_type",
            "order_id",
            "order_line_id",
            "payment_state",
        )
    }

    def wanted(tl):
        number = tl.document.number if tl.document else None
        values = {
            "seller_billing_cycle_id": tl.cycle_id,
            "transaction_type": tl.type,
            "order_id": tl.order_id,
            "order_line_id": tl.order_line_id,
            "payment_state": tl.payment_state,
        }
        return (
            all(v is None or values[k] in v for k, v in lists.items())
            and seek.get("accounting_document_id") in (None, number)
            and seek.get("accounting_document_number") in (None, number)
            and _window(updated_from, None, tl.last_updated)
            and _window(created_from, created_to, tl.created)
            and _window(tx_from, tx_to, tl.created)
        )

    lines = [tl for tl in state.billing.lines if wanted(tl)]
    if seek.get("sort") == "lastUpdated":
        lines.sort(key=lambda tl: (tl.last_updated, tl.seq), reverse=seek.get("desc"))
    else:
        lines.sort(key=lambda tl: (tl.created, tl.seq), reverse=seek.get("desc"))
    body = _seek_page(lines, seek, limit, billing_views.render_line)
    offset = seek["offset"]
    if offset == 0 and len(lines) > limit:
        missing = {c.cycle_id for c in state.billing.cycles if c.missing_page}
        if any(tl.cycle_id in missing for tl in lines):
            # the cycle's ``missing_page``: the first page's token skips page 2
            body.pop("next_page_token", None)
            if 2 * limit < len(lines):
                body["next_page_token"] = _encode_token(dict(seek, offset=2 * limit))
    return 200, body


def list_billing_cycles(state, request):
    query = request.query
    limit = query.integer("limit", 10, minimum=1, maximum=SBC11_MAX_LIMIT)
    token = query.text("page_token")
    if token is not None:
        seek = _decode_token(token)
    else:
        seek = {
            "offset": 0,
            "ids": query.csv("id"),
            "states": query.csv("pay_out_state", billing.PAY_OUT_STATES),
            "start": iso(query.date("start_date")),
            "end": iso(query.date("end_date")),
        }
    start, end = _dates_of(seek, "start", "end")
    ids, states = seek.get("ids"), seek.get("states") or billing.PAY_OUT_STATES
    cycles = [
        c
        for c in state.billing.cycles
        if (ids is None or c.cycle_id in ids)
        and c.pay_out["state"] in states
        and _window(start, end, c.created)
    ]
    return 200, _seek_page(
        cycles, seek, limit, lambda c: billing_views.render_cycle(state, c)
    )


def list_accounting_documents(state, request):
    query = request.query
    page_size = query.integer("max", 10, minimum=1, maximum=IV01_MAX)
    offset = query.integer("offset", 0, minimum=0)
    kind = query.choice("type", ("ALL",) + billing.DOCUMENT_TYPES, billing.AUTO_INVOICE)
    cycle_ids = query.csv("seller_billing_cycle_id")
    invoice_ids = query.csv("invoice_id")
    start, end = query.date("start_date"), query.date("end_date")
    documents = [
        d
        for d in state.billing.documents
        if kind in ("ALL", d.type)
        and (cycle_ids is None or d.cycle_id in cycle_ids)
        and (invoice_ids is None or d.number in invoice_ids)
        and _window(start, end, d.created)
    ]
    page = documents[offset : offset + page_size]
    return 200, {
        "invoices": [billing_views.render_document(state, d) for d in page],
        "total_count": len(documents),
    }


def download_accounting_document(state, request):
    raw = request.params["accounting_document_id"]
    try:
        invoice_id = int(raw)
    except ValueError as exc:
        raise bad_request("accounting_document_id must be an integer") from exc
    document = state.billing.document(invoice_id)
    return 200, RawAnswer(
        billing_views.document_pdf(state, document), "application/octet-stream"
    )
