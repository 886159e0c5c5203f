//! `requestParameters` of the admin API and `/verify` (what they asked), and
//! `responseElements` of every call (what was answered): an issued session's AccessKeyId and
//! expiration only, never its secret or token.

use std::time::SystemTime;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::bounded::{field, Shown};
use super::identity::Verified;
use super::params::QueryParameters;
use super::Outcome;
use crate::admin::{ListSessionsRequest, Revocation, Revoked, SessionsOf};
use crate::clock::Utc;
use crate::http::query::Params;
use crate::sts::SessionPlan;
use crate::verification::{Verification, VerifyInput};

/// What an admin or `/verify` call asked.
#[derive(Debug, Default)]
pub(crate) enum Asked {
    /// Nothing beyond the Query parameters (or nothing readable).
    #[default]
    Nothing,
    /// `POST /admin/revoke`.
    Revocation(Revocation),
    /// `POST /admin/sessions`.
    Listing(ListSessionsRequest),
    /// `POST /verify/key`: whose key, for which scope (never the session token).
    ScopedKey {
        /// The access key the key is asked for.
        access_key_id: String,
        /// The scope: date, region, service.
        date: String,
        /// The scope's region.
        region: String,
        /// The scope's service.
        service: String,
    },
    /// `POST /verify/k8s`: the cluster the token was checked for (never the token).
    K8sToken {
        /// The `cluster_id`.
        cluster_id: String,
    },
    /// An IAM user's console sign-in step: the account and user name as typed (never the
    /// password or the code).
    SignIn {
        /// Account id or alias.
        account: String,
        /// User name.
        user_name: String,
    },
    /// `GET /verify/events`: the service whose verifiers the stream is for.
    Events {
        /// The `service` query parameter.
        service: String,
    },
    /// `POST /verify`: the forwarded request's service, method and path, and the action and
    /// resource to decide. Its headers, query and context are emptied before it is kept
    /// (they carry the signature and token) and never written.
    Verify(Box<VerifyInput>),
    /// An IAM call: the resource it was authorized on (when it got that far) and its
    /// parameters (never a password or an MFA code: the handler leaves those out).
    Iam {
        /// The resource ARN.
        resource: Option<String>,
        /// The parameters, by their Query names.
        parameters: Vec<(String, String)>,
    },
}

/// An issued session, without its secret and token.
#[derive(Debug)]
pub(crate) struct Issued {
    plan: SessionPlan,
    access_key_id: String,
    expiration: SystemTime,
}

impl From<crate::sts::IssuedSession> for Issued {
    fn from(s: crate::sts::IssuedSession) -> Self {
        Issued {
            access_key_id: s.credentials.access_key_id().to_owned(),
            expiration: s.credentials.expiration(),
            plan: s.plan,
        }
    }
}

/// What was answered.
#[derive(Debug, Default)]
pub(crate) enum Answer {
    /// Nothing worth recording (or a failure).
    #[default]
    Nothing,
    /// A session (GetSessionToken, AssumeRole, a console sign-in).
    Session(Issued),
    /// AssumeRoleWithSAML's session and what the assertion said.
    Saml(Issued, Box<SamlAnswer>),
    /// AssumeRoleWithWebIdentity's session and what the token said.
    WebIdentity(Issued, Box<WebIdentityAnswer>),
    /// What the admin API revoked.
    Revoked(Revoked),
    /// A k8s token's principal (`POST /verify/k8s`).
    Identified {
        /// The principal the token identified.
        arn: String,
    },
    /// A scoped key given (never the key): whose it is and until when.
    ScopedKey {
        /// The principal it belongs to.
        arn: String,
        /// Seconds since the epoch.
        expires_at: u64,
    },
    /// What the admin API listed: the resource, how many sessions, whether a page follows
    /// (identifiers of the sessions are in the answer to the caller, not in the record).
    Listed {
        /// The resource the listing was allowed on.
        resource: String,
        /// Sessions in the page.
        count: usize,
        /// A page follows.
        more: bool,
    },
    /// A `/verify` decision.
    Verified(Box<Verification>),
}

/// AssumeRoleWithSAML's answer beyond the session.
#[derive(Debug)]
pub(crate) struct SamlAnswer {
    pub(crate) subject: String,
    pub(crate) subject_type: String,
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) name_qualifier: String,
}

/// AssumeRoleWithWebIdentity's answer beyond the session.
#[derive(Debug)]
pub(crate) struct WebIdentityAnswer {
    pub(crate) subject: String,
    pub(crate) provider: String,
    pub(crate) audience: String,
}

