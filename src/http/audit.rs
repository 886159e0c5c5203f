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
        let line = self.line(at, request_id, action, outcome, source_ip, role);
        crate::logging::write_line(line.as_bytes());
    }

    /// The audit line (see [`Audit::emit`]). Every field that can carry what a client sent (the
    /// RoleArn of an unsigned call, a subject, a destination) is cut at [`MAX_FIELD_BYTES`],
    /// with a marker saying how long it was: an outsider cannot write an unbounded line.
    fn line(
        &self,
        at: std::time::SystemTime,
        request_id: &str,
        action: &str,
        outcome: &str,
        source_ip: &str,
        role: Option<&str>,
    ) -> String {
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
        let caller = self.caller.as_deref().map(bounded);
        let subject = self.subject.as_deref().map(bounded);
        let role = role.map(bounded);
        let session = self.session.as_deref().map(bounded);
        let access_key_id = self.access_key_id.as_deref().map(bounded);
        let target = self.target.as_deref().map(bounded);
        let fields = Fields {
            message: "sts call",
            request_id: &bounded(request_id),
            action: &bounded(action),
            outcome,
            source_ip: &bounded(source_ip),
            caller: caller.as_deref(),
            subject: subject.as_deref(),
            role: role.as_deref(),
            session: session.as_deref(),
            access_key_id: access_key_id.as_deref(),
            target: target.as_deref(),
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
        line
    }
}

/// The most of one audit field that is written: IAM's longest ARN (2,048 characters) fits.
pub(crate) const MAX_FIELD_BYTES: usize = 2048;

/// `value`, or its first [`MAX_FIELD_BYTES`] (cut on a character boundary) and a marker with
/// its length.
fn bounded(value: &str) -> std::borrow::Cow<'_, str> {
    if value.len() <= MAX_FIELD_BYTES {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut end = MAX_FIELD_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let kept = value.get(..end).unwrap_or_default();
    std::borrow::Cow::Owned(format!("{kept}...[truncated: {} bytes]", value.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outsiders_field_cannot_make_the_line_unbounded() {
        // Regression: an unsigned call's RoleArn was written as sent (a 200 KB audit line).
        let huge = "a".repeat(200_000);
        let audit = Audit {
            subject: Some("é".repeat(5_000)),
            target: Some(huge.clone()),
            ..Audit::default()
        };
        let line = audit.line(
            std::time::SystemTime::UNIX_EPOCH,
            "rid",
            "AssumeRoleWithSAML",
            "InvalidIdentityToken",
            "127.0.0.1",
            Some(&huge),
        );
        assert!(line.len() < 4 * MAX_FIELD_BYTES, "{}", line.len());
        assert!(line.contains("...[truncated: 200000 bytes]"));
        assert!(line.contains("...[truncated: 10000 bytes]"));
        let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap_or_default();
        assert_eq!(v["fields"]["outcome"], "InvalidIdentityToken");
        assert!(v["fields"]["role"]
            .as_str()
            .is_some_and(|r| r.starts_with("aaaa")));
        let short = Audit::default().line(
            std::time::SystemTime::UNIX_EPOCH,
            "rid",
            "GetCallerIdentity",
            "ok",
            "::1",
            Some("arn:aws:iam::123456789012:role/R"),
        );
        assert!(short.contains("\"role\":\"arn:aws:iam::123456789012:role/R\""));
    }
}
