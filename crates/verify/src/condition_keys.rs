//! The global condition keys AWS fills in for a request: the principal's (`aws:PrincipalArn`,
//! `aws:userid`, `aws:PrincipalTag/*`, ...) and the request's (`aws:CurrentTime`,
//! `aws:SourceIp`, ...). Built here once, for this verifier and for idbroker's own STS calls
//! (`sts::caller_context`, `sts::request_context`).

use std::sync::LazyLock;
use std::time::SystemTime;

use idbroker_policy::{Context, ContextKey};
use idbroker_session::PrincipalKind;

use crate::time;

/// Who makes a request, as its condition keys name it ([`PrincipalKeys::insert_into`]).
#[derive(Debug, Clone, Copy)]
pub struct PrincipalKeys<'a> {
    /// Role session, federated user, or IAM user (its long-term key or its own session):
    /// `aws:PrincipalType`.
    pub kind: PrincipalKind,
    /// The principal's ARN: the session's (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`), or
    /// the user's.
    pub arn: &'a str,
    /// The role's ARN (with its path), for role sessions.
    pub role_arn: Option<&'a str>,
    /// `aws:PrincipalAccount`.
    pub account: &'a str,
    /// `aws:userid` (`AROA…:SESSION`, or the user's `AIDA…` id).
    pub user_id: &'a str,
    /// `aws:username`, for IAM users.
    pub user_name: Option<&'a str>,
    /// `aws:TokenIssueTime` (seconds since the epoch), for temporary credentials.
    pub issued_at: Option<u64>,
    /// `aws:SourceIdentity`.
    pub source_identity: Option<&'a str>,
    /// `aws:MultiFactorAuthPresent`: MFA was presented when the credentials were issued. AWS
    /// puts the key in the context of requests made with temporary credentials only: with a
    /// long-term key (`issued_at` `None`) it is absent, whatever this says ("The key is not
    /// present in AWS CLI, AWS API, or AWS SDK requests that are made using long-term
    /// credentials", IAM User Guide, "AWS global condition context keys").
    pub mfa: bool,
}

impl PrincipalKeys<'_> {
    /// Set the principal's keys in `ctx`: `aws:PrincipalArn` (for a role session, the role's
    /// ARN: AWS's rule), `aws:PrincipalAccount`, `aws:userid`, `aws:PrincipalType`,
    /// `aws:username` and `aws:TokenIssueTime` (when known), `aws:SourceIdentity` (when set),
    /// `aws:PrincipalTag/KEY` for each of `tags` (key, value), `aws:MultiFactorAuthPresent` (for
    /// temporary credentials). `aws:MultiFactorAuthAge` depends on the request's time: see
    /// [`insert_mfa_age`].
    pub fn insert_into<'t>(
        &self,
        ctx: &mut Context,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) {
        ctx.insert("aws:PrincipalArn", self.role_arn.unwrap_or(self.arn))
            .insert("aws:PrincipalAccount", self.account)
            .insert("aws:userid", self.user_id)
            .insert("aws:PrincipalType", self.kind.name());
        if let Some(name) = self.user_name {
            ctx.insert("aws:username", name);
        }
        if let Some(t) = self.issued_at {
            ctx.insert("aws:TokenIssueTime", time::iso8601(t));
        }
        if let Some(si) = self.source_identity {
            ctx.insert("aws:SourceIdentity", si);
        }
        for (key, value) in tags {
            ctx.insert(&format!("aws:PrincipalTag/{key}"), value);
        }
        if self.issued_at.is_some() {
            ctx.insert("aws:MultiFactorAuthPresent", bool_value(self.mfa));
        }
    }
}

/// Set `aws:MultiFactorAuthAge`: the seconds from `authenticated_at` (when the session's MFA code
/// was verified, seconds since the epoch) to `now`; nothing without MFA ("If MFA was not used,
/// this key is not present"). A time after `now` (clocks of two replicas) counts as 0.
pub fn insert_mfa_age(ctx: &mut Context, authenticated_at: Option<u64>, now: SystemTime) {
    if let Some(at) = authenticated_at {
        let age = time::epoch(now).saturating_sub(at);
        ctx.insert_key(&REQUEST_KEYS.mfa_age, age.to_string());
    }
}

/// Set the request's own keys in `ctx`: `aws:CurrentTime` and `aws:EpochTime` of `now`,
/// `aws:SecureTransport`, and `aws:SourceIp` when known.
pub fn insert_request_keys(
    ctx: &mut Context,
    now: SystemTime,
    secure_transport: bool,
    source_ip: Option<String>,
) {
    let keys = &*REQUEST_KEYS;
    let now = time::epoch(now);
    ctx.insert_key(&keys.current_time, time::iso8601(now))
        .insert_key(&keys.epoch_time, now.to_string())
        .insert_key(&keys.secure_transport, bool_value(secure_transport));
    if let Some(ip) = source_ip {
        ctx.insert_key(&keys.source_ip, ip);
    }
}

/// Set `aws:RequestedRegion` (the region of the request's credential scope).
pub(crate) fn insert_requested_region(ctx: &mut Context, region: &str) {
    ctx.insert_key(&REQUEST_KEYS.requested_region, region);
}

