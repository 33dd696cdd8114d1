"""How the payout data is shown: TL02 lines, SBC11 cycles, IV01 documents, IV02.

``render_line``, ``render_cycle`` and ``render_document`` are the TL02,
SBC11 and IV01 elements (the ``billing`` docstring describes their fields),
``control_view`` is ``GET /_sandbox/billing`` (everything as stored, refunds
included) and ``document_pdf`` the one-page PDF that IV02 serves.
"""

from . import seed
from .amounts import COMMISSION_TAX_CODE, ZERO
from .billing import AUTO_INVOICE, MANUAL_CREDIT, MANUAL_INVOICE, PAY_OUT_PSP_CODE
from .common import iso
from .views import render_refund


def _shop(state):
    return {
        "shop_id": state.shop_id,
        "shop_name": seed.SHOP_NAME,
        "shop_corporate_name": "%s Ltd" % seed.SHOP_NAME,
        "shop_operator_internal_id": None,
        "shop_model": "MARKETPLACE",
    }


def render_line(tl):
    """A TL02 ``data`` element."""
    document = tl.document
    return {
        "id": tl.line_id,
        "type": tl.type,
        "amount": tl.amount,
        "amount_credited": max(tl.amount, ZERO),
        "amount_debited": max(-tl.amount, ZERO),
        "balance": tl.balance,
        "currency_iso_code": seed.CURRENCY,
        "date_created": iso(tl.created),
        "last_updated": iso(tl.last_updated),
        "transaction_date": iso(tl.created),
        "payment_state": tl.payment_state,
        "seller_billing_cycle_id": tl.cycle_id,
        "accounting_document_id": document.number if document else None,
        "accounting_document_number": document.number if document else None,
        "accounting_document_creation_date": iso(tl.document_date),
        "pay_out_psp_code": PAY_OUT_PSP_CODE if tl.cycle_id else None,
        "entities": tl.entities,
    }


def render_cycle(state, cycle):
    """An SBC11 ``data`` element."""
    return {
        "id": cycle.cycle_id,
        "date_created": iso(cycle.created),
        "currency_iso_code": seed.CURRENCY,
        "payment_voucher_number": cycle.voucher,
        "amount_transferred_to_seller": cycle.amount,
        "amount_transferred_to_operator": cycle.to_operator,
        "pay_out": dict(cycle.pay_out),
        "pay_out_psp_code": PAY_OUT_PSP_CODE,
        "shop": _shop(state),
        "summary": dict(cycle.summary),
    }


def render_document(state, document):
    """An IV01 ``invoices`` element."""
    total_incl = document.total_excl + document.total_taxes
    view = {
        "id": document.number,
        "invoice_id": document.invoice_id,
        "type": document.type,
        "state": "COMPLETE",
        "date_created": iso(document.created),
        "issue_date": iso(document.created),
        "due_date": iso(document.created),
        "currency_iso_code": seed.CURRENCY,
        "total_amount_excl_taxes": document.total_excl,
        "total_amount_incl_taxes": total_incl,
        "total_charged_amount": total_incl,
        "total_taxes": [{"code": COMMISSION_TAX_CODE, "amount": document.total_taxes}],
        "details": [dict(d) for d in document.details],
        "payment": {
            "state": document.payment.get("state"),
            "reference": document.payment.get("reference"),
            "transaction_date": document.payment.get("transaction_date"),
            "failure_reason": document.payment.get("failure_reason"),
        },
        "seller_billing_cycle_id": document.cycle_id,
        "pay_out_psp_code": PAY_OUT_PSP_CODE,
        "issuing_user": {
            "type": "BATCH" if document.type == AUTO_INVOICE else "OPERATOR",
            "information": None,
        },
        "shop_id": state.shop_id,
        "shop_name": seed.SHOP_NAME,
        "shop_corporate_name": "%s Ltd" % seed.SHOP_NAME,
        "shop_tax_number": "GB123456789",
    }
    if document.type == AUTO_INVOICE:
        view["start_time"] = iso(document.start)
        view["end_time"] = iso(document.created)
        view["summary"] = dict(document.summary)
    else:
        view["emission_date"] = iso(document.created)
    return view


def control_view(state):
    """``GET /_sandbox/billing``: everything as stored."""
    store = state.billing
    lines = []
    for tl in store.lines:
        view = render_line(tl)
        view["payable_at"] = iso(tl.payable_at)
        lines.append(view)
    return {
        "lines": lines,
        "cycles": [
            dict(render_cycle(state, c), missing_page=c.missing_page)
            for c in store.cycles
        ],
        "documents": [render_document(state, d) for d in store.documents],
        "refunds": [
            dict(
                render_refund(r, r.amounts.tax_mode),
                order_id=r.order_id,
                order_line_id=r.order_line_id,
            )
            for r in store.refunds
        ],
        "last_close": iso(store.last_close),
    }


# === IV02: the document file === #


def _pdf_text(text):
    text = text.encode("ascii", "replace").decode("ascii")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def document_pdf(state, document):
    """A one-page PDF naming the document's number and totals."""
    total_incl = document.total_excl + document.total_taxes
    title = {
        AUTO_INVOICE: "Invoice",
        MANUAL_INVOICE: "Manual invoice",
        MANUAL_CREDIT: "Credit note",
    }[document.type]
    rows = [
        "%s - %s" % (seed.SHOP_NAME, title),
        "Document number: %s" % document.number,
        "Type: %s" % document.type,
        "Shop: %s" % state.shop_id,
        "Issue date: %s" % iso(document.created),
        "Billing cycle: %s" % (document.cycle_id or "-"),
        "Total excl. taxes: %s %s" % (document.total_excl, seed.CURRENCY),
        "Taxes: %s %s" % (document.total_taxes, seed.CURRENCY),
        "Total incl. taxes: %s %s" % (total_incl, seed.CURRENCY),
    ]
    rows += [
        "%s: %s" % (d["description"], d["amount_excl_taxes"]) for d in document.details
    ]
    stream = "BT /F1 11 Tf 50 800 Td 14 TL %s ET" % " ".join(
        "(%s) Tj T*" % _pdf_text(row) for row in rows
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        "<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += ("%d 0 obj\n%s\nendobj\n" % (number, body)).encode("ascii")
    xref = len(out)
    out += ("xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)).encode()
    for offset in offsets:
        out += ("%010d 00000 n \n" % offset).encode()
    out += (
        "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, xref)
    ).encode()
    return bytes(out)
