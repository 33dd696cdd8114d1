"""Validation and mapping of a Mirakl order: product, tax, pricelist,
address and country resolution, and the values of the Sales Order, its
lines and its shipping lines.

Same model as ``core/mirakl_backend.py`` (``mirakl.backend``); the order
import cycle that calls these is in ``mirakl_backend_order.py``.
"""

import json

from odoo import _, fields, models, tools
from odoo.fields import Command

from ...lib import mappers
from ...lib.countries import alpha2


class MiraklBackend(models.Model):
    _inherit = "mirakl.backend"

    # === BUSINESS METHODS: validation and mapping === #

    def _mirakl_validate(self, order, cache):
        """What the order refers to in Odoo, and what is wrong with it.

        Returns ``(resolved, blocking, warnings)``. Blocking problems keep the
        order out (no Sales Order, no acceptance); warnings are filed on the
        Sales Order and keep it from the warehouse until fixed.
        """
        blocking = []
        resolved = {"products": {}, "taxes": {}, "shipping_taxes": {}}
        if order.state not in mappers.KNOWN_ORDER_STATES:
            blocking.append(
                _(
                    "its state %(state)s is unknown to the connector (check it on "
                    "Mirakl)",
                    state=order.state or "-",
                )
            )
        absurd = mappers.value_problems(
            order, self.order_max_line_quantity, self.order_max_total
        )
        if absurd:
            blocking.append(
                _(
                    "implausible values: %(problems)s. Refuse it on Mirakl (button "
                    "on this issue) or, if it is genuine, raise the shop's limits "
                    "(Orders tab) and retry",
                    problems=", ".join(absurd),
                )
            )
        for line in order.lines:
            product, problem = self._mirakl_find_product(line, cache)
            if problem:
                blocking.append(problem)
                continue
            resolved["products"][line.line_id] = product
            taxes, problem = self._mirakl_map_taxes(
                line.taxes, order.tax_mode, product, cache
            )
            if problem:
                blocking.append(problem)
                continue
            resolved["taxes"][line.line_id] = taxes
            shipping_taxes, problem = self._mirakl_map_shipping_taxes(
                line, order.tax_mode, taxes, cache
            )
            if problem:
                blocking.append(problem)
            resolved["shipping_taxes"][line.line_id] = shipping_taxes
        shipping_type = cache["shipping"].get(order.shipping_type_code)
        if not shipping_type:
            shipping_type = self._mirakl_register_shipping_type(
                order.shipping_type_code, order.shipping_type_label
            )
            cache["shipping"][order.shipping_type_code] = shipping_type
        if not shipping_type.carrier_id:
            blocking.append(
                _(
                    "shipping type %(code)s (%(label)s) is not mapped to a delivery "
                    "method (Mirakl shop > Shipping types)",
                    code=order.shipping_type_code,
                    label=order.shipping_type_label or "-",
                )
            )
        resolved["carrier"] = shipping_type.carrier_id
        currency = self.env["res.currency"].search(
            [("name", "=", order.currency)], limit=1
        )
        if not currency:
            blocking.append(
                _(
                    "currency %(currency)s is not active in Odoo",
                    currency=order.currency or "-",
                )
            )
        else:
            resolved["pricelist"] = self._mirakl_get_pricelist(currency)
        return resolved, blocking, self._mirakl_address_warnings(order)

    def _mirakl_find_product(self, line, cache):
        """The product variant of a Mirakl SKU, or why there is none."""
        if not line.sku:
            return None, _("line %(line)s has no offer SKU", line=line.line_id)
        candidates = cache["products"].get(line.sku) or self.env["product.product"]
        active = candidates.filtered("active")
        if len(active) == 1:
            return active, None
        if len(active) > 1:
            return None, _(
                "SKU %(sku)s is ambiguous: %(count)s product variants have this "
                "internal reference (%(names)s)",
                sku=line.sku,
                count=len(active),
                names=", ".join(active.mapped("display_name")),
            )
        if candidates:
            return None, _(
                "SKU %(sku)s is an archived product (%(name)s)",
                sku=line.sku,
                name=candidates[0].display_name,
            )
        return None, _(
            "unknown SKU %(sku)s: no product variant has this internal reference",
            sku=line.sku,
        )

    def _mirakl_map_taxes(self, taxes, tax_mode, product, cache):
        """Odoo taxes for one list of Mirakl taxes (code, rate)."""
        included = tax_mode == mappers.TAX_INCLUDED
        if not taxes:
            if self.tax_fallback == "none":
                return self.env["account.tax"], None
            result = self.env["account.tax"]
            for tax in product.taxes_id._filter_taxes_by_company(self.company_id):
                if tax.amount_type != "percent":
                    return None, _(
                        "the Mirakl line of %(sku)s has no tax and its product's tax "
                        "%(tax)s is not a percentage",
                        sku=product.default_code,
                        tax=tax.name,
                    )
                same, problem = self._mirakl_tax_by_rate(
                    "", tax.amount, included, cache
                )
                if problem:
                    return None, problem
                result |= same
            return result, None
        result = self.env["account.tax"]
        for tax in taxes:
            record, problem = self._mirakl_tax_for(tax, included, cache)
            if problem:
                return None, problem
            result |= record
        return result, None

    def _mirakl_map_shipping_taxes(self, line, tax_mode, goods_taxes, cache):
        """Taxes of a line's shipping charge. Without Mirakl shipping taxes the
        delivery follows its goods (UK VAT: a zero-rated item's delivery is
        zero-rated), unless the shop says lines without taxes get none."""
        if line.shipping_taxes:
            return self._mirakl_map_taxes(
                line.shipping_taxes, tax_mode, self.env["product.product"], cache
            )
        if not line.shipping_price or self.tax_fallback == "none":
            return self.env["account.tax"], None
        return goods_taxes, None

    def _mirakl_tax_for(self, tax, included, cache):
        key = (tax.code, tax.rate, included)
        if key in cache["taxes"]:
            return cache["taxes"][key]
        maps = self.tax_map_ids.filtered(lambda m: m.code == tax.code and m.tax_id)
        result = None
        if maps:
            matching = maps.tax_id.filtered(lambda t: t.price_include == included)
            if tax.rate is not None:
                matching = matching.filtered(
                    lambda t: tools.float_compare(t.amount, float(tax.rate), 4) == 0
                )
            if len(matching) == 1:
                result = (matching, None)
            else:
                result = (
                    None,
                    _(
                        "tax %(code)s at %(rate)s%% is mapped, but not to exactly one "
                        "%(mode)s tax of that rate (Mirakl shop > Taxes)",
                        code=tax.code,
                        rate=tax.rate,
                        mode=_("price-included") if included else _("price-excluded"),
                    ),
                )
        elif tax.rate is None:
            result = (
                None,
                _(
                    "tax %(code)s has no rate on Mirakl: map it (Mirakl shop > Taxes)",
                    code=tax.code,
                ),
            )
        else:
            result = self._mirakl_tax_by_rate(tax.code, tax.rate, included, cache)
        cache["taxes"][key] = result
        return result

    def _mirakl_tax_by_rate(self, code, rate, included, cache):
        key = ("rate", float(rate), included)
        if key in cache["taxes"]:
            return cache["taxes"][key]
        candidates = self.env["account.tax"].search(
            [
                *self.env["account.tax"]._check_company_domain(self.company_id),
                ("type_tax_use", "=", "sale"),
                ("amount_type", "=", "percent"),
                ("amount", "=", float(rate)),
            ]
        )
        candidates = candidates.filtered(
            lambda t: t.price_include == included and t.company_id == self.company_id
        )
        mode = _("price-included") if included else _("price-excluded")
        if len(candidates) == 1:
            result = (candidates, None)
        elif not candidates:
            result = (
                None,
                _(
                    "no %(mode)s sale tax of %(rate)s%% for Mirakl tax %(code)s: "
                    "create one or map the code (Mirakl shop > Taxes)",
                    mode=mode,
                    rate=rate,
                    code=code or "-",
                ),
            )
        else:
            result = (
                None,
                _(
                    "Mirakl tax %(code)s at %(rate)s%% matches several %(mode)s sale "
                    "taxes (%(names)s): map the code (Mirakl shop > Taxes)",
                    code=code or "-",
                    rate=rate,
                    mode=mode,
                    names=", ".join(candidates.mapped("name")),
                ),
            )
        cache["taxes"][key] = result
        return result

    def _mirakl_register_shipping_type(self, code, label):
        """A shipping type met in an order but not yet known: list it, unmapped."""
        ShippingType = self.env["mirakl.shipping.type"].sudo()
        existing = ShippingType.with_context(active_test=False).search(
            [("backend_id", "=", self.id), ("code", "=", code or "")], limit=1
        )
        return existing or ShippingType.create(
            {"backend_id": self.id, "code": code or "", "label": label or code or ""}
        )

    def _mirakl_get_pricelist(self, currency):
        if self.pricelist_id and self.pricelist_id.currency_id == currency:
            return self.pricelist_id
        Pricelist = self.env["product.pricelist"]
        pricelist = Pricelist.search(
            [
                ("currency_id", "=", currency.id),
                ("company_id", "in", [False, self.company_id.id]),
            ],
            limit=1,
        )
        return pricelist or Pricelist.sudo().create(
            {
                "name": "Mirakl %s" % currency.name,
                "currency_id": currency.id,
                "company_id": self.company_id.id,
            }
        )

    def _mirakl_address_warnings(self, order):
        """Missing address data or unknown countries (once Mirakl shows them)."""
        warnings = []
        for label, address in (
            (_("delivery address"), order.shipping_address),
            (_("invoice address"), order.billing_address),
        ):
            if address is None:
                if order.state not in mappers.PRE_ACCEPTANCE_STATES:
                    warnings.append(_("no %(what)s on Mirakl", what=label))
                continue
            missing = [
                name
                for name in ("lastname", "street_1", "city")
                if not getattr(address, name)
            ]
            if not address.country_iso_code and not address.country:
                missing.append("country_iso_code")
            if missing:
                warnings.append(
                    _(
                        "%(what)s lacks %(fields)s",
                        what=label,
                        fields=", ".join(missing),
                    )
                )
            given = address.country_iso_code or address.country
            if given and not self._mirakl_address_country(address)[0]:
                warnings.append(
                    _(
                        "%(what)s: unknown country %(code)s",
                        what=label,
                        code=given,
                    )
                )
        return warnings

    def _mirakl_address_country(self, address):
        """``(country, from its name)`` of a Mirakl address.

        The alpha-3 ``country_iso_code`` when Mirakl sends it; otherwise the
        country's name (``country``, as older payloads carry), matched with
        Odoo's country names in English and in the shop's marketplace
        language; None when neither gives one country.
        """
        if address.country_iso_code:
            return self._mirakl_country(address.country_iso_code), False
        if not address.country:
            return None, False
        country = self._mirakl_country(address.country)
        Country = self.env["res.country"]
        for lang in dict.fromkeys(("en_US", self.marketplace_lang or "en_US")):
            if country:
                break
            found = Country.with_context(lang=lang).search(
                [("name", "=ilike", address.country)], limit=2
            )
            country = found if len(found) == 1 else None
        return country or None, bool(country)

    def _mirakl_order_notes(self, order):
        """What the Sales Order should say about how Mirakl's data was read:
        texts cleaned, countries found from their names."""
        notes = list(order.notes)
        for label, address in (
            (_("delivery address"), order.shipping_address),
            (_("invoice address"), order.billing_address),
        ):
            if address is None:
                continue
            country, from_name = self._mirakl_address_country(address)
            if from_name:
                notes.append(
                    _(
                        "%(what)s: no country_iso_code, country %(name)s read as "
                        "%(country)s",
                        what=label,
                        name=address.country,
                        country=country.name,
                    )
                )
        return notes

    def _mirakl_post_notes(self, sale, order):
        notes = self._mirakl_order_notes(order)
        if notes:
            sale.message_post(
                body=_(
                    "Mirakl data read with corrections: %(notes)s.",
                    notes="; ".join(notes),
                )
            )

    def _mirakl_record_warnings(self, sale, order, warnings):
        Issue = self.env["mirakl.sync.issue"]
        if warnings:
            Issue._mirakl_record(
                self,
                "OR11",
                _(
                    "Mirakl order %(order)s: %(problems)s. It is kept from the "
                    "warehouse until the address is complete.",
                    order=order.order_id,
                    problems="; ".join(warnings),
                ),
                category="data",
                record=sale,
                mirakl_ref=order.order_id,
            )
        else:
            Issue._mirakl_resolve(self, "OR11", record=sale, mirakl_ref=order.order_id)

    @tools.ormcache("code")
    def _mirakl_country_id(self, code):
        code2 = alpha2(code)
        if not code2:
            return False
        country = self.env["res.country"].search([("code", "=", code2)], limit=1)
        return country.id or False

    def _mirakl_country(self, code):
        country_id = self._mirakl_country_id(code)
        return self.env["res.country"].browse(country_id) if country_id else None

    # === BUSINESS METHODS: building the Sales Order === #

    def _mirakl_prepare_order_state_vals(self, order, sale=None):
        vals = {
            "mirakl_digest": order.digest,
            "mirakl_state": order.state,
            "mirakl_state_reason": order.state_reason_label or order.state_reason_code,
            "mirakl_last_updated": order.last_updated,
            "mirakl_synced_at": fields.Datetime.now(),
            "mirakl_raw": order.raw_json,
            "mirakl_shipping_deadline": order.shipping_deadline,
        }
        # Mirakl's shipping deadline schedules the delivery (its deadline);
        # written only when it moves (Odoo then moves the deliveries).
        if order.shipping_deadline and (
            sale is None or sale.commitment_date != order.shipping_deadline
        ):
            vals["commitment_date"] = order.shipping_deadline
        return vals

    def _mirakl_prepare_partner_vals(self, order, sale=None, cache=None):
        """Customer, invoice and delivery contacts of the order.

        ``cache`` remembers them per Mirakl customer JSON for the orders of a
        page (only once the order that found or created them is stored).
        """
        key = json.dumps(order.raw.get("customer"), sort_keys=True, default=str)
        known = cache and cache["partners"].get(key)
        if known:
            vals = dict(known)
        else:
            Partner = self.env["res.partner"]
            customer = Partner._mirakl_get_customer(self, order)
            invoice = Partner._mirakl_get_address(
                self, customer, order.billing_address, "invoice"
            )
            delivery = Partner._mirakl_get_address(
                self, customer, order.shipping_address, "delivery"
            )
            vals = {
                "partner_id": customer.id,
                "partner_invoice_id": invoice.id,
                "partner_shipping_id": delivery.id,
            }
            if cache is not None:
                cache["partners_pending"][key] = dict(vals)
        if sale:
            vals = {k: v for k, v in vals.items() if sale[k].id != v}
        return vals

    def _mirakl_prepare_line_mirakl_vals(self, mline):
        fee, vat = mline.live_commission
        return {
            "mirakl_line_state": mline.state,
            "mirakl_quantity": mline.quantity,
            "mirakl_cancelled_qty": mline.cancelled_quantity,
            "mirakl_price": float(mline.live_price),
            "mirakl_tax_amount": float(
                sum((t.amount for t in mline.live_taxes), mappers.ZERO)
            ),
            "mirakl_commission_fee": float(fee),
            "mirakl_commission_vat": float(vat),
            "mirakl_commission_total": float(fee + vat),
        }

    def _mirakl_prepare_line_vals(self, mline, product, taxes):
        vals = self._mirakl_prepare_line_mirakl_vals(mline)
        quantity = mline.live_quantity
        decision = False
        if mline.state == "REFUSED":
            decision = "refuse"
        elif mline.state not in mappers.PRE_ACCEPTANCE_STATES:
            decision = "accept"
        vals.update(
            {
                "product_id": product.id,
                "product_uom_qty": quantity,
                "price_unit": float(mline.price_unit),
                "tax_id": [Command.set(taxes.ids)],
                "mirakl_line_id": mline.line_id,
                "mirakl_offer_sku": mline.sku,
                "mirakl_decision": decision,
                "sequence": mline.index or 10,
            }
        )
        return vals

    def _mirakl_shipping_groups(self, order, resolved):
        """Shipping of the live lines, summed per set of Odoo taxes."""
        groups = {}
        for mline in order.lines:
            taxes = resolved["shipping_taxes"].get(mline.line_id)
            if taxes is None:
                continue
            amount = mline.live_shipping if not mline.dead else mappers.ZERO
            if not mline.shipping_price and not amount:
                continue
            key = ",".join(str(i) for i in sorted(taxes.ids)) or "none"
            total, _taxes = groups.get(key, (mappers.ZERO, taxes))
            groups[key] = (total + amount, taxes)
        return groups

    def _mirakl_shipping_line_vals(self, order, carrier, key, amount, taxes, sequence):
        label = order.shipping_type_label or order.shipping_type_code
        return {
            "product_id": carrier.product_id.id,
            "name": _("Shipping: %(label)s", label=label),
            "product_uom_qty": 1,
            "price_unit": float(amount),
            "tax_id": [Command.set(taxes.ids)],
            "is_delivery": True,
            "mirakl_shipping_key": key,
            "sequence": sequence,
        }

    def _mirakl_prepare_sale_order_vals(self, order, resolved, cache=None):
        lines = []
        for mline in order.lines:
            product = resolved["products"][mline.line_id]
            taxes = resolved["taxes"][mline.line_id]
            lines.append(
                Command.create(self._mirakl_prepare_line_vals(mline, product, taxes))
            )
        carrier = resolved["carrier"]
        sequence = max((m.index or 0 for m in order.lines), default=0) + 100
        for key, (amount, taxes) in self._mirakl_shipping_groups(
            order, resolved
        ).items():
            lines.append(
                Command.create(
                    self._mirakl_shipping_line_vals(
                        order, carrier, key, amount, taxes, sequence
                    )
                )
            )
        vals = {
            "mirakl_backend_id": self.id,
            "mirakl_order_id": order.order_id,
            "mirakl_commercial_id": order.commercial_id,
            "mirakl_created_date": order.created,
            "mirakl_tax_mode": order.tax_mode,
            "mirakl_acceptance_deadline": mappers.acceptance_deadline(
                order, self.acceptance_window_hours
            ),
            "mirakl_acceptance": False,
            "client_order_ref": order.commercial_id,
            "origin": order.order_id,
            "company_id": self.company_id.id,
            "pricelist_id": resolved["pricelist"].id,
            "currency_id": resolved["pricelist"].currency_id.id,
            "fiscal_position_id": self.fiscal_position_id.id,
            "carrier_id": carrier.id,
            "date_order": order.created,
            "order_line": lines,
        }
        vals["mirakl_total_price"] = float(order.expected_amount_total())
        vals["mirakl_tax_total"] = float(order.live_tax_total())
        if self.warehouse_id:
            vals["warehouse_id"] = self.warehouse_id.id
        if self.team_id:
            vals["team_id"] = self.team_id.id
        if self.user_id:
            vals["user_id"] = self.user_id.id
        vals.update(self._mirakl_prepare_partner_vals(order, cache=cache))
        vals.update(self._mirakl_prepare_order_state_vals(order))
        return vals

    def _mirakl_update_shipping_lines(self, sale, order, cache):
        """Keep shipping lines equal to Mirakl's live shipping charges."""
        shipping_lines = sale.order_line.filtered("mirakl_shipping_key")
        if not shipping_lines:
            return
        resolved = {"shipping_taxes": {}}
        products = {
            line.mirakl_line_id: line.product_id
            for line in sale.order_line
            if line.mirakl_line_id
        }
        for mline in order.lines:
            product = products.get(mline.line_id)
            if not product:
                continue
            goods_taxes, problem = self._mirakl_map_taxes(
                mline.taxes, order.tax_mode, product, cache
            )
            if problem:
                return
            taxes, problem = self._mirakl_map_shipping_taxes(
                mline, order.tax_mode, goods_taxes, cache
            )
            if problem:
                return
            resolved["shipping_taxes"][mline.line_id] = taxes
        groups = self._mirakl_shipping_groups(order, resolved)
        for line in shipping_lines:
            amount = groups.get(line.mirakl_shipping_key, (mappers.ZERO, None))[0]
            if sale.currency_id.compare_amounts(line.price_unit, float(amount)):
                line.write({"price_unit": float(amount)})
