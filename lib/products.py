"""Product files and product import reports of the Mirakl catalogue APIs
(pure Python).

* :func:`build_product_file`: the CSV body of a P41 product import: one
  header line of column names (the operator's attribute codes, plus the
  columns of the SKU, the category and the variant group), then one line
  per product;
* :func:`parse_product_error_report`: the lines of a P44 error report or a
  P47 transformation error report, as :class:`.offers.ErrorReportLine`;
* :func:`parse_new_product_report`: the products a P45 new-product report
  says Mirakl created, as :class:`NewProduct`.

Mirakl's documentation does not give the reports' layouts. The readers find
columns by name, without case: the SKU under the column of the file sent
(reports repeat it), the reason under ``errors``, ``error-message``,
``error``, ``message`` or ``reason`` (a configured name first), the line
number under ``error-line`` or ``line``, the Mirakl product SKU under
``product-sku``, ``product_sku``, ``mirakl-product-sku`` or ``product-id``.
"""

import csv
import io
from dataclasses import dataclass, field

from .offers import parse_error_report, read_report

REPORT_MESSAGE_COLUMNS = (
    "errors",
    "error-message",
    "error",
    "message",
    "error-reason",
    "reason",
)
PRODUCT_SKU_COLUMNS = (
    "product-sku",
    "product_sku",
    "mirakl-product-sku",
    "mirakl_product_sku",
    "product-id",
    "product_id",
)
DELIMITERS = (";", ",", "\t", "|")


@dataclass(frozen=True)
class NewProduct:
    """One line of a new-product report.

    :ivar sku: the seller's product SKU (the file's SKU column)
    :ivar product_sku: the product's SKU on Mirakl (``None`` when the report
        has no such column or it is empty)
    :ivar row: every column, ``{header: value}``
    """

    sku: str
    product_sku: str | None
    row: dict = field(default_factory=dict)


def build_product_file(columns, rows, delimiter=";"):
    """The P41 CSV of ``rows`` (sequences of values, one per column).

    Every field quoted (quotes inside doubled), ``delimiter`` between
    fields, ``\\n`` line ends, UTF-8 without BOM. ``None`` is written as an
    empty field.

    :raises ValueError: a delimiter Mirakl files do not use, an empty or
        repeated column name, or a row without one value per column
    """
    if delimiter not in DELIMITERS:
        raise ValueError("unsupported delimiter %r" % (delimiter,))
    columns = list(columns)
    if not all(columns) or len(set(columns)) != len(columns):
        raise ValueError("column names must be non-empty and unique: %r" % columns)
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n"
    )
    writer.writerow(columns)
    for row in rows:
        values = ["" if value is None else str(value) for value in row]
        if len(values) != len(columns):
            raise ValueError(
                "a product line has %d values for %d columns"
                % (len(values), len(columns))
            )
        writer.writerow(values)
    return buffer.getvalue().encode("utf-8")


def _columns(first, defaults):
    return tuple(name for name in (first,) if name) + tuple(defaults)


def parse_product_error_report(text, sku_column, message_column=None):
    """The lines of a P44 error report or a P47 transformation error report.

    :param sku_column: the SKU column of the file sent
    :param message_column: the reason column, if the operator's is known
    :return: list of :class:`.offers.ErrorReportLine` (``line`` from an
        ``error-line`` column when the report has one)
    """
    return parse_error_report(
        text,
        sku_columns=_columns(sku_column, ()),
        message_columns=_columns(message_column, REPORT_MESSAGE_COLUMNS),
        by_position=False,
    )


def parse_new_product_report(text, sku_column, product_column=None):
    """The products of a P45 new-product report, in report order.

    Lines without a SKU are left out.

    :param sku_column: the SKU column of the file sent
    :param product_column: the Mirakl product SKU column, if known
    """
    names, records = read_report(text)
    header = [name.lower() for name in names]

    def position(candidates):
        for name in candidates:
            if name and name.lower() in header:
                return header.index(name.lower())
        return None

    sku_at = position((sku_column,))
    product_at = position(_columns(product_column, PRODUCT_SKU_COLUMNS))
    products = []
    for record in records:
        values = list(record) + [""] * (len(names) - len(record))
        sku = values[sku_at].strip() if sku_at is not None else ""
        if not sku:
            continue
        product_sku = values[product_at].strip() if product_at is not None else ""
        products.append(
            NewProduct(
                sku=sku,
                product_sku=product_sku or None,
                row=dict(zip(names, values, strict=False)),
            )
        )
    return products
