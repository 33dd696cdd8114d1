from . import test_backend
from . import test_harness
from . import test_sandbox
from . import test_sandbox_orders
from . import test_client
from . import test_order_import
from . import test_order_concurrency
from . import test_mappers
