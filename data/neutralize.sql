-- Copies of a production database (neutralized by Odoo) must never talk to
-- the live marketplace: deactivate every Mirakl shop and blank its API key.
UPDATE mirakl_backend SET active = false, api_key = NULL;
