from . import test_backend
from . import test_harness
from . import test_sandbox
from . import test_client
