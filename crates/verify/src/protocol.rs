//! The JSON of the verifier protocol (`docs/VERIFIER-PROTOCOL.md`): what idbroker renders
//! ([`caller_json`], [`policies_json`]) and what [`RemoteSource`](crate::RemoteSource) reads back
//! ([`parse_answer`]), in one place so the two cannot drift apart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use idbroker_policy::{Policy, PolicyKind};
use idbroker_session::{PrincipalKind, RevocationEvent, SessionTag};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::caller::CallerIdentity;
use crate::source::{Answer, GrantPolicies, SourceNews};

/// A caller's facts, as sent: `arn`, `account`, `user_id`, `access_key_id`, `type`, `role_arn`,
/// `session_name`, `user_name`, `source_identity`, `tags`, `issued_at`, `expires_at`, `mfa`,
/// `mfa_authenticated_at` (null without MFA; an older idbroker does not send it).
pub fn caller_json(id: &CallerIdentity) -> Value {
    json!({
        "arn": id.arn,
        "account": id.account,
        "user_id": id.user_id,
        "access_key_id": id.access_key_id,
        "type": id.kind.name(),
        "role_arn": id.role_arn,
        "session_name": id.session_name,
        "user_name": id.user_name,
        "source_identity": id.source_identity,
        "tags": id.tags.iter().map(|t| json!({"key": t.key, "value": t.value})).collect::<Vec<_>>(),
        "issued_at": id.issued_at,
        "expires_at": id.expires_at,
        "mfa": id.mfa,
        "mfa_authenticated_at": id.mfa_authenticated_at,
    })
}

fn doc(p: &Policy) -> Value {
    json!({"id": &**p.id(), "document": p.document()})
}

/// The policies that decide for a caller, as documents: `identity`, `boundary`, `session`,
/// `resolved`.
pub fn policies_json(p: &GrantPolicies) -> Value {
    json!({
        "identity": p.identity.iter().map(|p| doc(p)).collect::<Vec<_>>(),
        "boundary": p.boundary.as_deref().map(doc),
        "session": p.session.iter().map(|p| doc(p)).collect::<Vec<_>>(),
        "resolved": p.resolved,
    })
}

/// Compiled policies by a hash of (kind, id, document): each version of a document is compiled
/// once, however many grants carry it. Bounded: emptied when full.
#[derive(Debug, Default)]
pub(crate) struct Compiled(Mutex<HashMap<[u8; 32], Arc<Policy>>>);

/// Most distinct policy documents kept compiled.
const MAX_COMPILED: usize = 10_000;

impl Compiled {
    fn get(&self, kind: PolicyKind, v: &Value) -> Option<Arc<Policy>> {
        let id = v.get("id")?.as_str()?;
        let document = v.get("document")?.as_str()?;
        let mut h = Sha256::new();
        h.update([kind as u8]);
        h.update(id.len().to_be_bytes());
        h.update(id.as_bytes());
        h.update(document.as_bytes());
        let hash: [u8; 32] = h.finalize().into();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = map.get(&hash) {
            return Some(Arc::clone(p));
        }
        let p = Arc::new(Policy::parse(document, kind).ok()?.with_id(id.to_owned()));
        if map.len() >= MAX_COMPILED {
            map.clear();
        }
        map.insert(hash, Arc::clone(&p));
        Some(p)
    }

    /// `policies_json`'s document, compiled. A document that does not compile makes the set
    /// unresolved (everything denied), never smaller.
    fn policies(&self, v: &Value) -> GrantPolicies {
        let mut resolved = v.get("resolved").and_then(Value::as_bool) == Some(true);
        let mut list = |key: &str, kind: PolicyKind| -> Vec<Arc<Policy>> {
            match v.get(key).and_then(Value::as_array) {
                Some(items) => items
                    .iter()
                    .filter_map(|d| {
                        let p = self.get(kind, d);
                        resolved &= p.is_some();
                        p
                    })
                    .collect(),
                None => {
                    resolved = false;
                    Vec::new()
                }
            }
        };
        let identity = list("identity", PolicyKind::Identity);
        let session = list("session", PolicyKind::Session);
        let boundary = match v.get("boundary") {
            Some(Value::Null) => None,
            Some(d) => {
                let p = self.get(PolicyKind::Identity, d);
                resolved &= p.is_some();
                p
            }
            None => {
                resolved = false;
                None
            }
        };
        GrantPolicies {
            identity,
            boundary,
            session,
            resolved,
        }
    }
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_owned)
}

fn optional(v: &Value, key: &str) -> Result<Option<String>, ()> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    }
}

