//! OpenTelemetry traces, end to end: the server in-process on loopback (Redis store) with
//! `[telemetry]` pointing at an OTLP/HTTP receiver this test runs itself (a small HTTP server on
//! its own threads that also serves the OIDC provider's discovery document and JWKS). A signed
//! AssumeRole (the AWS SDK), an unsigned AssumeRoleWithWebIdentity carrying a W3C `traceparent`,
//! an AssumeRoleWithSAML (checked on a check thread) and a GetCallerIdentity signed with the
//! issued session; the spans received are decoded with
//! opentelemetry-proto and must show, per request, one server span with the request id, the
//! children (IdP fetches, signature checks, policy evaluation, store calls) below it with the
//! request id each, the caller's trace and parent honoured, and no secret anywhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod oidc;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sts::operation::RequestId as _;
use idbroker::clock::{epoch, Clock, Stopwatch, SystemClock};
use idbroker::config::{Config, StoreConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

use common::{
    demo_saml_xml, sdk_with_keys, start, DEMO_SAML_PROVIDER, DEMO_SAML_ROLE, KEY, READER, SECRET,
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const WEB_ROLE: &str = "arn:aws:iam::123456789012:role/traced/TracedDeployer";

/// What the receiver got: every span exported, with the resource's `service.name`.
#[derive(Default)]
struct Received {
    spans: Vec<Span>,
    services: Vec<String>,
}

/// The OTLP/HTTP receiver and the OIDC provider's two documents, on 127.0.0.1:PORT, answered on
/// threads of its own (the exporter sends from its own thread, and the test may block on a
/// flush meanwhile).
struct Receiver {
    base: String,
    got: Arc<Mutex<Received>>,
}

impl Receiver {
    fn start(jwks: String) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Received::default()));
        let discovery = json!({"issuer": base, "jwks_uri": format!("{base}/jwks")}).to_string();
        let docs = Arc::new(HashMap::from([
            ("/.well-known/openid-configuration".to_owned(), discovery),
            ("/jwks".to_owned(), jwks),
        ]));
        let g = got.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (g, docs) = (g.clone(), docs.clone());
                std::thread::spawn(move || serve(conn, &g, &docs));
            }
        });
        Receiver { base, got }
    }
}

/// One connection: HTTP/1.1 requests with Content-Length bodies, kept alive.
fn serve(conn: TcpStream, got: &Mutex<Received>, docs: &HashMap<String, String>) {
    let mut out = conn.try_clone().unwrap();
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut words = line.split_whitespace();
        let (method, path) = (
            words.next().unwrap_or("").to_owned(),
            words.next().unwrap_or("").to_owned(),
        );
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0u8; length];
        r.read_exact(&mut body).unwrap();
        let (status, ctype, answer) = match (method.as_str(), path.as_str()) {
            ("POST", "/v1/traces") => {
                let req = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
                let mut g = got.lock().unwrap();
                for rs in req.resource_spans {
                    if let Some(service) = rs
                        .resource
                        .as_ref()
                        .and_then(|r| string_attr(&r.attributes, "service.name").map(str::to_owned))
                    {
                        g.services.push(service);
                    }
                    for ss in rs.scope_spans {
                        g.spans.extend(ss.spans);
                    }
                }
                // An empty ExportTraceServiceResponse: everything accepted.
                ("200 OK", "application/x-protobuf", String::new())
            }
            ("GET", p) if docs.contains_key(p) => ("200 OK", "application/json", docs[p].clone()),
            _ => ("404 Not Found", "text/plain", String::new()),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn string_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(AnyValue::StringValue(s)) => Some(s.as_str()),
            _ => None,
        }
    })
}

/// Every string an exported span carries: its name, attribute values, events and links.
fn strings(span: &Span) -> Vec<String> {
    fn values(attrs: &[KeyValue], out: &mut Vec<String>) {
        for kv in attrs {
            out.push(kv.key.clone());
            if let Some(v) = kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                out.push(match v {
                    AnyValue::StringValue(s) => s.clone(),
                    other => format!("{other:?}"),
                });
            }
        }
    }
    let mut out = vec![span.name.clone(), span.trace_state.clone()];
    values(&span.attributes, &mut out);
    for e in &span.events {
        out.push(e.name.clone());
        values(&e.attributes, &mut out);
    }
    for l in &span.links {
        values(&l.attributes, &mut out);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One request's trace as received.
struct Trace<'a> {
    server: &'a Span,
    spans: Vec<&'a Span>,
}

