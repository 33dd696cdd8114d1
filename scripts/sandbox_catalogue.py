"""Make an Odoo database ready to sell the Mirakl sandbox's catalogue.

Shared by the demo (``scripts/demo.py``) and the benchmarks
(``scripts/bench_orders.py``, ``scripts/bench_payouts.py``); runs inside an
Odoo environment::

    catalogue = json.load(urlopen(sandbox_url + "/_sandbox/catalogue"))
    backend = setup_sandbox_shop(env, catalogue, api_url=sandbox_url,
                                 api_key="k", shop_id="2001")

sets up what a seller of the sandbox's shop would have before connecting it:
GBP active, UK VAT sale taxes at 20, 5 and 0 % (price-included, the sandbox
platform's TAX_INCLUDED mode, and price-excluded twins for TAX_EXCLUDED
orders), one product variant per offer SKU (colour x size variants of one
template per product; internal reference = SKU, barcode = EAN, storable, the
offer's price and its category's VAT), delivery methods for the shipping
types, a GBP pricelist, the Mirakl shop itself with its shipping types and
VAT codes mapped, and some stock of every product in the shop's warehouse.

Idempotent where cheap: taxes, attributes, products, carriers, the pricelist
and the shop (by name and company) are reused when they exist; stock is only
topped up. Nothing is committed here.
"""

from collections import defaultdict

from odoo import Command

DEFAULT_SHOP_NAME = "Sandbox shop"
DEFAULT_STOCK = 50.0
VAT_RATES = (20.0, 5.0, 0.0)
# Delivery method of each sandbox shipping type (others: the type's label).
CARRIER_NAMES = {"STD": "Royal Mail 48", "EXP": "DPD Next Day"}
SHIPPING_PRODUCT = "Marketplace shipping"
PRICELIST_NAME = "Marketplace"


def rate_label(rate):
    return ("%.2f" % rate).rstrip("0").rstrip(".")


def tax_name(rate, included):
    return "VAT %s%%%s" % (rate_label(rate), "" if included else " (excl.)")


def _vat_group(env, company, rate):
    """The tax group "VAT N%" totals show under lines taxed at N %."""
    name = "VAT %s%%" % rate_label(rate)
    Group = env["account.tax.group"]
    group = Group.search([("name", "=", name), ("company_id", "=", company.id)])
    return group[:1] or Group.create({"name": name, "company_id": company.id})


def _uk_vat_taxes(env, company):
    """``{(rate, included): account.tax}``, created when missing."""
    Tax = env["account.tax"].with_context(active_test=False)
    taxes = {}
    for rate in VAT_RATES:
        for included in (True, False):
            name = tax_name(rate, included)
            tax = Tax.search(
                [
                    ("name", "=", name),
                    ("company_id", "=", company.id),
                    ("type_tax_use", "=", "sale"),
                ],
                limit=1,
            )
            if not tax:
                tax = Tax.create(
                    {
                        "name": name,
                        "amount": rate,
                        "amount_type": "percent",
                        "type_tax_use": "sale",
                        "price_include_override": "tax_included"
                        if included
                        else "tax_excluded",
                        "company_id": company.id,
                        "tax_group_id": _vat_group(env, company, rate).id,
                        "country_id": company.account_fiscal_country_id.id,
                    }
                )
            elif not tax.active:
                tax.active = True
            taxes[rate, included] = tax
    return taxes


def _attribute_values(env, name, labels):
    """The attribute ``name`` and ``{label: product.attribute.value}``."""
    Attribute = env["product.attribute"]
    attribute = Attribute.search([("name", "=", name)], limit=1)
    if not attribute:
        attribute = Attribute.create(
            {"name": name, "create_variant": "always", "display_type": "pills"}
        )
    existing = {value.name: value for value in attribute.value_ids}
    missing = [label for label in labels if label not in existing]
    if missing:
        created = env["product.attribute.value"].create(
            [{"name": label, "attribute_id": attribute.id} for label in missing]
        )
        existing.update({value.name: value for value in created})
    return attribute, existing


