# Concern packages, in load order. Odoo builds each model from its classes in
# the order they are imported: a package that extends a model (or overrides a
# method) of another package must come after it.

# The shop (mirakl.backend), its run machinery, the issue ledger, API health:
# every other package extends the shop, so it comes first.
from . import core

# OR11 into Sales Orders: extends the shop and the Sales Order, which the
# shipments and finance packages extend in turn.
from . import orders

# Deliveries out (OR23/OR24/ST*): extends the shop and builds on orders.
from . import shipments

# Stock and offers out (STO01/OF24): defines mirakl.offer and
# mirakl.offer.import, which the catalogue extends.
from . import offers

# Products out (P41): extends the offers' models after them.
from . import catalogue

# Payouts, invoices, refunds, the settlement: extends the Sales Order after
# orders.
from . import finance

# The shop's overview: reads the fields of every concern, so it loads last.
from . import cockpit
