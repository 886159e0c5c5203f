-- Virtual MFA devices (issue 20): one more kind of entity, `mfa_device` (keyed by path and name;
-- its seed sealed in its JSON document). The CHECK on kind is replaced, the rows are kept.
ALTER TABLE idbroker_directory_entities DROP CONSTRAINT idbroker_directory_entities_kind_check;
ALTER TABLE idbroker_directory_entities ADD CONSTRAINT idbroker_directory_entities_kind_check
    CHECK (kind IN ('account', 'managed_policy', 'group', 'user', 'role', 'saml_provider', 'oidc_provider', 'mfa_device'));
