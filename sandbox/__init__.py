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

Layout and imports. One module per part, with its role:

* ``common``: errors, 400 helpers, dates, order and shipment states;
* ``seed``: catalogue, customers, carriers, reasons, order generator;
* ``amounts``: every money computation;
* ``faults``: fault injection;
* ``orders``: orders, raw orders, ``OrderWorkflow`` (OR21, OR23, OR24, OR04);
* ``cancelations``: ``CancelationWorkflow`` (control API, OR29, OR30);
* ``shipments``: shipments, ``ShipmentWorkflow`` (ST01, ST23, ST24);
* ``views``: JSON shapes of orders, lines, refunds, ST12 items, shipments;
* ``offers``: ``OfferStore``: offers, stock imports, offer imports;
* ``offer_files``: multipart uploads, the STO01 file, the report CSV;
* ``offer_views``: an offer as OF21 and the control API show it;
* ``catalogue``: ``ProductStore``: the operator's model, product imports;
* ``catalogue_model``: the seed product model and its checks;
* ``billing``: ``BillingStore``: payout data and refunds;
* ``billing_views``: TL02, SBC11, IV01 shapes and the IV02 PDF;
* ``state``: ``SandboxState``: config, clock, reset, time steps, call log;
* ``api_request``: ``ApiRequest``, ``Query`` and seek paging;
* ``api_offers``: the offer, stock, catalogue and payout endpoints;
* ``api``: the endpoint table, the other endpoints, the routing;
* ``control``: the ``/_sandbox`` control API;
* ``server``: HTTP, auth, call log, fault application, ``SandboxServer``;
* ``__main__``: the command line (``__init__`` exports ``SandboxServer``).

Each module imports only these sandbox modules (all at the top of the
module), each only from rows above its own, so there is no cycle:

    common, seed, amounts, faults -> nothing
    orders                        -> common, seed, amounts, faults
    cancelations, shipments       -> common, seed, amounts, faults, orders
    offer_files, offer_views      -> common, seed, amounts, faults, orders
    offers                        -> common, seed, amounts, faults, orders,
                                     offer_files, offer_views
    catalogue_model               -> common, seed, amounts, faults, orders
    catalogue                     -> common, seed, amounts, faults, orders,
                                     catalogue_model
    views                         -> common, seed, amounts, orders
    billing                       -> common, seed, amounts, faults, orders,
                                     views
    billing_views                 -> common, seed, amounts, faults, orders,
                                     views, billing
    state                         -> every module above
    api_request                   -> common
    api_offers                    -> every module above except state
    api                           -> every module above
    control                       -> every module above
    server                        -> every module above
    __init__, __main__            -> server

In words: ``common`` imports nothing from the sandbox; the stores
(``orders``, ``cancelations``, ``shipments``, ``offers``, ``catalogue``,
``billing`` and their split-off modules) import only ``common``, ``seed``,
``amounts``, ``faults``, ``orders`` and their own split-off modules, except
that ``billing`` and ``billing_views`` also import ``views`` (``rate``,
``render_refund``; ``views`` imports no store but ``orders``); apart from
that, only ``state`` (at its top) and the HTTP layer (``api_offers``,
``api``, ``control``, ``server``) import stores; only ``api``, ``control``
and ``server`` may import ``state``.
"""

from .server import SandboxServer

__all__ = ["SandboxServer"]
