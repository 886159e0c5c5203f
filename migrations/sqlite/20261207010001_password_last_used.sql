-- When each IAM user's console password last signed them in (GetUser's and ListUsers'
-- PasswordLastUsed): kept apart from the directory's documents, written in batches, and not
-- part of the directory's version (as idbroker_access_key_last_used). Keyed by the user's ARN;
-- a time from before the user's creation belongs to an earlier user of that name and is not
-- reported.
CREATE TABLE idbroker_password_last_used (
    user_arn TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    used_at INTEGER NOT NULL
);
CREATE INDEX idbroker_password_last_used_account ON idbroker_password_last_used (account_id);
