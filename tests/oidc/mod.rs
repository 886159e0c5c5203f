//! Test support for the OIDC tests: signing keys made fresh for each run, their JWKS, tokens
//! with any header and claims (including broken ones), and a configuration with a provider
//! that trusts those keys.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use data_encoding::BASE64URL_NOPAD as B64;
use idbroker::clock::{Clock, SystemClock};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

/// An RSA or EC signing key with its kid.
pub struct Key {
    pub kid: String,
    pub alg: &'static str,
    pub encoding: EncodingKey,
    /// The public JWK (with kid, alg, use).
    pub jwk: Value,
    /// SubjectPublicKeyInfo DER of the public key (RSA only).
    pub spki_der: Vec<u8>,
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// An RSA-2048 key.
pub fn rsa_key(kid: &str, alg: &'static str) -> Key {
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pkcs8 = kp.as_der().unwrap();
    let public = kp.public_key();
    let comps = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(public);
    let spki = public.as_der().unwrap();
    Key {
        kid: kid.into(),
        alg,
        encoding: EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes()).unwrap(),
        jwk: json!({"kty": "RSA", "kid": kid, "alg": alg, "use": "sig",
                    "n": b64(&comps.n), "e": b64(&comps.e)}),
        spki_der: spki.as_ref().to_vec(),
    }
}

/// An EC P-256 key (ES256).
pub fn ec_key(kid: &str) -> Key {
    let alg = &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let doc = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        alg,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let kp = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(alg, doc.as_ref()).unwrap();
    let point = kp.public_key().as_ref().to_vec(); // 0x04 || x || y
    Key {
        kid: kid.into(),
        alg: "ES256",
        encoding: EncodingKey::from_ec_der(doc.as_ref()),
        jwk: json!({"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
                    "x": b64(&point[1..33]), "y": b64(&point[33..65])}),
        spki_der: Vec::new(),
    }
}

/// PEM armour.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b = data_encoding::BASE64.encode(der);
    let lines: Vec<&str> = b
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

pub fn jwks(keys: &[&Key]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

pub fn alg(name: &str) -> Algorithm {
    name.parse().unwrap()
}

/// `b64(header).b64(claims)` signed by `key` with the header's alg.
pub fn sign_raw(header: &Value, claims: &[u8], key: &EncodingKey, alg_name: &str) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims));
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg(alg_name)).unwrap();
    format!("{input}.{sig}")
}

/// A token signed by `key` with a standard header (kid, alg, typ JWT).
pub fn sign(key: &Key, claims: &Value) -> String {
    let header = json!({"alg": key.alg, "kid": key.kid, "typ": "JWT"});
    sign_raw(
        &header,
        claims.to_string().as_bytes(),
        &key.encoding,
        key.alg,
    )
}

/// Header and claims, unsigned, with the given signature text.
pub fn unsigned(header: &Value, claims: &[u8], signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string().as_bytes()),
        b64(claims)
    )
}

/// Seconds since the epoch, as the server counts them.
pub use idbroker::clock::epoch;

pub const ISSUER: &str = "https://idp.test.example/tenant";
pub const HOST_PATH: &str = "idp.test.example/tenant";
pub const CLIENT: &str = "idbroker-test";
pub const ACCOUNT: &str = "123456789012";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/web/Deployer";
pub const TAGGED_ROLE: &str = "arn:aws:iam::123456789012:role/web/Tagged";
pub const PROVIDER_ARN: &str = "arn:aws:iam::123456789012:oidc-provider/idp.test.example/tenant";

/// Good claims for `sub` at `now`.
pub fn claims(sub: &str, now: SystemTime) -> Value {
    let t = epoch(now);
    json!({"iss": ISSUER, "sub": sub, "aud": CLIENT, "iat": t, "nbf": t, "exp": t + 600,
           "email": format!("{sub}@example.com"), "amr": ["pwd", "mfa"]})
}

