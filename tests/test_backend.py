"""The shop record: configuration rules, Test connection, access, sync issues."""

import socket

import psycopg2

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import file_open, mute_logger

from .. import const
from .common import API_KEY, SHOP_ID, MiraklCommon, capture_logs


def closed_loopback_port():
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestBackendConfiguration(MiraklCommon):
    def test_https_only_except_loopback(self):
        Backend = self.env["mirakl.backend"]
        for url in (
            "http://marketplace.example.com",
            "ftp://marketplace.example.com",
            "marketplace.example.com",
            "https://marketplace.example.com?x=1",
        ):
            with self.subTest(url=url), self.assertRaises(ValidationError):
                Backend.create({"name": url, "api_url": url})
        for url in (
            "https://marketplace.mirakl.net",
            "http://127.0.0.1:8070",
            "http://127.0.0.5:8070",
            "http://localhost:8070",
            "http://[::1]:8070",
        ):
            with self.subTest(url=url):
                self.assertTrue(Backend.create({"name": url, "api_url": url}))

    def test_url_and_key_are_normalised(self):
        backend = self.env["mirakl.backend"].create(
            {
                "name": "Trailing",
                "api_url": " https://marketplace.mirakl.net/ ",
                "api_key": " abc ",
            }
        )
        self.assertEqual(backend.api_url, "https://marketplace.mirakl.net")
        self.assertEqual(backend.api_key, "abc")

    def test_shop_id_is_numeric(self):
        with self.assertRaises(ValidationError):
            self.backend.shop_id = "shop-1"

    def test_changing_credentials_resets_connection_state(self):
        self.backend.action_mirakl_test_connection()
        self.assertEqual(self.backend.connection_state, "ok")
        self.backend.api_key = "another-key"
        self.assertEqual(self.backend.connection_state, "untested")

    def test_missing_key_is_a_config_issue(self):
        self.backend.api_key = False
        result = self.backend.action_mirakl_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
        issue = self.backend.issue_ids
        self.assertEqual((issue.operation, issue.category), ("A01", "config"))
        self.assertFalse(self.control.calls(), "nothing may be sent without a key")