impl<'a> Trace<'a> {
    /// The server span carrying `request_id` and the spans of its trace; `None` until received.
    fn find(spans: &'a [Span], request_id: &str) -> Option<Trace<'a>> {
        let server = spans.iter().find(|s| {
            s.name == "sts" && string_attr(&s.attributes, "request_id") == Some(request_id)
        })?;
        let spans = spans
            .iter()
            .filter(|s| s.trace_id == server.trace_id)
            .collect();
        Some(Trace { server, spans })
    }

    fn named(&self, name: &str) -> Option<&'a Span> {
        self.spans.iter().copied().find(|s| s.name == name)
    }

    fn has_all(&self, names: &[&str]) -> bool {
        names.iter().all(|n| self.named(n).is_some())
    }

    /// The names from `span` up to the server span (its parents in turn); panics on a parent
    /// that is not in the trace.
    fn ancestry(&self, span: &Span) -> Vec<String> {
        let mut names = vec![span.name.clone()];
        let mut at = span;
        while at.span_id != self.server.span_id {
            at = self
                .spans
                .iter()
                .copied()
                .find(|s| s.span_id == at.parent_span_id)
                .unwrap_or_else(|| panic!("{:?}: parent not in the trace", names));
            names.push(at.name.clone());
        }
        names
    }

    /// The request's checks: one server span, every span with the request id, each of
    /// `children` below the server span.
    fn check(&self, request_id: &str, children: &[&str]) {
        assert_eq!(
            self.server.kind,
            SpanKind::Server as i32,
            "server span kind"
        );
        let servers: Vec<_> = self
            .spans
            .iter()
            .filter(|s| s.kind == SpanKind::Server as i32)
            .collect();
        assert_eq!(servers.len(), 1, "one server span per request");
        for s in &self.spans {
            assert_eq!(
                string_attr(&s.attributes, "request_id"),
                Some(request_id),
                "span {} of request {request_id} without its request id",
                s.name
            );
        }
        for name in children {
            let span = self
                .named(name)
                .unwrap_or_else(|| panic!("{request_id}: no span {name}"));
            let chain = self.ancestry(span);
            assert!(
                chain.len() >= 2,
                "{name} is below the server span: {chain:?}"
            );
        }
    }
}

/// `config/demo/idbroker.toml` (its user, key and roles) with a provider served by `receiver`,
/// a role it may take, and `[telemetry]` exporting there.
fn config(receiver: &Receiver) -> Config {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
    let base = &receiver.base;
    let host_path = base.trim_start_matches("http://");
    let provider = format!("arn:aws:iam::123456789012:oidc-provider/{host_path}");
    let text = std::fs::read_to_string(&file).unwrap()
        + &format!(
            r#"
[[oidc_providers]]
issuer = "{base}"
client_ids = ["{client}"]
allow_http_loopback = true
jti_replay_guard = true

[[roles]]
name = "TracedDeployer"
path = "/traced/"
trust_policy = '''
{{"Version": "2012-10-17", "Statement": [
  {{"Effect": "Allow", "Principal": {{"Federated": "{provider}"}},
   "Action": "sts:AssumeRoleWithWebIdentity",
   "Condition": {{"StringEquals": {{"{host_path}:aud": "{client}"}}}}}}]}}
'''

[telemetry]
otlp_endpoint = "{base}/v1/traces"
service_name = "idbroker-telemetry-test"
export_interval_ms = 100
"#,
            client = oidc::CLIENT,
        );
    let mut cfg = Config::from_toml(&text, &file, &|_| None, SystemClock.now()).unwrap();
    cfg.store = StoreConfig::Redis {
        url: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        prefix: format!(
            "idbroker-telemetry-test:{}:{}:",
            std::process::id(),
            epoch(SystemClock.now())
        ),
    };
    cfg
}

