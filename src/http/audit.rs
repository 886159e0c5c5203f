//! The one audit event of a call (`target: "audit"`), filled in as the call learns who and
//! what, written whatever the log filter says.

/// What the audit event names beyond the request itself, filled in as the call learns it.
#[derive(Debug, Default)]
pub(crate) struct Audit {
    /// The authenticated caller's ARN (signed actions), or the identity provider's ARN
    /// (federated ones).
    pub(crate) caller: Option<String>,
    /// The subject the identity provider vouched for (federated actions).
    pub(crate) subject: Option<String>,
    /// The ARN of the session issued.
    pub(super) session: Option<String>,
    /// The AccessKeyId issued (or revoked).
    pub(crate) access_key_id: Option<String>,
    /// What an admin call acted on (the resource its policy allowed).
    pub(crate) target: Option<String>,
    /// Why a call was refused, when the client's answer says less than the operator needs
    /// (e.g. that a PrincipalArn names no configured provider).
    pub(crate) detail: Option<&'static str>,
}

impl Audit {
    /// The call issued `session`.
    pub(crate) fn issued(&mut self, session: &crate::sts::IssuedSession) {
        self.session = Some(session.plan.arn.clone());
        self.access_key_id = Some(session.credentials.access_key_id().to_owned());
    }

    /// The one audit event of a call. Identifiers only: an AccessKeyId names a credential
    /// (CloudTrail logs it too); secrets, session tokens, assertions and ID tokens never reach it.
    ///
    /// Written straight to the log stream as the JSON line tracing's formatter makes
    /// (`timestamp`, `level`, `fields`, `target: "audit"`), without going through the log
    /// filter: audit events are always written, whatever `IDBROKER_LOG` says. Formatting it by
    /// tracing's JSON layer cost ~6% of a web-identity exchange's CPU.
    pub(crate) fn emit(
        &self,
        at: std::time::SystemTime,
        request_id: &str,
        action: &str,
        outcome: &str,
        source_ip: &str,
        role: Option<&str>,
    ) {
        #[derive(serde::Serialize)]
        struct Fields<'a> {
            message: &'static str,
            request_id: &'a str,
            action: &'a str,
            outcome: &'a str,
            source_ip: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            caller: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            subject: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            role: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            session: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            access_key_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            target: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            detail: Option<&'a str>,
        }
        let fields = Fields {
            message: "sts call",
            request_id,
            action,
            outcome,
            source_ip,
            caller: self.caller.as_deref(),
            subject: self.subject.as_deref(),
            role,
            session: self.session.as_deref(),
            access_key_id: self.access_key_id.as_deref(),
            target: self.target.as_deref(),
            detail: self.detail,
        };
        let mut line = String::with_capacity(512);
        line.push_str("{\"timestamp\":\"");
        crate::clock::write_utc(&mut line, at, true);
        line.push_str("\",\"level\":\"INFO\",\"fields\":");
        match serde_json::to_string(&fields) {
            Ok(f) => line.push_str(&f),
            // Serialising borrowed strings cannot fail; should it, the event still says so.
            Err(_) => line.push_str("{\"message\":\"sts call (fields could not be written)\"}"),
        }
        line.push_str(",\"target\":\"audit\"}\n");
        crate::logging::write_line(line.as_bytes());
    }
}
