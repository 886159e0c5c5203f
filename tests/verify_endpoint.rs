//! `POST /verify` end to end: the server in-process on loopback with a real Redis store;
//! credentials issued by it to aws-sdk-sts (AssumeRole); a request signed with them (header or
//! presigned, idbroker-sigv4's signer) forwarded to /verify by a registered downstream service
//! that signs its own call (service `idbroker`). Allowed, explicit and implicit denies, condition
//! keys, user sessions (GetSessionToken), tampered, wrong token, expired (the clock moved),
//! revoked, another service, callers that may not verify, an unsigned call, and Redis down
//! (fails closed, then recovers).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use idbroker::clock::{epoch, Clock, ManualClock, Stopwatch, SystemClock};
use idbroker::config::{Config, StoreConfig};
use idbroker_session::{AccessKeyId, SessionStore};
use idbroker_sigv4::{sign, Payload, RequestParts, SigningForm, SigningParams};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod common;
use common::{raw_http, sdk_with_keys, start, RedisServer, KEY, SECRET};

const SERVICE_KEY: &str = "AKIAORDERSSERVICE001";
const SERVICE_SECRET: &str = "ordersServiceSecretForTestsOnly000000000";
const CLERK: &str = "arn:aws:iam::123456789012:role/demo/OrdersClerk";
const ORDER: &str = "arn:aws:orders:eu-west-1:123456789012:order/42";

/// The demo configuration plus a downstream service `orders-service` (may verify requests for
/// `orders` only) and a role whose sessions sign them.
const EXTRA: &str = r#"
[[users]]
name = "orders-service"
path = "/services/"
inline_policies = { verify = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"idbroker:VerifyRequest","Resource":"arn:aws:idbroker:*:123456789012:service/orders"}}' }

[[users.access_keys]]
id = "AKIAORDERSSERVICE001"
secret = { value = "ordersServiceSecretForTestsOnly000000000" }

[[roles]]
name = "OrdersClerk"
path = "/demo/"
inline_policies = { orders = '''{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":"orders:*","Resource":"arn:aws:orders:*:123456789012:order/*"},
  {"Effect":"Deny","Action":"orders:DeleteOrder","Resource":"*"},
  {"Effect":"Allow","Action":"orders:Audit","Resource":"*","Condition":{
    "StringEquals":{"orders:Shop":"north","aws:PrincipalTag/team":"blue","aws:SourceIdentity":"alice@example.com","aws:RequestedRegion":"eu-west-1"},
    "IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}}]}''' }
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}}'

[[roles]]
name = "OrdersWithFreshMfa"
path = "/demo/"
inline_policies = { orders = '''{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"orders:GetOrder","Resource":"*","Condition":{
  "Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"600"}}}}''' }
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}'
"#;

fn config(store: StoreConfig, now: SystemTime) -> Config {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
    let text = std::fs::read_to_string(&file).unwrap() + EXTRA;
    let mut cfg = Config::from_toml(&text, &file, &|_| None, now).unwrap();
    cfg.store = store;
    cfg
}

fn redis_store(url: &str) -> StoreConfig {
    StoreConfig::Redis {
        url: url.into(),
        prefix: format!("verify-endpoint-{}:", uuid::Uuid::new_v4()),
    }
}

#[derive(Clone, Debug)]
struct Creds {
    id: String,
    secret: String,
    token: String,
}

impl From<&aws_sdk_sts::types::Credentials> for Creds {
    fn from(c: &aws_sdk_sts::types::Credentials) -> Self {
        Creds {
            id: c.access_key_id().into(),
            secret: c.secret_access_key().into(),
            token: c.session_token().into(),
        }
    }
}

/// A request as the downstream service received it.
#[derive(Clone, Debug)]
struct Inner {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Inner {
    fn new(method: &str, path: &str, body: &[u8]) -> Self {
        Inner {
            method: method.into(),
            path: path.into(),
            query: String::new(),
            headers: vec![("Host".into(), "orders.example.com".into())],
            body: body.to_vec(),
        }
    }

