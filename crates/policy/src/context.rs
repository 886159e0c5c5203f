//! The request side of an evaluation: who asks, for what action, on which resource, with which
//! context keys.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use crate::arn::SplitArn;
use crate::date::Instant;

/// A condition key name, lower-cased, with its hash computed once (when a policy is compiled or
/// a context key inserted) so that lookups on the hot path compare integers first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    hash: u64,
    /// Shared, so that a [`ContextKey`] made once is inserted without a copy.
    name: Arc<str>,
}

impl Key {
    pub(crate) fn new(name: &str) -> Self {
        use std::hash::{Hash, Hasher};
        let name = name.to_ascii_lowercase();
        let mut h = rustc_hash::FxHasher::default();
        name.hash(&mut h);
        Key {
            hash: h.finish(),
            name: name.into(),
        }
    }
}

/// A context key name compiled once (lower-cased, hashed), for callers that set the same keys
/// on every request ([`Context::insert_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextKey(Key);

impl ContextKey {
    /// The key `name` (any case).
    pub fn new(name: &str) -> Self {
        ContextKey(Key::new(name))
    }
}

/// The request context: condition keys and their values.
///
/// Keys are case-insensitive (stored lower-cased); values are case-preserving. A key holds one
/// value or several (multi-valued keys such as `aws:TagKeys`). A key with no values is treated as
/// absent everywhere.
///
/// Request contexts hold a few dozen keys at most, so they are a vector searched by precomputed
/// hash: cheaper than hashing the key name again on every lookup.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The key hashes, apart from the entries so that a lookup scans one dense array.
    hashes: Vec<u64>,
    entries: Vec<(Key, Vec<ContextValue>)>,
    /// Keys shared with other contexts (a session's, reused by each of its requests): looked up
    /// when this context does not have the key itself.
    base: Option<Arc<Context>>,
}

/// One value of a context key, with its typed readings parsed on first use: several statements
/// often test the same key (`aws:SourceIp`, `aws:CurrentTime`), and parsing it once per request
/// instead of once per statement is measurable.
#[derive(Debug, Clone)]
pub(crate) struct ContextValue {
    text: String,
    ip: OnceLock<Option<IpAddr>>,
    date: OnceLock<Option<Instant>>,
    number: OnceLock<Option<f64>>,
}

impl ContextValue {
    fn new(text: String) -> Self {
        ContextValue {
            text,
            ip: OnceLock::new(),
            date: OnceLock::new(),
            number: OnceLock::new(),
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn ip(&self) -> Option<IpAddr> {
        *self.ip.get_or_init(|| self.text.trim().parse().ok())
    }

    pub(crate) fn date(&self) -> Option<Instant> {
        *self.date.get_or_init(|| crate::date::parse(&self.text))
    }

    pub(crate) fn number(&self) -> Option<f64> {
        *self.number.get_or_init(|| parse_number(&self.text))
    }
}

/// A number as the `Numeric*` condition operators read it, in a context value or a policy value:
/// surrounding whitespace ignored, finite values only.
pub(crate) fn parse_number(t: &str) -> Option<f64> {
    t.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty context over `base`, which is shared, not copied: a key set here hides the
    /// base's key of the same name; any other key is read from the base.
    pub fn layered(base: Arc<Context>) -> Self {
        Context {
            base: Some(base),
            ..Self::default()
        }
    }

    /// Set a single-valued key compiled once ([`ContextKey`]), replacing earlier values.
    pub fn insert_key(&mut self, key: &ContextKey, value: impl Into<String>) -> &mut Self {
        self.set(key.0.clone(), vec![ContextValue::new(value.into())]);
        self
    }

    fn set(&mut self, key: Key, values: Vec<ContextValue>) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = values,
            None => {
                self.hashes.push(key.hash);
                self.entries.push((key, values));
            }
        }
    }