/// `requestParameters` (`null` when there are none).
pub(super) enum RequestParameters<'a> {
    None,
    Query(QueryParameters<'a>),
    Asked(&'a Asked),
}

impl<'a> RequestParameters<'a> {
    pub(super) fn of(asked: &'a Asked, params: Option<&'a Params>) -> Self {
        match (asked, params.map(QueryParameters)) {
            (Asked::Nothing, Some(q)) if q.any() => RequestParameters::Query(q),
            (Asked::Nothing, _) => RequestParameters::None,
            (a, _) => RequestParameters::Asked(a),
        }
    }
}

impl Serialize for RequestParameters<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestParameters::None | RequestParameters::Asked(Asked::Nothing) => {
                s.serialize_none()
            }
            RequestParameters::Query(q) => q.serialize(s),
            RequestParameters::Asked(Asked::Revocation(r)) => {
                let mut m = s.serialize_map(None)?;
                match r {
                    Revocation::Session(id) => m.serialize_entry("accessKeyId", &field(id))?,
                    Revocation::OlderSessions { role_arn, before } => {
                        m.serialize_entry("roleArn", &field(role_arn))?;
                        if let Some(t) = before {
                            m.serialize_entry("before", &Shown(Utc(*t)))?;
                        }
                    }
                    Revocation::Principal(arn) => m.serialize_entry("principalArn", &field(arn))?,
                    Revocation::SourceIdentity(si) => {
                        m.serialize_entry("sourceIdentity", &field(si))?;
                    }
                }
                m.end()
            }
            RequestParameters::Asked(Asked::ScopedKey {
                access_key_id,
                date,
                region,
                service,
            }) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("accessKeyId", &field(access_key_id))?;
                m.serialize_entry("date", &field(date))?;
                m.serialize_entry("region", &field(region))?;
                m.serialize_entry("service", &field(service))?;
                m.end()
            }
            RequestParameters::Asked(Asked::K8sToken { cluster_id }) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("clusterId", &field(cluster_id))?;
                m.end()
            }
            RequestParameters::Asked(Asked::SignIn { account, user_name }) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("account", &field(account))?;
                m.serialize_entry("userName", &field(user_name))?;
                m.end()
            }
            RequestParameters::Asked(Asked::Events { service }) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("service", &field(service))?;
                m.end()
            }
            RequestParameters::Asked(Asked::Listing(l)) => {
                let mut m = s.serialize_map(None)?;
                match &l.of {
                    SessionsOf::Role(arn) => m.serialize_entry("roleArn", &field(arn))?,
                    SessionsOf::Principal(arn) => m.serialize_entry("principalArn", &field(arn))?,
                    SessionsOf::SourceIdentity(si) => {
                        m.serialize_entry("sourceIdentity", &field(si))?;
                    }
                }
                m.serialize_entry("maxItems", &l.max_items)?;
                m.serialize_entry("marker", &l.marker.is_some())?;
                m.end()
            }
            RequestParameters::Asked(Asked::Iam {
                resource,
                parameters,
            }) => {
                let mut m = s.serialize_map(None)?;
                if let Some(r) = resource {
                    m.serialize_entry("resource", &field(r))?;
                }
                for (name, value) in parameters.iter().take(super::bounded::MAX_ITEMS) {
                    m.serialize_entry(name, &field(value))?;
                }
                if parameters.len() > super::bounded::MAX_ITEMS {
                    m.serialize_entry(
                        "moreParameters",
                        &(parameters.len() - super::bounded::MAX_ITEMS),
                    )?;
                }
                m.end()
            }
            RequestParameters::Asked(Asked::Verify(v)) => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("service", &field(&v.service))?;
                m.serialize_entry("method", &field(&v.method))?;
                m.serialize_entry("path", &field(&v.path))?;
                if let Some(a) = &v.action {
                    m.serialize_entry("action", &field(a))?;
                }
                if let Some(r) = &v.resource {
                    m.serialize_entry("resource", &field(r))?;
                }
                if let Some(ip) = &v.source_ip {
                    m.serialize_entry("sourceIp", &field(ip))?;
                }
                m.end()
            }
        }
    }
}

/// `responseElements` (`null` when nothing was answered, as CloudTrail writes a failure's;
/// sign-in events say `Success` or `Failure` as CloudTrail's do).
pub(super) struct ResponseElements<'a> {
    answer: &'a Answer,
    /// `ConsoleLogin` or `GetSigninToken`: the result under the event's name.
    signin: Option<&'static str>,
    ok: bool,
}