fn bool_value(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// The request keys set on every request, compiled once.
struct RequestKeys {
    current_time: ContextKey,
    epoch_time: ContextKey,
    secure_transport: ContextKey,
    requested_region: ContextKey,
    source_ip: ContextKey,
    mfa_age: ContextKey,
}

static REQUEST_KEYS: LazyLock<RequestKeys> = LazyLock::new(|| RequestKeys {
    current_time: ContextKey::new("aws:CurrentTime"),
    epoch_time: ContextKey::new("aws:EpochTime"),
    secure_transport: ContextKey::new("aws:SecureTransport"),
    requested_region: ContextKey::new("aws:RequestedRegion"),
    source_ip: ContextKey::new("aws:SourceIp"),
    mfa_age: ContextKey::new("aws:MultiFactorAuthAge"),
});

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn get(ctx: &Context, key: &str) -> Option<String> {
        ctx.get(key).map(|v| v.join(","))
    }

    #[test]
    fn a_role_session() {
        let mut ctx = Context::new();
        PrincipalKeys {
            kind: PrincipalKind::AssumedRole,
            arn: "arn:aws:sts::123456789012:assumed-role/Reader/alice",
            role_arn: Some("arn:aws:iam::123456789012:role/team/Reader"),
            account: "123456789012",
            user_id: "AROAEXAMPLE:alice",
            user_name: None,
            issued_at: Some(1_440_938_160),
            source_identity: Some("alice@example.com"),
            mfa: false,
        }
        .insert_into(&mut ctx, [("team", "blue"), ("Team", "red")]);
        let want = [
            (
                "aws:PrincipalArn",
                "arn:aws:iam::123456789012:role/team/Reader",
            ),
            ("aws:PrincipalAccount", "123456789012"),
            ("aws:userid", "AROAEXAMPLE:alice"),
            ("aws:PrincipalType", "AssumedRole"),
            ("aws:TokenIssueTime", "2015-08-30T12:36:00Z"),
            ("aws:SourceIdentity", "alice@example.com"),
            // Keys are case-insensitive: the later tag wins.
            ("aws:PrincipalTag/team", "red"),
            ("aws:MultiFactorAuthPresent", "false"),
        ];
        for (k, v) in want {
            assert_eq!(get(&ctx, k).as_deref(), Some(v), "{k}");
        }
        assert_eq!(get(&ctx, "aws:username"), None);
        assert_eq!(ctx.len(), want.len());
    }

    #[test]
    fn a_user_with_its_long_term_key() {
        let mut ctx = Context::new();
        PrincipalKeys {
            kind: PrincipalKind::User,
            arn: "arn:aws:iam::123456789012:user/bob",
            role_arn: None,
            account: "123456789012",
            user_id: "AIDAEXAMPLE",
            user_name: Some("bob"),
            issued_at: None,
            source_identity: None,
            mfa: true,
        }
        .insert_into(&mut ctx, []);
        assert_eq!(
            get(&ctx, "aws:PrincipalArn").as_deref(),
            Some("arn:aws:iam::123456789012:user/bob")
        );
        assert_eq!(get(&ctx, "aws:PrincipalType").as_deref(), Some("User"));
        assert_eq!(get(&ctx, "aws:username").as_deref(), Some("bob"));
        // A long-term key: no aws:MultiFactorAuthPresent at all, as AWS (so `Bool ... "false"`
        // does not match it; BoolIfExists does).
        assert_eq!(get(&ctx, "aws:MultiFactorAuthPresent"), None);
        assert_eq!(get(&ctx, "aws:TokenIssueTime"), None);
        assert_eq!(get(&ctx, "aws:SourceIdentity"), None);
    }

    #[test]
    fn a_user_session_with_mfa_and_its_age() {
        let mut ctx = Context::new();
        PrincipalKeys {
            kind: PrincipalKind::User,
            arn: "arn:aws:iam::123456789012:user/bob",
            role_arn: None,
            account: "123456789012",
            user_id: "AIDAEXAMPLE",
            user_name: Some("bob"),
            issued_at: Some(1_440_938_160),
            source_identity: None,
            mfa: true,
        }
        .insert_into(&mut ctx, []);
        assert_eq!(
            get(&ctx, "aws:MultiFactorAuthPresent").as_deref(),
            Some("true")
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160 + 725);
        insert_mfa_age(&mut ctx, Some(1_440_938_100), now);
        assert_eq!(get(&ctx, "aws:MultiFactorAuthAge").as_deref(), Some("785"));
        // Without MFA: no age; a time in the future counts as 0.
        let mut ctx = Context::new();
        insert_mfa_age(&mut ctx, None, now);
        assert_eq!(get(&ctx, "aws:MultiFactorAuthAge"), None);
        insert_mfa_age(&mut ctx, Some(1_440_999_999), now);
        assert_eq!(get(&ctx, "aws:MultiFactorAuthAge").as_deref(), Some("0"));
    }

    #[test]
    fn request_keys() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_440_938_160_900);
        let mut ctx = Context::new();
        insert_request_keys(&mut ctx, now, true, Some("192.0.2.7".into()));
        assert_eq!(
            get(&ctx, "aws:CurrentTime").as_deref(),
            Some("2015-08-30T12:36:00Z")
        );
        assert_eq!(get(&ctx, "aws:EpochTime").as_deref(), Some("1440938160"));
        assert_eq!(get(&ctx, "aws:SecureTransport").as_deref(), Some("true"));
        assert_eq!(get(&ctx, "aws:SourceIp").as_deref(), Some("192.0.2.7"));
        let mut ctx = Context::new();
        insert_request_keys(&mut ctx, now, false, None);
        assert_eq!(get(&ctx, "aws:SecureTransport").as_deref(), Some("false"));
        assert_eq!(get(&ctx, "aws:SourceIp"), None);
        assert_eq!(ctx.len(), 3);
    }
}
