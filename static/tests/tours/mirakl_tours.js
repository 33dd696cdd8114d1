/** @odoo-module **/
/* Tours of mirakl_connector: each person's day in Odoo's own screens, run
 * by tests/test_tours.py in headless Chromium (both test runners). A step
 * made by screenshot(name) asks the test for a screenshot of the screen as it
 * is (scripts/screenshots.py keeps them for the README). */

import { registry } from "@web/core/registry";

function screenshot(name) {
    return {
        content: `screenshot ${name}`,
        trigger: "body:not(:has(.o_loading_indicator))",
        async run() {
            console.log(`mirakl-screenshot:${name}`);
            await new Promise((resolve) => setTimeout(resolve, 600));
        },
    };
}

function menu(xmlid) {
    return { trigger: `[data-menu-xmlid="${xmlid}"]`, run: "click" };
}

// An app, opened from the apps menu (the grid at the top left).
function app(xmlid) {
    return [
        { trigger: ".o_navbar_apps_menu button", run: "click" },
        { trigger: `.o_app[data-menu-xmlid="${xmlid}"]`, run: "click" },
    ];
}

// The admin creates a shop and tests its connection.
registry.category("web_tour.tours").add("mirakl_connector_shop", {
    steps: () => [
        ...app("sale.sale_menu_root"),
        menu("mirakl_connector.mirakl_menu_root"),
        menu("mirakl_connector.mirakl_backend_menu"),
        { trigger: ".o_list_button_add", run: "click" },
        { trigger: ".o_field_widget[name=name] input", run: "edit Tour marketplace" },
        {
            trigger: ".o_field_widget[name=api_url] input",
            run(helpers) {
                helpers.edit(window.miraklSandboxUrl);
            },
        },
        {
            trigger: ".o_field_widget[name=api_key] input",
            run(helpers) {
                helpers.edit(window.miraklApiKey);
            },
        },
        { trigger: ".o_field_widget[name=shop_id] input", run: "edit 2001" },
        { trigger: ".o_form_button_save", run: "click" },
        { trigger: ".o_form_saved" },
        { trigger: "button[name=action_mirakl_test_connection]", run: "click" },
        { trigger: ".o_notification:contains(Connected to)" },
        {
            trigger:
                ".o_statusbar_status button[aria-checked=true]:contains(Connected)",
        },
        screenshot("shop"),
    ],
});

// Operations import the waiting orders and accept one (a person decides).
registry.category("web_tour.tours").add("mirakl_connector_orders", {
    steps: () => [
        ...app("sale.sale_menu_root"),
        menu("mirakl_connector.mirakl_menu_root"),
        menu("mirakl_connector.mirakl_sale_order_menu"),
        { trigger: ".o_view_nocontent, .o_data_row" },
        menu("mirakl_connector.mirakl_menu_root"),
        menu("mirakl_connector.mirakl_backend_menu"),
        { trigger: ".o_data_row .o_data_cell:contains(Fashion marketplace)", run: "click" },
        { trigger: "button[name=action_import_orders]", run: "click" },
        { trigger: ".o_notification:contains(2 created)" },
        menu("mirakl_connector.mirakl_menu_root"),
        menu("mirakl_connector.mirakl_sale_order_menu"),
        { trigger: ".o_data_row:contains(To accept)" },
        screenshot("orders"),
        {
            trigger: `.o_data_row:contains(${window.miraklOrderId}) .o_data_cell[name=name]`,
            run: "click",
        },
        { trigger: ".alert-info:contains(To accept):contains(accept before)" },
        screenshot("order_to_accept"),
        { trigger: "button[name=action_mirakl_accept]", run: "click" },
        { trigger: ".alert-info:contains(Accepted, waiting for payment)" },
        // Odoo's Confirm and Create Invoice are not offered before payment.
        { trigger: ".o_form_view:not(:has(button[name=action_confirm]:visible))" },
    ],
});

// The warehouse validates a delivery whose shipping type needs a tracking
// number: Odoo asks for it first.
registry.category("web_tour.tours").add("mirakl_connector_delivery", {
    steps: () => [
        ...app("stock.menu_stock_root"),
        menu("stock.menu_stock_warehouse_mgmt"),
        menu("stock.out_picking"),
        {
            trigger: `.o_data_row:contains(${window.miraklSaleName}) .o_data_cell[name=name]`,
            run: "click",
        },
        { trigger: `.o_field_widget[name=mirakl_order_id]:contains(${window.miraklOrderId})` },
        { trigger: ".o_field_widget[name=mirakl_shipping_type]:contains(Express)" },
        screenshot("delivery"),
        { trigger: "button[name=button_validate]", run: "click" },
        { trigger: ".modal .modal-title:contains(Tracking number required)" },
        screenshot("delivery_tracking"),
        {
            trigger: ".modal .o_data_row .o_data_cell[name=tracking_ref]",
            run: "click",
        },
        {
            trigger: ".modal .o_data_row .o_field_widget[name=tracking_ref] input",
            run: "edit DPD-TOUR-42",
        },
        { trigger: ".modal button[name=action_validate]", run: "click" },
        {
            trigger: ".o_statusbar_status button[aria-checked=true]:contains(Done)",
        },
        {
            trigger:
                ".o_field_widget[name=carrier_tracking_ref] input:value(DPD-TOUR-42)",
        },
    ],
});

// Finance reviews a booked billing cycle and its settlement lines.
registry.category("web_tour.tours").add("mirakl_connector_finance", {
    steps: () => [
        ...app("account.menu_finance"),
        menu("account.menu_finance_receivables"),
        menu("mirakl_connector.mirakl_billing_cycle_finance_menu"),
        { trigger: ".o_data_row:contains(Booked) .o_data_cell[name=name]", run: "click" },
        { trigger: ".o_statusbar_status button[aria-checked=true]:contains(Booked)" },
        { trigger: ".o_notebook_headers a:contains(Settlement entry)", run: "click" },
        {
            trigger:
                ".o_field_widget[name=settlement_line_ids] .o_data_row:contains(payouts in transit)",
            run() {
                this.anchor.scrollIntoView({ block: "center" });
            },
        },
        screenshot("billing_cycle"),
    ],
});

// Operations open the cockpit, see what waits, and open the list behind a
// figure.
registry.category("web_tour.tours").add("mirakl_connector_cockpit", {
    steps: () => [
        ...app("sale.sale_menu_root"),
        menu("mirakl_connector.mirakl_menu_root"),
        menu("mirakl_connector.mirakl_overview_menu"),
        {
            trigger:
                ".o_kanban_record:contains(Fashion marketplace) button[name=action_cockpit_to_accept]:contains(1)",
        },
        screenshot("cockpit"),
        {
            trigger:
                ".o_kanban_record:contains(Fashion marketplace) a[name=action_cockpit_to_ship]",
            run: "click",
        },
        { trigger: `.o_data_row:contains(${window.miraklOrderId})` },
        { trigger: ".o_list_view:not(:has(.o_data_row:contains(To accept)))" },
    ],
});
