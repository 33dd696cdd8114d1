"""Finance: payouts in (SBC11 billing cycles, TL02 transaction lines, IV01
and IV02 operator documents), customer invoices and refunds, and the
settlement entry of each cycle that finance reviews.

- ``mirakl_backend_payout.py``: ``mirakl.backend``, payout settings, button
  and daily run; the payouts in transit (bank match, ageing).
- ``mirakl_billing_cycle.py``: ``mirakl.billing.cycle``, one cycle: it
  stores its lines and documents and checks itself.
- ``mirakl_transaction_line.py``, ``mirakl_accounting_document.py``: a TL02
  line; an IV01 document with its file, its vendor bill.
- ``mirakl_transaction_map.py``: ``mirakl.transaction.map``, a shop's booking
  rule per transaction type.
- ``mirakl_invoice.py``: customer invoices of Mirakl orders (posted on the
  shop's receivable).
- ``mirakl_refund.py``: ``mirakl.refund``, refunds Mirakl made, as credit
  notes.
- ``mirakl_backend_finance.py``: ``mirakl.backend``, finance settings (the
  invoicing policy included) and Set up accounts.
- ``mirakl_billing_cycle_settlement.py``: the cycle's settlement entry,
  operator bills, document VAT, rebuild, bank match.
- ``account_move_line.py``, ``account_move.py``: Mirakl references of the
  entry's lines; reconciliation when either side is posted.

May import: lib, const, core, orders, finance.

Entry points for the other concerns (on ``mirakl.backend``):
``_mirakl_import_payouts``, ``_mirakl_setup_finance``, and for the cockpit
``_mirakl_transit_lines`` (the payouts in transit of several shops).
"""

from . import mirakl_backend_payout
from . import mirakl_billing_cycle
from . import mirakl_transaction_line
from . import mirakl_accounting_document
from . import mirakl_transaction_map
from . import mirakl_invoice
from . import mirakl_refund
from . import mirakl_backend_finance
from . import mirakl_billing_cycle_settlement
from . import account_move_line
from . import account_move