    /// Signed with `c` (and `token`), header form or presigned for `presign` seconds.
    fn signed(
        mut self,
        c: &Creds,
        token: Option<&str>,
        service: &str,
        at: u64,
        presign: Option<u64>,
    ) -> Self {
        let h: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let parts = RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &h,
            // Presigned as botocore does: UNSIGNED-PAYLOAD.
            payload: if presign.is_some() {
                Payload::Unsigned
            } else {
                Payload::Bytes(&self.body)
            },
        };
        let mut p = SigningParams::new(&c.id, &c.secret, "eu-west-1", service, at);
        p.security_token = token;
        if let Some(expires_in) = presign {
            p.form = SigningForm::Presigned { expires_in };
        }
        let s = sign(&parts, &p).unwrap();
        let (headers, query) = (s.headers().to_vec(), s.query().to_owned());
        self.headers.extend(headers);
        self.query = query;
        self
    }

    /// The /verify body for it, with its body's hash.
    fn doc(&self, service: &str) -> Value {
        let mut d = self.doc_without_body(service);
        d["body_sha256"] = data_encoding::HEXLOWER
            .encode(&Sha256::digest(&self.body))
            .into();
        d
    }

    /// The /verify body for it, body not shown.
    fn doc_without_body(&self, service: &str) -> Value {
        json!({
            "service": service,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
        })
    }
}

/// POST /verify signed with `key`/`secret` for `service` at `at`; the status and the JSON.
async fn call_as(
    url: &str,
    (key, secret, token, service): (&str, &str, Option<&str>, &str),
    doc: &Value,
    at: u64,
) -> (u16, Value) {
    let body = doc.to_string();
    let host = url.trim_start_matches("http://").to_owned();
    let headers = [
        ("Host", host.as_str()),
        ("Content-Type", "application/json"),
    ];
    let parts = RequestParts {
        method: "POST",
        path: "/verify",
        query: "",
        headers: &headers,
        payload: Payload::Bytes(body.as_bytes()),
    };
    let mut params = SigningParams::new(key, secret, "us-east-1", service, at);
    params.security_token = token;
    let s = sign(&parts, &params).unwrap();
    let signature: String = s
        .headers()
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    send(url, &host, &signature, &body).await
}

async fn send(url: &str, host: &str, extra_headers: &str, body: &str) -> (u16, Value) {
    let req = format!(
        "POST /verify HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    );
    let resp = raw_http(url, req).await;
    let status: u16 = resp
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {resp}"));
    let (head, json_body) = resp.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, serde_json::from_str(json_body).unwrap())
}

/// As the registered service.
async fn call(url: &str, doc: &Value, at: u64) -> (u16, Value) {
    call_as(
        url,
        (SERVICE_KEY, SERVICE_SECRET, None, "idbroker"),
        doc,
        at,
    )
    .await
}

