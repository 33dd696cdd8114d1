"""The files of the offer imports: multipart uploads, STO01 CSV, report CSV.

``parse_multipart`` reads a ``multipart/form-data`` body (STO01 and P41
uploads; ``multipart_summary`` is what the call log keeps of one),
``_read_stock_file`` an STO01 file, ``csv_text`` writes the STO03 and OF03
reports, and ``_int_value``, ``_price_value``, ``_shown`` and ``_cell`` read
and show the values of STO01 lines and OF24 offers. ``offers`` describes the
rules (the file format, what a line or an offer in error is) and applies
them; this module only reads and writes.
"""

import csv
import email.message
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MAX_QUANTITY = 2**31 - 1
STOCK_COLUMNS = ("offer-sku", "quantity", "warehouse-code", "update-delete")
_DIGITS = re.compile(r"[0-9]+")


@dataclass
class FormPart:
    name: str
    filename: str
    content_type: str
    content: bytes


def parse_multipart(body, content_type):
    """The parts of a ``multipart/form-data`` body; None when it is not one."""
    header = email.message.Message()
    header["Content-Type"] = content_type or ""
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not boundary:
        return None
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        return None
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.lstrip(b"\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            head, sep, content = chunk.partition(b"\n\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        headers = email.message.Message()
        for line in head.decode("latin-1").splitlines():
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip()] = value.strip()
        disposition = "content-disposition"
        parts.append(
            FormPart(
                name=headers.get_param("name", header=disposition),
                filename=headers.get_param("filename", header=disposition),
                content_type=headers.get("Content-Type"),
                content=content,
            )
        )
    return parts


def multipart_summary(body, content_type, head_lines=5, head_chars=200):
    """What the call log keeps of a multipart body (bounded), or None."""
    parts = parse_multipart(body, content_type)
    if parts is None:
        return None
    summary = []
    for part in parts:
        head = part.content[: head_lines * head_chars * 2]
        lines = head.decode("utf-8", errors="replace").splitlines()[:head_lines]
        summary.append(
            {
                "name": part.name,
                "filename": part.filename,
                "content_type": part.content_type,
                "size": len(part.content),
                "lines": part.content.count(b"\n")
                + (1 if part.content and not part.content.endswith(b"\n") else 0),
                "head": [line[:head_chars] for line in lines],
            }
        )
    return {"multipart": summary}


def csv_text(rows):
    """``;``-separated CSV, every field quoted, ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n"
    )
    writer.writerows(rows)
    return buffer.getvalue()


def _read_stock_file(content):
    """``(header, rows, failure)`` of an STO01 file (see the docstring)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [], "The file is not UTF-8 text"
    records = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
    header, rows = None, []
    try:
        for number, record in enumerate(records, start=1):
            if header is None:
                header = [name.strip() for name in record]
                continue
            if record and any(value.strip() for value in record):
                rows.append((number, record))
    except csv.Error as exc:
        return header, [], "The file is not valid CSV: %s" % exc
    if header is None or not any(header):
        return None, [], "The file is empty: a header line is required"
    missing = [name for name in STOCK_COLUMNS[:2] if name not in header]
    if missing:
        return (
            header,
            rows,
            "Missing required column(s) in the header: %s" % ", ".join(missing),
        )
    return header, rows, None


def _int_value(value):
    """A non-negative integer from an int or a digit string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_QUANTITY else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
        return number if number <= MAX_QUANTITY else None
    return None


def _price_value(value):
    """A finite Decimal at least 0 from a number or numeric string, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return price if price.is_finite() and price >= 0 else None


def _shown(value):
    """An OF24 value as an OF03 cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _cell(values, position, missing=None):
    """``values[position]`` of a CSV row; ``missing`` when the row has no
    such column."""
    if position is None or position >= len(values):
        return missing
    return values[position]