/// POST an unsigned STS form (`pairs` after Action and Version) with `headers`: the answer's
/// XML.
async fn post_form(
    url: &str,
    action: &str,
    pairs: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", action)
        .append_pair("Version", "2011-06-15")
        .extend_pairs(pairs);
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let answer = req.body(form.finish()).send().await.unwrap();
    assert_eq!(answer.status(), 200, "{action}");
    answer.text().await.unwrap()
}

/// The text between `<tag>` and `</tag>` in an XML answer.
fn xml_field<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {xml}"))
        + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>")).unwrap();
    &xml[start..end]
}

#[actix_web::test]
async fn each_request_is_a_trace_with_its_children_and_no_secret() {
    oidc::install_crypto();
    let key = oidc::rsa_key("k1", "RS256");
    let receiver = Receiver::start(oidc::jwks(&[&key]));
    let cfg = config(&receiver);
    let telemetry = idbroker::telemetry::Telemetry::start(cfg.telemetry.as_ref().unwrap()).unwrap();
    // The layer main.rs installs, alone: the spans it lets through are what an operator gets.
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(telemetry.layer()))
        .unwrap();
    let now = SystemClock.now();
    let state = idbroker::build_state(cfg, Arc::new(SystemClock))
        .await
        .unwrap();
    let url = start(state).await;

    // Signed: AssumeRole with the demo user's key.
    let out = sdk_with_keys(&url, KEY, SECRET, None, now)
        .assume_role()
        .role_arn(READER)
        .role_session_name("traced")
        .send()
        .await
        .unwrap();
    let signed_rid = out.request_id().unwrap().to_owned();
    let role_creds = out.credentials().unwrap().clone();

    // Unsigned, in the caller's trace: AssumeRoleWithWebIdentity with a traceparent.
    let t = epoch(now);
    let token = oidc::sign(
        &key,
        &json!({"iss": receiver.base, "sub": "builder", "aud": oidc::CLIENT, "iat": t,
                "exp": t + 600, "jti": format!("jti-{t}")}),
    );
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");
    let xml = post_form(
        &url,
        "AssumeRoleWithWebIdentity",
        &[
            ("RoleArn", WEB_ROLE),
            ("RoleSessionName", "traced-web"),
            ("WebIdentityToken", &token),
        ],
        &[("traceparent", &traceparent)],
    )
    .await;
    let web_rid = xml_field(&xml, "RequestId").to_owned();
    let web_secret = xml_field(&xml, "SecretAccessKey").to_owned();
    let web_token = xml_field(&xml, "SessionToken").to_owned();

    // Unsigned, its check on a check thread: AssumeRoleWithSAML.
    let assertion =
        data_encoding::BASE64.encode(demo_saml_xml("traced@example.com", now).as_bytes());
    let xml = post_form(
        &url,
        "AssumeRoleWithSAML",
        &[
            ("RoleArn", DEMO_SAML_ROLE),
            ("PrincipalArn", DEMO_SAML_PROVIDER),
            ("SAMLAssertion", &assertion),
        ],
        &[],
    )
    .await;
    let saml_rid = xml_field(&xml, "RequestId").to_owned();
    let saml_secret = xml_field(&xml, "SecretAccessKey").to_owned();
    let saml_token = xml_field(&xml, "SessionToken").to_owned();

    // Signed with the issued session: the store's read and the session's signature check.
    let session = sdk_with_keys(
        &url,
        role_creds.access_key_id(),
        role_creds.secret_access_key(),
        Some(role_creds.session_token().to_owned()),
        now,
    );
    let who = session.get_caller_identity().send().await.unwrap();
    let session_rid = who.request_id().unwrap().to_owned();

    let signed_children = [
        "sigv4.verify",
        "policy.trust",
        "policy.identity",
        "store.put",
    ];
    let web_children = [
        "oidc.discovery",
        "oidc.jwks_fetch",
        "jwt.signature",
        "store.use_once",
        "policy.trust",
        "store.put",
    ];
    let session_children = ["store.get", "sigv4.verify"];
    let saml_children = [
        "check",
        "saml.signature",
        "store.use_once",
        "policy.trust",
        "store.put",
    ];

    // Spans end as the answers are written; each flush sends what has ended. Polled, bounded.
    let waited = Stopwatch::start();
    let got = loop {
        telemetry.force_flush().unwrap();
        {
            let mut got = receiver.got.lock().unwrap();
            let complete = |rid: &str, children: &[&str]| {
                Trace::find(&got.spans, rid).is_some_and(|t| t.has_all(children))
            };
            let done = complete(&signed_rid, &signed_children)
                && complete(&web_rid, &web_children)
                && complete(&session_rid, &session_children)
                && complete(&saml_rid, &saml_children);
            if done {
                break std::mem::take(&mut *got);
            }
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the spans of the four requests did not all arrive: {:?}",
            receiver
                .got
                .lock()
                .unwrap()
                .spans
                .iter()
                .map(|s| (&s.name, string_attr(&s.attributes, "request_id")))
                .collect::<Vec<_>>()
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(got.services.iter().all(|s| s == "idbroker-telemetry-test"));

    let signed = Trace::find(&got.spans, &signed_rid).unwrap();
    signed.check(&signed_rid, &signed_children);
    let web = Trace::find(&got.spans, &web_rid).unwrap();
    web.check(&web_rid, &web_children);
    let by_session = Trace::find(&got.spans, &session_rid).unwrap();
    by_session.check(&session_rid, &session_children);
    let saml = Trace::find(&got.spans, &saml_rid).unwrap();
    saml.check(&saml_rid, &saml_children);

    // The caller's traceparent: its trace, its span as the server span's parent.
    assert_eq!(hex(&web.server.trace_id), TRACE_ID);
    assert_eq!(hex(&web.server.parent_span_id), PARENT_ID);
    // Without one: a trace of its own, the server span its root; three requests, three traces.
    assert!(signed.server.parent_span_id.is_empty());
    assert!(by_session.server.parent_span_id.is_empty());
    assert_ne!(signed.server.trace_id, by_session.server.trace_id);
    assert_ne!(signed.server.trace_id, saml.server.trace_id);
    assert_ne!(hex(&signed.server.trace_id), TRACE_ID);
    // The action on the server span; the parents of a few children, exactly.
    assert_eq!(
        string_attr(&web.server.attributes, "action"),
        Some("AssumeRoleWithWebIdentity")
    );
    assert_eq!(
        web.ancestry(web.named("store.put").unwrap())[1],
        "mint",
        "the session is stored by mint"
    );
    assert!(signed
        .ancestry(signed.named("sigv4.verify").unwrap())
        .contains(&"authenticate_for".to_owned()));
    assert!(web
        .ancestry(web.named("jwt.signature").unwrap())
        .contains(&"verify".to_owned()));
    assert_eq!(
        string_attr(
            &web.named("store.use_once").unwrap().attributes,
            "namespace"
        ),
        Some("jti")
    );
    // The SAML check ran on a check thread, in the request's trace all the same (under
    // check_pooled, the first half of verification: the provider's bucket is taken before the
    // assertion's single use).
    assert_eq!(
        saml.ancestry(saml.named("saml.signature").unwrap())[1..=3],
        [
            "check".to_owned(),
            "check_pooled".to_owned(),
            "assume_role_with_saml".to_owned()
        ]
    );
    assert_eq!(
        string_attr(
            &signed.named("policy.trust").unwrap().attributes,
            "decision"
        ),
        Some("Allow")
    );

    // No secret in any span: the keys' secrets, the session tokens, the token sent.
    let secrets = [
        SECRET,
        role_creds.secret_access_key(),
        role_creds.session_token(),
        &web_secret,
        &web_token,
        &saml_secret,
        &saml_token,
        &token,
        // Its signature alone, too.
        token.rsplit('.').next().unwrap(),
    ];
    for span in &got.spans {
        for s in strings(span) {
            for secret in secrets {
                assert!(
                    !s.contains(secret),
                    "span {} carries a secret in {s:?}",
                    span.name
                );
            }
        }
    }
    telemetry.shutdown().unwrap();
}