    /// Set a single-valued key (replacing earlier values).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.set(Key::new(key), vec![ContextValue::new(value.into())]);
        self
    }

    /// Set a multi-valued key (replacing earlier values).
    pub fn insert_multi<I, S>(&mut self, key: &str, values: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.set(
            Key::new(key),
            values
                .into_iter()
                .map(|v| ContextValue::new(v.into()))
                .collect(),
        );
        self
    }

    /// Set a key unless it is already present.
    pub fn insert_default(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        let key = Key::new(key);
        if self.lookup(&key).is_none() {
            self.set(key, vec![ContextValue::new(value.into())]);
        }
        self
    }

    fn lookup(&self, key: &Key) -> Option<&Vec<ContextValue>> {
        self.own(key)
            .or_else(|| self.base.as_deref().and_then(|b| b.lookup(key)))
    }

    /// The key in this context's own entries, not its base's.
    fn own(&self, key: &Key) -> Option<&Vec<ContextValue>> {
        // INVARIANT: `hashes[i]` is the hash of `entries[i].0`. The name is compared too: the
        // hash is no defence against a crafted key (tag and attribute names come from outside).
        self.hashes
            .iter()
            .enumerate()
            .filter(|(_, h)| **h == key.hash)
            .filter_map(|(i, _)| self.entries.get(i))
            .find(|(k, _)| k.name == key.name)
            .map(|(_, v)| v)
    }

    /// Every key, own and inherited, once.
    fn keys(&self) -> Vec<&Key> {
        let mut keys: Vec<&Key> = self.base.as_deref().map(Self::keys).unwrap_or_default();
        keys.retain(|k| self.own(k).is_none());
        keys.extend(self.entries.iter().map(|(k, _)| k));
        keys
    }

    /// The values of a key; `None` when absent or empty.
    pub(crate) fn values(&self, key: &Key) -> Option<&[ContextValue]> {
        self.lookup(key)
            .map(Vec::as_slice)
            .filter(|v| !v.is_empty())
    }

    /// The value of a single-valued key. Multi-valued keys cannot be policy variables: they
    /// resolve to `None`.
    pub(crate) fn single(&self, key: &Key) -> Option<&str> {
        match self.values(key) {
            Some([one]) => Some(one.text()),
            _ => None,
        }
    }

    /// The values of a key, by any-case name.
    pub fn get(&self, key: &str) -> Option<Vec<&str>> {
        self.values(&Key::new(key))
            .map(|vals| vals.iter().map(ContextValue::text).collect())
    }

    /// Number of keys (own and inherited).
    pub fn len(&self) -> usize {
        self.keys().len()
    }

    /// No keys at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.base.as_deref().is_none_or(Self::is_empty)
    }
}

/// What kind of principal makes a request, as the `Principal` element names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An IAM user, role session, or account (`"AWS"` in a Principal element).
    Aws,
    /// A SAML or OIDC provider, or a web identity provider (`"Federated"`).
    Federated,
    /// An AWS service (`"Service"`).
    Service,
    /// An S3 canonical user id (`"CanonicalUser"`).
    CanonicalUser,
}

/// The principal that makes a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    kind: PrincipalKind,
    /// The principal's ARN (or service name, provider name, canonical id).
    id: String,
    /// The twelve-digit account of an AWS principal.
    account: Option<String>,
    /// For a role session: the role's ARN (with its path), which a Principal element may name
    /// instead of the session.
    role_arn: Option<String>,
    /// A federated user session (`arn:PARTITION:sts::ACCOUNT:federated-user/NAME`, from
    /// `GetFederationToken`).
    federated_user: bool,
}

