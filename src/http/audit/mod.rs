//! The one audit record of a call, in CloudTrail's record shape (`eventVersion` 1.08): who
//! ([`Who`], `userIdentity`), what was asked (`requestParameters`, never a secret), what was
//! answered (`responseElements`: an issued session's AccessKeyId and expiration, never its
//! secret or token), `errorCode`/`errorMessage` on a failure. Handlers fill [`Audit`] as the
//! call learns who and what; `Call::end` writes it, whatever the log filter says.
//!
//! Files: `identity.rs` (`userIdentity`), `params.rs` (an STS call's `requestParameters`),
//! `answer.rs` (`responseElements`, and what admin and `/verify` calls asked), `bounded.rs`
//! (every client-controlled string cut at a bound, with a marker).

mod answer;
mod bounded;
mod identity;
mod params;

use std::cell::RefCell;
use std::net::IpAddr;
use std::time::SystemTime;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

pub(crate) use answer::{decision_label, Answer, Asked, SamlAnswer, WebIdentityAnswer};
#[cfg(test)]
pub(crate) use bounded::MAX_FIELD_BYTES;
use bounded::{field, Shown};
pub(crate) use identity::Who;

use crate::http::query::Params;

/// What the audit record names beyond the request itself, filled in as the call learns it.
#[derive(Debug, Default)]
pub(crate) struct Audit {
    /// Who made the call (`userIdentity`).
    pub(crate) who: Who,
    /// What an admin or `/verify` call asked (`requestParameters`; an STS call's come from its
    /// parameters).
    pub(crate) asked: Asked,
    /// What was answered (`responseElements`).
    pub(crate) answer: Answer,
    /// Why a call was refused, when the client's answer says less than the operator needs
    /// (e.g. that a PrincipalArn names no configured provider): `additionalEventData.detail`.
    pub(crate) detail: Option<&'static str>,
    /// Where a console sign-in sends the browser (`additionalEventData.LoginTo`).
    pub(crate) login_to: Option<String>,
}

/// How the call ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome<'a> {
    /// Answered as asked.
    Ok,
    /// Refused or failed: the error code and message the client got.
    Failed {
        /// `errorCode`
        code: &'static str,
        /// `errorMessage`
        message: &'a str,
    },
}

impl<'a> Outcome<'a> {
    /// How a handler's result ended.
    pub(crate) fn of<T>(result: &'a Result<T, crate::http::error::ApiError>) -> Self {
        Outcome::failed(result.as_ref().err().map(|e| (e.code, e.message.as_str())))
    }

    /// `Ok`, or failed with this error code and message.
    pub(crate) fn failed(error: Option<(&'static str, &'a str)>) -> Self {
        match error {
            None => Outcome::Ok,
            Some((code, message)) => Outcome::Failed { code, message },
        }
    }

    /// The metric's outcome label: `ok` or the error code.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed { code, .. } => code,
        }
    }
}

/// What the call itself says, beyond what the handler filled in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    /// When the call ended (the state's clock).
    pub(crate) at: SystemTime,
    /// The request id the client got.
    pub(crate) request_id: &'a str,
    /// The action (the metric's label).
    pub(crate) action: &'static str,
    /// How it ended.
    pub(crate) outcome: Outcome<'a>,
    /// The peer's address.
    pub(crate) source_ip: Option<IpAddr>,
    /// The `User-Agent` header.
    pub(crate) user_agent: Option<&'a str>,
    /// The configured region.
    pub(crate) region: &'a str,
    /// The configured account.
    pub(crate) account: &'a str,
    /// The request's Query parameters (STS calls, `/workload/credentials`).
    pub(crate) params: Option<&'a Params>,
}

/// The event an action is recorded as: `eventSource`, `eventName`, `eventType`, `readOnly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) source: &'static str,
    pub(crate) name: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) read_only: bool,
}

/// STS's own actions.
pub(crate) const STS: &str = "sts.amazonaws.com";
/// Console sign-in and the federation endpoint, as CloudTrail records AWS's.
pub(crate) const SIGNIN: &str = "signin.amazonaws.com";
/// idbroker's own API (the admin API, `/verify`, `/workload/credentials`): the SigV4 service
/// name `idbroker` in CloudTrail's form. Not an AWS service.
pub(crate) const IDBROKER: &str = "idbroker.amazonaws.com";
/// The IAM API's calls.
pub(crate) const IAM: &str = "iam.amazonaws.com";

/// The event `action` is recorded as.
pub(crate) fn event(action: &'static str) -> Event {
    let api = |source, read_only| Event {
        source,
        name: action,
        kind: "AwsApiCall",
        read_only,
    };
    let signin = |name| Event {
        source: SIGNIN,
        name,
        kind: "AwsConsoleSignIn",
        read_only: false,
    };
    match action {
        "GetCallerIdentity" => api(STS, true),
        "GetSessionToken"
        | "AssumeRole"
        | "AssumeRoleWithSAML"
        | "AssumeRoleWithWebIdentity"
        | "Other"
        | "None" => api(STS, false),
        "ConsoleSignInSAML"
        | "ConsoleSignInOIDC"
        | "ConsolePickRole"
        | "FederationLogin"
        | "ConsoleSignInPassword"
        | "ConsoleSignInMFA" => signin("ConsoleLogin"),
        "ConsoleChangePassword" => signin("ChangePassword"),
        "FederationGetSigninToken" => signin("GetSigninToken"),
        // Command-line sign-in, named as AWS IAM Identity Center's OIDC and portal calls.
        "DeviceAuthorization" => signin("StartDeviceAuthorization"),
        "ConsoleDeviceCode" => signin("ConsoleLogin"),
        "CliToken" => signin("CreateToken"),
        "CliCredentials" => signin("GetRoleCredentials"),
        "ConsoleSignOut" => signin("ConsoleSignOut"),
        "VerifyRequest" | "ListSessions" | "GetScopedKey" | "WatchRevocations"
        | "VerifyK8sToken" => api(IDBROKER, true),
        _ => match crate::iam_call::known(action) {
            Some(c) => api(IAM, c.effect == crate::iam::Effect::Read),
            None => api(IDBROKER, false),
        },
    }
}

