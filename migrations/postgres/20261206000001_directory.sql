-- The directory as data (src/directory/store.rs): one row of meta (the version every replica
-- polls, the first account), one row per entity of every account (its JSON document, names unique
-- case-insensitively per account; kind account: another account and its alias), and when
-- each long-term access key was last used (not part of the directory's version).
CREATE TABLE idbroker_directory_meta (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    account_alias TEXT
);

CREATE TABLE idbroker_directory_entities (
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('account', 'managed_policy', 'group', 'user', 'role', 'saml_provider', 'oidc_provider')),
    name_key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, name_key)
);

CREATE TABLE idbroker_access_key_last_used (
    access_key_id TEXT PRIMARY KEY,
    used_at BIGINT NOT NULL,
    service_name TEXT NOT NULL,
    region TEXT NOT NULL
);