def _categories(env, catalogue):
    """``{category code: product.category}`` under "All / Marketplace"."""
    Category = env["product.category"]
    parent = Category.search([("name", "=", "Marketplace")], limit=1)
    if not parent:
        parent = Category.create(
            {
                "name": "Marketplace",
                "parent_id": env.ref("product.product_category_all").id,
            }
        )
    result = {}
    for category in catalogue.get("categories", []):
        record = Category.search(
            [("name", "=", category["label"]), ("parent_id", "=", parent.id)], limit=1
        )
        result[category["code"]] = record or Category.create(
            {"name": category["label"], "parent_id": parent.id}
        )
    return result


def _products(env, catalogue, taxes):
    """``{sku: product.product}``: one variant per offer, created when missing.

    Offers are grouped into templates by the first part of their SKU
    (``WDR-NAV-8`` belongs to ``WDR``), with Colour and Size attributes.

    Longer than 80 lines: the templates, their attribute lines and
    their variants are created in one pass that shares its lookups.
    """
    Product = env["product.product"].with_context(active_test=False)
    offers = catalogue["products"]
    found = Product.search([("default_code", "in", [o["sku"] for o in offers])])
    by_sku = {product.default_code: product for product in found}
    missing = [offer for offer in offers if offer["sku"] not in by_sku]
    if not missing:
        return by_sku
    categories = _categories(env, catalogue)
    colour_attr, colours = _attribute_values(
        env, "Colour", sorted({o["colour"] for o in missing})
    )
    size_attr, sizes = _attribute_values(
        env, "Size", sorted({o["size"] for o in missing})
    )
    groups = defaultdict(list)
    for offer in missing:
        groups[offer["sku"].split("-")[0]].append(offer)
    for code, group in groups.items():
        first = group[0]
        template_vals = {
            "name": first["title"].split(", ")[0],
            "type": "consu",
            "is_storable": True,
            "list_price": float(first["price"]),
            "taxes_id": [Command.set(taxes[float(first["vat_rate"]), True].ids)],
            "categ_id": categories[first["category_code"]].id
            if first["category_code"] in categories
            else env.ref("product.product_category_all").id,
            "description_sale": first["description"],
            "company_id": False,
        }
        complete = len(group) == len(
            [o for o in offers if o["sku"].split("-")[0] == code]
        )
        if not complete or len(group) == 1:
            # Part of a template already exists (or a lone offer): plain products.
            for offer in group:
                product = Product.create(
                    dict(
                        template_vals,
                        name=offer["title"],
                        list_price=float(offer["price"]),
                        taxes_id=[
                            Command.set(taxes[float(offer["vat_rate"]), True].ids)
                        ],
                        default_code=offer["sku"],
                        barcode=offer["ean"],
                    )
                )
                by_sku[offer["sku"]] = product
            continue
        template_vals["attribute_line_ids"] = [
            Command.create(
                {
                    "attribute_id": attribute.id,
                    "value_ids": [
                        Command.set(sorted({values[o[key]].id for o in group}))
                    ],
                }
            )
            for attribute, values, key in (
                (colour_attr, colours, "colour"),
                (size_attr, sizes, "size"),
            )
        ]
        template = env["product.template"].create(template_vals)
        variants = [
            (
                frozenset(
                    v.product_template_attribute_value_ids.product_attribute_value_id.ids
                ),
                v,
            )
            for v in template.product_variant_ids
        ]
        for offer in group:
            wanted = {colours[offer["colour"]].id, sizes[offer["size"]].id}
            variant = next(v for key, v in variants if key <= wanted and key)
            variant.write({"default_code": offer["sku"], "barcode": offer["ean"]})
            by_sku[offer["sku"]] = variant
    return by_sku


