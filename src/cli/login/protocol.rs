//! The answers of the server's command-line sign-in endpoints (`/console/cli/token`,
//! `/console/device/authorize`, `/console/cli/credentials`), read and checked: every value that
//! is used later (written to a file, printed for a shell, sent back) has its shape checked here.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

use crate::clock::Utc;

/// `POST /console/cli/token`'s answer: a short-lived ticket for the roles the sign-in granted.
#[derive(Deserialize)]
pub struct TokenAnswer {
    /// Exchanged for credentials at `/console/cli/credentials` (a bearer secret, zeroized on
    /// drop).
    pub ticket: String,
    /// The ticket's lifetime in seconds.
    pub expires_in: u64,
    /// The identity provider's ARN.
    pub provider: String,
    /// Who signed in.
    pub subject: String,
    /// The roles the ticket may be exchanged for.
    pub roles: Vec<RoleOption>,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAnswer")
            .field("provider", &self.provider)
            .field("subject", &self.subject)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// One role a ticket may be exchanged for.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RoleOption {
    /// The role's ARN.
    pub role_arn: String,
    /// The session name its credentials will carry.
    pub session_name: String,
    /// Their lifetime in seconds.
    pub duration_seconds: u64,
}

/// `POST /console/device/authorize`'s answer (RFC 8628 section 3.2).
#[derive(Deserialize)]
pub struct DeviceAuthorization {
    /// Polled with at the token endpoint (a bearer secret, zeroized on drop).
    pub device_code: String,
    /// What the person types at `verification_uri`, like `BCDF-GHJK`.
    pub user_code: String,
    /// Where the person goes.
    pub verification_uri: String,
    /// The same with the code in it.
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    /// Lifetime of the codes, in seconds.
    pub expires_in: u64,
    /// Seconds between polls (RFC 8628: 5 when absent).
    #[serde(default)]
    pub interval: Option<u64>,
}

impl Drop for TokenAnswer {
    fn drop(&mut self) {
        self.ticket.zeroize();
    }
}