thread_local! {
    /// Each thread's line buffer, reused: a record costs no allocation of its own.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Audit {
    /// The call issued `session` (its AccessKeyId and expiration are kept; its secret and token
    /// are dropped here).
    pub(crate) fn issued(&mut self, session: crate::sts::IssuedSession) {
        self.answer = Answer::Session(answer::Issued::from(session));
    }

    /// The one audit record of a call, written straight to the log stream (one JSON line,
    /// without going through the log filter: audit records are always written, whatever
    /// `IDBROKER_LOG` says). Identifiers only: an AccessKeyId names a credential (CloudTrail
    /// logs it too); secrets, session tokens, assertions and ID tokens never reach it.
    pub(crate) fn emit(&self, ctx: &Context<'_>) {
        let written = SCRATCH.with(|b| {
            let Ok(mut buf) = b.try_borrow_mut() else {
                return false;
            };
            buf.clear();
            self.write(ctx, &mut buf);
            crate::logging::write_line(&buf);
            true
        });
        if !written {
            let mut buf = Vec::with_capacity(1024);
            self.write(ctx, &mut buf);
            crate::logging::write_line(&buf);
        }
    }

    /// The record as one line (see [`Audit::emit`]).
    fn write(&self, ctx: &Context<'_>, out: &mut Vec<u8>) {
        let record = Record { audit: self, ctx };
        if serde_json::to_writer(&mut *out, &record).is_err() {
            // Serialising borrowed values into memory cannot fail; should it, the line still
            // says which call it was.
            out.clear();
            let _ = serde_json::to_writer(
                &mut *out,
                &serde_json::json!({"eventVersion": EVENT_VERSION, "requestID": ctx.request_id,
                    "eventName": ctx.action, "additionalEventData": {"detail": "record could not be written"}}),
            );
        }
        out.push(b'\n');
    }

    #[cfg(test)]
    pub(crate) fn line(&self, ctx: &Context<'_>) -> String {
        let mut out = Vec::new();
        self.write(ctx, &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// CloudTrail's record version this shape follows.
pub(crate) const EVENT_VERSION: &str = "1.08";

struct Record<'a> {
    audit: &'a Audit,
    ctx: &'a Context<'a>,
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (a, c) = (self.audit, self.ctx);
        let ev = event(c.action);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("eventVersion", EVENT_VERSION)?;
        m.serialize_entry("userIdentity", &a.who)?;
        m.serialize_entry("eventTime", &Shown(crate::clock::Utc(c.at)))?;
        m.serialize_entry("eventSource", ev.source)?;
        m.serialize_entry("eventName", ev.name)?;
        m.serialize_entry("awsRegion", c.region)?;
        m.serialize_entry("sourceIPAddress", &c.source_ip.map(Shown))?;
        m.serialize_entry("userAgent", &c.user_agent.map(field))?;
        if let Outcome::Failed { code, message } = c.outcome {
            m.serialize_entry("errorCode", code)?;
            m.serialize_entry("errorMessage", &field(message))?;
        }
        m.serialize_entry(
            "requestParameters",
            &answer::RequestParameters::of(&a.asked, c.params),
        )?;
        m.serialize_entry(
            "responseElements",
            &answer::ResponseElements::of(&a.answer, ev.name, c.outcome),
        )?;
        let extra = Additional {
            detail: a.detail,
            action: (ev.name != c.action).then_some(c.action),
            login_to: a.login_to.as_deref(),
        };
        if extra.any() {
            m.serialize_entry("additionalEventData", &extra)?;
        }
        m.serialize_entry("requestID", c.request_id)?;
        m.serialize_entry("eventID", &Shown(uuid::Uuid::new_v4().hyphenated()))?;
        m.serialize_entry("readOnly", &ev.read_only)?;
        m.serialize_entry("eventType", ev.kind)?;
        m.serialize_entry("managementEvent", &true)?;
        m.serialize_entry("recipientAccountId", c.account)?;
        m.serialize_entry("eventCategory", "Management")?;
        m.end()
    }
}

/// `additionalEventData`: what operators need that CloudTrail has no field for.
struct Additional<'a> {
    detail: Option<&'static str>,
    /// idbroker's name of the step, when `eventName` is CloudTrail's (`ConsoleLogin`).
    action: Option<&'static str>,
    login_to: Option<&'a str>,
}

impl Additional<'_> {
    fn any(&self) -> bool {
        self.detail.is_some() || self.action.is_some() || self.login_to.is_some()
    }
}

impl Serialize for Additional<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(d) = self.detail {
            m.serialize_entry("detail", d)?;
        }
        if let Some(a) = self.action {
            m.serialize_entry("idbrokerAction", a)?;
        }
        if let Some(l) = self.login_to {
            m.serialize_entry("LoginTo", &field(l))?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests;
