//! The token's claims: read, then checked against the provider (`exp`, `nbf`, `iat` with its
//! leeway; audience by AWS's `azp` / `aud` rule; `sub`; `jti` when required) into a
//! [`VerifiedIdToken`], which only that check builds; its session tags, the provider's
//! claim-mapping rules ([`glob`]), the single-use key of a `jti`, and the RoleSessionName
//! taken from a claim ([`session_name_from`]).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::config::ProviderConfig;
use super::error::{invalid, OidcError, NOT_A_JWT};

/// Longest `sub` (AWS's `SubjectFromWebIdentityToken` limit).
const MAX_SUBJECT: usize = 255;

/// `aud`: one string or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Aud {
    One(String),
    Many(Vec<String>),
}

/// The claims idbroker reads. Numbers must be JSON numbers (`"exp": "123"` is refused); a
/// duplicated claim is refused.
#[derive(Deserialize)]
pub(super) struct Claims {
    #[serde(default)]
    pub(super) iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Aud>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    email: Option<Value>,
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    amr: Option<Value>,
    #[serde(default, rename = "https://aws.amazon.com/tags")]
    tags: Option<Value>,
    #[serde(default, rename = "https://aws.amazon.com/source_identity")]
    source_identity: Option<String>,
}

fn numeric_date(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        // Saturates at u64::MAX; fractions are dropped.
        v as u64
    } else {
        0
    }
}

/// Session tags from the `https://aws.amazon.com/tags` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenTags {
    /// `principal_tags`: key -> value (AWS takes exactly one value per key).
    pub principal_tags: Vec<(String, String)>,
    /// `transitive_tag_keys`.
    pub transitive_tag_keys: Vec<String>,
}

fn parse_tags(v: &Value) -> Result<TokenTags, OidcError> {
    let bad = || invalid("The https://aws.amazon.com/tags claim is malformed");
    let obj = v.as_object().ok_or_else(bad)?;
    let mut out = TokenTags::default();
    if let Some(pt) = obj.get("principal_tags") {
        for (k, vals) in pt.as_object().ok_or_else(bad)? {
            let value = match vals {
                Value::Array(a) if a.len() == 1 => a.first().and_then(Value::as_str),
                Value::String(s) => Some(s.as_str()),
                _ => None,
            }
            .ok_or_else(bad)?;
            out.principal_tags.push((k.clone(), value.to_owned()));
        }
    }
    if let Some(tk) = obj.get("transitive_tag_keys") {
        for k in tk.as_array().ok_or_else(bad)? {
            out.transitive_tag_keys
                .push(k.as_str().ok_or_else(bad)?.to_owned());
        }
    }
    Ok(out)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A web identity token whose signature, issuer, audience, times, subject and (when configured)
/// single use were checked. Only [`OidcFederation::verify`](super::OidcFederation::verify)
/// builds one (through `check_claims`); its fields are private.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    provider: Arc<ProviderConfig>,
    subject: String,
    audience: String,
    audiences: Vec<String>,
    azp_present: bool,
    amr: Vec<String>,
    email: Option<String>,
    email_verified: bool,
    expires_at: u64,
    tags: TokenTags,
    source_identity: Option<String>,
    payload: Arc<[u8]>,
}

impl VerifiedIdToken {
    /// The `nonce` claim (console login compares it with the one it sent).
    pub fn nonce(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct N {
            nonce: Option<String>,
        }
        serde_json::from_slice::<N>(&self.payload)
            .ok()
            .and_then(|n| n.nonce)
    }