impl Drop for DeviceAuthorization {
    fn drop(&mut self) {
        self.device_code.zeroize();
    }
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// An error answer: `{"error": "...", "error_description": "..."}`.
#[derive(Debug, Deserialize)]
pub struct ErrorAnswer {
    /// `authorization_pending`, `invalid_grant`, ...
    pub error: String,
    /// Words for a person.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// Temporary credentials, from `POST /console/cli/credentials` or the cache.
pub struct Credentials {
    /// `ASIA...`.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: Zeroizing<String>,
    /// The session token.
    pub session_token: Zeroizing<String>,
    /// When they expire.
    pub expiration: SystemTime,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` (empty when not told).
    pub assumed_role_arn: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &Utc(self.expiration))
            .field("assumed_role_arn", &self.assumed_role_arn)
            .finish_non_exhaustive()
    }
}

/// The credentials document as written: `Version`, `AccessKeyId`, `SecretAccessKey`,
/// `SessionToken`, `Expiration`, `AssumedRoleArn`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialsDoc {
    #[serde(default)]
    version: Option<u64>,
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
    #[serde(default)]
    assumed_role_arn: Option<String>,
}

impl Drop for CredentialsDoc {
    fn drop(&mut self) {
        self.secret_access_key.zeroize();
        self.session_token.zeroize();
    }
}

/// Characters of a secret or token: base64 (either alphabet) and `.`. None of them is special
/// to a shell (`--env` prints them unquoted) or to the credentials file's syntax.
fn token_chars(s: &str) -> bool {
    s.bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_' | b'.'))
}

/// Text to be shown or sent back: no control character, at most `max` bytes.
pub fn plain(s: &str, max: usize) -> bool {
    s.len() <= max && !s.chars().any(char::is_control)
}

impl TryFrom<CredentialsDoc> for Credentials {
    type Error = String;

    fn try_from(doc: CredentialsDoc) -> Result<Self, String> {
        if doc.version.is_some_and(|v| v != 1) {
            return Err("Version is not 1".into());
        }
        let id = &doc.access_key_id;
        if !(16..=128).contains(&id.len())
            || !id
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err("AccessKeyId is not an access key id".into());
        }
        if !(1..=1024).contains(&doc.secret_access_key.len())
            || !token_chars(&doc.secret_access_key)
        {
            return Err("SecretAccessKey has characters a secret key does not have".into());
        }
        if !(1..=16384).contains(&doc.session_token.len()) || !token_chars(&doc.session_token) {
            return Err("SessionToken has characters a session token does not have".into());
        }
        let expiration = parse_utc(&doc.expiration)
            .ok_or("Expiration is not an ISO 8601 time such as 2026-12-06T19:00:00Z")?;
        let arn = doc.assumed_role_arn.clone().unwrap_or_default();
        if !plain(&arn, 2048) {
            return Err("AssumedRoleArn is not an ARN".into());
        }
        Ok(Credentials {
            access_key_id: doc.access_key_id.clone(),
            secret_access_key: Zeroizing::new(doc.secret_access_key.clone()),
            session_token: Zeroizing::new(doc.session_token.clone()),
            expiration,
            assumed_role_arn: arn,
        })
    }
}

impl<'de> Deserialize<'de> for Credentials {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Credentials::try_from(CredentialsDoc::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Credentials {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.write(s, true)
    }
}

impl Credentials {
    /// The AWS CLI's `credential_process` document: exactly `Version`, `AccessKeyId`,
    /// `SecretAccessKey`, `SessionToken`, `Expiration`.
    pub fn process_json(&self) -> Result<Zeroizing<String>, String> {
        struct Process<'a>(&'a Credentials);
        impl Serialize for Process<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.write(s, false)
            }
        }
        serde_json::to_string(&Process(self))
            .map(Zeroizing::new)
            .map_err(|e| e.to_string())
    }

    /// Time left at `now` (zero once expired).
    pub fn left(&self, now: SystemTime) -> Duration {
        self.expiration
            .duration_since(now)
            .unwrap_or(Duration::ZERO)
    }

    fn write<S: Serializer>(&self, s: S, with_arn: bool) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut doc = s.serialize_struct("Credentials", if with_arn { 6 } else { 5 })?;
        doc.serialize_field("Version", &1)?;
        doc.serialize_field("AccessKeyId", &self.access_key_id)?;
        doc.serialize_field("SecretAccessKey", self.secret_access_key.as_str())?;
        doc.serialize_field("SessionToken", self.session_token.as_str())?;
        doc.serialize_field("Expiration", &Utc(self.expiration).to_string())?;
        if with_arn {
            doc.serialize_field("AssumedRoleArn", &self.assumed_role_arn)?;
        }
        doc.end()
    }
}

/// An RFC 3339 / ISO 8601 time (`2026-12-06T19:00:00Z`, or with an offset) as a `SystemTime`.
pub fn parse_utc(text: &str) -> Option<SystemTime> {
    use time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let secs = u64::try_from(at.unix_timestamp()).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

impl TokenAnswer {
    /// The answer's values have the shapes this command relies on.
    pub fn check(&self) -> Result<(), String> {
        if self.ticket.is_empty() || !plain(&self.ticket, 4096) {
            return Err("the ticket is empty or too long".into());
        }
        if !plain(&self.provider, 2048) || !plain(&self.subject, 2048) {
            return Err("the provider or subject has control characters".into());
        }
        if self.roles.len() > 1000 {
            return Err("more than 1000 roles".into());
        }
        for r in &self.roles {
            if r.role_arn.is_empty() || !plain(&r.role_arn, 2048) || !plain(&r.session_name, 256) {
                return Err(
                    "a role ARN or session name is empty, too long or has control characters"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

impl DeviceAuthorization {
    /// The answer's values have the shapes this command relies on.
    pub fn check(&self) -> Result<(), String> {
        if self.device_code.is_empty() || !plain(&self.device_code, 4096) {
            return Err("the device_code is empty or too long".into());
        }
        if self.user_code.is_empty() || !plain(&self.user_code, 64) {
            return Err("the user_code is empty or too long".into());
        }
        let web = |u: &str| {
            plain(u, 2048)
                && url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        };
        if !web(&self.verification_uri)
            || !self.verification_uri_complete.as_deref().is_none_or(web)
        {
            return Err("the verification URI is not an http(s) URL".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"Version": 1, "AccessKeyId": "ASIAEXAMPLE000000001", "SecretAccessKey": "c2VjcmV0/+=", "SessionToken": "dG9rZW4=", "Expiration": "2026-12-06T19:00:00Z", "AssumedRoleArn": "arn:aws:sts::123456789012:assumed-role/Dev/alice"}"#;

    #[test]
    fn credentials_round_trip() {
        let c: Credentials = serde_json::from_str(DOC).unwrap();
        assert_eq!(
            c.expiration,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_583_600)
        );
        assert_eq!(
            *c.process_json().unwrap(),
            r#"{"Version":1,"AccessKeyId":"ASIAEXAMPLE000000001","SecretAccessKey":"c2VjcmV0/+=","SessionToken":"dG9rZW4=","Expiration":"2026-12-06T19:00:00Z"}"#
        );
        let again: Credentials = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(again.assumed_role_arn, c.assumed_role_arn);
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
        assert_eq!(
            c.left(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_583_000)),
            Duration::from_secs(600)
        );
        assert_eq!(
            c.left(c.expiration + Duration::from_secs(1)),
            Duration::ZERO
        );
    }

    #[test]
    fn values_that_would_break_a_file_or_a_shell_are_refused() {
        for (field, bad) in [
            ("SecretAccessKey", serde_json::json!("abc\n[other]")),
            ("SecretAccessKey", serde_json::json!("$(rm -rf ~)")),
            ("SessionToken", serde_json::json!("a b")),
            ("AccessKeyId", serde_json::json!("asia-lowercase-0001")),
            ("Expiration", serde_json::json!("tomorrow")),
            ("Version", serde_json::json!(2)),
        ] {
            let mut v: serde_json::Value = serde_json::from_str(DOC).unwrap();
            v[field] = bad.clone();
            assert!(
                serde_json::from_value::<Credentials>(v).is_err(),
                "{field} = {bad} accepted"
            );
        }
    }
}
