"""Odoo values mapped to the codes of an operator's value list.

Each Odoo value a list attribute meets (a product attribute value's name, a
field's text) gets one row per shop and list, created by the readiness
check. The connector suggests a code whose label (or code) matches the
value; a person confirms it. Only confirmed rows are used: an unmapped or
unconfirmed value is a readiness problem and is never sent as it is.
"""

import difflib
import re

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

STATES = [
    ("unmapped", "To map"),
    ("suggested", "Suggested, to confirm"),
    ("confirmed", "Confirmed"),
]
_WORDS = re.compile(r"[^0-9a-z]+")


def normalise(text):
    """Lower case, words separated by one space (for label matching)."""
    return " ".join(_WORDS.split((text or "").casefold())).strip()


def suggest(odoo_value, values):
    """The value (``(id, code, label)``) an Odoo value most likely means,
    or ``None`` when none or several are as likely."""
    wanted = normalise(odoo_value)
    if not wanted:
        return None
    exact = [v for v in values if wanted in (normalise(v[1]), normalise(v[2]))]
    if len(exact) == 1:
        return exact[0]
    words = set(wanted.split())
    partial = [
        v
        for v in values
        if words <= set(normalise(v[2]).split())
        or words <= set(normalise(v[1]).split())
    ]
    if len(partial) == 1:
        return partial[0]
    labels = {normalise(v[2]): v for v in values}
    close = difflib.get_close_matches(wanted, list(labels), n=2, cutoff=0.8)
    if len(close) == 1:
        return labels[close[0]]
    return None


class MiraklValueMap(models.Model):
    _name = "mirakl.value.map"
    _description = "Mirakl Value Mapping"
    _order = "value_list_id, state, odoo_value"
    _rec_name = "odoo_value"

    value_list_id = fields.Many2one(
        "mirakl.value.list",
        string="Value list",
        required=True,
        ondelete="cascade",
        index=True,
    )
    backend_id = fields.Many2one(
        related="value_list_id.backend_id", store=True, index=True, string="Shop"
    )
    company_id = fields.Many2one(
        related="value_list_id.company_id", store=True, index=True
    )
    odoo_value = fields.Char(
        string="Odoo value",
        required=True,
        help="The value as Odoo has it (a product attribute value, a field's text).",
    )
    value_id = fields.Many2one(
        "mirakl.value",
        string="Mirakl value",
        ondelete="set null",
        domain="[('list_id', '=', value_list_id)]",
    )
    state = fields.Selection(STATES, default="unmapped", required=True, index=True)
    value_code = fields.Char(related="value_id.code", string="Code sent")

    _sql_constraints = [
        (
            "list_value_uniq",
            "unique(value_list_id, odoo_value)",
            "An Odoo value is mapped once per value list.",
        ),
    ]

    @api.constrains("value_id", "value_list_id")
    def _check_value_in_list(self):
        for record in self:
            if record.value_id and record.value_id.list_id != record.value_list_id:
                raise ValidationError(
                    _(
                        "%(value)s is not a value of the list %(list)s.",
                        value=record.value_id.display_name,
                        list=record.value_list_id.display_name,
                    )
                )

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if "state" not in vals:
                vals["state"] = "confirmed" if vals.get("value_id") else "unmapped"
        records = super().create(vals_list)
        if not self.env.context.get("mirakl_no_recheck"):
            records.backend_id._mirakl_mapping_changed()
        return records

    def write(self, vals):
        if "value_id" in vals and "state" not in vals:
            # A person choosing a value confirms it.
            vals = dict(vals, state="confirmed" if vals["value_id"] else "unmapped")
        result = super().write(vals)
        if {"value_id", "state"} & set(vals) and not self.env.context.get(
            "mirakl_no_recheck"
        ):
            self.backend_id._mirakl_mapping_changed()
        return result

    # === ACTION METHODS === #

    def action_confirm(self):
        missing = self.filtered(lambda r: not r.value_id)
        if missing:
            raise UserError(
                _(
                    "Choose the Mirakl value of %(values)s first.",
                    values=", ".join(missing.mapped("odoo_value")),
                )
            )
        self.write({"state": "confirmed"})
        return True

    def action_suggest(self):
        """Suggest a code for the rows still to map (a person confirms)."""
        self._mirakl_suggest()
        return True

    # === BUSINESS METHODS === #

    def _mirakl_suggest(self):
        """Suggest codes (a suggestion changes no readiness: no re-check)."""
        rows = self.with_context(mirakl_no_recheck=True)
        by_list = {}
        for record in rows.filtered(lambda r: r.state == "unmapped"):
            by_list.setdefault(record.value_list_id, rows.browse())
            by_list[record.value_list_id] |= record
        for value_list, records in by_list.items():
            values = [(v.id, v.code, v.label) for v in value_list.value_ids if v.active]
            for record in records:
                found = suggest(record.odoo_value, values)
                if found:
                    record.write({"value_id": found[0], "state": "suggested"})
