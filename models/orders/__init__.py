from . import mirakl_backend_order
from . import mirakl_shipping_type
from . import mirakl_tax_map
from . import res_partner
from . import sale_order
from . import sale_order_line
from . import mirakl_order_check