/// The error of a refused answer: status, code and source, and never "allowed".
fn refused(answer: &(u16, Value), status: u16, code: &str, source: &str) {
    let (s, v) = answer;
    assert_eq!(*s, status, "{v}");
    assert_eq!(v["allowed"], false, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert_eq!(v["error"]["source"], source, "{v}");
}

struct Fixture {
    url: String,
    clock: Arc<ManualClock>,
    t0: SystemTime,
    store: Arc<dyn SessionStore>,
    alice: Creds,
}

async fn fixture(store: StoreConfig) -> Fixture {
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let state = idbroker::build_state(config(store, t0), clock.clone())
        .await
        .unwrap();
    let store = state.store.clone();
    let url = start(state).await;
    let out = sdk_with_keys(&url, KEY, SECRET, None, t0)
        .assume_role()
        .role_arn(CLERK)
        .role_session_name("alice")
        .source_identity("alice@example.com")
        .tags(
            aws_sdk_sts::types::Tag::builder()
                .key("team")
                .value("blue")
                .build()
                .unwrap(),
        )
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let alice = Creds::from(out.credentials().unwrap());
    Fixture {
        url,
        clock,
        t0,
        store,
        alice,
    }
}

impl Fixture {
    fn now(&self) -> u64 {
        epoch(self.clock_now())
    }
    fn clock_now(&self) -> SystemTime {
        use idbroker::clock::Clock;
        self.clock.now()
    }
    /// GET /orders/42 signed by alice for `orders`, now.
    fn get(&self) -> Inner {
        let a = &self.alice;
        Inner::new("GET", "/orders/42", b"").signed(a, Some(&a.token), "orders", self.now(), None)
    }
}

#[actix_web::test]
async fn verifies_and_decides() {
    let f = fixture(redis_store("redis://127.0.0.1:6379")).await;
    let now = f.now();
    let get = f.get();

    // Authentication only.
    let (status, v) = call(&f.url, &get.doc("orders"), now).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["authenticated"], true);
    assert_eq!(v["allowed"], true);
    assert!(v.get("decision").is_none(), "{v}");
    let c = &v["caller"];
    assert_eq!(
        c["arn"],
        "arn:aws:sts::123456789012:assumed-role/OrdersClerk/alice"
    );
    assert_eq!(c["account"], "123456789012");
    assert_eq!(c["role_arn"], CLERK);
    assert_eq!(c["session_name"], "alice");
    assert_eq!(c["type"], "AssumedRole");
    assert!(c["user_id"].as_str().unwrap().ends_with(":alice"));
    assert_eq!(c["access_key_id"], f.alice.id.as_str());
    assert_eq!(c["source_identity"], "alice@example.com");
    assert_eq!(c["tags"], json!([{"key": "team", "value": "blue"}]));
    assert_eq!(c["issued_at"], epoch(f.t0));
    assert_eq!(c["expires_at"], epoch(f.t0) + 900);
    assert_eq!(c["region"], "eu-west-1");
    assert_eq!(c["service"], "orders");
    assert_eq!(c["signature"], "header");
    assert_eq!(c["payload_signed"], true);
    // Nothing secret comes back.
    assert!(!v.to_string().contains(&f.alice.token));
    assert!(!v.to_string().contains(&f.alice.secret));

    let ask = |action: &str, resource: &str| {
        let mut d = get.doc("orders");
        d["action"] = action.into();
        d["resource"] = resource.into();
        d
    };
    // Allowed.
    let (status, v) = call(&f.url, &ask("orders:GetOrder", ORDER), now).await;
    assert_eq!(
        (status, &v["decision"], &v["allowed"]),
        (200, &json!("Allow"), &json!(true)),
        "{v}"
    );
    // Explicit deny: 403, still authenticated, with the caller.
    let answer = call(&f.url, &ask("orders:DeleteOrder", ORDER), now).await;
    refused(&answer, 403, "AccessDenied", "request");
    assert_eq!(answer.1["decision"], "ExplicitDeny");
    assert_eq!(answer.1["authenticated"], true);
    assert_eq!(answer.1["caller"]["session_name"], "alice");
    assert!(answer.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("orders:DeleteOrder"));
    // Implicit deny: no statement allows this resource.
    let answer = call(
        &f.url,
        &ask(
            "orders:GetOrder",
            "arn:aws:shop:eu-west-1:123456789012:order/42",
        ),
        now,
    )
    .await;
    refused(&answer, 403, "AccessDenied", "request");
    assert_eq!(answer.1["decision"], "ImplicitDeny");

    // Condition keys: service-specific context, source IP, TLS, the session's tags, source
    // identity and region.
    let mut audit = ask("orders:Audit", "*");
    audit["context"] = json!({"orders:Shop": "north"});
    audit["source_ip"] = "10.1.2.3".into();
    audit["secure_transport"] = true.into();
    let (status, v) = call(&f.url, &audit, now).await;
    assert_eq!((status, &v["decision"]), (200, &json!("Allow")), "{v}");
    for (k, val) in [
        ("secure_transport", json!(false)),
        ("source_ip", json!("192.0.2.1")),
        ("context", json!({"orders:Shop": "south"})),
    ] {
        let mut d = audit.clone();
        d[k] = val;
        let answer = call(&f.url, &d, now).await;
        refused(&answer, 403, "AccessDenied", "request");
        assert_eq!(answer.1["decision"], "ImplicitDeny", "{k}");
    }
    // Global keys cannot be passed as context; bad input is the call's fault.
    let mut d = audit.clone();
    d["context"] = json!({"aws:SourceIp": "10.1.2.3"});
    refused(&call(&f.url, &d, now).await, 400, "ValidationError", "call");
    let mut d = get.doc("orders");
    d["action"] = "orders:GetOrder".into();
    refused(&call(&f.url, &d, now).await, 400, "ValidationError", "call");
    let mut d = get.doc("orders");
    d["source_ip"] = "not-an-ip".into();
    refused(&call(&f.url, &d, now).await, 400, "ValidationError", "call");

    // A body covered by the signature: its hash must match.
    let a = &f.alice;
    let post = Inner::new("POST", "/orders", br#"{"item":"book"}"#).signed(
        a,
        Some(&a.token),
        "orders",
        now,
        None,
    );
    let (status, v) = call(&f.url, &post.doc("orders"), now).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["caller"]["payload_signed"], true);
    let mut other_body = post.clone();
    other_body.body = br#"{"item":"car"}"#.to_vec();
    refused(
        &call(&f.url, &other_body.doc("orders"), now).await,
        403,
        "SignatureDoesNotMatch",
        "request",
    );
    // A signed body that is not shown does not verify (the service must hash it): the call's
    // fault (a_signed_body_must_be_shown_by_its_hash).
    refused(
        &call(&f.url, &post.doc_without_body("orders"), now).await,
        400,
        "MissingParameter",
        "call",
    );

    // Presigned, body not shown.
    let pre =
        Inner::new("GET", "/orders/42", b"").signed(a, Some(&a.token), "orders", now, Some(300));
    let (status, v) = call(&f.url, &pre.doc_without_body("orders"), now).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["caller"]["signature"], "presigned");
    assert_eq!(v["caller"]["payload_signed"], false);
    // The same with the (empty) body's hash shown.
    let (status, v) = call(&f.url, &pre.doc("orders"), now).await;
    assert_eq!(status, 200, "{v}");
}

