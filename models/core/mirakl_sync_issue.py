import logging
from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ... import const
from ...lib import mappers
from ...lib.redact import excerpt, redact
from .mirakl_backend import CRASH_REF

_logger = logging.getLogger(__name__)

# Operations whose issues without an Odoo record are about a Mirakl order.
ORDER_OPERATIONS = frozenset(("OR11", "OR21", "OR04", "OR29", "OR30", "ORDER"))


class MiraklSyncIssue(models.Model):
    """A failed call to Mirakl, or a record the connector refused to take in.

    One open issue per (shop, operation, Odoo record, Mirakl reference): a
    repeated failure bumps ``attempts`` and the texts of the open issue rather
    than piling up duplicates; a later success of the same operation resolves
    it. Everything stored here is redacted: no API key ever reaches a field.
    """

    _name = "mirakl.sync.issue"
    _description = "Mirakl Sync Issue"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "state, last_attempt_date desc, id desc"
    _rec_name = "name"

    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one(
        "mirakl.backend", string="Shop", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True
    )
    operation = fields.Char(
        string="Operation code",
        required=True,
        index=True,
        help="Mirakl endpoint code of the operation, such as OR21 (accept an order).",
    )
    operation_label = fields.Char(
        string="Operation", compute="_compute_operation_label"
    )
    res_model = fields.Char(string="Related model", index=True)
    res_id = fields.Many2oneReference(
        string="Related record ID", model_field="res_model"
    )
    record_name = fields.Char(string="Related record", compute="_compute_record_name")
    mirakl_ref = fields.Char(
        string="Mirakl reference",
        index=True,
        help="Mirakl order id, SKU, carrier code...",
    )
    category = fields.Selection(const.ISSUE_CATEGORIES, required=True, default="other")
    transient = fields.Boolean(
        help="The failure may go away by itself (timeout, rate limit, server error)."
    )
    kind = fields.Selection(
        [("person", "Needs a person"), ("transient", "May pass by itself")],
        compute="_compute_kind",
        store=True,
        help="Needs a person: a retry alone will not fix it (a mapping, a "
        "refused key, a rejected record). May pass by itself: a timeout, a rate "
        "limit or a Mirakl server error, retried automatically.",
    )
    message = fields.Text(required=True)
    http_status = fields.Integer(string="HTTP status")
    error_code = fields.Char(string="Mirakl error code")
    request_excerpt = fields.Text(
        string="Request", help="What was sent, redacted and truncated."
    )
    response_excerpt = fields.Text(
        string="Response", help="What Mirakl answered, redacted and truncated."
    )
    state = fields.Selection(
        [("open", "Open"), ("resolved", "Resolved")],
        default="open",
        required=True,
        index=True,
        tracking=True,
    )
    attempts = fields.Integer(default=1, readonly=True)
    first_seen_date = fields.Datetime(
        string="First seen", default=fields.Datetime.now, readonly=True
    )
    last_attempt_date = fields.Datetime(
        string="Last seen", default=fields.Datetime.now, readonly=True
    )
    resolved_date = fields.Datetime(string="Resolved on", readonly=True)
    resolved_by_id = fields.Many2one("res.users", readonly=True)
    resolution = fields.Char(readonly=True, help="How the issue was closed.")
    deadline = fields.Datetime(
        readonly=True,
        help="For an order waiting for acceptance: when the marketplace refuses it.",
    )
    mirakl_held_order = fields.Boolean(
        compute="_compute_mirakl_held_order",
        help="An order held back before it had a Sales Order: the seller may "
        "refuse it on Mirakl from here.",
    )
    priority = fields.Selection(
        [("0", "Normal"), ("1", "Urgent")], default="0", tracking=True
    )
    escalated_date = fields.Datetime(string="Escalated on", readonly=True)

    def init(self):
        # At most one open issue per failure key, even with concurrent workers.
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS mirakl_sync_issue_open_key
            ON mirakl_sync_issue (
                backend_id, operation, COALESCE(res_model, ''),
                COALESCE(res_id, 0), COALESCE(mirakl_ref, '')
            ) WHERE state = 'open'
            """
        )

    # === COMPUTE METHODS === #

    @api.depends("operation", "category", "mirakl_ref")
    def _compute_name(self):
        categories = dict(self._fields["category"]._description_selection(self.env))
        for issue in self:
            parts = [
                const.OPERATIONS.get(issue.operation, issue.operation),
                categories.get(issue.category, issue.category),
            ]
            if issue.mirakl_ref:
                parts.append(issue.mirakl_ref)
            issue.name = " · ".join(p for p in parts if p)

    @api.depends("transient")
    def _compute_kind(self):
        for issue in self:
            issue.kind = "transient" if issue.transient else "person"

    @api.depends("operation")
    def _compute_operation_label(self):
        for issue in self:
            label = const.OPERATIONS.get(issue.operation)
            issue.operation_label = (
                "%s (%s)" % (label, issue.operation) if label else issue.operation
            )

    @api.depends("operation", "res_id", "mirakl_ref", "state", "category")
    def _compute_mirakl_held_order(self):
        for issue in self:
            issue.mirakl_held_order = bool(
                issue.state == "open"
                and issue.operation == "OR11"
                and not issue.res_id
                and mappers.usable_id(issue.mirakl_ref)
                and issue.mirakl_ref != CRASH_REF
                and issue.category != "lost"
            )

    @api.depends("res_model", "res_id")
    def _compute_record_name(self):
        # One existence check per related model, not one per issue (list views).
        ids_by_model = defaultdict(set)
        for issue in self:
            if issue.res_model in self.env and issue.res_id:
                ids_by_model[issue.res_model].add(issue.res_id)
        names = {}
        for model, ids in ids_by_model.items():
            for record in self.env[model].browse(ids).exists():
                names[model, record.id] = record.display_name
        for issue in self:
            name = names.get((issue.res_model, issue.res_id))
            if not name and issue.mirakl_ref and issue.operation in ORDER_OPERATIONS:
                name = _(
                    "Mirakl order %(order)s (no Sales Order)", order=issue.mirakl_ref
                )
            elif not name and not issue.res_model:
                name = issue.backend_id.display_name
            issue.record_name = name or False

    # === ACTION METHODS === #

    def action_retry(self):
        """Run the failed operation again; resolve the issue when it succeeds."""
        self.ensure_one()
        if self.state != "open":
            raise UserError(_("Only open issues can be retried."))
        operator = self.backend_id._mirakl_as_operator()
        target = self._mirakl_related_record() or self.backend_id
        target = target.with_env(operator.env)
        handler = getattr(target, "_mirakl_retry_issue", None)
        result = handler(self) if handler else None
        if result is None and target != self.backend_id:
            result = operator._mirakl_retry_issue(self)
        if result is None:
            raise UserError(
                _(
                    "%(operation)s has no automatic retry. Fix the cause, then mark "
                    "the issue as resolved.",
                    operation=self.operation_label,
                )
            )
        if result and self.state == "open":
            self._mirakl_close(_("Retried successfully"))
        title = _("Retry succeeded") if result else _("Retry failed")
        return self.backend_id._mirakl_notification(
            title,
            self.message if not result else self.name,
            "success" if result else "danger",
        )

    def action_resolve(self):
        self.filtered(lambda i: i.state == "open")._mirakl_close(
            _("Marked as resolved")
        )

    def action_reopen(self):
        for issue in self.filtered(lambda i: i.state == "resolved"):
            issue.write(
                {
                    "state": "open",
                    "resolved_date": False,
                    "resolved_by_id": False,
                    "resolution": False,
                }
            )

    def action_open_record(self):
        self.ensure_one()
        record = self._mirakl_related_record()
        if not record:
            raise UserError(_("This issue is not linked to an Odoo record."))
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
        }

    # === BUSINESS METHODS === #

    def _mirakl_related_record(self):
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        record = self.env[self.res_model].browse(self.res_id).exists()
        return record or None

    def _mirakl_close(self, resolution):
        self.write(
            {
                "state": "resolved",
                "resolved_date": fields.Datetime.now(),
                "resolved_by_id": self.env.uid,
                "resolution": resolution,
            }
        )
        self.activity_ids.action_feedback(feedback=resolution)

    @api.model
    def _mirakl_key_domain(self, backend, operation, record=None, mirakl_ref=None):
        return [
            ("backend_id", "=", backend.id),
            ("operation", "=", operation),
            ("res_model", "=", record._name if record else False),
            ("res_id", "in", [record.id] if record else [0, False]),
            ("mirakl_ref", "=", mirakl_ref or False),
            ("state", "=", "open"),
        ]

    @api.model
    def _mirakl_record(
        self,
        backend,
        operation,
        message,
        category="other",
        record=None,
        mirakl_ref=None,
        transient=False,
        http_status=None,
        error_code=None,
        request_excerpt=None,
        response_excerpt=None,
        deadline=None,
        bump=True,
    ):
        """File a failure (or bump the open issue of the same key); return it.

        Every text is redacted against the shop's API key before it is stored.
        A new issue schedules a warning activity for the shop's responsible.
        ``bump=False`` leaves an existing open issue as it is (a reminder that
        must not overwrite the failure it reminds of).
        """
        backend = backend.sudo()
        secrets = [backend.api_key] if backend.api_key else []
        vals = {
            "category": category,
            "message": redact(str(message), secrets) or _("Unknown error"),
            "transient": transient,
            "http_status": http_status or 0,
            "error_code": error_code or False,
            "request_excerpt": excerpt(redact(request_excerpt, secrets)) or False,
            "response_excerpt": excerpt(redact(response_excerpt, secrets)) or False,
            "last_attempt_date": fields.Datetime.now(),
        }
        if deadline:
            vals["deadline"] = deadline
        guard = self.env.context.get("mirakl_issue_guard")
        if guard is not None:
            guard["none_open"] = False  # resolving must search again
        Issue = self.sudo()
        key = self._mirakl_key_domain(backend, operation, record, mirakl_ref)
        issue = Issue.search(key, limit=1)
        if not issue:
            if self._mirakl_filed_elsewhere(backend, operation, record, mirakl_ref):
                # Another worker filed the same failure since this transaction
                # began; it is invisible here (Odoo's snapshot), and it stands.
                return Issue
            return self._mirakl_create_issue(
                backend, operation, record, mirakl_ref, vals
            )
        if not bump:
            if deadline and not issue.deadline:
                issue.deadline = deadline
            return issue
        # A failed call again is an attempt; an Odoo-side check that finds the
        # same problem at its next run only refreshes "last seen".
        if category in const.CALL_CATEGORIES or vals["message"] != issue.message:
            vals["attempts"] = issue.attempts + 1
        issue.write(vals)
        if transient:
            issue._mirakl_alert_if_lasting()
        return issue

    def _mirakl_alert_if_lasting(self):
        """A transient failure alerts a person once it lasts."""
        self.ensure_one()
        if self.activity_ids or self.attempts < const.TRANSIENT_ALERT_ATTEMPTS:
            return
        lasting = fields.Datetime.now() - self.first_seen_date
        if lasting.total_seconds() < const.TRANSIENT_ALERT_MINUTES * 60:
            return
        self._mirakl_alert(
            _(
                "Mirakl: %(name)s keeps failing (%(attempts)s attempts)",
                name=self.name,
                attempts=self.attempts,
            )
        )

    def _mirakl_alert(self, summary):
        """A warning activity for the shop's responsible (finance's for money)."""
        self.ensure_one()
        backend = self.backend_id
        user = backend.user_id
        if self.operation in const.FINANCE_OPERATIONS and backend.finance_user_id:
            user = backend.finance_user_id
        if user:
            self.activity_schedule(
                "mail.mail_activity_data_warning",
                summary=summary,
                note=self.message,
                user_id=user.id,
            )

    @api.model
    def _mirakl_filed_elsewhere(self, backend, operation, record, mirakl_ref):
        """Claim the key of a new issue; True when another worker has it.

        A transaction lock on the key serialises concurrent filers; a fresh
        cursor sees an issue another worker committed after this transaction
        began (and the partial unique index stays the last word).
        """
        res_model = record._name if record else ""
        res_id = record.id if record else 0
        self.env.cr.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            (
                backend.id,
                "issue/%s/%s/%s/%s" % (operation, res_model, res_id, mirakl_ref or ""),
            ),
        )
        return backend._mirakl_committed_since(
            """
            SELECT 1 FROM mirakl_sync_issue
             WHERE backend_id = %s AND operation = %s AND state = 'open'
               AND COALESCE(res_model, '') = %s AND COALESCE(res_id, 0) = %s
               AND COALESCE(mirakl_ref, '') = %s
            """,
            (backend.id, operation, res_model, res_id, mirakl_ref or ""),
        )

    @api.model
    def _mirakl_create_issue(self, backend, operation, record, mirakl_ref, vals):
        """Create a new open issue and alert the shop's responsible.

        :raises psycopg2.errors.UniqueViolation: an open issue of this key exists
        """
        with self.env.cr.savepoint():
            issue = self.sudo().create(
                dict(
                    vals,
                    backend_id=backend.id,
                    operation=operation,
                    res_model=record._name if record else False,
                    res_id=record.id if record else False,
                    mirakl_ref=mirakl_ref or False,
                )
            )
        _logger.info(
            "Mirakl shop %s: sync issue %s filed (%s, %s)",
            backend.id,
            issue.id,
            operation,
            vals["category"],
        )
        # Activities only for what needs a person: a transient failure (a
        # timeout, a passing HTTP 500) alerts only once it lasts.
        if not vals["transient"]:
            issue._mirakl_alert(_("Mirakl: %(name)s", name=issue.name))
        return issue

    def _mirakl_mark_lost(self, deadline):
        """The order behind this issue missed its acceptance window."""
        for issue in self.filtered(lambda i: i.category != "lost"):
            issue.write(
                {
                    "category": "lost",
                    "deadline": deadline,
                    "message": _(
                        "Order %(order)s is lost: it could not be imported and "
                        "accepted before %(deadline)s (UTC). It is no longer "
                        "retried automatically. Cause: %(previous)s",
                        order=issue.mirakl_ref,
                        deadline=deadline,
                        previous=issue.message,
                    ),
                }
            )
        return self._mirakl_escalate()

    def _mirakl_escalate(self):
        """Urgent from now on: one new activity due at the deadline, once."""
        for issue in self.filtered(
            lambda i: i.state == "open" and not i.escalated_date
        ):
            issue.write({"priority": "1", "escalated_date": fields.Datetime.now()})
            backend = issue.backend_id
            if backend.user_id:
                issue.activity_schedule(
                    "mail.mail_activity_data_warning",
                    date_deadline=(issue.deadline or fields.Datetime.now()).date(),
                    summary=_("URGENT Mirakl: %(name)s", name=issue.name),
                    note=issue.message,
                    user_id=backend.user_id.id,
                )
            record = issue._mirakl_related_record()
            if record and hasattr(record, "message_post"):
                record.message_post(
                    body=_("Mirakl alert escalated: %(message)s", message=issue.message)
                )
            _logger.info(
                "Mirakl shop %s: issue %s escalated (deadline %s)",
                backend.id,
                issue.id,
                issue.deadline,
            )
        return self

    @api.model
    def _mirakl_record_error(
        self, backend, operation, error, record=None, mirakl_ref=None, deadline=None
    ):
        """File a ``MiraklError`` raised by the client."""
        return self._mirakl_record(
            backend,
            operation,
            message=backend._mirakl_explain(error),
            category=error.category,
            record=record,
            mirakl_ref=mirakl_ref,
            transient=error.transient,
            http_status=error.status,
            error_code=error.code,
            request_excerpt=error.request_excerpt,
            response_excerpt=error.response_excerpt,
            deadline=deadline,
        )

    @api.model
    def _mirakl_resolve(
        self, backend, operation, record=None, mirakl_ref=None, resolution=None
    ):
        """Close the open issue of this key after the operation succeeded.

        The order import passes a ``mirakl_issue_guard`` context when it knows
        no issue about the order is open: then there is nothing to search.
        """
        guard = self.env.context.get("mirakl_issue_guard")
        if guard and guard.get("none_open"):
            return self.browse()
        issues = self.sudo().search(
            self._mirakl_key_domain(backend, operation, record, mirakl_ref)
        )
        if issues:
            issues._mirakl_close(resolution or _("Resolved by a later successful call"))
        return issues