impl Principal {
    /// An AWS principal by ARN: an IAM user (`arn:aws:iam::A:user/...`), a role session
    /// (`arn:aws:sts::A:assumed-role/ROLE/SESSION`, whose role ARN is taken to have path `/`),
    /// a federated user, or an account root.
    pub fn aws(arn: &str) -> Self {
        let split = SplitArn::parse(arn);
        let account = split
            .as_ref()
            .map(|s| s.account().to_owned())
            .filter(|a| !a.is_empty());
        let role_arn = split.as_ref().and_then(|s| {
            let role = s.resource().strip_prefix("assumed-role/")?;
            let (role, _session) = role.split_once('/')?;
            (s.service() == "sts")
                .then(|| format!("arn:{}:iam::{}:role/{}", s.partition(), s.account(), role))
        });
        let federated_user = split.as_ref().is_some_and(|s| {
            s.service() == "sts"
                && s.resource()
                    .strip_prefix("federated-user/")
                    .is_some_and(|name| !name.is_empty())
        });
        Principal {
            kind: PrincipalKind::Aws,
            id: arn.to_owned(),
            account,
            role_arn,
            federated_user,
        }
    }

    /// A role session whose role ARN (with its path) is known.
    pub fn assumed_role(session_arn: &str, role_arn: &str) -> Self {
        let mut p = Self::aws(session_arn);
        p.role_arn = Some(role_arn.to_owned());
        p
    }

    /// A federated principal: a SAML or OIDC provider ARN, or a web identity provider name.
    pub fn federated(provider: &str) -> Self {
        Principal {
            kind: PrincipalKind::Federated,
            id: provider.to_owned(),
            account: SplitArn::parse(provider)
                .map(|s| s.account().to_owned())
                .filter(|a| !a.is_empty()),
            role_arn: None,
            federated_user: false,
        }
    }

    /// An AWS service principal such as `ec2.amazonaws.com`.
    pub fn service(name: &str) -> Self {
        Principal {
            kind: PrincipalKind::Service,
            id: name.to_owned(),
            account: None,
            role_arn: None,
            federated_user: false,
        }
    }

    /// An S3 canonical user.
    pub fn canonical_user(id: &str) -> Self {
        Principal {
            kind: PrincipalKind::CanonicalUser,
            id: id.to_owned(),
            account: None,
            role_arn: None,
            federated_user: false,
        }
    }

    /// Guess the kind from the text, for tools that take a bare string: SAML and OIDC provider
    /// ARNs are federated, other ARNs are AWS principals, `*.amazonaws.com` is a service, anything
    /// else is a federated (web identity) provider name.
    pub fn infer(text: &str) -> Self {
        if let Some(split) = SplitArn::parse(text) {
            if split.service() == "iam"
                && (split.resource().starts_with("saml-provider/")
                    || split.resource().starts_with("oidc-provider/"))
            {
                return Self::federated(text);
            }
            return Self::aws(text);
        }
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Self::aws(&format!("arn:aws:iam::{text}:root"));
        }
        if text.ends_with(".amazonaws.com") && !text.starts_with("cognito-identity.") {
            return Self::service(text);
        }
        Self::federated(text)
    }

    /// The principal's kind.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The principal's ARN or name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The principal's account, when it has one.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The role ARN of a role session.
    pub fn role_arn(&self) -> Option<&str> {
        self.role_arn.as_deref()
    }

    /// A federated user session (`arn:aws:sts::ACCOUNT:federated-user/NAME`, from
    /// `GetFederationToken`): without a session policy it has no permissions
    /// ([`PolicySet::evaluate`](crate::PolicySet::evaluate)).
    pub fn is_federated_user(&self) -> bool {
        self.federated_user
    }
}

/// One request to decide: prepared once (action lower-cased, resource split), evaluated against
/// any number of policies.
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) principal: Option<Principal>,
    pub(crate) action: String,
    /// Hash of the action's service prefix (`s3` of `s3:getobject`), to skip statements about
    /// other services with one integer comparison.
    pub(crate) service_hash: u64,
    pub(crate) resource: String,
    /// Byte offsets of the resource's first five colons when it has the ARN shape.
    resource_colons: Option<[usize; 5]>,
    pub(crate) context: Context,
}

