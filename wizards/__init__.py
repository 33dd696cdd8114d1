from . import mirakl_order_cancel
from . import mirakl_order_import
from . import mirakl_order_refuse
