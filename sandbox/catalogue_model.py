"""The operator's product model: the seed model (H11, PM11, VL11) and its checks.

``default_model`` is the model a reset gives (a UK fashion marketplace:
hierarchies, attributes with their requirement levels and roles, value
lists) as the control API shows it, ``check_model`` what a model given to
``PUT /_sandbox/product-model`` must hold, and ``_parameter`` and
``_list_code`` read an attribute's type parameters. ``catalogue``
describes the model and serves it (``ProductStore``).
"""

ATTRIBUTE_TYPES = (
    "TEXT",
    "LONG_TEXT",
    "INTEGER",
    "DECIMAL",
    "BOOLEAN",
    "DATE",
    "LINK",
    "MEDIA",
    "LIST",
    "LIST_MULTIPLE_VALUES",
)
LEVELS = ("REQUIRED", "RECOMMENDED", "OPTIONAL", "DISABLED")
ROLE_SKU = "SHOP_SKU"
ROLE_CATEGORY = "CATEGORY"
ROLE_VARIANT_GROUP = "VARIANT_GROUP_CODE"

_HIERARCHIES = (
    ("WOMENSWEAR", "Womenswear", None),
    ("WOMEN_DRESSES", "Dresses", "WOMENSWEAR"),
    ("WOMEN_KNITWEAR", "Knitwear", "WOMENSWEAR"),
    ("WOMEN_COATS", "Coats and jackets", "WOMENSWEAR"),
    ("MENSWEAR", "Menswear", None),
    ("MEN_SHIRTS", "Shirts", "MENSWEAR"),
    ("MEN_TROUSERS", "Trousers", "MENSWEAR"),
    ("MEN_COATS", "Coats and jackets", "MENSWEAR"),
    ("KIDSWEAR", "Kidswear", None),
    ("KIDS_TOPS", "Tops and hoodies", "KIDSWEAR"),
    ("KIDS_OUTERWEAR", "Outerwear", "KIDSWEAR"),
    ("KIDS_NIGHTWEAR", "Nightwear", "KIDSWEAR"),
    ("ACCESSORIES", "Accessories", None),
    ("ACC_SCARVES", "Scarves", "ACCESSORIES"),
    ("ACC_BELTS", "Belts", "ACCESSORIES"),
    ("ACC_HATS", "Hats", "ACCESSORIES"),
    ("CAR_SEATS", "Children's car seats", None),
    ("CAR_SEATS_INFANT", "Infant car seats", "CAR_SEATS"),
    ("CAR_SEATS_BOOSTER", "Booster seats", "CAR_SEATS"),
)
_CLOTHING = ("WOMENSWEAR", "MENSWEAR", "KIDSWEAR")
# (code, label, type, parameters, variant, roles, {hierarchy: level})
_ATTRIBUTES = (
    ("shop_sku", "Shop SKU", "TEXT", {"MAX_LENGTH": "40"}, False, (ROLE_SKU,),
     {"": "REQUIRED"}),
    ("category", "Category", "TEXT", {}, False, (ROLE_CATEGORY,),
     {"": "REQUIRED"}),
    ("variant_group_code", "Variant group", "TEXT", {"MAX_LENGTH": "40"}, False,
     (ROLE_VARIANT_GROUP,), {"": "OPTIONAL"}),
    ("title", "Title", "TEXT", {"MAX_LENGTH": "80"}, False, ("TITLE",),
     {"": "REQUIRED"}),
    ("description", "Description", "LONG_TEXT", {"MAX_LENGTH": "2000"}, False,
     (), {"": "RECOMMENDED"}),
    ("brand", "Brand", "TEXT", {"MAX_LENGTH": "40"}, False, (),
     {"": "REQUIRED"}),
    ("ean", "EAN", "TEXT", {"MAX_LENGTH": "13"}, False, (), {"": "RECOMMENDED"}),
    ("main_image", "Main image", "MEDIA", {}, False, (), {"": "RECOMMENDED"}),
    ("weight", "Shipping weight (kg)", "DECIMAL", {}, False, (),
     {"": "OPTIONAL"}),
    ("colour", "Colour", "LIST", {"LIST_CODE": "COLOUR"}, True, (),
     dict({"": "OPTIONAL", "ACCESSORIES": "REQUIRED"},
          **dict.fromkeys(_CLOTHING, "REQUIRED"))),
    ("size", "Size", "LIST", {"LIST_CODE": "SIZE"}, True, (),
     dict({"": "OPTIONAL", "CAR_SEATS": "DISABLED"},
          **dict.fromkeys(_CLOTHING, "REQUIRED"))),
    ("care_instructions", "Care instructions", "LONG_TEXT",
     {"MAX_LENGTH": "500"}, False, (),
     dict({"": "OPTIONAL"}, **dict.fromkeys(_CLOTHING, "REQUIRED"))),
    ("material", "Material", "TEXT", {"MAX_LENGTH": "100"}, False, (),
     {"": "OPTIONAL", "WOMENSWEAR": "RECOMMENDED", "MENSWEAR": "RECOMMENDED"}),
    ("max_child_weight", "Maximum child weight (kg)", "INTEGER", {}, False, (),
     {"": "DISABLED", "CAR_SEATS": "REQUIRED"}),
)  # fmt: skip
_VALUE_LISTS = (
    ("COLOUR", "Colours", (
        ("BLACK", "Black"), ("WHITE", "White"), ("BLUE_NAVY", "Navy blue"),
        ("BLUE", "Blue"), ("RED", "Red"), ("GREEN_BOTTLE", "Bottle green"),
        ("GREEN_SAGE", "Sage green"), ("OATMEAL", "Oatmeal"), ("STONE", "Stone"),
        ("KHAKI", "Khaki"), ("CHARCOAL", "Charcoal"), ("GREY", "Grey"),
        ("GREY_MARL", "Grey marl"), ("PINK", "Pink"), ("YELLOW", "Yellow"),
        ("CAMEL", "Camel"), ("BROWN", "Brown"), ("MUSTARD", "Mustard"),
        ("MULTI", "Multicolour"),
    )),
    ("SIZE", "Sizes", (
        ("UK6", "6"), ("UK8", "8"), ("UK10", "10"), ("UK12", "12"),
        ("UK14", "14"), ("UK16", "16"), ("XS", "XS"), ("S", "S"), ("M", "M"),
        ("L", "L"), ("XL", "XL"), ("W30", "30"), ("W32", "32"), ("W34", "34"),
        ("W36", "36"), ("Y2_3", "2-3 years"), ("Y3_4", "3-4 years"),
        ("Y4_5", "4-5 years"), ("Y5_6", "5-6 years"), ("Y6_7", "6-7 years"),
        ("Y7_8", "7-8 years"), ("Y8_9", "8-9 years"), ("Y9_10", "9-10 years"),
        ("ONE_SIZE", "One size"), ("SM", "S/M"), ("ML", "M/L"),
    )),
)  # fmt: skip


