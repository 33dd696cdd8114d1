"""The cockpit: one card per shop (Sales > Mirakl > Overview).

- ``mirakl_backend_cockpit.py``: the card's figures, alerts and the lists
  they open.

It reads the fields and models of every concern through the ORM and imports
none of their modules, so it loads last.

May import: lib, const, core, cockpit.
"""

from . import mirakl_backend_cockpit
