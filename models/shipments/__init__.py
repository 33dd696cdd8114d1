from . import mirakl_backend_shipment
from . import mirakl_carrier
from . import mirakl_reason
from . import mirakl_shipment
from . import stock_picking
