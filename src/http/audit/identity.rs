//! `userIdentity`: who made the call, as CloudTrail writes it for each kind of caller
//! (`IAMUser`, `AssumedRole` with its `sessionContext`, `FederatedUser`, `SAMLUser`,
//! `WebIdentityUser`, `Unknown`).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::bounded::{field, Shown};
use crate::clock::Utc;

/// Who made the call, as the call learned it.
// One per call, moved in once (never copied around): boxing the signed caller would cost an
// allocation on every signed call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Default)]
pub(crate) enum Who {
    /// Not (yet) known: the call was refused before anyone was identified.
    #[default]
    Unknown,
    /// A session named by its access key only (a signed-in browser signing out).
    Key(String),
    /// A SigV4-signed call.
    Signed(crate::sts::Caller),
    /// A session read from the store (the federation endpoint).
    Session(Box<idbroker_session::Session>),
    /// A verified SAML assertion (AssumeRoleWithSAML, console sign-in).
    Saml {
        /// The provider's ARN.
        provider: String,
        /// `NameQualifier` (what CloudTrail names the provider by); the console does not keep
        /// it, and is named by the provider's ARN instead.
        name_qualifier: Option<String>,
        /// The subject the assertion vouched for.
        subject: String,
    },
    /// A verified OIDC token (AssumeRoleWithWebIdentity, /workload/credentials, console).
    WebIdentity {
        /// The provider's ARN (`...:oidc-provider/ISSUER`).
        provider: String,
        /// The token's audience, when known.
        audience: Option<String>,
        /// The token's `sub`.
        subject: String,
    },
}

/// The kinds of principal CloudTrail names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    AssumedRole,
    FederatedUser,
}

/// One principal, borrowed from whichever type described it.
struct Principal<'a> {
    kind: Kind,
    principal_id: &'a str,
    arn: &'a str,
    account: &'a str,
    access_key_id: &'a str,
    user_name: Option<&'a str>,
    role_arn: Option<&'a str>,
    /// Temporary credentials: when they were issued (seconds since the epoch) and whether MFA
    /// was presented (when known).
    session: Option<(u64, Option<bool>)>,
    source_identity: Option<&'a str>,
}

fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The issuer a web identity provider's ARN names (`...:oidc-provider/ISSUER`), as CloudTrail's
/// `identityProvider` names it.
fn issuer_of(provider_arn: &str) -> &str {
    provider_arn
        .split_once(":oidc-provider/")
        .map_or(provider_arn, |(_, i)| i)
}

impl Serialize for Principal<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let kind = match self.kind {
            Kind::User => "IAMUser",
            Kind::AssumedRole => "AssumedRole",
            Kind::FederatedUser => "FederatedUser",
        };
        m.serialize_entry("type", kind)?;
        m.serialize_entry("principalId", &field(self.principal_id))?;
        m.serialize_entry("arn", &field(self.arn))?;
        m.serialize_entry("accountId", self.account)?;
        m.serialize_entry("accessKeyId", self.access_key_id)?;
        if let Some(n) = self.user_name {
            m.serialize_entry("userName", &field(n))?;
        }
        if let Some((created, mfa)) = self.session {
            m.serialize_entry(
                "sessionContext",
                &SessionContext {
                    principal: self,
                    created,
                    mfa,
                },
            )?;
        }
        m.end()
    }
}

struct SessionContext<'p, 'a> {
    principal: &'p Principal<'a>,
    created: u64,
    mfa: Option<bool>,
}

impl Serialize for SessionContext<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.principal;
        let mut m = s.serialize_map(None)?;
        if let (Kind::AssumedRole, Some(role)) = (p.kind, p.role_arn) {
            m.serialize_entry("sessionIssuer", &Issuer(p, role))?;
        }
        m.serialize_entry("attributes", &Attributes(self.created, self.mfa))?;
        if let Some(si) = p.source_identity {
            m.serialize_entry("sourceIdentity", &field(si))?;
        }
        m.end()
    }
}

/// The role a session was issued for.
struct Issuer<'p, 'a>(&'p Principal<'a>, &'a str);

impl Serialize for Issuer<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (p, role) = (self.0, self.1);
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("type", "Role")?;
        let role_id = p.principal_id.split_once(':').map_or("", |(id, _)| id);
        m.serialize_entry("principalId", role_id)?;
        m.serialize_entry("arn", &field(role))?;
        m.serialize_entry("accountId", p.account)?;
        m.serialize_entry("userName", &field(last_segment(role)))?;
        m.end()
    }
}

struct Attributes(u64, Option<bool>);

impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.0);
        m.serialize_entry("creationDate", &Shown(Utc(at)))?;
        if let Some(mfa) = self.1 {
            m.serialize_entry("mfaAuthenticated", if mfa { "true" } else { "false" })?;
        }
        m.end()
    }
}

