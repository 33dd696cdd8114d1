"""Mirakl seller API sandbox: a stateful fake Mirakl server for tests and demos.

Pure standard library (Python 3.10+); never imports Odoo nor requests. It is
written from ``shared/docs/mirakl-seller-api.md`` alone and shares no code
with the connector's client (``lib/``), so that a misreading of the API
contract in one is caught by the other.

    from odoo.addons.mirakl_connector.sandbox import SandboxServer

    sandbox = SandboxServer(api_key="k", orders=3).start()
    ...  # talk to sandbox.url + "/api/orders" with header Authorization: k
    sandbox.stop()

or from the repository root: ``python3 -m sandbox --api-key k --orders 3``.

Modules: ``server`` (HTTP, auth, call log, fault application,
``SandboxServer``), ``api`` (the Mirakl endpoints), ``control`` (the
``/_sandbox`` control API), ``state`` (store, clock, order workflow),
``views`` (JSON shapes), ``amounts`` (every money computation), ``billing``
(payout data and refunds), ``seed``
(catalogue, customers, order generator), ``faults`` (fault injection).
"""

from .server import SandboxServer

__all__ = ["SandboxServer"]
