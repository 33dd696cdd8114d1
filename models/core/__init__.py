from . import ir_cron
from . import mirakl_call_stat
from . import mirakl_backend
from . import mirakl_backend_run
from . import mirakl_sync_issue
from . import res_config_settings
