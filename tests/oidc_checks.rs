//! One test per OIDC check that no other test shows refusing anything by itself (issue 14):
//! `sub` over 255 characters, a kid that two keys of the JWKS share, a discovery document naming
//! another issuer, the 512 KiB limit on discovery and JWKS bodies, the provider's
//! `allowed_algorithms`, keys marked `use = enc`, and RSA keys with the ROCA fingerprint.
//!
//! Each case is paired with a control that differs only in the property checked and is
//! accepted, and asserts the refusal's internal reason: the `OidcError` and, where the client
//! answer is deliberately the one `NOT_VERIFIED` message, the cause the verifier logs (read with
//! `oidc::refusal`). Removing any one of these checks fails its test (the comment heading each
//! test names the mutation that was tried).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod oidc;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use idbroker::clock::{Clock, SystemClock};
use idbroker::federation::fetch::{Fetched, Fetcher, HttpFetcher};
use idbroker::federation::oidc::{AlgSet, KeySet, OidcError, OidcFederation, NOT_VERIFIED};
use idbroker_session::MemoryStore;
use jsonwebtoken::EncodingKey;
use oidc::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY_UNAVAILABLE: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

fn not_verified() -> OidcError {
    OidcError::InvalidToken(NOT_VERIFIED.into())
}

/// A federation with the test provider (`provider_extra`: its key source and options).
fn federation(provider_extra: &str) -> OidcFederation {
    install_crypto();
    let cfg = load(&config_text(provider_extra, ""));
    OidcFederation::new(&cfg.oidc_providers, None).unwrap()
}

fn pinned(keys: &[&Value]) -> String {
    format!("jwks_inline = '{}'", json!({ "keys": keys }))
}

async fn accepted(fed: &OidcFederation, token: &str, now: SystemTime) -> String {
    let store = MemoryStore::new();
    fed.verify(token, &store, now)
        .await
        .unwrap_or_else(|e| panic!("control refused: {e:?}"))
        .subject()
        .to_owned()
}

/// A token signed by `key` with `alg` (not necessarily the key's own) and `kid`.
fn sign_with(key: &Key, alg_name: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut h = json!({"alg": alg_name, "typ": "JWT"});
    if let Some(k) = kid {
        h["kid"] = json!(k);
    }
    sign_raw(&h, claims.to_string().as_bytes(), &key.encoding, alg_name)
}

// ---------------------------------------------------------------------------------------------
// sub over 255 characters (mutation: the MAX_SUBJECT check in check_claims removed)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sub_longer_than_255_characters_is_refused() {
    let rsa = rsa_key("rsa-1", "RS256");
    let fed = federation(&pinned(&[&rsa.jwk]));
    let now = SystemClock.now();
    let long = |s: String| sign(&rsa, &claims(&s, now));
    // 255 characters pass, in ASCII and in two-byte characters (the limit counts characters).
    for sub in ["a".repeat(255), "é".repeat(255)] {
        assert_eq!(accepted(&fed, &long(sub.clone()), now).await, sub);
    }
    for sub in ["a".repeat(256), "é".repeat(256), "a".repeat(5000)] {
        let (e, logged) = refusal(&fed, &long(sub.clone()), now).await;
        assert_eq!(
            e,
            OidcError::InvalidToken("The token's sub claim is longer than 255 characters".into()),
            "{} characters",
            sub.chars().count()
        );
        assert_eq!(logged, None, "refused after the signature verified");
    }
}