def _carriers(env, catalogue, company):
    """``{shipping type code: delivery.carrier}``, created when missing."""
    Product = env["product.product"]
    ship_product = Product.search(
        [("name", "=", SHIPPING_PRODUCT), ("type", "=", "service")], limit=1
    )
    if not ship_product:
        ship_product = Product.create(
            {
                "name": SHIPPING_PRODUCT,
                "type": "service",
                "taxes_id": False,  # a shipping line's VAT follows its goods
                "invoice_policy": "order",
                "sale_ok": False,
                "purchase_ok": False,
            }
        )
    Carrier = env["delivery.carrier"].with_context(active_test=False)
    carriers = {}
    for shipping_type in catalogue.get("shipping_types", []):
        code = shipping_type["code"]
        name = CARRIER_NAMES.get(code) or "Marketplace %s" % shipping_type["label"]
        carrier = Carrier.search(
            [("name", "=", name), ("company_id", "in", [False, company.id])], limit=1
        )
        if not carrier:
            carrier = Carrier.create(
                {
                    "name": name,
                    "delivery_type": "fixed",
                    "fixed_price": float(shipping_type["price"]),
                    "product_id": ship_product.id,
                    "company_id": company.id,
                }
            )
        carriers[code] = carrier
    return carriers


def _pricelist(env, company):
    gbp = env.ref("base.GBP")
    Pricelist = env["product.pricelist"]
    pricelist = Pricelist.search(
        [("name", "=", PRICELIST_NAME), ("company_id", "in", [False, company.id])],
        limit=1,
    )
    return pricelist or Pricelist.create(
        {"name": PRICELIST_NAME, "currency_id": gbp.id, "company_id": company.id}
    )


def _shop(env, catalogue, company, carriers, taxes, backend_vals):
    """The Mirakl shop (reused by name and company), shipping types and VAT
    codes mapped."""
    vals = dict(backend_vals)
    vals.setdefault("name", DEFAULT_SHOP_NAME)
    vals["company_id"] = company.id
    if "warehouse_id" not in vals:
        vals["warehouse_id"] = (
            env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1).id
        )
    if "team_id" not in vals:
        team = env.ref("sales_team.team_sales_department", raise_if_not_found=False)
        vals["team_id"] = team.id if team else False
    if "user_id" not in vals:
        vals["user_id"] = env.ref("base.user_admin").id
    vals.setdefault("pricelist_id", _pricelist(env, company).id)
    Backend = env["mirakl.backend"].with_context(active_test=False)
    backend = Backend.search(
        [("name", "=", vals["name"]), ("company_id", "=", company.id)], limit=1
    )
    if backend:
        backend.write(vals)
    else:
        backend = Backend.create(vals)
    existing = {
        st.code: st for st in backend.with_context(active_test=False).shipping_type_ids
    }
    commands = []
    for shipping_type in catalogue.get("shipping_types", []):
        code = shipping_type["code"]
        st_vals = {
            "label": shipping_type["label"],
            "mandatory_tracking": bool(shipping_type.get("mandatory_tracking")),
            "carrier_id": carriers[code].id,
            "active": True,
        }
        if code in existing:
            commands.append(Command.update(existing[code].id, st_vals))
        else:
            commands.append(Command.create(dict(st_vals, code=code)))
    tax_maps = []
    mapped = {(m.code, m.tax_id.id) for m in backend.tax_map_ids}
    for category in catalogue.get("categories", []):
        for included in (True, False):
            tax = taxes.get((float(category["vat_rate"]), included))
            if tax and (category["tax_code"], tax.id) not in mapped:
                mapped.add((category["tax_code"], tax.id))
                tax_maps.append(
                    Command.create({"code": category["tax_code"], "tax_id": tax.id})
                )
    backend.write({"shipping_type_ids": commands, "tax_map_ids": tax_maps})
    return backend


