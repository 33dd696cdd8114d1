from . import mirakl_order_cancel
from . import mirakl_order_import
from . import mirakl_order_refuse
from . import mirakl_offer_create
from . import mirakl_picking_tracking