impl Request {
    /// A request for `action` (`service:Name`, any case) on `resource` (an ARN or `*`).
    pub fn new(action: &str, resource: &str, context: Context) -> Self {
        let action = action.to_lowercase();
        let service_hash = service_hash(&action).unwrap_or(0);
        Request {
            principal: None,
            action,
            service_hash,
            resource: resource.to_owned(),
            resource_colons: SplitArn::colons(resource),
            context,
        }
    }

    /// The resource split into its ARN parts, if it is an ARN.
    pub(crate) fn resource_arn(&self) -> Option<SplitArn<'_>> {
        self.resource_colons
            .and_then(|c| SplitArn::from_colons(&self.resource, c))
    }

    /// The principal making the request (needed to evaluate resource-based and trust policies).
    pub fn with_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// The request context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The principal, if set.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }
}

/// Hash of the service prefix of a lower-cased action (`s3` of `s3:getobject`).
pub(crate) fn service_hash(action: &str) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let (service, _) = action.split_once(':')?;
    let mut h = rustc_hash::FxHasher::default();
    service.hash(&mut h);
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layered_context_reads_through_and_overrides() {
        let mut base = Context::new();
        base.insert("aws:PrincipalArn", "arn:aws:iam::1:role/r")
            .insert("aws:userid", "AROA:alice");
        let base = Arc::new(base);
        let mut c = Context::layered(base.clone());
        let now = ContextKey::new("AWS:CurrentTime");
        c.insert_key(&now, "2027-01-15T08:00:00Z")
            .insert("aws:userid", "AROA:bob");
        assert_eq!(
            c.get("aws:principalarn"),
            Some(vec!["arn:aws:iam::1:role/r"])
        );
        assert_eq!(c.get("aws:userid"), Some(vec!["AROA:bob"]));
        assert_eq!(c.get("aws:currenttime"), Some(vec!["2027-01-15T08:00:00Z"]));
        assert_eq!(base.get("aws:userid"), Some(vec!["AROA:alice"]));
        assert_eq!(base.get("aws:CurrentTime"), None);
        assert_eq!((c.len(), base.len()), (3, 2));
        assert!(!c.is_empty() && Context::layered(Arc::new(Context::new())).is_empty());
    }

    #[test]
    fn context_keys_are_case_insensitive() {
        let mut c = Context::new();
        c.insert("AWS:SourceIp", "1.2.3.4");
        assert_eq!(c.get("aws:sourceip"), Some(vec!["1.2.3.4"]));
        c.insert_multi("aws:TagKeys", Vec::<String>::new());
        assert_eq!(c.get("aws:tagkeys"), None);
        assert_eq!(c.single(&Key::new("aws:TagKeys")), None);
    }

    #[test]
    fn principal_inference() {
        let p = Principal::infer("arn:aws:sts::123456789012:assumed-role/Admin/alice");
        assert_eq!(p.kind(), PrincipalKind::Aws);
        assert_eq!(p.account(), Some("123456789012"));
        assert_eq!(p.role_arn(), Some("arn:aws:iam::123456789012:role/Admin"));
        assert!(!p.is_federated_user());
        let p = Principal::infer("arn:aws:sts::123456789012:federated-user/bob");
        assert_eq!(p.kind(), PrincipalKind::Aws);
        assert!(p.is_federated_user() && p.role_arn().is_none());
        assert!(
            !Principal::aws("arn:aws:iam::123456789012:user/federated-user/bob")
                .is_federated_user()
        );
        let p = Principal::infer("arn:aws:iam::123456789012:saml-provider/Okta");
        assert_eq!(p.kind(), PrincipalKind::Federated);
        assert!(!p.is_federated_user());
        assert_eq!(
            Principal::infer("ec2.amazonaws.com").kind(),
            PrincipalKind::Service
        );
        assert_eq!(
            Principal::infer("accounts.google.com").kind(),
            PrincipalKind::Federated
        );
        assert_eq!(
            Principal::infer("123456789012").id(),
            "arn:aws:iam::123456789012:root"
        );
    }
}