#[actix_web::test]
async fn bad_requests_fail_closed() {
    let f = fixture(redis_store("redis://127.0.0.1:6379")).await;
    let now = f.now();
    let a = &f.alice;
    let get = f.get();

    // Tampered: another path, another header value.
    let mut t = get.clone();
    t.path = "/orders/43".into();
    refused(
        &call(&f.url, &t.doc("orders"), now).await,
        403,
        "SignatureDoesNotMatch",
        "request",
    );
    let mut t = get.clone();
    t.headers[0].1 = "evil.example.com".into();
    refused(
        &call(&f.url, &t.doc("orders"), now).await,
        403,
        "SignatureDoesNotMatch",
        "request",
    );
    // Not signed at all.
    let unsigned = Inner::new("GET", "/orders/42", b"");
    let answer = call(&f.url, &unsigned.doc("orders"), now).await;
    refused(&answer, 403, "MissingAuthenticationToken", "request");
    assert_eq!(answer.1["authenticated"], false);

    // Wrong session token (another session's), or none.
    let other = sdk_with_keys(&f.url, KEY, SECRET, None, f.t0)
        .assume_role()
        .role_arn(CLERK)
        .role_session_name("bob")
        .send()
        .await
        .unwrap();
    let bob_token = other.credentials().unwrap().session_token().to_owned();
    let wrong =
        Inner::new("GET", "/orders/42", b"").signed(a, Some(&bob_token), "orders", now, None);
    refused(
        &call(&f.url, &wrong.doc("orders"), now).await,
        403,
        "InvalidClientTokenId",
        "request",
    );
    let none = Inner::new("GET", "/orders/42", b"").signed(a, None, "orders", now, None);
    refused(
        &call(&f.url, &none.doc("orders"), now).await,
        403,
        "InvalidClientTokenId",
        "request",
    );
    // The demo user's long-term key verifies as the user (issue 17: AKIA keys too)...
    let long_term = Creds {
        id: KEY.into(),
        secret: SECRET.into(),
        token: String::new(),
    };
    let lt = Inner::new("GET", "/orders/42", b"").signed(&long_term, None, "orders", now, None);
    let (status, v) = call(&f.url, &lt.doc("orders"), now).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["caller"]["arn"], "arn:aws:iam::123456789012:user/demo",
        "{v}"
    );
    assert_eq!(v["caller"]["type"], "User", "{v}");
    assert_eq!(v["caller"]["issued_at"], Value::Null, "{v}");
    // ...but not with a session token beside it, nor signed with another secret.
    let with_token = Inner::new("GET", "/orders/42", b"").signed(
        &long_term,
        Some(&a.token),
        "orders",
        now,
        None,
    );
    refused(
        &call(&f.url, &with_token.doc("orders"), now).await,
        403,
        "InvalidClientTokenId",
        "request",
    );
    let forged = Creds {
        id: KEY.into(),
        secret: "not-the-secret".into(),
        token: String::new(),
    };
    let forged = Inner::new("GET", "/orders/42", b"").signed(&forged, None, "orders", now, None);
    refused(
        &call(&f.url, &forged.doc("orders"), now).await,
        403,
        "SignatureDoesNotMatch",
        "request",
    );

    // Signed for another service: refused even though the session is fine.
    let billing =
        Inner::new("GET", "/orders/42", b"").signed(a, Some(&a.token), "billing", now, None);
    refused(
        &call(&f.url, &billing.doc("orders"), now).await,
        400,
        "IncompleteSignature",
        "request",
    );
    // ... and orders-service may not verify for billing.
    refused(
        &call(&f.url, &billing.doc("billing"), now).await,
        403,
        "AccessDenied",
        "call",
    );

    // A signature outside the skew window, the session valid: RequestExpired.
    let stale = Inner::new("GET", "/orders/42", b"").signed(
        a,
        Some(&a.token),
        "orders",
        f.now() - 901,
        None,
    );
    refused(
        &call(&f.url, &stale.doc("orders"), f.now()).await,
        400,
        "RequestExpired",
        "request",
    );

    // Replayed outside the 15-minute window (the session still valid for a moment).
    f.clock.set(f.t0 + Duration::from_secs(899));
    let later = f.now();
    // (the inner request was signed at t0: within the window still)
    let (status, _) = call(&f.url, &get.doc("orders"), later).await;
    assert_eq!(status, 200);

    // Expired: the clock moves past the 900 s lifetime; the request is freshly signed.
    f.clock.set(f.t0 + Duration::from_secs(901));
    let expired = f.get();
    refused(
        &call(&f.url, &expired.doc("orders"), f.now()).await,
        403,
        "ExpiredToken",
        "request",
    );

    // An expired session with a stale signature: ExpiredToken, as AWS answers an expired
    // token (the grant of an expired session is refused before any signature is checked).
    f.clock.set(f.t0 + Duration::from_secs(2000));
    refused(
        &call(&f.url, &get.doc("orders"), f.now()).await,
        403,
        "ExpiredToken",
        "request",
    );
}