/// A caller's facts read back from [`caller_json`].
fn parse_caller(v: &Value) -> Result<CallerIdentity, ()> {
    let tags = v
        .get("tags")
        .and_then(Value::as_array)
        .ok_or(())?
        .iter()
        .map(|t| {
            Ok(SessionTag {
                key: string(t, "key").ok_or(())?,
                value: string(t, "value").ok_or(())?,
            })
        })
        .collect::<Result<Vec<_>, ()>>()?;
    Ok(CallerIdentity {
        access_key_id: string(v, "access_key_id").ok_or(())?,
        kind: v
            .get("type")
            .and_then(Value::as_str)
            .and_then(PrincipalKind::from_name)
            .ok_or(())?,
        arn: string(v, "arn").ok_or(())?,
        user_id: string(v, "user_id").ok_or(())?,
        account: string(v, "account").ok_or(())?,
        role_arn: optional(v, "role_arn")?,
        session_name: optional(v, "session_name")?,
        user_name: optional(v, "user_name")?,
        source_identity: optional(v, "source_identity")?,
        tags,
        issued_at: match v.get("issued_at") {
            None | Some(Value::Null) => None,
            Some(n) => Some(n.as_u64().ok_or(())?),
        },
        expires_at: v.get("expires_at").and_then(Value::as_u64).ok_or(())?,
        mfa: v.get("mfa").and_then(Value::as_bool).ok_or(())?,
        mfa_authenticated_at: match v.get("mfa_authenticated_at") {
            None | Some(Value::Null) => None,
            Some(n) => Some(n.as_u64().ok_or(())?),
        },
    })
}

/// `{"caller": …, "policies": …}` read back. `Err`: not an answer of this protocol.
pub(crate) fn parse_answer(v: &Value, compiled: &Compiled) -> Result<Answer, ()> {
    Ok(Answer {
        identity: parse_caller(v.get("caller").ok_or(())?)?,
        policies: compiled.policies(v.get("policies").ok_or(())?),
    })
}

/// Longest event (or unfinished line) of the event stream.
const MAX_EVENT: usize = 64 * 1024;

/// The reader of `GET /verify/events`'s server-sent events: bytes in ([`push`](Self::push)),
/// the events this verifier knows out ([`next_event`](Self::next_event)). Comments and unknown
/// events are skipped; an event or line over 64 KiB ends the stream.
#[derive(Debug, Default)]
pub struct EventParser {
    buf: Vec<u8>,
    event: String,
    data: String,
}

impl EventParser {
    /// Bytes received.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete event, `Ok(None)` when more bytes are needed, `Err` when the stream
    /// broke its bounds (it must be dropped).
    #[allow(clippy::result_unit_err)]
    pub fn next_event(&mut self) -> Result<Option<SourceNews>, ()> {
        while let Some(line) = self.line() {
            if line.is_empty() {
                if let Some(news) = self.dispatch() {
                    return Ok(Some(news));
                }
            } else if let Some(v) = line.strip_prefix("event:") {
                self.event = v.trim_start().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                if self.data.len() + v.len() > MAX_EVENT {
                    return Err(());
                }
                self.data.push_str(v.trim_start());
            }
            // Comments (`:`) and other fields are ignored.
        }
        if self.buf.len() > MAX_EVENT {
            return Err(());
        }
        Ok(None)
    }

