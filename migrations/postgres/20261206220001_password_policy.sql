-- Console passwords (issue 20): one more kind of entity, `password_policy` (the account password
-- policy, one row per account). Login profiles live in their user's document (argon2id hashes
-- only). The CHECK on kind is replaced, the rows are kept.
ALTER TABLE idbroker_directory_entities DROP CONSTRAINT idbroker_directory_entities_kind_check;
ALTER TABLE idbroker_directory_entities ADD CONSTRAINT idbroker_directory_entities_kind_check
    CHECK (kind IN ('account', 'managed_policy', 'group', 'user', 'role', 'saml_provider', 'oidc_provider', 'mfa_device', 'password_policy'));