@tagged("post_install", "-at_install")
class TestConnection(MiraklCommon):
    def _test(self):
        return self.backend.action_mirakl_test_connection()

    def _assert_failed(self, result, category, words):
        self.assertEqual(result["params"]["type"], "danger")
        self.assertEqual(self.backend.connection_state, "failed")
        message = result["params"]["message"]
        self.assertIn(words, message)
        self.assertEqual(self.backend.connection_message, message)
        issue = self.backend.issue_ids.filtered(lambda i: i.state == "open")
        self.assertEqual(len(issue), 1)
        self.assertEqual((issue.operation, issue.category), ("A01", category))
        self.assertEqual(issue.message, message)
        return issue

    def test_success_shows_shop_name_and_state(self):
        result = self._test()
        self.assertEqual(result["params"]["type"], "success")
        account = self.control.calls("A01")
        self.assertEqual(len(account), 1)
        self.assertEqual(account[0]["auth"], "valid")
        self.assertEqual(account[0]["query"].get("shop_id"), str(SHOP_ID))
        self.assertTrue(self.backend.mirakl_shop_name)
        self.assertIn(self.backend.mirakl_shop_name, result["params"]["message"])
        self.assertEqual(self.backend.mirakl_shop_state, "OPEN")
        self.assertIn("Open", result["params"]["message"])
        self.assertEqual(self.backend.connection_state, "ok")
        self.assertEqual(self.backend.mirakl_currency, "GBP")
        # The platform flags are read right after (PC01).
        self.assertEqual(len(self.control.calls("PC01")), 1)
        self.assertEqual(self.backend.platform_order_tax_mode, "TAX_INCLUDED")
        self.assertTrue(self.backend.platform_config)
        self.assertFalse(self.backend.issue_ids)

    def test_platform_flags_follow_the_platform(self):
        self.control.config(partial_acceptance=True, multi_shipment=True)
        self._test()
        self.assertTrue(self.backend.platform_partial_acceptance)
        self.assertTrue(self.backend.platform_multi_shipment)
        self.control.config(partial_acceptance=False, multi_shipment=False)
        self._test()
        self.assertFalse(self.backend.platform_partial_acceptance)
        self.assertFalse(self.backend.platform_multi_shipment)

    def test_wrong_url(self):
        self.backend.api_url = self.sandbox_url + "/marketplace"
        issue = self._assert_failed(self._test(), "not_found", "Wrong URL")
        self.assertEqual(issue.http_status, 404)
        self.assertIn("/marketplace (404 Not Found for /api/account)", issue.message)

    def test_refused_key(self):
        self.backend.api_key = "not-the-key"
        issue = self._assert_failed(self._test(), "auth", "API key was refused")
        self.assertEqual(issue.http_status, 401)
        self.assertEqual(self.control.calls("A01")[0]["auth"], "invalid")

    def test_other_shop_refused(self):
        self.backend.shop_id = "999"
        self._assert_failed(self._test(), "auth", "API key was refused")

    def test_unreachable_host(self):
        self.backend.api_url = "http://127.0.0.1:%d" % closed_loopback_port()
        issue = self._assert_failed(self._test(), "connection", "Cannot reach")
        self.assertTrue(issue.transient)

    def test_tls_error(self):
        # The sandbox speaks plain HTTP: a TLS handshake with it fails for real.
        self.backend.api_url = self.sandbox_url.replace("http://", "https://")
        self._assert_failed(self._test(), "tls", "TLS error")

    def test_answer_that_is_not_mirakls(self):
        for kind in ("html", "malformed"):
            with self.subTest(kind=kind):
                self.control.clear_faults()
                self.control.fault(kind, operation="A01", count=5)
                self._assert_failed(self._test(), "protocol", "not like the Mirakl API")

    def test_timeout(self):
        self.backend.read_timeout = 1
        self.control.fault("slow", operation="A01", delay=1.6, count=5)
        issue = self._assert_failed(self._test(), "timeout", "did not answer in time")
        self.assertTrue(issue.transient)

    def test_server_error_then_recovery_resolves_the_issue(self):
        self.control.fault("500", operation="A01", count=10)
        issue = self._assert_failed(self._test(), "server", "server error")
        self.control.clear_faults()
        result = self._test()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(issue.resolution, "Resolved by a later successful call")


@tagged("post_install", "-at_install")
class TestSettings(MiraklCommon):
    def test_settings_count_the_company_shops(self):
        """Settings > Sales opens on a new settings record (onchange): the
        count of Mirakl shops must be there (it read 0 with a shop)."""
        values = self.env["res.config.settings"].onchange(
            {}, [], {"mirakl_backend_count": {}, "company_id": {}}
        )["value"]
        self.assertEqual(
            values["mirakl_backend_count"],
            self.env["mirakl.backend"].search_count(
                [("company_id", "=", self.env.company.id)]
            ),
        )
        self.assertGreaterEqual(values["mirakl_backend_count"], 1)