def _stock(env, backend, products, quantity):
    """Top up every product to ``quantity`` units in the shop's warehouse
    (an inventory adjustment, as a person would do it)."""
    warehouse = backend.warehouse_id
    if not warehouse or quantity <= 0:
        return
    location = warehouse.lot_stock_id
    Quant = env["stock.quant"].with_context(inventory_mode=True)
    on_hand = {
        product.id: product.qty_available
        for product in products.with_context(location=location.id)
    }
    low = products.filtered(lambda p: on_hand[p.id] < quantity)
    if not low:
        return
    quants = Quant.create(
        [
            {
                "product_id": product.id,
                "location_id": location.id,
                "inventory_quantity": quantity,
            }
            for product in low
        ]
    )
    quants.action_apply_inventory()


def setup_sandbox_shop(
    env, catalogue, *, stock_qty=DEFAULT_STOCK, offers=True, **backend_vals
):
    """Make the database ready to take the sandbox's orders; return the shop.

    :param catalogue: the JSON of ``GET /_sandbox/catalogue``
    :param stock_qty: units of every product in the shop's warehouse (topped
        up to this quantity; 0: no stock)
    :param offers: offer every variant on the shop (``mirakl.offer``)
    :param backend_vals: values of the ``mirakl.backend`` (``api_url``,
        ``api_key``, ``shop_id``, ``name``...); the company defaults to the
        environment's, the warehouse to the company's first one
    """
    company = env["res.company"].browse(backend_vals.get("company_id")) or env.company
    env.ref("base.GBP").active = True
    taxes = _uk_vat_taxes(env, company)
    by_sku = _products(env, catalogue, taxes)
    carriers = _carriers(env, catalogue, company)
    backend = _shop(env, catalogue, company, carriers, taxes, backend_vals)
    products = env["product.product"].union(*by_sku.values())
    _stock(env, backend, products, stock_qty)
    if offers:
        _offers(env, backend, products)
    return backend


def _offers(env, backend, products):
    """One offer per variant on the shop (its SKU: the internal reference)."""
    Offer = env["mirakl.offer"].with_context(active_test=False)
    offered = Offer.search([("backend_id", "=", backend.id)]).product_id
    Offer.create(
        [
            {"backend_id": backend.id, "product_id": product.id}
            for product in products - offered
        ]
    )


def setup_demo_company(env, name="Hartley & Finch Ltd"):
    """The demo's company as a UK seller's: GBP, the United Kingdom, and an
    administrator with the accounting features an accountant has (journal
    items on entries). Only for a new database: Odoo refuses to change the
    currency of a company with journal items."""
    company = env.ref("base.main_company")
    gbp = env.ref("base.GBP")
    gbp.active = True
    vals = {"name": name, "country_id": env.ref("base.uk").id}
    if company.currency_id != gbp:
        vals["currency_id"] = gbp.id
    company.write(vals)
    company.partner_id.write({"city": "Bath", "zip": "BA1 1AA"})
    env["stock.warehouse"].search([("company_id", "=", company.id)]).write(
        {"name": "Bath warehouse"}
    )
    # One currency: Odoo then shows no currency next to names and amounts.
    env["res.currency"].search([("id", "!=", gbp.id)]).active = False
    admin = env.ref("base.user_admin")
    admin.write({"groups_id": [(4, env.ref("account.group_account_user").id)]})
    return company


def map_demo_carriers(backend):
    """Map the demo's delivery methods to the marketplace's carriers (SH21),
    as a seller does once on the shop's Carriers tab."""
    backend._mirakl_refresh_carriers()
    wanted = {"Royal Mail 48": "ROYALMAIL", "DPD Next Day": "DPD"}
    for row in backend.carrier_ids:
        for carrier in backend.shipping_type_ids.carrier_id:
            if wanted.get(carrier.name) == row.code and not row.carrier_id:
                row.carrier_id = carrier