    /// The provider's ARN.
    pub fn provider_arn(&self) -> &str {
        &self.provider.arn
    }
    /// `HOST/PATH`, prefix of the trust-policy keys.
    pub fn host_path(&self) -> &str {
        &self.provider.host_path
    }
    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.provider.issuer
    }
    /// `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// The client ID it was accepted for (`azp` when present, else the matching `aud`).
    pub fn audience(&self) -> &str {
        &self.audience
    }
    /// Every `aud` value (the `:oaud` key when `azp` is present).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
    /// Whether the token had `azp`.
    pub fn has_azp(&self) -> bool {
        self.azp_present
    }
    /// `amr` values.
    pub fn amr(&self) -> &[String] {
        &self.amr
    }
    /// `email`, when a string.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
    /// `email`, only when the IdP says it verified it (`email_verified`: `true`, or the string
    /// `"true"` that some IdPs send, as openidconnect-rs's `accept-string-booleans` reads it).
    pub fn verified_email(&self) -> Option<&str> {
        self.email.as_deref().filter(|_| self.email_verified)
    }
    /// `exp`.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
    /// Session tags from the token.
    pub fn tags(&self) -> &TokenTags {
        &self.tags
    }
    /// `https://aws.amazon.com/source_identity`.
    pub fn source_identity(&self) -> Option<&str> {
        self.source_identity.as_deref()
    }

    /// Do the provider's claim-mapping rules let this token take `role_arn`? No rules: yes.
    /// A rule whose claim is absent because the IdP moved it out of the token (Entra ID's groups
    /// overage, `_claim_names` / `hasgroups`) is refused with a message saying so: distributed
    /// claims are not fetched.
    pub fn check_claim_rules(&self, role_arn: &str) -> Result<(), OidcError> {
        let rules = &self.provider.claim_rules;
        if rules.is_empty() {
            return Ok(());
        }
        let claims: Value =
            serde_json::from_slice(&self.payload).map_err(|_| invalid(NOT_A_JWT))?;
        let mut overage = false;
        for rule in rules
            .iter()
            .filter(|r| r.roles.iter().any(|p| glob(p, role_arn)))
        {
            match claims.pointer(&rule.claim) {
                Some(v) => {
                    let matched = claim_values(v)
                        .iter()
                        .any(|s| rule.values.iter().any(|p| glob(p, s)));
                    if matched {
                        return Ok(());
                    }
                }
                None => overage |= is_overage(&claims, &rule.claim),
            }
        }
        if overage {
            return Err(OidcError::RejectedClaim(
                "The token's group claim was left out by the identity provider (groups overage); idbroker does not fetch distributed claims: filter the groups the identity provider emits".into(),
            ));
        }
        Err(OidcError::RejectedClaim(format!(
            "No claim rule of the provider allows the role {role_arn}"
        )))
    }
}

fn claim_values(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(a) => a.iter().flat_map(claim_values).collect(),
        _ => Vec::new(),
    }
}

fn is_overage(claims: &Value, pointer: &str) -> bool {
    let top = pointer
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let named = claims
        .get("_claim_names")
        .and_then(Value::as_object)
        .is_some_and(|m| m.contains_key(top));
    let has_groups = top == "groups" && claims.get("hasgroups") == Some(&Value::Bool(true));
    named || has_groups
}

/// Glob match: `*` any run of characters, `?` one character, everything else literal.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|c| *c == '*')
}

/// A RoleSessionName (2..=64 characters of `[\w+=,.@-]`) naming the session of `claim` (a
/// token's `sub`, or a verified `email`): the claim itself when it is one; otherwise its
/// characters with every other one replaced by `-`, cut to 51, then `-` and 12 hex digits of
/// the claim's SHA-256, so that claims that read alike after the replacement, or share their
/// first 51 characters, still name different sessions.
pub fn session_name_from(claim: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if (2..=64).contains(&claim.len()) && claim.chars().all(allowed) {
        return claim.to_owned();
    }
    let mut name: String = claim
        .chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .take(51)
        .collect();
    let digest = Sha256::digest(claim.as_bytes());
    name.push('-');
    name.push_str(&data_encoding::HEXLOWER.encode(digest.get(..6).unwrap_or_default()));
    name
}

pub(super) fn claims_jti(token: &VerifiedIdToken) -> Result<String, OidcError> {
    #[derive(Deserialize)]
    struct J {
        jti: Option<String>,
    }
    serde_json::from_slice::<J>(&token.payload)
        .ok()
        .and_then(|j| j.jti)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid("The token has no jti claim, which this provider requires"))
}