@tagged("post_install", "-at_install")
class TestSyncIssues(MiraklCommon):
    def test_repeated_failure_is_one_issue_with_attempts(self):
        self.backend.api_key = "wrong"
        self.backend.action_mirakl_test_connection()
        self.backend.action_mirakl_test_connection()
        issues = self.backend.issue_ids
        self.assertEqual(len(issues), 1)
        self.assertEqual(issues.attempts, 2)
        self.assertEqual(self.backend.open_issue_count, 1)

    def test_new_issue_alerts_the_responsible(self):
        responsible = new_test_user(
            self.env,
            "mirakl_resp",
            groups="mirakl_connector.mirakl_connector_group_user",
        )
        self.backend.user_id = responsible
        self.backend.api_key = "wrong"
        self.backend.action_mirakl_test_connection()
        issue = self.backend.issue_ids
        self.assertEqual(issue.activity_ids.user_id, responsible)
        self.assertEqual(
            issue.activity_ids.activity_type_id,
            self.env.ref("mail.mail_activity_data_warning"),
        )
        issue.action_resolve()
        self.assertEqual(issue.state, "resolved")
        self.assertFalse(issue.activity_ids, "resolving closes the alert")

    def test_a_recheck_is_not_an_attempt(self):
        """An Odoo-side check finding the same problem at every run refreshes
        "last seen"; only failed calls count as attempts."""
        Issue = self.env["mirakl.sync.issue"]
        issue = Issue._mirakl_record(
            self.backend, "OR11", "Unknown SKU X", category="mapping", mirakl_ref="M-1"
        )
        seen = issue.last_attempt_date
        for _run in range(3):
            Issue._mirakl_record(
                self.backend,
                "OR11",
                "Unknown SKU X",
                category="mapping",
                mirakl_ref="M-1",
            )
        self.assertEqual(issue.attempts, 1)
        self.assertGreaterEqual(issue.last_attempt_date, seen)
        Issue._mirakl_record(
            self.backend, "OR11", "Unknown SKU Y", category="mapping", mirakl_ref="M-1"
        )
        self.assertEqual(issue.attempts, 2, "a different finding counts")
        self.assertEqual(issue.record_name, "Mirakl order M-1 (no Sales Order)")
        shop_issue = Issue._mirakl_record(self.backend, "PC01", "x", category="server")
        self.assertEqual(shop_issue.record_name, self.backend.display_name)

    def test_transient_failure_alerts_only_once_it_lasts(self):
        """A passing HTTP 500 schedules no activity; one lasting does."""
        Issue = self.env["mirakl.sync.issue"]

        def fail():
            return Issue._mirakl_record(
                self.backend, "OR11", "HTTP 500", category="server", transient=True
            )

        issue = fail()
        self.assertEqual(issue.kind, "transient")
        self.assertFalse(issue.activity_ids)
        for _attempt in range(const.TRANSIENT_ALERT_ATTEMPTS):
            fail()
        self.assertFalse(issue.activity_ids, "not yet lasting long enough")
        issue.first_seen_date = fields.Datetime.subtract(
            fields.Datetime.now(), minutes=const.TRANSIENT_ALERT_MINUTES + 1
        )
        fail()
        self.assertEqual(len(issue.activity_ids), 1)
        self.assertIn("keeps failing", issue.activity_ids.summary)
        fail()
        self.assertEqual(len(issue.activity_ids), 1, "alerted once")

    def test_responsible_without_mirakl_access_still_gets_the_alert(self):
        clerk = new_test_user(self.env, "clerk_no_mirakl", groups="base.group_user")
        self.backend.user_id = clerk
        self.backend.api_key = "wrong"
        self.backend.action_mirakl_test_connection()
        self.assertEqual(self.backend.issue_ids.activity_ids.user_id, clerk)

    def test_one_open_issue_per_key_even_under_concurrency(self):
        """A partial unique index backs the search-then-create of _mirakl_record."""
        Issue = self.env["mirakl.sync.issue"]
        issue = Issue._mirakl_record(self.backend, "OR21", "first", mirakl_ref="A-1")
        duplicate = {
            "backend_id": self.backend.id,
            "operation": "OR21",
            "mirakl_ref": "A-1",
            "message": "second worker",
        }
        with (
            self.assertRaises(psycopg2.errors.UniqueViolation),
            self.env.cr.savepoint(),
            mute_logger("odoo.sql_db"),
        ):
            Issue.create(duplicate)
        issue.action_resolve()
        reopened = Issue.create(duplicate)  # a resolved issue no longer blocks
        self.assertNotEqual(reopened, issue)

    def test_retry_button(self):
        self.backend.api_key = "wrong"
        self.backend.action_mirakl_test_connection()
        issue = self.backend.issue_ids
        result = issue.action_retry()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertEqual((issue.state, issue.attempts), ("open", 2))
        self.backend.api_key = API_KEY
        result = issue.action_retry()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(self.backend.connection_state, "ok")
        with self.assertRaises(UserError):
            issue.action_retry()
        issue.action_reopen()
        self.assertEqual(issue.state, "open")

    def test_issue_about_a_record_links_to_it(self):
        partner = self.env["res.partner"].create({"name": "Linked"})
        Issue = self.env["mirakl.sync.issue"]
        issue = Issue._mirakl_record(
            self.backend,
            "OR11",
            "Unknown SKU XYZ",
            category="mapping",
            record=partner,
            mirakl_ref="MKP-1-A",
        )
        self.assertEqual(issue.record_name, "Linked")
        self.assertEqual(issue.action_open_record()["res_id"], partner.id)
        self.assertEqual(issue.name, "Import orders · Unmapped data · MKP-1-A")
        same = Issue._mirakl_record(
            self.backend,
            "OR11",
            "Unknown SKU XYZ",
            category="mapping",
            record=partner,
            mirakl_ref="MKP-1-A",
        )
        self.assertEqual(same, issue)
        other = Issue._mirakl_record(
            self.backend,
            "OR11",
            "Unknown SKU XYZ",
            category="mapping",
            mirakl_ref="MKP-2-A",
        )
        self.assertNotEqual(other, issue)
        no_retry = Issue._mirakl_record(
            self.backend, "ST12", "Items to ship failed", record=partner
        )
        with self.assertRaises(UserError):
            no_retry.action_retry()  # no automatic retry for that operation

    def test_key_is_never_stored_or_logged(self):
        """The API key appears in no log line, exception, or stored excerpt."""
        with capture_logs() as logs:
            self.backend.action_mirakl_test_connection()
            for kind in ("500", "html", "malformed", "429"):
                self.control.clear_faults()
                self.control.fault(kind, operation="A01", count=10)
                self.backend.action_mirakl_test_connection()
            self.control.clear_faults()
            self.backend.shop_id = "999"
            self.backend.action_mirakl_test_connection()
            # A key that Mirakl refuses must stay secret too.
            self.backend.write(
                {"api_key": "refused-" + API_KEY, "shop_id": str(SHOP_ID)}
            )
            self.backend.action_mirakl_test_connection()
        self.assertTrue(logs.lines, "the client logs every call")
        self.assertNotIn(API_KEY, logs.text)
        issues = self.backend.issue_ids
        self.assertGreaterEqual(len(issues), 1)
        texts = issues.read(
            ["message", "request_excerpt", "response_excerpt", "name", "error_code"]
        )
        self.assertNotIn(API_KEY, repr(texts))
        self.assertNotIn(API_KEY, self.backend.connection_message or "")
        messages = self.env["mail.message"].search(
            [("model", "in", ("mirakl.backend", "mirakl.sync.issue"))]
        )
        self.assertNotIn(API_KEY, repr(messages.mapped("body")))

    def test_excerpts_are_redacted(self):
        issue = self.env["mirakl.sync.issue"]._mirakl_record(
            self.backend,
            "OR21",
            "echo %s" % API_KEY,
            request_excerpt='{"Authorization": "%s"}' % API_KEY,
            response_excerpt="x" * 5000 + API_KEY,
        )
        self.assertNotIn(
            API_KEY, issue.message + issue.request_excerpt + issue.response_excerpt
        )
        self.assertLess(len(issue.response_excerpt), 2100)