impl<'a> ResponseElements<'a> {
    pub(super) fn of(answer: &'a Answer, event_name: &'static str, outcome: Outcome<'_>) -> Self {
        let signin = matches!(event_name, "ConsoleLogin" | "GetSigninToken").then_some(event_name);
        ResponseElements {
            answer,
            signin,
            ok: matches!(outcome, Outcome::Ok),
        }
    }
}

fn session<M: SerializeMap>(m: &mut M, i: &Issued) -> Result<(), M::Error> {
    m.serialize_entry(
        "credentials",
        &Credentials {
            access_key_id: &i.access_key_id,
            expiration: i.expiration,
        },
    )?;
    if i.plan.role.is_some() {
        m.serialize_entry("assumedRoleUser", &AssumedRoleUser(&i.plan))?;
    }
    if let Some(size) = i.plan.packed_policy_size {
        m.serialize_entry("packedPolicySize", &size)?;
    }
    if let Some(si) = &i.plan.source_identity {
        m.serialize_entry("sourceIdentity", &field(si))?;
    }
    Ok(())
}

struct Credentials<'a> {
    access_key_id: &'a str,
    expiration: SystemTime,
}

impl Serialize for Credentials<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("accessKeyId", self.access_key_id)?;
        m.serialize_entry("expiration", &Shown(Utc(self.expiration)))?;
        m.end()
    }
}

struct AssumedRoleUser<'a>(&'a SessionPlan);

impl Serialize for AssumedRoleUser<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("assumedRoleId", &field(&self.0.user_id))?;
        m.serialize_entry("arn", &field(&self.0.arn))?;
        m.end()
    }
}

impl Serialize for ResponseElements<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if matches!(self.answer, Answer::Nothing) && self.signin.is_none() {
            return s.serialize_none();
        }
        let mut m = s.serialize_map(None)?;
        if let Some(name) = self.signin {
            m.serialize_entry(name, if self.ok { "Success" } else { "Failure" })?;
        }
        match self.answer {
            Answer::Nothing => {}
            Answer::Session(i) => session(&mut m, i)?,
            Answer::Saml(i, a) => {
                session(&mut m, i)?;
                m.serialize_entry("subject", &field(&a.subject))?;
                m.serialize_entry("subjectType", &field(&a.subject_type))?;
                m.serialize_entry("issuer", &field(&a.issuer))?;
                m.serialize_entry("audience", &field(&a.audience))?;
                m.serialize_entry("nameQualifier", &field(&a.name_qualifier))?;
            }
            Answer::WebIdentity(i, a) => {
                session(&mut m, i)?;
                m.serialize_entry("subjectFromWebIdentityToken", &field(&a.subject))?;
                m.serialize_entry("provider", &field(&a.provider))?;
                m.serialize_entry("audience", &field(&a.audience))?;
            }
            Answer::Revoked(r) => {
                m.serialize_entry("action", &r.action)?;
                m.serialize_entry("resource", &field(&r.resource))?;
                if let Some(id) = &r.access_key_id {
                    m.serialize_entry("accessKeyId", id)?;
                }
                if let Some(t) = r.revoked_before {
                    m.serialize_entry("revokedBefore", &Shown(Utc(t)))?;
                }
            }
            Answer::Identified { arn } => {
                m.serialize_entry("principal", &field(arn))?;
            }
            Answer::ScopedKey { arn, expires_at } => {
                m.serialize_entry("principal", &field(arn))?;
                m.serialize_entry("expiresAt", expires_at)?;
            }
            Answer::Listed {
                resource,
                count,
                more,
            } => {
                m.serialize_entry("resource", &field(resource))?;
                m.serialize_entry("sessions", count)?;
                m.serialize_entry("truncated", more)?;
            }
            Answer::Verified(v) => {
                m.serialize_entry("authenticated", &true)?;
                m.serialize_entry("allowed", &v.allowed())?;
                if let Some(d) = v.decision {
                    m.serialize_entry("decision", decision_label(d))?;
                }
                m.serialize_entry("principal", &Verified(&v.caller))?;
            }
        }
        m.end()
    }
}

/// A `/verify` decision's name (as its answer writes it).
pub(crate) fn decision_label(d: idbroker_verify::Decision) -> &'static str {
    use idbroker_verify::Decision;
    match d {
        Decision::Allow => "Allow",
        Decision::ExplicitDeny => "ExplicitDeny",
        Decision::ImplicitDeny => "ImplicitDeny",
    }
}