/// A configuration: the test provider with `provider_extra` TOML lines (key source etc.), a
/// role `web/Deployer` trusting it for subjects `alice*` with audience CLIENT, a role
/// `web/Tagged` also allowing session tags and source identity, and `extra` appended.
pub fn config_text(provider_extra: &str, extra: &str) -> String {
    format!(
        r#"account_id = "{ACCOUNT}"
[store]
kind = "memory"

[[oidc_providers]]
issuer = "{ISSUER}"
client_ids = ["{CLIENT}", "second-client"]
{provider_extra}

[[roles]]
name = "Deployer"
path = "/web/"
max_session_duration = 7200
inline_policies = {{ all = '{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"*"}}}}' }}
trust_policy = '''
{{"Version": "2012-10-17", "Statement": [
  {{"Effect": "Allow", "Principal": {{"Federated": "{PROVIDER_ARN}"}},
   "Action": "sts:AssumeRoleWithWebIdentity",
   "Condition": {{"StringLike": {{"{HOST_PATH}:sub": "alice*"}},
                 "StringEquals": {{"{HOST_PATH}:aud": "{CLIENT}"}}}}}}]}}
'''

[[roles]]
name = "Tagged"
path = "/web/"
trust_policy = '''
{{"Version": "2012-10-17", "Statement": [
  {{"Effect": "Allow", "Principal": {{"Federated": "{PROVIDER_ARN}"}},
   "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:SetSourceIdentity"],
   "Condition": {{"ForAnyValue:StringEquals": {{"{HOST_PATH}:amr": "mfa"}}}}}}]}}
'''
{extra}
"#
    )
}

pub fn load(text: &str) -> idbroker::config::Config {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/test-oidc.toml");
    // The load time plays no part in an OIDC-only configuration: the real one, as before.
    idbroker::config::Config::from_toml(text, &file, &|_| None, SystemClock.now()).unwrap()
}

/// The test corpora in the repository (tests/data).
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// rustls (reqwest, the AWS SDK) needs one process-wide crypto provider: aws-lc-rs.
pub fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// What the verifier logged while refusing a token: every event of `idbroker::federation::oidc`,
/// as its message and its `reason` / `error` / `issuer` fields. Several refusals answer the one
/// client message `oidc::NOT_VERIFIED` on purpose (an unauthenticated caller learns nothing of
/// the provider's keys and issuers); the cause is kept only in the debug event the verifier
/// logs (`reason = ...` for a signature failure, "no provider has its issuer" for an unknown
/// issuer). Tests read it from there to assert that a case was refused for the right reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logged {
    pub message: String,
    pub reason: Option<String>,
    pub error: Option<String>,
}

#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<Logged>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if !event
            .metadata()
            .target()
            .starts_with("idbroker::federation::oidc")
        {
            return;
        }
        struct V(Logged);
        impl tracing::field::Visit for V {
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                match f.name() {
                    "reason" => self.0.reason = Some(v.to_owned()),
                    "error" => self.0.error = Some(v.to_owned()),
                    "message" => self.0.message = v.to_owned(),
                    _ => {}
                }
            }
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                match f.name() {
                    "reason" => self.0.reason = Some(format!("{v:?}")),
                    "error" => self.0.error = Some(format!("{v:?}")),
                    "message" => self.0.message = format!("{v:?}"),
                    _ => {}
                }
            }
        }
        let mut v = V(Logged::default());
        event.record(&mut v);
        self.0.lock().unwrap().push(v.0);
    }
}

/// Run `fut` on this thread with a subscriber that captures the OIDC verifier's events (debug
/// level included); returns its output and what was logged. The future must run on the
/// calling thread (a current-thread runtime: `#[tokio::test]`, `#[actix_web::test]`).
pub async fn traced<T>(fut: impl std::future::Future<Output = T>) -> (T, Vec<Logged>) {
    use tracing_subscriber::layer::SubscriberExt as _;
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let out = {
        let _guard = tracing::subscriber::set_default(subscriber);
        fut.await
    };
    let logged = capture.0.lock().unwrap().clone();
    (out, logged)
}

/// Why `fed` refuses `token` at `now`: the error, and the `reason` field of the debug event
/// the verifier logged with it (`None` when it logged none: a refusal made before a provider
/// was chosen, or after the signature verified). Panics when the token is accepted.
pub async fn refusal(
    fed: &idbroker::federation::oidc::OidcFederation,
    token: &str,
    now: SystemTime,
) -> (idbroker::federation::oidc::OidcError, Option<String>) {
    let store = idbroker_session::MemoryStore::new();
    let (result, logged) = traced(fed.verify(token, &store, now)).await;
    match result {
        Ok(t) => panic!("token accepted (sub {:?})", t.subject()),
        Err(e) => {
            let reason = logged
                .iter()
                .find(|l| l.message.starts_with("web identity token refused"))
                .map(|l| l.reason.clone().unwrap_or_else(|| l.message.clone()));
            (e, reason)
        }
    }
}

/// The reason logged for a signature failure with no key of the token's kid and alg.
pub const NO_KEY: &str = "no key of the provider has the token's kid and alg";
/// The message logged for a token whose issuer no provider has.
pub const NO_ISSUER: &str = "web identity token refused: no provider has its issuer";
