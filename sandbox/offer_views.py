"""How offers are shown: OF21's view of an offer and the control API's.

``render_offer`` is an offer as OF21 lists it (the ``offers`` docstring
describes the fields) and ``control_view`` an offer as ``GET
/_sandbox/offers`` lists it (with the stored OF24 offer).
"""

import copy

from . import seed


def render_offer(offer):
    """An offer as OF21 shows it (see the module docstring)."""
    data = offer.data
    product = offer.product
    price = offer.price
    pricing = {
        "channel_code": None,
        "price": price,
        "unit_origin_price": price,
        "unit_discount_price": None,
        "discount_start_date": None,
        "discount_end_date": None,
        "volume_prices": [
            {
                "quantity_threshold": 1,
                "price": price,
                "unit_origin_price": price,
                "unit_discount_price": None,
            }
        ],
    }
    logistic_class = data["logistic_class"]
    return {
        "offer_id": offer.offer_id,
        "shop_sku": offer.sku,
        "product_sku": product.product_sku,
        "product_title": product.title,
        "product_references": [{"reference_type": "EAN", "reference": product.ean}],
        "category_code": product.category.code,
        "category_label": product.category.label,
        "quantity": offer.quantity,
        "price": price,
        "total_price": price,
        "active": offer.active,
        "inactivity_reasons": offer.inactivity_reasons,
        "state_code": offer.state_code,
        "currency_iso_code": seed.CURRENCY,
        "leadtime_to_ship": data["leadtime_to_ship"],
        "logistic_class": (
            {"code": logistic_class, "label": logistic_class}
            if logistic_class
            else None
        ),
        "description": data["description"],
        "internal_description": data["internal_description"],
        "min_quantity_alert": data["min_quantity_alert"],
        "min_order_quantity": data["min_order_quantity"],
        "max_order_quantity": data["max_order_quantity"],
        "package_quantity": data["package_quantity"],
        "available_start_date": data["available_started"],
        "available_end_date": data["available_ended"],
        "price_additional_info": data["price_additional_info"],
        "allow_quote_requests": data["allow_quote_requests"],
        "product_tax_code": data["product_tax_code"],
        "discount": copy.deepcopy(data["discount"]),
        "offer_additional_fields": copy.deepcopy(data["offer_additional_fields"]),
        "all_prices": [pricing],
        "applicable_pricing": copy.deepcopy(pricing),
        "channels": [],
        "warehouses": [],
    }


def control_view(offer):
    """An offer as ``GET /_sandbox/offers`` lists it."""
    return {
        "sku": offer.sku,
        "offer_id": offer.offer_id,
        "product_sku": offer.product.product_sku,
        "ean": offer.product.ean,
        "quantity": offer.quantity,
        "price": offer.price,
        "state_code": offer.state_code,
        "active": offer.active,
        "offer": offer.stored(),
    }
