-- 0014: the secrets tenants store are encrypted at rest with the key ring (issue 20):
-- `webhooks.secret`/`previous_secret` and `carrier_accounts.auth_token`/`api_key` hold
-- `enc:v1:<key id>:<base64url>` from now on (centralita/kernel/stored_secrets.py).
-- Values written before stay readable as they are until `centralita keys rotate`
-- seals them.
--
-- A carrier account's listing shows its secret's last four characters; with the secret
-- sealed they can no longer be read from it in SQL, so they are kept beside it, taken
-- at creation (and here, from the clear values written before).
ALTER TABLE carrier_accounts ADD COLUMN secret_hint text;
UPDATE carrier_accounts SET secret_hint = right(COALESCE(auth_token, api_key), 4)
    WHERE NOT starts_with(COALESCE(auth_token, api_key), 'enc:v1:');
