from odoo import api, fields, models

from ..core.mirakl_backend_run import ConcurrentImport

ADDRESS_FIELDS = ("name", "street", "street2", "city", "zip", "country_id", "phone")


class ResPartner(models.Model):
    _inherit = "res.partner"

    mirakl_backend_id = fields.Many2one(
        "mirakl.backend",
        string="Mirakl shop",
        copy=False,
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    mirakl_customer_id = fields.Char(
        string="Mirakl customer", copy=False, readonly=True, index="btree_not_null"
    )

    _sql_constraints = [
        (
            "mirakl_customer_unique",
            "unique(mirakl_backend_id, mirakl_customer_id)",
            "This Mirakl customer already has a contact for this shop.",
        )
    ]

    # === COMPUTE METHODS === #

    def _get_complete_name(self):
        """Override of `base` so that a Mirakl customer's own delivery or
        invoice address reads "Freya Morgan", not "Freya Morgan, Freya Morgan"."""
        parent = self.sudo().parent_id
        if (
            parent.mirakl_backend_id
            and not self.is_company
            and self.name
            and self.name == (self.commercial_company_name or parent.name)
        ):
            return self.name.strip()
        return super()._get_complete_name()

    # === BUSINESS METHODS === #

    @api.model
    def _mirakl_get_customer(self, backend, order):
        """The contact of a Mirakl customer, reused per shop and customer id."""
        customer_id = order.customer_id or "order:%s" % order.order_id
        domain = [
            ("mirakl_backend_id", "=", backend.id),
            ("mirakl_customer_id", "=", customer_id),
        ]
        Partner = self.sudo().with_context(active_test=False)
        partner = Partner.search(domain, limit=1)
        name = order.customer_name or (
            order.billing_address and order.billing_address.name
        )
        if partner:
            if name and partner.name != name:
                partner.name = name
            return partner
        # Two orders of one new customer in two transactions: one creates the
        # contact, the other meets ConcurrentImport and is read again later.
        if not backend._mirakl_try_xact_lock("customer", customer_id) or (
            backend._mirakl_committed_since(
                "SELECT 1 FROM res_partner WHERE mirakl_backend_id = %s "
                "AND mirakl_customer_id = %s",
                (backend.id, customer_id),
            )
        ):
            raise ConcurrentImport(customer_id)
        vals = {
            "name": name or customer_id,
            "mirakl_backend_id": backend.id,
            "mirakl_customer_id": customer_id,
            "company_id": backend.company_id.id,
            "lang": self._mirakl_lang(order.customer_locale),
        }
        address = order.billing_address or order.shipping_address
        if address:
            vals.update(self._mirakl_prepare_address_vals(backend, address))
            vals["name"] = name or vals["name"]
        # A concurrent worker creating the same customer makes this raise
        # UniqueViolation: the order import treats it as a conflict and the
        # order is read again by the next cycle (Odoo's snapshot cannot see the
        # other worker's partner).
        return Partner.create(vals)

    @api.model
    def _mirakl_lang(self, locale):
        if not locale:
            return False
        langs = dict(self.env["res.lang"].get_installed())
        for code in (locale.replace("-", "_"), locale.split("_")[0]):
            if code in langs:
                return code
        return False

    @api.model
    def _mirakl_prepare_address_vals(self, backend, address):
        country = backend._mirakl_address_country(address)[0]
        street2 = ", ".join(p for p in (address.street_2, address.additional_info) if p)
        vals = {
            "name": address.name
            or " ".join(p for p in (address.company, address.company_2) if p)
            or False,
            "street": address.street_1 or False,
            "street2": street2 or False,
            "city": address.city or False,
            "zip": address.zip_code or False,
            "country_id": country.id if country else False,
            "phone": address.phone or address.phone_secondary or False,
        }
        if address.company and address.name:
            vals["name"] = "%s, %s" % (address.company, address.name)
        if country and address.state:
            state = self.env["res.country.state"].search(
                [
                    ("country_id", "=", country.id),
                    "|",
                    ("name", "=ilike", address.state),
                    ("code", "=ilike", address.state),
                ],
                limit=1,
            )
            vals["state_id"] = state.id or False
        return vals

    @api.model
    def _mirakl_get_address(self, backend, customer, address, kind):
        """A child address of the customer (reused when identical), or the
        customer itself when Mirakl does not show the address yet."""
        if address is None:
            return customer
        vals = self._mirakl_prepare_address_vals(backend, address)
        vals["name"] = vals["name"] or customer.name
        for child in customer.child_ids.filtered(lambda c: c.type == kind):
            if all(
                (child[f].id if f in ("country_id",) else child[f] or False)
                == vals.get(f)
                for f in ADDRESS_FIELDS
            ):
                return child
        return self.sudo().create(
            dict(
                vals,
                parent_id=customer.id,
                type=kind,
                company_id=customer.company_id.id,
            )
        )