/// The single-use id of a `jti`: a hash of issuer and `jti`, so ids of different issuers never
/// collide and no token text reaches the store.
pub(super) fn jti_key(issuer: &str, jti: &str) -> String {
    let mut h = Sha256::new();
    h.update(issuer.as_bytes());
    h.update([0u8]);
    h.update(jti.as_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize())
}

pub(super) fn check_claims(
    cfg: &Arc<ProviderConfig>,
    c: Claims,
    payload: Vec<u8>,
    now: u64,
) -> Result<VerifiedIdToken, OidcError> {
    let leeway = cfg.leeway;
    let exp = c
        .exp
        .map(numeric_date)
        .ok_or_else(|| invalid("The token has no exp claim"))?;
    if now > exp.saturating_add(leeway) {
        return Err(OidcError::Expired { now, exp });
    }
    if let Some(nbf) = c.nbf.map(numeric_date) {
        if nbf > now.saturating_add(leeway) {
            return Err(invalid("The token is not valid yet (nbf)"));
        }
    }
    if let Some(iat) = c.iat.map(numeric_date) {
        if iat > now.saturating_add(leeway) {
            return Err(invalid("The token was issued in the future (iat)"));
        }
    }
    let audiences = match c.aud {
        Some(Aud::One(a)) => vec![a],
        Some(Aud::Many(v)) => v,
        None => Vec::new(),
    };
    let audience = match &c.azp {
        Some(azp) => cfg.client_ids.iter().find(|id| *id == azp),
        None => cfg
            .client_ids
            .iter()
            .find(|id| audiences.iter().any(|a| a == *id)),
    }
    .cloned()
    .ok_or_else(|| invalid("Incorrect token audience"))?;
    let subject = c
        .sub
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("The token has no sub claim"))?;
    if subject.chars().count() > MAX_SUBJECT {
        return Err(invalid(
            "The token's sub claim is longer than 255 characters",
        ));
    }
    if cfg.jti_replay_guard && c.jti.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            "The token has no jti claim, which this provider requires",
        ));
    }
    let tags = match &c.tags {
        Some(v) => parse_tags(v)?,
        None => TokenTags::default(),
    };
    Ok(VerifiedIdToken {
        provider: cfg.clone(),
        subject,
        audience,
        audiences,
        azp_present: c.azp.is_some(),
        amr: strings(c.amr.as_ref()),
        email: c.email.as_ref().and_then(Value::as_str).map(str::to_owned),
        email_verified: matches!(&c.email_verified, Some(Value::Bool(true)))
            || matches!(&c.email_verified, Some(Value::String(v)) if v == "true"),
        expires_at: exp,
        tags,
        source_identity: c.source_identity,
        payload: payload.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("eng-*", "eng-platform"));
        assert!(!glob("eng-*", "ops-eng-x"));
        assert!(glob("*@example.com", "alice@example.com"));
        assert!(!glob("*@example.com", "alice@example.com.evil"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("admins", "admins"));
    }

    #[test]
    fn session_names_from_claims() {
        let ok = |s: &str| {
            (2..=64).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        };
        assert_eq!(session_name_from("alice@example.com"), "alice@example.com");
        assert_eq!(session_name_from("a_b+c=d,e.f@g-h"), "a_b+c=d,e.f@g-h");
        let k8s = session_name_from("system:serviceaccount:ns:builder");
        assert!(
            k8s.starts_with("system-serviceaccount-ns-builder-"),
            "{k8s}"
        );
        let mut seen = std::collections::HashSet::new();
        for claim in [
            "x",
            "",
            "a:b",
            "a-b-",
            "a|b",
            "ünïcode",
            &"y".repeat(64),
            &"y".repeat(65),
            &"y".repeat(300),
            &format!("{}z", "y".repeat(300)),
        ] {
            let n = session_name_from(claim);
            assert!(ok(&n), "{claim:?} -> {n:?}");
            assert!(seen.insert(n.clone()), "{claim:?} -> {n:?} twice");
        }
    }
}