def create_purchase_fee_tax(env, company, account, name="VAT 20% (purchases)"):
    """A 20 % purchase tax of ``company`` booking its VAT on ``account``: the
    VAT the marketplace charges on its fees (``fee_tax`` of
    ``_mirakl_setup_finance``)."""
    tax = env["account.tax"].create(
        {
            "name": name,
            "amount": 20.0,
            "amount_type": "percent",
            "type_tax_use": "purchase",
            "company_id": company.id,
            "tax_group_id": _vat_group(env, company, 20.0).id,
        }
    )
    env.invalidate_all()
    tax.repartition_line_ids.filtered(
        lambda r: r.repartition_type == "tax"
    ).account_id = account
    return tax


def book_first_payout(env, backend, control_url, orders=2):
    """Demo: deliver ``orders`` released Mirakl orders (invoiced at once),
    confirm their shipment to Mirakl, close a billing cycle on the sandbox and
    run the shop's payout import, which books and posts its settlement entry.
    Returns a one-line summary."""
    import json  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    company = backend.company_id
    tax = backend._mirakl_default_fee_tax()
    if not tax:
        template = company.account_purchase_tax_id
        account = template.invoice_repartition_line_ids.filtered(
            lambda r: r.repartition_type == "tax"
        ).account_id
        tax = create_purchase_fee_tax(env, company, account)
    backend._mirakl_setup_finance(fee_tax=tax)
    backend.settlement_auto_post = True
    backend._mirakl_import_orders()  # paid orders are released
    sales = env["sale.order"].search(
        [("mirakl_backend_id", "=", backend.id), ("state", "=", "sale")],
        order="id",
        limit=orders,
    )
    for sale in sales:
        for picking in sale.picking_ids.filtered(lambda p: p.state != "done"):
            # Some shipping types require a tracking number on Mirakl.
            picking.carrier_tracking_ref = picking.carrier_tracking_ref or (
                "DEMO%08d" % picking.id
            )
            for move in picking.move_ids:
                move.quantity = move.product_uom_qty
                move.picked = True
            picking.with_context(
                skip_sms=True,
                skip_backorder=True,
                picking_ids_not_to_backorder=picking.ids,
            ).button_validate()
    backend._mirakl_sync_shipments()
    request = urllib.request.Request(
        control_url + "/_sandbox/billing/close",
        data=json.dumps({}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30):
        pass
    result = backend._mirakl_import_payouts()
    cycle = env["mirakl.billing.cycle"].search(
        [("backend_id", "=", backend.id)], order="id desc", limit=1
    )
    paid = sales.invoice_ids.filtered(lambda m: m.payment_state == "paid")
    in_transit = sum(
        env["account.move.line"]
        .search(
            [
                ("account_id", "=", backend.transit_account_id.id),
                ("parent_state", "=", "posted"),
            ]
        )
        .mapped("amount_residual")
    )
    return (
        "%s Cycle %s: %.2f paid out, entry %s (%s), %d of %d invoices paid, "
        "%.2f on %s"
        % (
            result["message"],
            cycle.name,
            cycle.amount_transferred,
            cycle.move_id.name or "-",
            cycle.move_id.state or "-",
            len(paid),
            len(sales.invoice_ids),
            in_transit,
            backend.transit_account_id.display_name,
        )
    )


# The brand's own range the demo creates on the marketplace (P41): (code,
# name, Odoo category, Mirakl category, price, colours, sizes, care text).
# The boots have no care instructions: the readiness check holds them back.
NEW_RANGE = (
    ("LSD", "Linen shirt dress", "Dresses", "WOMEN_DRESSES", 69.0,
     ("navy", "sage"), ("8", "10", "12"), "Machine wash at 30 degrees."),
    ("CBN", "Cashmere beanie", "Hats", "ACC_HATS", 35.0,
     ("camel", "charcoal"), ("one size",), "Hand wash cold, dry flat."),
    ("KWB", "Kids' wellington boots", "Kids' outerwear", "KIDS_OUTERWEAR", 22.0,
     ("yellow", "navy"), ("5-6 years", "7-8 years"), None),
)  # fmt: skip
RANGE_BRAND = "Hartley & Finch"


def _range_products(env, taxes):
    """The new range's templates (Colour x Size variants), created once."""
    Template = env["product.template"]
    Category = env["product.category"]
    parent = Category.search([("name", "=", "New range")], limit=1) or (
        Category.create({"name": "New range"})
    )
    colour_attr, colours = _attribute_values(
        env, "Colour", sorted({c for t in NEW_RANGE for c in t[5]})
    )
    size_attr, sizes = _attribute_values(
        env, "Size", sorted({s for t in NEW_RANGE for s in t[6]})
    )
    categories, templates = {}, []
    for number, (code, name, categ, mirakl, price, tcolours, tsizes, care) in enumerate(
        NEW_RANGE, start=1
    ):
        category = Category.search(
            [("name", "=", categ), ("parent_id", "=", parent.id)], limit=1
        ) or Category.create({"name": categ, "parent_id": parent.id})
        categories[category] = mirakl
        template = Template.search([("name", "=", name)], limit=1)
        if not template:
            template = Template.create(
                {
                    "name": name,
                    "categ_id": category.id,
                    "is_storable": True,
                    "list_price": price,
                    "taxes_id": [Command.set(taxes[20.0, True].ids)],
                    "description_sale": "%s, new this season." % name,
                    "description": "<p>%s</p>" % care if care else False,
                    "attribute_line_ids": [
                        Command.create(
                            {
                                "attribute_id": colour_attr.id,
                                "value_ids": [
                                    Command.set([colours[c].id for c in tcolours])
                                ],
                            }
                        ),
                        Command.create(
                            {
                                "attribute_id": size_attr.id,
                                "value_ids": [
                                    Command.set([sizes[s].id for s in tsizes])
                                ],
                            }
                        ),
                    ],
                }
            )
            for index, variant in enumerate(template.product_variant_ids, start=1):
                values = variant.product_template_attribute_value_ids
                colour = values.filtered(lambda v: v.attribute_id == colour_attr)
                size = values.filtered(lambda v: v.attribute_id == size_attr)
                variant.write(
                    {
                        "default_code": "%s-%s-%s"
                        % (
                            code,
                            colour.name[:3].upper(),
                            size.name.split()[0].upper(),
                        ),
                        "barcode": _ean13("5069990%02d%03d" % (number, index)),
                    }
                )
        templates.append(template)
    variants = env["product.product"].union(*(t.product_variant_ids for t in templates))
    return variants, categories


def _ean13(first12):
    total = sum(int(d) for d in first12[0::2]) + 3 * sum(int(d) for d in first12[1::2])
    return first12 + str((10 - total % 10) % 10)


def _set_source(backend, code, source, **values):
    attribute = backend.env["mirakl.attribute"].search(
        [("backend_id", "=", backend.id), ("code", "=", code)]
    )
    if attribute:
        attribute.write(dict(values, source=source))


def setup_catalogue(env, backend, control_url, stock_qty=DEFAULT_STOCK):
    """Demo: the shop sends products. The products already on the sandbox's
    marketplace are marked so; the brand's new range is created in Odoo,
    offered on the shop, mapped to the operator's model (read from Mirakl)
    and sent (P41). Returns the summary lines.

    Longer than 80 lines: one linear demo scenario (mark, create,
    offer, map, send, wait, report), read top to bottom.
    """
    import json  # pylint: disable=import-outside-toplevel
    import time  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    def control(method, path, body=None):
        request = urllib.request.Request(
            control_url + "/_sandbox/" + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    company = backend.company_id
    taxes = _uk_vat_taxes(env, company)
    Offer = env["mirakl.offer"]
    # What the marketplace already sells keeps its products as they are.
    Offer.search([("backend_id", "=", backend.id)]).write({"product_external": True})
    backend.write(
        {
            "product_export_enabled": True,
            "offer_export_enabled": True,
            "offer_pricelist_id": _pricelist(env, company).id,
        }
    )
    backend._mirakl_refresh_product_model()
    variants, categories = _range_products(env, taxes)
    _stock(env, backend, variants, stock_qty)
    mirakl = {
        c.code: c
        for c in env["mirakl.category"].search([("backend_id", "=", backend.id)])
    }
    existing = backend.category_map_ids.categ_id
    env["mirakl.category.map"].create(
        [
            {
                "backend_id": backend.id,
                "categ_id": category.id,
                "mirakl_category_id": mirakl[code].id,
            }
            for category, code in categories.items()
            if category not in existing
        ]
    )
    fields_of = env["ir.model.fields"]._get
    _set_source(
        backend,
        "title",
        "field",
        source_field_id=fields_of("product.product", "name").id,
    )
    for code, name in (
        ("description", "description_sale"),
        ("care_instructions", "description"),
        ("ean", "barcode"),
    ):
        _set_source(
            backend,
            code,
            "field",
            source_field_id=fields_of("product.product", name).id,
        )
    _set_source(backend, "brand", "fixed", fixed_value=RANGE_BRAND)
    for code, name in (("colour", "Colour"), ("size", "Size")):
        attribute = env["product.attribute"].search([("name", "=", name)], limit=1)
        _set_source(backend, code, "attribute", source_attribute_id=attribute.id)
    offered = Offer.search([("backend_id", "=", backend.id)]).product_id
    Offer.create(
        [
            {"backend_id": backend.id, "product_id": product.id}
            for product in variants - offered
        ]
    )
    # The catalogue manager confirms the suggested list codes.
    backend._mirakl_check_products()
    suggested = env["mirakl.value.map"].search(
        [("backend_id", "=", backend.id), ("state", "=", "suggested")]
    )
    confirmed = ", ".join(
        "%s=%s" % (m.odoo_value, m.value_id.code)
        for m in suggested.sorted("odoo_value")
    )
    suggested.action_confirm()
    lines = [
        "  Catalogue model: %s" % backend.product_model_summary,
        "  List values suggested and confirmed: %s" % (confirmed or "none"),
    ]
    # The operator integrates accepted products a few seconds later.
    control("PUT", "config", {"product_integration_delay_seconds": 2})
    sent = backend._mirakl_send_products()
    lines.append("  Products sent: %s" % sent["message"])
    held = Offer.search(
        [("backend_id", "=", backend.id), ("product_ready", "=", "not_ready")]
    )
    for template in held.product_id.product_tmpl_id:
        offers = held.filtered(lambda o, t=template: o.product_id.product_tmpl_id == t)
        lines.append(
            "  Held back by readiness: %s (%d variants): %s"
            % (template.name, len(offers), offers[0].product_problems)
        )
    record = env["mirakl.offer.import"].search(
        [("backend_id", "=", backend.id), ("kind", "=", "product")],
        order="id desc",
        limit=1,
    )
    lines.append(
        "  Product import %s: %s (the operator integrates it)"
        % (record.name, record.mirakl_status)
    )
    time.sleep(2.5)
    backend.action_check_imports()
    created = Offer.search(
        [
            ("backend_id", "=", backend.id),
            ("product_state", "=", "done"),
            ("product_external", "=", False),
        ]
    )
    skus = sorted(created.mapped("shop_sku"))
    live = control("GET", "offers?sku=%s" % ",".join(skus))["offers"] if skus else []
    lines.append(
        "  Product import %s: %s, %d products created on Mirakl; their offers "
        "went out (OF24): %d live on the sandbox, e.g. %s"
        % (
            record.name,
            record.mirakl_status,
            len(created),
            sum(1 for offer in live if offer["active"]),
            ", ".join(
                "%s qty %s" % (offer["sku"], offer["quantity"]) for offer in live[:2]
            ),
        )
    )
    return lines
