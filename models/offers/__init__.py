from . import mirakl_backend_stock
from . import mirakl_backend_offer
from . import mirakl_offer
from . import mirakl_offer_import
from . import product