// ---------------------------------------------------------------------------------------------
// A kid two keys share (mutation: the `same_kid.len() > 1` check in verify_signature removed)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_kid_shared_by_two_keys_of_the_jwks_verifies_nothing() {
    let a = rsa_key("dup", "RS256");
    let b = rsa_key("dup", "RS256");
    let now = SystemClock.now();
    let by_a = sign(&a, &claims("alice", now));
    let by_b = sign(&b, &claims("alice", now));
    // Control: either key alone verifies its token.
    assert_eq!(
        accepted(&federation(&pinned(&[&a.jwk])), &by_a, now).await,
        "alice"
    );
    assert_eq!(
        accepted(&federation(&pinned(&[&b.jwk])), &by_b, now).await,
        "alice"
    );
    // Both under the one kid, in either order: neither token verifies.
    for fed in [
        federation(&pinned(&[&a.jwk, &b.jwk])),
        federation(&pinned(&[&b.jwk, &a.jwk])),
    ] {
        for token in [&by_a, &by_b] {
            let (e, why) = refusal(&fed, token, now).await;
            assert_eq!(e, not_verified());
            assert_eq!(why.as_deref(), Some("more than one key has this kid"));
        }
    }
    // The key set itself says so.
    let (set, skipped) = KeySet::from_jwks(
        json!({"keys": [a.jwk, b.jwk]}).to_string().as_bytes(),
        AlgSet::ALL,
    )
    .unwrap();
    assert_eq!((set.len(), skipped), (2, 0));
    assert_eq!(
        set.verify_signature(&by_a, AlgSet::ALL),
        Err(idbroker::federation::oidc::SigFailure::Invalid(
            "more than one key has this kid"
        ))
    );
}

// ---------------------------------------------------------------------------------------------
// Discovery naming another issuer (mutation: the `d.issuer != self.config.issuer` check in
// OidcProvider::discover removed)
// ---------------------------------------------------------------------------------------------

/// Answers from a table, and remembers what was asked.
#[derive(Debug, Default)]
struct TableFetcher {
    answers: HashMap<String, Vec<u8>>,
    asked: Mutex<Vec<String>>,
}

#[async_trait]
impl Fetcher for TableFetcher {
    async fn get(&self, url: &str, _: Duration) -> Result<Fetched, String> {
        self.asked.lock().unwrap().push(url.to_owned());
        self.answers
            .get(url)
            .map(|b| Fetched {
                body: b.clone(),
                max_age: None,
            })
            .ok_or_else(|| format!("HTTP status 404 ({url})"))
    }
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    install_crypto();
    let rsa = rsa_key("rsa-1", "RS256");
    let now = SystemClock.now();
    let token = sign(&rsa, &claims("alice", now));
    let discovery_url = format!("{ISSUER}/.well-known/openid-configuration");
    let jwks_url = format!("{ISSUER}/keys");
    let cfg = load(&config_text("", "")); // no key source: discovery
    let run = |named_issuer: String| {
        let fetcher = Arc::new(TableFetcher {
            answers: HashMap::from([
                (
                    discovery_url.clone(),
                    json!({"issuer": named_issuer, "jwks_uri": jwks_url})
                        .to_string()
                        .into_bytes(),
                ),
                (jwks_url.clone(), jwks(&[&rsa]).into_bytes()),
            ]),
            asked: Mutex::default(),
        });
        let fed = OidcFederation::with_fetcher(&cfg.oidc_providers, fetcher.clone(), None);
        (fed, fetcher)
    };

    // Control: the document names the configured issuer; its keys verify the token.
    let (fed, fetcher) = run(ISSUER.to_owned());
    assert_eq!(accepted(&fed, &token, now).await, "alice");
    assert_eq!(
        *fetcher.asked.lock().unwrap(),
        [discovery_url.clone(), jwks_url.clone()]
    );