    /// The next complete line in the buffer, without its end.
    fn line(&mut self) -> Option<String> {
        let end = self.buf.iter().position(|&b| b == b'\n')?;
        let mut line: Vec<u8> = self.buf.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    /// The event dispatched by a blank line, if it is one this verifier knows.
    fn dispatch(&mut self) -> Option<SourceNews> {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        let field = |k: &str| {
            serde_json::from_str::<Value>(&data)
                .ok()
                .and_then(|v| v.get(k)?.as_str().map(str::to_owned))
        };
        match event.as_str() {
            "hello" | "policies" => Some(match field("policy_version") {
                Some(v) => SourceNews::Policies(v),
                None => SourceNews::Reset,
            }),
            "revoked" => Some(match RevocationEvent::from_message(data.as_bytes()) {
                Some(e) => SourceNews::Revoked(e),
                // A revocation this verifier cannot read: anything may have been revoked.
                None => SourceNews::Reset,
            }),
            "reset" => Some(SourceNews::Reset),
            "alive" => Some(SourceNews::Alive),
            "down" => Some(SourceNews::Down),
            _ => None,
        }
    }
}

/// A grant's JSON (`POST /verify/key`'s answer) read as [`RemoteSource`](crate::RemoteSource)
/// reads it: the caller and the policies (compiled), or `Err`. For the fuzzer.
#[allow(clippy::result_unit_err)]
pub fn read_answer(bytes: &[u8]) -> Result<Answer, ()> {
    let v: Value = serde_json::from_slice(bytes).map_err(|_| ())?;
    parse_answer(&v, &Compiled::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> CallerIdentity {
        CallerIdentity {
            access_key_id: "ASIAEXAMPLE".into(),
            kind: PrincipalKind::AssumedRole,
            arn: "arn:aws:sts::123456789012:assumed-role/R/s".into(),
            user_id: "AROAEXAMPLE:s".into(),
            account: "123456789012".into(),
            role_arn: Some("arn:aws:iam::123456789012:role/R".into()),
            session_name: Some("s".into()),
            user_name: None,
            source_identity: Some("alice".into()),
            tags: vec![SessionTag {
                key: "team".into(),
                value: "blue".into(),
            }],
            issued_at: Some(1),
            expires_at: 2,
            mfa: true,
            mfa_authenticated_at: Some(1),
        }
    }

    fn policy(id: &str, kind: PolicyKind) -> Arc<Policy> {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        Arc::new(Policy::parse(text, kind).unwrap().with_id(id))
    }

    #[test]
    fn what_is_rendered_reads_back() {
        let policies = GrantPolicies {
            identity: vec![policy("inline", PolicyKind::Identity)],
            boundary: Some(policy(
                "arn:aws:iam::123456789012:policy/B",
                PolicyKind::Identity,
            )),
            session: vec![policy("session-policy", PolicyKind::Session)],
            resolved: true,
        };
        let v = json!({"caller": caller_json(&identity()), "policies": policies_json(&policies)});
        let compiled = Compiled::default();
        let a = parse_answer(&v, &compiled).unwrap();
        assert_eq!(a.identity, identity());
        assert!(a.policies.resolved);
        assert_eq!(&**a.policies.identity[0].id(), "inline");
        assert!(a.policies.boundary.is_some());
        assert_eq!(a.policies.session.len(), 1);
        // Compiled once per version.
        let again = parse_answer(&v, &compiled).unwrap();
        assert!(Arc::ptr_eq(
            &a.policies.identity[0],
            &again.policies.identity[0]
        ));
    }

    #[test]
    fn a_document_that_does_not_compile_denies_everything() {
        let v = json!({"identity": [{"id": "x", "document": "{not json"}], "boundary": null,
                       "session": [], "resolved": true});
        assert!(!Compiled::default().policies(&v).resolved);
        let missing = json!({"identity": [], "session": [], "resolved": true});
        assert!(
            !Compiled::default().policies(&missing).resolved,
            "no boundary key"
        );
        let unresolved =
            json!({"identity": [], "boundary": null, "session": [], "resolved": false});
        assert!(!Compiled::default().policies(&unresolved).resolved);
    }

    #[test]
    fn events_are_read_across_chunks_and_bounded() {
        let mut p = EventParser::default();
        p.push(b"event: hello\ndata: {\"policy_version\":\"v1\"}\n");
        assert_eq!(p.next_event(), Ok(None));
        p.push(b"\n: keep-alive\n\nevent: rev");
        assert_eq!(p.next_event(), Ok(Some(SourceNews::Policies("v1".into()))));
        assert_eq!(p.next_event(), Ok(None), "a comment is no event");
        p.push(b"oked\r\ndata: {\"session\":\"ASIAIDBROKEREXAMPLEA\"}\r\n\r\n");
        assert!(matches!(p.next_event(), Ok(Some(SourceNews::Revoked(_)))));
        // An unreadable revocation is "anything may have been revoked".
        p.push(b"event: revoked\ndata: {\"scope\":\"nope\"}\n\n");
        assert_eq!(p.next_event(), Ok(Some(SourceNews::Reset)));
        p.push(b"event: whatever\ndata: {}\n\nevent: down\ndata: {}\n\n");
        assert_eq!(p.next_event(), Ok(Some(SourceNews::Down)));
        p.push(&vec![b'x'; MAX_EVENT + 1]);
        assert_eq!(p.next_event(), Err(()));
    }

    proptest::proptest! {
        /// Arbitrary bytes, in arbitrary chunks, through both readers: no panic, the buffer
        /// bounded (fuzz/fuzz_targets/verify_protocol.rs does the same, longer).
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..4096), step in 1usize..97) {
            let _ = read_answer(&data);
            let mut p = EventParser::default();
            for chunk in data.chunks(step) {
                p.push(chunk);
                loop {
                    match p.next_event() {
                        Ok(Some(_)) => continue,
                        Ok(None) => break,
                        Err(()) => return Ok(()),
                    }
                }
                proptest::prop_assert!(p.buf.len() <= MAX_EVENT + 97);
            }
        }

        /// Events built from arbitrary revocations and versions read back as sent.
        #[test]
        fn events_read_back(version in "[0-9a-f]{1,64}", chunk in 1usize..17) {
            let text = format!("event: hello\ndata: {{\"policy_version\":\"{version}\"}}\n\nevent: alive\ndata: {{}}\n\n");
            let mut p = EventParser::default();
            let mut got = Vec::new();
            for c in text.as_bytes().chunks(chunk) {
                p.push(c);
                while let Ok(Some(n)) = p.next_event() {
                    got.push(n);
                }
            }
            proptest::prop_assert_eq!(got, vec![SourceNews::Policies(version), SourceNews::Alive]);
        }
    }

    #[test]
    fn malformed_callers_are_refused() {
        let mut v = caller_json(&identity());
        v["type"] = json!("Root");
        assert!(parse_caller(&v).is_err());
        let mut v = caller_json(&identity());
        v["role_arn"] = json!(5);
        assert!(parse_caller(&v).is_err());
    }
}
