-- Console passwords (issue 20): one more kind of entity, `password_policy` (the account password
-- policy, one row per account). Login profiles live in their user's document (argon2id hashes
-- only). SQLite cannot change a CHECK: the table is made again with the new one and its rows
-- copied over.
CREATE TABLE idbroker_directory_entities_v3 (
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('account', 'managed_policy', 'group', 'user', 'role', 'saml_provider', 'oidc_provider', 'mfa_device', 'password_policy')),
    name_key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, name_key)
);
INSERT INTO idbroker_directory_entities_v3 (account_id, kind, name_key, body)
    SELECT account_id, kind, name_key, body FROM idbroker_directory_entities;
DROP TABLE idbroker_directory_entities;
ALTER TABLE idbroker_directory_entities_v3 RENAME TO idbroker_directory_entities;