#[actix_web::test]
async fn revoked_sessions_do_not_verify() {
    let f = fixture(redis_store("redis://127.0.0.1:6379")).await;
    let get = f.get();
    let (status, _) = call(&f.url, &get.doc("orders"), f.now()).await;
    assert_eq!(status, 200);
    f.store
        .revoke(&AccessKeyId::parse(&f.alice.id).unwrap())
        .await
        .unwrap();
    // Seen once the revocation reached the server's verifier through its event feed: within
    // the 1 s bound (it races the store's answer by a little); the cached grant alone would
    // last minutes.
    let revoked = Stopwatch::start();
    let answer = loop {
        let answer = call(&f.url, &get.doc("orders"), f.now()).await;
        if answer.0 != 200 {
            break answer;
        }
        assert!(
            revoked.elapsed() < Duration::from_secs(1),
            "a revoked session still verified after a second"
        );
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    };
    refused(&answer, 403, "InvalidClientTokenId", "request");
}

#[actix_web::test]
async fn only_registered_services_may_call() {
    let f = fixture(redis_store("redis://127.0.0.1:6379")).await;
    let now = f.now();
    let doc = f.get().doc("orders");

    // The demo user exists but has no idbroker:VerifyRequest.
    let answer = call_as(&f.url, (KEY, SECRET, None, "idbroker"), &doc, now).await;
    refused(&answer, 403, "AccessDenied", "call");
    assert!(answer.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("idbroker:VerifyRequest"));
    assert!(answer.1.get("caller").is_none());
    // Unknown key; wrong secret; signed for sts; session credentials of a role without the
    // permission.
    refused(
        &call_as(
            &f.url,
            ("AKIAUNKNOWNKEY000001", SERVICE_SECRET, None, "idbroker"),
            &doc,
            now,
        )
        .await,
        403,
        "InvalidClientTokenId",
        "call",
    );
    refused(
        &call_as(&f.url, (SERVICE_KEY, SECRET, None, "idbroker"), &doc, now).await,
        403,
        "SignatureDoesNotMatch",
        "call",
    );
    refused(
        &call_as(
            &f.url,
            (SERVICE_KEY, SERVICE_SECRET, None, "sts"),
            &doc,
            now,
        )
        .await,
        400,
        "IncompleteSignature",
        "call",
    );
    let a = &f.alice;
    refused(
        &call_as(
            &f.url,
            (&a.id, &a.secret, Some(&a.token), "idbroker"),
            &doc,
            now,
        )
        .await,
        403,
        "AccessDenied",
        "call",
    );
    // Unsigned.
    let host = f.url.trim_start_matches("http://").to_owned();
    let answer = send(&f.url, &host, "", &doc.to_string()).await;
    refused(&answer, 403, "MissingAuthenticationToken", "call");
    assert!(answer.1.get("caller").is_none());
    // A malformed body from a registered service.
    refused(
        &call(&f.url, &json!({"service": "orders"}), now).await,
        400,
        "ValidationError",
        "call",
    );
}

