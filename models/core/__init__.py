"""The core: the shop (``mirakl.backend``), its run machinery, the issue
ledger and API health. Every concern package extends it; it knows none of them.

* ``ir_cron.py``: ``ir.cron``, how long the cron pass in progress may still
  run (``cron_pass_deadline``);
* ``mirakl_call_stat.py``: ``mirakl.call.stat``, API health (calls per shop,
  hour and operation) and ``ShopClient``, the client that counts them;
* ``mirakl_backend.py``: ``mirakl.backend`` itself (``_name``): connection,
  company, platform flags, CRUD and each shop's own jobs, test connection,
  the A01/PC01 refresh and its daily job, the roots of the reference data and
  of issue retries that each concern extends;
* ``mirakl_backend_run.py``: same model, the shared run machinery below;
* ``mirakl_sync_issue.py``: ``mirakl.sync.issue``, the issue ledger;
* ``res_config_settings.py``: ``res.config.settings``, the shops in the
  settings.

May import: lib, const, core.

Never a concern package: the concerns import from here, for example
``CRASH_REF`` and ``find_feature`` (``mirakl_backend.py``),
``ConcurrentImport`` and ``CONFLICTS`` (``mirakl_backend_run.py``).

The shared run machinery every concern uses, on ``mirakl.backend`` through
``self``:

* ``_mirakl_cron_each``: a cron's work for each shop, committed as it goes,
  within the shop's time budget; a crash is filed as an issue;
* ``_mirakl_commit``, ``_mirakl_savepoint``: commit the work done (scheduled
  runs only), a savepoint around one unit of work;
* ``_mirakl_write_shop``: a run's result written on the shop row, retried on
  serialization failures;
* ``_mirakl_unit``: ``work()`` as one unit of work (savepoint, commit; a
  conflict with another transaction leaves it to the next run);
* ``_mirakl_per_shop``: records of several shops, shop by shop, as the
  operator (``_mirakl_as_operator``);
* ``_mirakl_session_lock`` (``_mirakl_release_session_lock``),
  ``_mirakl_try_xact_lock``: a shop's session-level advisory lock, a
  transaction-level try-lock on (shop, kind, key);
* ``_mirakl_committed_since``: whether another transaction committed a row
  since this one began;
* ``_mirakl_call``: one call to Mirakl, its issue filed or resolved
  (``_mirakl_get_client``, ``_mirakl_explain``);
* ``_mirakl_locked_run``: a run under a shop's session lock, or the
  "busy" result;
* ``_mirakl_notification``, ``_mirakl_result_notification``: a button's
  notification, of one message or of the results of runs on several shops;
* the issue ledger: ``mirakl.sync.issue._mirakl_record`` and
  ``_mirakl_resolve``.
"""

from . import ir_cron
from . import mirakl_call_stat
from . import mirakl_backend
from . import mirakl_backend_run
from . import mirakl_sync_issue
from . import res_config_settings