@tagged("post_install", "-at_install")
class TestAccess(MiraklCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mirakl_user = new_test_user(
            cls.env,
            "mirakl_user",
            groups="mirakl_connector.mirakl_connector_group_user",
        )
        cls.mirakl_manager = new_test_user(
            cls.env,
            "mirakl_manager",
            groups="mirakl_connector.mirakl_connector_group_manager",
        )
        cls.plain_user = new_test_user(cls.env, "plain_user", groups="base.group_user")
        cls.sysadmin = new_test_user(
            cls.env, "sysadmin_user", groups="base.group_user,base.group_system"
        )

    def test_api_key_readable_by_managers_and_admins_only(self):
        backend_as_user = self.backend.with_user(self.mirakl_user)
        self.assertEqual(backend_as_user.name, "Sandbox shop")
        with self.assertRaises(AccessError):
            backend_as_user.read(["api_key"])
        self.assertEqual(self.backend.with_user(self.mirakl_manager).api_key, API_KEY)
        self.assertEqual(self.backend.with_user(self.sysadmin).api_key, API_KEY)
        self.assertNotIn(
            "api_key",
            self.env["mirakl.backend"].with_user(self.mirakl_user).fields_get(),
        )

    def test_users_read_and_retry_managers_configure(self):
        with self.assertRaises(AccessError):
            self.backend.with_user(self.mirakl_user).write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            self.env["mirakl.backend"].with_user(self.plain_user).search([])
        self.backend.with_user(self.mirakl_manager).write({"name": "Renamed"})
        self.backend.api_key = "wrong"
        self.backend.action_mirakl_test_connection()
        issue = self.backend.issue_ids.with_user(self.mirakl_user)
        issue.action_resolve()  # operations may close an issue
        self.assertEqual(issue.state, "resolved")
        with self.assertRaises(AccessError):
            issue.unlink()

    def test_user_retry_uses_the_key_without_reading_it(self):
        self.backend.shop_id = "999"
        self.backend.action_mirakl_test_connection()
        self.backend.shop_id = str(SHOP_ID)
        issue = self.backend.issue_ids.with_user(self.mirakl_user)
        result = issue.action_retry()
        self.assertEqual(result["params"]["type"], "success")

    def test_multi_company_rules(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        other_backend = self.env["mirakl.backend"].create(
            {
                "name": "Other shop",
                "company_id": other_company.id,
                "api_url": "https://other.mirakl.net",
            }
        )
        self.env["mirakl.sync.issue"]._mirakl_record(other_backend, "A01", "x")
        Backend = self.env["mirakl.backend"].with_user(self.mirakl_manager)
        self.assertNotIn(other_backend, Backend.search([]))
        Issue = self.env["mirakl.sync.issue"].with_user(self.mirakl_manager)
        self.assertFalse(Issue.search([("backend_id", "=", other_backend.id)]))
        self.mirakl_manager.company_ids |= other_company
        allowed = Backend.with_context(
            allowed_company_ids=[self.company.id, other_company.id]
        ).search([])
        self.assertIn(other_backend, allowed)


@tagged("post_install", "-at_install")
class TestCronAndNeutralize(MiraklCommon):
    def test_cron_refreshes_every_shop_and_files_failures(self):
        broken = self.backend.copy({"name": "Broken shop", "api_key": "wrong"})
        self.env["mirakl.backend"]._cron_mirakl_refresh_platform()
        self.assertEqual(self.backend.connection_state, "ok")
        self.assertTrue(self.backend.platform_checked_at)
        self.assertEqual(broken.connection_state, "failed")
        self.assertEqual(broken.issue_ids.category, "auth")
        cron = self.env.ref("mirakl_connector.ir_cron_mirakl_refresh_platform")
        self.assertEqual(cron.code, "model._cron_mirakl_refresh_platform()")

    def test_neutralize_blanks_keys(self):
        with file_open("mirakl_connector/data/neutralize.sql") as handle:
            self.env.cr.execute(handle.read())
        self.env.invalidate_all()
        self.assertFalse(self.backend.active)
        self.assertFalse(self.backend.api_key)