/// A federated identity: `SAMLUser` or `WebIdentityUser`, as CloudTrail writes them for
/// AssumeRoleWithSAML and AssumeRoleWithWebIdentity.
struct Federated<'a> {
    kind: &'static str,
    principal_id: (&'a str, Option<&'a str>, &'a str),
    user_name: &'a str,
    identity_provider: &'a str,
}

struct PrincipalId<'a>((&'a str, Option<&'a str>, &'a str));

impl std::fmt::Display for PrincipalId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (idp, middle, user) = self.0;
        match middle {
            Some(m) => write!(f, "{idp}:{m}:{user}"),
            None => write!(f, "{idp}:{user}"),
        }
    }
}

impl Serialize for Federated<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (idp, middle, user) = self.principal_id;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("type", self.kind)?;
        // Each part is an identifier the provider vouched for, bounded on its own.
        let bounded = (bounded_str(idp), middle.map(bounded_str), bounded_str(user));
        m.serialize_entry("principalId", &Shown(PrincipalId(bounded)))?;
        m.serialize_entry("userName", &field(self.user_name))?;
        m.serialize_entry("identityProvider", &field(self.identity_provider))?;
        m.end()
    }
}

/// `s` cut to [`super::bounded::MAX_FIELD_BYTES`] on a character boundary (without a marker:
/// used inside a composite value).
fn bounded_str(s: &str) -> &str {
    let mut end = s.len().min(super::bounded::MAX_FIELD_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

impl Serialize for Who {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Who::Unknown => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("type", "Unknown")?;
                m.end()
            }
            Who::Key(akid) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("type", "Unknown")?;
                m.serialize_entry("accessKeyId", &field(akid))?;
                m.end()
            }
            Who::Signed(c) => {
                use crate::sts::CallerKind;
                let (kind, user_name, role_arn) = match &c.kind {
                    CallerKind::User { name } | CallerKind::UserSession { name } => {
                        (Kind::User, Some(name.as_str()), None)
                    }
                    CallerKind::AssumedRole { role_arn, .. } => {
                        (Kind::AssumedRole, None, Some(role_arn.as_str()))
                    }
                };
                Principal {
                    kind,
                    principal_id: &c.user_id,
                    arn: &c.arn,
                    account: &c.account,
                    access_key_id: &c.access_key_id,
                    user_name,
                    role_arn,
                    session: c.issued_at.map(|t| {
                        (
                            crate::clock::epoch(t),
                            Some(c.mfa_authenticated_at.is_some()),
                        )
                    }),
                    source_identity: c.source_identity.as_deref(),
                }
                .serialize(s)
            }
            Who::Session(session) => session_principal(session).serialize(s),
            Who::Saml {
                provider,
                name_qualifier,
                subject,
            } => {
                let idp = name_qualifier.as_deref().unwrap_or(provider);
                Federated {
                    kind: "SAMLUser",
                    principal_id: (idp, None, subject),
                    user_name: subject,
                    identity_provider: idp,
                }
                .serialize(s)
            }
            Who::WebIdentity {
                provider,
                audience,
                subject,
            } => {
                let idp = issuer_of(provider);
                Federated {
                    kind: "WebIdentityUser",
                    principal_id: (idp, audience.as_deref(), subject),
                    user_name: subject,
                    identity_provider: idp,
                }
                .serialize(s)
            }
        }
    }
}

fn session_principal(session: &idbroker_session::Session) -> Principal<'_> {
    use idbroker_session::PrincipalKind;
    let p = &session.principal;
    let kind = match p.kind {
        PrincipalKind::AssumedRole => Kind::AssumedRole,
        PrincipalKind::FederatedUser => Kind::FederatedUser,
        PrincipalKind::User => Kind::User,
    };
    Principal {
        kind,
        principal_id: &p.principal_id,
        arn: &p.arn,
        account: &p.account,
        access_key_id: session.access_key_id.as_str(),
        user_name: p.user_name.as_deref(),
        role_arn: p.role_arn.as_deref(),
        session: Some((session.issued_at, Some(session.mfa))),
        source_identity: p.source_identity.as_deref(),
    }
}

/// The principal `/verify` identified (the signer of the forwarded request), in the same
/// shape as `userIdentity`.
pub(crate) struct Verified<'a>(pub &'a idbroker_verify::VerifiedCaller);

impl Serialize for Verified<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use idbroker_session::PrincipalKind;
        let id = self.0.identity();
        let kind = match id.kind {
            PrincipalKind::AssumedRole => Kind::AssumedRole,
            PrincipalKind::FederatedUser => Kind::FederatedUser,
            PrincipalKind::User => Kind::User,
        };
        Principal {
            kind,
            principal_id: &id.user_id,
            arn: &id.arn,
            account: &id.account,
            access_key_id: &id.access_key_id,
            user_name: id.user_name.as_deref(),
            role_arn: id.role_arn.as_deref(),
            session: id.issued_at.map(|at| (at, Some(id.mfa))),
            source_identity: id.source_identity.as_deref(),
        }
        .serialize(s)
    }
}
