"""pytest plugin loaded by scripts/test.py (``-p pytest_odoo_quiet``).

pytest-odoo imports ``odoo.tests`` before it turns Odoo's ``test_enable`` flag
on, so Odoo logs a spurious ERROR "Importing test framework, avoid importing
from business modules..." at every run. This drops exactly that record, so an
ERROR line in the test output always means something.
"""

import logging


class _DropEarlyImportError(logging.Filter):
    def filter(self, record):
        return not (
            record.levelno == logging.ERROR
            and str(record.msg).startswith("Importing test framework")
        )


logging.getLogger("odoo.tests.common").addFilter(_DropEarlyImportError())
