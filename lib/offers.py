"""Stock files and import error reports of the Mirakl offer APIs (pure Python).

* :func:`build_stock_file`: the CSV body of an STO01 stock import;
* :func:`parse_error_report`: the lines of an STO03 (stock import) or OF03
  (offer import) error report, as :class:`ErrorReportLine` (product reports
  too, with their own column names: see ``products``);
* :func:`read_report`: the header and records of any CSV report.

Mirakl's CSV is ``;``-separated, UTF-8, with a header line. STO03 puts the
line number in error in its first column and the reason in its second, then
the columns of the file sent (``offer-sku``, ``quantity``...); OF03 ends
with ``error-line`` and ``error-message`` columns after the offer columns
(``sku``, ``product-id``...). Columns are found by header name; an STO03
report whose first two headers are not named so is read by position.
"""

import csv
import io
from dataclasses import dataclass, field

STOCK_HEADER = ("offer-sku", "quantity")
LINE_COLUMNS = ("error-line", "line", "line-number", "error-line-number")
MESSAGE_COLUMNS = ("error-message", "message", "error", "error-reason", "reason")
SKU_COLUMNS = ("offer-sku", "sku", "shop-sku")
# Columns of the data sent, never taken for the line number or the reason.
DATA_COLUMNS = frozenset(
    SKU_COLUMNS
    + (
        "quantity",
        "warehouse-code",
        "update-delete",
        "price",
        "product-id",
        "product-id-type",
        "state",
    )
)


@dataclass(frozen=True)
class ErrorReportLine:
    """One line of an import error report.

    :ivar line: the line number in error Mirakl reports (``None`` when it is
        missing or not a number)
    :ivar sku: the offer SKU of the line (``None`` when the report has no
        SKU column or it is empty)
    :ivar message: Mirakl's reason (``""`` when missing)
    :ivar row: the other columns, ``{header: value}`` (the data sent)
    """

    line: int | None
    sku: str | None
    message: str
    row: dict = field(default_factory=dict)


def build_stock_file(rows):
    """The STO01 CSV of ``rows``, an iterable of ``(sku, quantity)``.

    Header ``"offer-sku";"quantity"``, every field quoted (quotes inside
    doubled), ``;`` separators, ``\\n`` line ends, UTF-8 without BOM.
    Quantities are absolute stock levels.

    :raises ValueError: an empty SKU, or a quantity that is not an integer
        of at least 0
    """
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n"
    )
    writer.writerow(STOCK_HEADER)
    for sku, quantity in rows:
        if not isinstance(sku, str) or not sku:
            raise ValueError("every stock line needs a SKU, got %r" % (sku,))
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValueError(
                "quantity of %s must be an integer of at least 0, got %r"
                % (sku, quantity)
            )
        writer.writerow((sku, quantity))
    return buffer.getvalue().encode("utf-8")


def _position(header, names):
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _free(header, position, taken):
    """Whether column ``position`` may be read by position (STO03)."""
    return position != taken and header[position] not in DATA_COLUMNS


def _delimiter(first_line):
    """``;`` (Mirakl's), unless the header only has commas or tabs."""
    if ";" in first_line:
        return ";"
    for candidate in ("\t", ","):
        if candidate in first_line:
            return candidate
    return ";"


def _line_number(value):
    try:
        return int(value.strip())
    except ValueError:
        return None


def read_report(text):
    """``(names, records)`` of a CSV report (str or bytes): the header's
    names (stripped, as written) and the data records, blank lines left out.

    Tolerates a BOM, quoted or unquoted fields and CRLF line ends; the
    separator is ``;`` (Mirakl's) unless the header only has commas or tabs.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    if not text.strip():
        return [], []
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    records = [record for record in reader if any(v.strip() for v in record)]
    if not records:
        return [], []
    return [name.strip() for name in records[0]], records[1:]


def parse_error_report(
    text,
    sku_columns=SKU_COLUMNS,
    message_columns=MESSAGE_COLUMNS,
    by_position=True,
):
    """The lines of an STO03, OF03 (or product P44/P47) error report.

    Tolerates a BOM, quoted or unquoted fields, CRLF line ends, blank lines
    and short rows (missing columns read as empty). Headers are compared
    without case and surrounding blanks; ``row`` keeps them as written
    (stripped).

    :param sku_columns: names of the SKU column, first found wins
    :param message_columns: names of the reason column, first found wins
    :param by_position: read the line number and the reason from the first
        two columns when no column is named so (STO03's layout)
    :return: list of :class:`ErrorReportLine`, in report order (empty for an
        empty report or one with only a header)
    """
    names, records = read_report(text)
    if not names:
        return []
    header = [name.lower() for name in names]
    line_at = _position(header, LINE_COLUMNS)
    message_at = _position(header, [name.lower() for name in message_columns])
    if by_position:
        # STO03 by position: line number first, reason second (unless named)
        if line_at is None and len(header) > 0 and _free(header, 0, message_at):
            line_at = 0
        if message_at is None and len(header) > 1 and _free(header, 1, line_at):
            message_at = 1
    sku_at = _position(header, [name.lower() for name in sku_columns])
    lines = []
    for record in records:
        values = list(record) + [""] * (len(header) - len(record))

        def cell(position, values=values):
            return values[position] if position is not None else ""

        row = {
            name: values[index]
            for index, name in enumerate(names)
            if index not in (line_at, message_at)
        }
        sku = cell(sku_at).strip()
        lines.append(
            ErrorReportLine(
                line=_line_number(cell(line_at)),
                sku=sku or None,
                message=cell(message_at).strip(),
                row=row,
            )
        )
    return lines