#[actix_web::test]
async fn redis_down_fails_closed_and_recovers() {
    let mut server = RedisServer::start();
    let f = fixture(redis_store(&server.url())).await;
    let get = f.get();
    let (status, _) = call(&f.url, &get.doc("orders"), f.now()).await;
    assert_eq!(status, 200);

    server.kill().unwrap();
    server.wait().unwrap();
    // Once the verifier's revocation feed is lost (it notices within its ping bound), a cached
    // grant is used for at most a second: then the store must be asked, and cannot answer.
    let lost = Stopwatch::start();
    let answer = loop {
        f.clock.advance(Duration::from_millis(1001));
        let answer = call(&f.url, &get.doc("orders"), f.now()).await;
        if answer.0 != 200 {
            break answer;
        }
        assert!(
            lost.elapsed() < Duration::from_secs(10),
            "the feed's loss was never noticed"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    let started = Stopwatch::start();
    refused(&answer, 503, "ServiceUnavailable", "request");
    let answer = call(&f.url, &get.doc("orders"), f.now()).await;
    refused(&answer, 503, "ServiceUnavailable", "request");
    assert_eq!(answer.1["authenticated"], false);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the store timeout"
    );

    // Redis back (empty: the session is gone with it, so the answer is a refusal, but no longer
    // an outage). The connection manager reconnects on its own; a bounded wait.
    server.restart();
    let waiting = Stopwatch::start();
    loop {
        let answer = call(&f.url, &get.doc("orders"), f.now()).await;
        if answer.0 != 503 {
            refused(&answer, 403, "InvalidClientTokenId", "request");
            break;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "no recovery: {}",
            answer.1
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[actix_web::test]
async fn user_sessions_are_decided_by_the_users_policies() {
    // GetSessionToken credentials of the demo user: the user's policies (here from its group
    // `developers`) decide, through the server's directory fed to the verifier.
    let f = fixture(redis_store("redis://127.0.0.1:6379")).await;
    let out = sdk_with_keys(&f.url, KEY, SECRET, None, f.t0)
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let demo = Creds::from(out.credentials().unwrap());
    let now = f.now();
    let req =
        Inner::new("GET", "/orders", b"").signed(&demo, Some(&demo.token), "orders", now, None);
    let mut doc = req.doc("orders");
    doc["action"] = "sts:AssumeRole".into();
    doc["resource"] = "arn:aws:iam::123456789012:role/demo/ReportsReader".into();
    let (status, v) = call(&f.url, &doc, now).await;
    assert_eq!((status, &v["decision"]), (200, &json!("Allow")), "{v}");
    assert_eq!(v["caller"]["type"], "User");
    assert_eq!(v["caller"]["user_name"], "demo");
    assert_eq!(v["caller"]["arn"], "arn:aws:iam::123456789012:user/demo");
    doc["action"] = "orders:GetOrder".into();
    let answer = call(&f.url, &doc, now).await;
    refused(&answer, 403, "AccessDenied", "request");
    assert_eq!(answer.1["decision"], "ImplicitDeny");
}

/// Issue 13, item 4: a request whose signature covers its body is not verified when the
/// calling service leaves `body_sha256` out (it would be 200 for a body idbroker never saw,
/// which a captured request could be replayed with). The call is at fault: 400, `source: call`,
/// naming `body_sha256`. Only UNSIGNED-PAYLOAD signatures verify without it.
#[actix_web::test]
async fn a_signed_body_must_be_shown_by_its_hash() {
    let f = fixture(redis_store("redis://127.0.0.1:6379")).await;
    let now = f.now();
    let a = &f.alice;
    let body: &[u8] = br#"{"item":"book","qty":1}"#;
    let hash = data_encoding::HEXLOWER.encode(&Sha256::digest(body));
    let needs_hash = |answer: &(u16, Value)| {
        refused(answer, 400, "MissingParameter", "call");
        assert_eq!(answer.1["authenticated"], false, "{}", answer.1);
        let msg = answer.1["error"]["message"].as_str().unwrap();
        assert!(msg.contains("body_sha256"), "{msg}");
    };

    // Signed with `X-Amz-Content-Sha256: <hash>`: verified with the hash, refused without.
    let mut declared = Inner::new("POST", "/orders", body);
    declared
        .headers
        .push(("X-Amz-Content-Sha256".into(), hash.clone()));
    let declared = declared.signed(a, Some(&a.token), "orders", now, None);
    let (status, v) = call(&f.url, &declared.doc("orders"), now).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["caller"]["payload_signed"], true);
    needs_hash(&call(&f.url, &declared.doc_without_body("orders"), now).await);
    // ... also when an action is asked about (and would be allowed).
    let mut ask = declared.doc_without_body("orders");
    ask["action"] = "orders:GetOrder".into();
    ask["resource"] = ORDER.into();
    needs_hash(&call(&f.url, &ask, now).await);

    // Signed as the SDKs sign a POST (the body's hash in the canonical request, no header): the
    // hash is needed too; without it the answer says so rather than blaming the signature.
    let sdk = Inner::new("POST", "/orders", body).signed(a, Some(&a.token), "orders", now, None);
    let (status, v) = call(&f.url, &sdk.doc("orders"), now).await;
    assert_eq!(status, 200, "{v}");
    needs_hash(&call(&f.url, &sdk.doc_without_body("orders"), now).await);

    // UNSIGNED-PAYLOAD, declared in the header form: verified without the hash, and the answer
    // says the body was not checked.
    let mut unsigned = Inner::new("GET", "/orders/42", b"");
    unsigned
        .headers
        .push(("X-Amz-Content-Sha256".into(), "UNSIGNED-PAYLOAD".into()));
    let unsigned = unsigned.signed(a, Some(&a.token), "orders", now, None);
    let (status, v) = call(&f.url, &unsigned.doc_without_body("orders"), now).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["caller"]["payload_signed"], false);
    // Streaming (chunked) payload signatures are not supported: refused, the request's fault.
    let mut streaming = unsigned.clone();
    for (n, v) in &mut streaming.headers {
        if n.eq_ignore_ascii_case("x-amz-content-sha256") {
            *v = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into();
        }
    }
    refused(
        &call(&f.url, &streaming.doc_without_body("orders"), now).await,
        400,
        "IncompleteSignature",
        "request",
    );
}

/// `aws:MultiFactorAuthPresent` and `aws:MultiFactorAuthAge` in a downstream decision (issue 20):
/// the demo user's own MFA device (made and enabled through the IAM API, as the demo's
/// ManageOwnMFA allows), a GetSessionToken session with its code, a role session chained from it
/// (which carries the code's time), and a request of that session verified by `POST /verify`:
/// allowed while the code is less than 10 minutes old, denied once the clock has moved past.
#[actix_web::test]
async fn mfa_age_counts_from_the_code_in_downstream_decisions() {
    use aws_sdk_iam::config::{Credentials, Region};
    let f = fixture(redis_store("redis://127.0.0.1:6379")).await;
    let t = f.clock_now();
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::Config::builder()
            .endpoint_url(&f.url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(KEY, SECRET, None, None, "test"))
            .time_source(aws_smithy_async::time::StaticTimeSource::new(t))
            .build(),
    );
    let dev = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("demo")
        .send()
        .await
        .unwrap();
    let b32 = dev
        .virtual_mfa_device()
        .unwrap()
        .base32_string_seed()
        .unwrap()
        .as_ref()
        .to_vec();
    let seed = data_encoding::BASE32_NOPAD
        .decode(
            String::from_utf8(b32)
                .unwrap()
                .trim_end_matches('=')
                .as_bytes(),
        )
        .unwrap();
    let code = |step: i64| {
        String::from_utf8(idbroker::mfa::totp::code_at(&seed, step).unwrap().to_vec()).unwrap()
    };
    let serial = "arn:aws:iam::123456789012:mfa/demo";
    let s = idbroker::mfa::totp::step(t);
    iam.enable_mfa_device()
        .user_name("demo")
        .serial_number(serial)
        .authentication_code1(code(s - 1))
        .authentication_code2(code(s))
        .send()
        .await
        .unwrap();
    let user = sdk_with_keys(&f.url, KEY, SECRET, None, t)
        .get_session_token()
        .serial_number(serial)
        .token_code(code(s + 1))
        .send()
        .await
        .unwrap();
    let user = Creds::from(user.credentials().unwrap());
    let role = sdk_with_keys(&f.url, &user.id, &user.secret, Some(user.token.clone()), t)
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/demo/OrdersWithFreshMfa")
        .role_session_name("demo")
        .send()
        .await
        .unwrap();
    let role = Creds::from(role.credentials().unwrap());
    let ask = |at: u64| {
        let mut d = Inner::new("GET", "/orders/42", b"")
            .signed(&role, Some(&role.token), "orders", at, None)
            .doc("orders");
        d["action"] = "orders:GetOrder".into();
        d["resource"] = ORDER.into();
        d
    };
    let (status, v) = call(&f.url, &ask(f.now()), f.now()).await;
    assert_eq!((status, &v["decision"]), (200, &json!("Allow")), "{v}");
    // Nine minutes on: still less than 600 seconds since the code.
    f.clock.advance(Duration::from_secs(540));
    let (status, v) = call(&f.url, &ask(f.now()), f.now()).await;
    assert_eq!((status, &v["decision"]), (200, &json!("Allow")), "{v}");
    // Eleven: the same session's request is denied.
    f.clock.advance(Duration::from_secs(120));
    let answer = call(&f.url, &ask(f.now()), f.now()).await;
    refused(&answer, 403, "AccessDenied", "request");
    assert_eq!(answer.1["decision"], "ImplicitDeny");
}