def default_model():
    """The seed model as the control API shows it: ``{hierarchies,
    attributes, values_lists}`` (PM11 entries with their roles)."""
    levels = {code: 0 for code, _label, _parent in _HIERARCHIES}
    parents = {code: parent for code, _label, parent in _HIERARCHIES}
    for code in levels:
        parent, depth = parents[code], 1
        while parent:
            depth, parent = depth + 1, parents[parent]
        levels[code] = depth
    hierarchies = [
        {"code": code, "label": label, "level": levels[code], "parent_code": parent}
        for code, label, parent in _HIERARCHIES
    ]
    attributes = []
    for code, label, kind, params, variant, roles, levels_by in _ATTRIBUTES:
        for hierarchy, level in levels_by.items():
            attributes.append(
                {
                    "code": code,
                    "label": label,
                    "description": "%s of the product." % label,
                    "hierarchy_code": hierarchy,
                    "type": kind,
                    "type_parameters": [
                        {"name": name, "value": value} for name, value in params.items()
                    ],
                    "values_list": params.get("LIST_CODE"),
                    "requirement_level": level,
                    "variant": variant,
                    "roles": [{"type": role, "parameters": []} for role in roles],
                }
            )
    values_lists = [
        {
            "code": code,
            "label": label,
            "values": [{"code": c, "label": v} for c, v in values],
        }
        for code, label, values in _VALUE_LISTS
    ]
    return {
        "hierarchies": hierarchies,
        "attributes": attributes,
        "values_lists": values_lists,
    }


def check_model(model):
    """ValueError unless ``model`` is a usable ``{hierarchies, attributes,
    values_lists}`` (control API)."""
    if not isinstance(model, dict) or set(model) != {
        "hierarchies",
        "attributes",
        "values_lists",
    }:
        raise ValueError("the model needs hierarchies, attributes and values_lists")
    codes = set()
    for node in model["hierarchies"]:
        if not isinstance(node, dict) or not isinstance(node.get("code"), str):
            raise TypeError("every hierarchy needs a code")
        codes.add(node["code"])
    for node in model["hierarchies"]:
        if node.get("parent_code") and node["parent_code"] not in codes:
            raise ValueError("unknown parent_code %r" % node["parent_code"])
    lists = {v.get("code") for v in model["values_lists"] if isinstance(v, dict)}
    for attribute in model["attributes"]:
        if not isinstance(attribute, dict) or not isinstance(
            attribute.get("code"), str
        ):
            raise TypeError("every attribute needs a code")
        if attribute.get("type") not in ATTRIBUTE_TYPES:
            raise ValueError("unknown attribute type %r" % attribute.get("type"))
        if attribute.get("requirement_level") not in LEVELS:
            raise ValueError(
                "unknown requirement_level %r" % attribute.get("requirement_level")
            )
        hierarchy = attribute.get("hierarchy_code") or ""
        if hierarchy and hierarchy not in codes:
            raise ValueError("unknown hierarchy_code %r" % hierarchy)
        if attribute["type"].startswith("LIST") and _list_code(attribute) not in lists:
            raise ValueError("attribute %s names no known list" % attribute["code"])


def _parameter(attribute, name):
    for parameter in attribute.get("type_parameters") or ():
        if parameter.get("name") == name:
            return parameter.get("value")
    return None


def _list_code(attribute):
    return _parameter(attribute, "LIST_CODE") or attribute.get("values_list")