    for other in [
        "https://evil.example/tenant".to_owned(),
        format!("{ISSUER}/"),
        ISSUER.to_uppercase(),
        format!("{ISSUER}/other"),
    ] {
        let (fed, fetcher) = run(other.clone());
        let store = MemoryStore::new();
        let (result, logged) = traced(fed.verify(&token, &store, now)).await;
        assert_eq!(
            result.unwrap_err(),
            OidcError::Communication(KEY_UNAVAILABLE.into()),
            "{other}"
        );
        // Refused at discovery: the JWKS it points to is never fetched.
        assert_eq!(
            *fetcher.asked.lock().unwrap(),
            std::slice::from_ref(&discovery_url),
            "{other}"
        );
        let why = format!("discovery document names issuer {other:?}, not {ISSUER:?}");
        assert!(
            logged
                .iter()
                .any(|l| l.error.as_deref() == Some(why.as_str())),
            "{other}: {logged:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The 512 KiB body limit (mutation: the MAX_FETCH_BYTES check in HttpFetcher::get removed)
// ---------------------------------------------------------------------------------------------

const LIMIT: usize = 512 * 1024;

type Table = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A loopback HTTP server answering each path from a table (200 with Content-Length), others
/// 404. The table can be filled once the port is known (documents that name their own URL).
async fn serve() -> (u16, Table) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let table: Table = Arc::default();
    let t = table.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let table = t.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let found = table.lock().unwrap().get(&path).cloned();
                let (status, body) = match found {
                    Some(b) => ("200 OK", b),
                    None => ("404 Not Found", Vec::new()),
                };
                let mut resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                resp.extend_from_slice(&body);
                let _ = s.write_all(&resp).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (port, table)
}

/// `doc` (a JSON object) with a `pad` member making it exactly `size` bytes.
fn padded(mut doc: Value, size: usize) -> Vec<u8> {
    doc["pad"] = json!("");
    let bare = doc.to_string().len();
    doc["pad"] = json!("x".repeat(size - bare));
    let out = doc.to_string().into_bytes();
    assert_eq!(out.len(), size);
    out
}

/// A federation with one provider of issuer `issuer` (plain HTTP on loopback), `extra` lines.
fn loopback_federation(issuer: &str, extra: &str) -> OidcFederation {
    install_crypto();
    let text = format!(
        r#"account_id = "{ACCOUNT}"
[store]
kind = "memory"
[[oidc_providers]]
issuer = "{issuer}"
client_ids = ["{CLIENT}"]
allow_http_loopback = true
fetch_timeout_ms = 10000
{extra}
"#
    );
    OidcFederation::new(&load(&text).oidc_providers, None).unwrap()
}

#[tokio::test]
async fn discovery_and_jwks_bodies_over_512_kib_are_refused() {
    install_crypto();
    let rsa = rsa_key("rsa-1", "RS256");
    let keys: Value = serde_json::from_str(&jwks(&[&rsa])).unwrap();
    let (port, table) = serve().await;
    let base = format!("http://127.0.0.1:{port}");
    {
        let mut t = table.lock().unwrap();
        t.insert("/bytes/at-limit".to_owned(), vec![b'x'; LIMIT]);
        t.insert("/bytes/over-limit".to_owned(), vec![b'x'; LIMIT + 1]);
        t.insert("/jwks/at-limit".to_owned(), padded(keys.clone(), LIMIT));
        t.insert("/jwks/over-limit".to_owned(), padded(keys, LIMIT + 1));
        for size in [LIMIT, LIMIT + 1] {
            let doc = json!({"issuer": format!("{base}/idp-{size}"),
                             "jwks_uri": format!("{base}/jwks/at-limit")});
            t.insert(
                format!("/idp-{size}/.well-known/openid-configuration"),
                padded(doc, size),
            );
        }
    }

    // The fetcher itself: a body of exactly 512 KiB is read, one byte more is refused.
    let f = HttpFetcher::new().unwrap();
    let t = Duration::from_secs(10);
    let got = f.get(&format!("{base}/bytes/at-limit"), t).await.unwrap();
    assert_eq!(got.body.len(), LIMIT);
    let why = format!("body larger than {LIMIT} bytes");
    assert_eq!(
        f.get(&format!("{base}/bytes/over-limit"), t)
            .await
            .unwrap_err(),
        why
    );

    let now = SystemClock.now();
    let store = MemoryStore::new();
    let refused = |logged: &[Logged]| logged.iter().any(|l| l.error.as_deref() == Some(&why));

    // A JWKS (jwks_uri) over the limit gives no keys; at the limit it works.
    let token = sign(&rsa, &claims("alice", now));
    let with_jwks = |path: &str| {
        federation(&format!(
            "jwks_uri = \"{base}{path}\"\nallow_http_loopback = true\nfetch_timeout_ms = 10000"
        ))
    };
    assert_eq!(
        accepted(&with_jwks("/jwks/at-limit"), &token, now).await,
        "alice"
    );
    let (result, logged) = traced(with_jwks("/jwks/over-limit").verify(&token, &store, now)).await;
    assert_eq!(
        result.unwrap_err(),
        OidcError::Communication(KEY_UNAVAILABLE.into())
    );
    assert!(refused(&logged), "{logged:#?}");

    // A discovery document over the limit: the same.
    for (size, ok) in [(LIMIT, true), (LIMIT + 1, false)] {
        let issuer = format!("{base}/idp-{size}");
        let fed = loopback_federation(&issuer, "");
        let mut c = claims("alice", now);
        c["iss"] = json!(issuer);
        let token = sign(&rsa, &c);
        let (result, logged) = traced(fed.verify(&token, &store, now)).await;
        if ok {
            assert_eq!(result.unwrap().subject(), "alice");
        } else {
            assert_eq!(
                result.unwrap_err(),
                OidcError::Communication(KEY_UNAVAILABLE.into())
            );
            assert!(refused(&logged), "{logged:#?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// allowed_algorithms (mutations: (a) the header's alg not checked against the allowed set in
// KeySet::verify_signature; (b) `.and(allowed)` dropped from verify_key, so keys keep the
// algorithms the provider does not allow; (c) ProviderConfig::from_raw ignoring the option)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_providers_allowed_algorithms_refuse_the_others() {
    let now = SystemClock.now();
    let c = claims("alice", now);
    // An RSA key without `alg`: by its type it could verify RS* and PS*.
    let rsa = rsa_key("r", "RS256");
    let mut any_rsa = rsa.jwk.clone();
    any_rsa.as_object_mut().unwrap().remove("alg");
    let rs256 = sign_with(&rsa, "RS256", Some("r"), &c);
    let ps256 = sign_with(&rsa, "PS256", Some("r"), &c);
    let ec = ec_key("e");
    let es256 = sign(&ec, &c);

    // Control: with every algorithm allowed, the key verifies both RS256 and PS256.
    let all = federation(&pinned(&[&any_rsa, &ec.jwk]));
    for t in [&rs256, &ps256, &es256] {
        assert_eq!(accepted(&all, t, now).await, "alice");
    }

    // RS256 only: PS256 by the very same key is refused because of its algorithm.
    let rs_only = federation(&format!(
        "{}\nallowed_algorithms = [\"RS256\"]",
        pinned(&[&any_rsa, &ec.jwk])
    ));
    assert_eq!(accepted(&rs_only, &rs256, now).await, "alice");
    for t in [&ps256, &es256] {
        let (e, why) = refusal(&rs_only, t, now).await;
        assert_eq!(e, not_verified());
        assert_eq!(why.as_deref(), Some("algorithm not allowed"));
    }

    // ES256 only: RS256 refused, ES256 accepted.
    let es_only = federation(&format!(
        "{}\nallowed_algorithms = [\"ES256\"]",
        pinned(&[&any_rsa, &ec.jwk])
    ));
    assert_eq!(accepted(&es_only, &es256, now).await, "alice");
    for t in [&rs256, &ps256] {
        let (e, why) = refusal(&es_only, t, now).await;
        assert_eq!(e, not_verified());
        assert_eq!(why.as_deref(), Some("algorithm not allowed"));
    }

    // The keys loaded for a provider keep only its algorithms, whatever the caller passes later.
    let doc = json!({ "keys": [any_rsa] }).to_string();
    let rs = AlgSet::from_names(&["RS256"]).unwrap();
    let (set, skipped) = KeySet::from_jwks(doc.as_bytes(), rs).unwrap();
    assert_eq!((set.len(), skipped), (1, 0));
    assert!(set.verify_signature(&rs256, AlgSet::ALL).is_ok());
    assert_eq!(
        set.verify_signature(&ps256, AlgSet::ALL),
        Err(idbroker::federation::oidc::SigFailure::Invalid(
            "the key of this kid does not allow this alg"
        ))
    );
    // An RSA key is no key at all for an ES256-only provider.
    let es = AlgSet::from_names(&["ES256"]).unwrap();
    let (set, skipped) = KeySet::from_jwks(doc.as_bytes(), es).unwrap();
    assert_eq!((set.len(), skipped), (0, 1));
}

// ---------------------------------------------------------------------------------------------
// use = enc (mutation: the `public_key_use` check in verify_key removed)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn keys_marked_for_encryption_verify_nothing() {
    let now = SystemClock.now();
    let enc = rsa_key("enc-1", "RS256");
    let other = rsa_key("sig-1", "RS256");
    let token = sign(&enc, &claims("alice", now));
    let mut as_enc = enc.jwk.clone();
    as_enc["use"] = json!("enc");
    let mut no_use = enc.jwk.clone();
    no_use.as_object_mut().unwrap().remove("use");

    // Control: the same key with use = sig, or without use, verifies the token.
    for jwk in [&enc.jwk, &no_use] {
        let fed = federation(&pinned(&[jwk, &other.jwk]));
        assert_eq!(accepted(&fed, &token, now).await, "alice");
    }
    // Marked for encryption: the key is not among the provider's keys.
    let fed = federation(&pinned(&[&as_enc, &other.jwk]));
    let (e, why) = refusal(&fed, &token, now).await;
    assert_eq!(e, not_verified());
    assert_eq!(why.as_deref(), Some(NO_KEY));
    let doc = json!({ "keys": [as_enc, other.jwk] }).to_string();
    let (set, skipped) = KeySet::from_jwks(doc.as_bytes(), AlgSet::ALL).unwrap();
    assert_eq!((set.len(), skipped), (1, 1));
    // A provider whose only key is an encryption key has no usable key.
    let text = config_text(&pinned(&[&as_enc]), "");
    let file = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/test-oidc.toml");
    let err = idbroker::config::Config::from_toml(&text, &file, &|_| None, now).unwrap_err();
    assert!(
        format!("{err:?}").contains("no usable signing key"),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// ROCA (mutation: `|| roca_fingerprint(n)` removed from verify_key)
// ---------------------------------------------------------------------------------------------

const ROCA_PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// The ROCA fingerprint, computed here independently: `n mod p` in the subgroup that 65537
/// generates, for every small prime.
fn has_roca_fingerprint(n: &[u8]) -> bool {
    ROCA_PRIMES.iter().all(|&p| {
        let r = n
            .iter()
            .fold(0u64, |acc, b| (acc * 256 + u64::from(*b)) % u64::from(p));
        let g = 65_537 % u64::from(p);
        let mut x = 1u64;
        (0..p).any(|_| {
            let hit = x == r;
            x = x * g % u64::from(p);
            hit
        })
    })
}

/// A 2048-bit RSA key made as the Infineon library made them (CVE-2017-15361): each prime is
/// `k * M + (65537^a mod M)` with `M` the product of the small primes above, so the modulus
/// carries the fingerprint. A working key: it signs tokens that verify with its public part.
fn roca_key(kid: &str) -> Key {
    use openssl::bn::{BigNum, BigNumContext};
    let mut ctx = BigNumContext::new().unwrap();
    let mut m = BigNum::from_u32(1).unwrap();
    for p in ROCA_PRIMES {
        m = &m * &BigNum::from_u32(p).unwrap();
    }
    let g = BigNum::from_u32(65_537).unwrap();
    let one = BigNum::from_u32(1).unwrap();
    // Primes in [1.5 * 2^1023, 2^1024): their product has exactly 2048 bits.
    let mut lo = BigNum::new().unwrap();
    lo.lshift(&BigNum::from_u32(3).unwrap(), 1022).unwrap();
    let mut hi = BigNum::new().unwrap();
    hi.lshift(&one, 1024).unwrap();
    let k_lo = &(&lo / &m) + &one;
    let k_span = &(&hi / &m) - &k_lo;
    let prime = |ctx: &mut BigNumContext| loop {
        let mut a = BigNum::new().unwrap();
        BigNum::from_u32(1 << 20)
            .unwrap()
            .rand_range(&mut a)
            .unwrap();
        let mut r = BigNum::new().unwrap();
        r.mod_exp(&g, &a, &m, ctx).unwrap();
        for _ in 0..5000 {
            let mut k = BigNum::new().unwrap();
            k_span.rand_range(&mut k).unwrap();
            let k = &k + &k_lo;
            let p = &(&k * &m) + &r;
            if p.is_prime(32, ctx).unwrap() {
                let mut rem = BigNum::new().unwrap();
                rem.nnmod(&(&p - &one), &g, ctx).unwrap();
                if rem != BigNum::from_u32(0).unwrap() {
                    return p;
                }
            }
        }
    };
    let p = prime(&mut ctx);
    let q = prime(&mut ctx);
    let n = &p * &q;
    assert_eq!(n.num_bits(), 2048);
    let phi = &(&p - &one) * &(&q - &one);
    let mut d = BigNum::new().unwrap();
    d.mod_inverse(&g, &phi, &mut ctx).unwrap();
    let mut dmp1 = BigNum::new().unwrap();
    dmp1.nnmod(&d, &(&p - &one), &mut ctx).unwrap();
    let mut dmq1 = BigNum::new().unwrap();
    dmq1.nnmod(&d, &(&q - &one), &mut ctx).unwrap();
    let mut iqmp = BigNum::new().unwrap();
    iqmp.mod_inverse(&q, &p, &mut ctx).unwrap();
    let n_bytes = n.to_vec();
    let rsa = openssl::rsa::Rsa::from_private_components(
        n,
        BigNum::from_u32(65_537).unwrap(),
        d,
        p,
        q,
        dmp1,
        dmq1,
        iqmp,
    )
    .unwrap();
    assert!(rsa.check_key().unwrap());
    let pem = rsa.private_key_to_pem().unwrap();
    Key {
        kid: kid.into(),
        alg: "RS256",
        encoding: EncodingKey::from_rsa_pem(&pem).unwrap(),
        jwk: json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                    "n": b64(&n_bytes), "e": b64(&[1, 0, 1])}),
        spki_der: Vec::new(),
    }
}

#[tokio::test]
async fn rsa_keys_with_the_roca_fingerprint_are_refused() {
    let now = SystemClock.now();
    let weak = roca_key("roca-1");
    let good = rsa_key("rsa-1", "RS256");
    let modulus = |k: &Key| {
        data_encoding::BASE64URL_NOPAD
            .decode(k.jwk["n"].as_str().unwrap().as_bytes())
            .unwrap()
    };
    assert!(has_roca_fingerprint(&modulus(&weak)));
    assert!(!has_roca_fingerprint(&modulus(&good)));
    // The weak key is otherwise a good key: 2048 bits, e = 65537, use = sig, and its token is
    // correctly signed (it verifies with the key's public part, outside idbroker).
    let token = sign(&weak, &claims("alice", now));
    let public = jsonwebtoken::DecodingKey::from_rsa_components(
        weak.jwk["n"].as_str().unwrap(),
        weak.jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[CLIENT]);
    jsonwebtoken::decode::<Value>(&token, &public, &v).unwrap();

    let fed = federation(&pinned(&[&weak.jwk, &good.jwk]));
    let (e, why) = refusal(&fed, &token, now).await;
    assert_eq!(e, not_verified());
    assert_eq!(why.as_deref(), Some(NO_KEY));
    // Control: the good key of the same set verifies its token.
    assert_eq!(
        accepted(&fed, &sign(&good, &claims("alice", now)), now).await,
        "alice"
    );
    let doc = json!({ "keys": [weak.jwk, good.jwk] }).to_string();
    let (set, skipped) = KeySet::from_jwks(doc.as_bytes(), AlgSet::ALL).unwrap();
    assert_eq!((set.len(), skipped), (1, 1));
}
