# Copyright 2026 mirakl_connector contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Mirakl Connector",
    "summary": "Sell on Mirakl marketplaces: orders, acceptance, stock, "
    "shipments and payouts from Odoo",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "website": "https://github.com/mirakl-connector/mirakl_connector",
    "author": "mirakl_connector contributors",
    "license": "LGPL-3",
    "application": True,
    "installable": True,
    "depends": ["sale_stock", "stock_delivery", "account"],
    "external_dependencies": {"python": ["requests"]},
    "data": [
        "security/mirakl_connector_groups.xml",
        "security/ir.model.access.csv",
        "security/mirakl_connector_security.xml",
        "data/ir_cron_data.xml",
        "views/mirakl_backend_views.xml",
        "views/mirakl_sync_issue_views.xml",
        "views/mirakl_shipping_type_views.xml",
        "views/mirakl_tax_map_views.xml",
        "views/sale_order_views.xml",
        "views/res_config_settings_views.xml",
        "wizards/mirakl_order_import_views.xml",
        "wizards/mirakl_order_refuse_views.xml",
        "views/mirakl_menus.xml",
    ],
}
