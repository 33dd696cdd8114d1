from . import mirakl_backend_payout
from . import mirakl_payout
from . import mirakl_transaction_map
from . import mirakl_invoice
from . import mirakl_refund
from . import mirakl_settlement
