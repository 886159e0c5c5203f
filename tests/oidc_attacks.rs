//! AssumeRoleWithWebIdentity through the real AWS SDK for Rust against the server in-process,
//! with a provider whose keys are pinned: the good cases (RS256, PS256, ES256; fields of the
//! answer; credentials that work), then the attack set, each asserting the exact STS error code,
//! that no credentials came back, and the verifier's own reason for the refusal (the same token
//! verified in-process: the `OidcError` and, behind the deliberately uniform answers, the cause
//! it logs), so that no case passes for another reason than the one it is about.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    deprecated
)]

mod common;
mod oidc;

use common::sdk as sts;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_sts::config::Credentials;
use idbroker::clock::{Clock, ManualClock, SystemClock};
use idbroker::federation::oidc::{OidcError, OidcFederation, NOT_VERIFIED};
use jsonwebtoken::EncodingKey;
use oidc::*;
use serde_json::json;

/// `Ok(AccessKeyId)` or `Err(error code)`.
async fn exchange(
    client: &aws_sdk_sts::Client,
    role: &str,
    token: &str,
) -> Result<
    aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityOutput,
    String,
> {
    client
        .assume_role_with_web_identity()
        .role_arn(role)
        .role_session_name("web-session")
        .web_identity_token(token)
        .send()
        .await
        .map_err(|e| {
            e.as_service_error()
                .and_then(|s| aws_sdk_sts::error::ProvideErrorMetadata::code(s))
                .unwrap_or("<no service error>")
                .to_owned()
        })
}

struct World {
    url: String,
    /// The server's verifier, called in-process to read why a token is refused.
    oidc: Arc<OidcFederation>,
    t0: SystemTime,
    clock: Arc<ManualClock>,
    rsa: Key,
    ps: Key,
    ec: Key,
}

async fn world(provider_extra: &str, extra: &str) -> World {
    install_crypto();
    let rsa = rsa_key("rsa-1", "RS256");
    let ps = rsa_key("rsa-ps", "PS256");
    let ec = ec_key("ec-1");
    let jwks = jwks(&[&rsa, &ps, &ec]);
    let text = config_text(&format!("jwks_inline = '{jwks}'\n{provider_extra}"), extra);
    let t0 = SystemClock.now();
    let clock = Arc::new(ManualClock::new(t0));
    let state = idbroker::build_state(load(&text), clock.clone())
        .await
        .unwrap();
    let oidc = state.oidc.clone();
    let url = common::start(state).await;
    World {
        url,
        oidc,
        t0,
        clock,
        rsa,
        ps,
        ec,
    }
}

/// Why the verifier refuses a token, as it keeps it internally (the STS answer alone cannot
/// tell: most refusals are `InvalidIdentityToken`, and the causes behind [`NOT_VERIFIED`] and
/// [`NOT_A_JWT`] are only logged).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Why {
    /// `OidcError::InvalidToken` with this message, nothing logged: refused before a provider
    /// was chosen (form, size, issuer claim) or after the signature verified (claims).
    Invalid(&'static str),
    /// `OidcError::InvalidToken(NOT_VERIFIED)` (the one answer that says nothing of the
    /// provider's keys and issuers) with this cause logged.
    Hidden(&'static str),
    /// `OidcError::InvalidToken(NOT_A_JWT)` from the signature check, with this cause logged.
    Malformed(&'static str),
    /// `OidcError::Expired` for this `exp`.
    Expired(u64),
    /// The token verifies: the STS decision refuses it (trust policy, unknown role).
    Verifies,
}

const NOT_A_JWT: &str =
    "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)";
const ALG: &str = "algorithm not allowed";
const SIG: &str = "signature";
const KID_ALG: &str = "the key of this kid does not allow this alg";
const HEADER: &str = "header is not a JSON object with alg";
const CRIT: &str = "unknown critical header";
const AUD: &str = "Incorrect token audience";

/// What `fed` makes of `token` at `now`, as a [`Why`] (`Invalid("<unexpected ...>")` for an
/// answer that fits none).
async fn why_refused(fed: &OidcFederation, token: &str, now: SystemTime) -> Why {
    let store = idbroker_session::MemoryStore::new();
    let (result, logged) = traced(fed.verify(token, &store, now)).await;
    let cause = logged
        .iter()
        .find(|l| l.message.starts_with("web identity token refused"))
        .map(|l| l.reason.clone().unwrap_or_else(|| l.message.clone()));
    let known = |c: &str| -> &'static str {
        [
            ALG,
            SIG,
            KID_ALG,
            HEADER,
            CRIT,
            NO_KEY,
            NO_ISSUER,
            "kid too long",
            "signature encoding",
            "unsupported header (b64, enc or zip)",
        ]
        .into_iter()
        .find(|k| *k == c)
        .unwrap_or("<unexpected cause>")
    };
    match (result, cause) {
        (Ok(_), None) => Why::Verifies,
        (Err(OidcError::Expired { now: n, exp }), None) if n == epoch(now) => Why::Expired(exp),
        (Err(OidcError::InvalidToken(m)), Some(c)) if m == NOT_VERIFIED => Why::Hidden(known(&c)),
        (Err(OidcError::InvalidToken(m)), Some(c)) if m == NOT_A_JWT => Why::Malformed(known(&c)),
        (Err(OidcError::InvalidToken(m)), None) => Why::Invalid(
            [
                NOT_A_JWT,
                AUD,
                "The token has no exp claim",
                "The token is not valid yet (nbf)",
                "The token was issued in the future (iat)",
                "The token has no iss claim",
                "The token has no sub claim",
                "The token is longer than 20000 characters",
                "The token's sub claim is longer than 255 characters",
            ]
            .into_iter()
            .find(|k| *k == m)
            .unwrap_or("<unexpected message>"),
        ),
        other => {
            eprintln!("unexpected: {other:?}");
            Why::Invalid("<unexpected answer>")
        }
    }
}

#[actix_web::test]
async fn good_tokens_give_working_credentials() {
    let w = world("", "").await;
    let client = sts(&w.url, None, w.t0);
    for key in [&w.rsa, &w.ps, &w.ec] {
        let token = sign(key, &claims("alice", w.t0));
        let out = exchange(&client, ROLE, &token)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", key.alg));
        assert_eq!(out.subject_from_web_identity_token(), Some("alice"));
        assert_eq!(out.provider(), Some(PROVIDER_ARN));
        assert_eq!(out.audience(), Some(CLIENT));
        assert_eq!(out.packed_policy_size(), Some(0));
        let user = out.assumed_role_user().unwrap();
        assert_eq!(
            user.arn(),
            "arn:aws:sts::123456789012:assumed-role/Deployer/web-session"
        );
        assert!(user.assumed_role_id().ends_with(":web-session"));
        let c = out.credentials().unwrap();
        assert!(c.access_key_id().starts_with("ASIA"));
        // The credentials sign requests.
        let session = sts(
            &w.url,
            Some(Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                None,
                "t",
            )),
            w.t0,
        );
        let me = session.get_caller_identity().send().await.unwrap();
        assert_eq!(
            me.arn(),
            Some("arn:aws:sts::123456789012:assumed-role/Deployer/web-session")
        );
    }

    // Session tags and source identity from the token, on a role that allows them.
    let mut c = claims("bob", w.t0);
    c["https://aws.amazon.com/tags"] = json!({"principal_tags": {"team": ["platform"], "env": ["prod"]},
                                               "transitive_tag_keys": ["team"]});
    c["https://aws.amazon.com/source_identity"] = json!("bob@example.com");
    let out = exchange(&client, TAGGED_ROLE, &sign(&w.rsa, &c))
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some("bob@example.com"));
    assert!(out.packed_policy_size().unwrap() >= 1);
    // The same tags on a role whose trust policy lacks sts:TagSession: denied.
    let mut c = claims("alice", w.t0);
    c["https://aws.amazon.com/tags"] = json!({"principal_tags": {"team": ["platform"]}});
    assert_eq!(
        exchange(&client, ROLE, &sign(&w.rsa, &c))
            .await
            .err()
            .as_deref(),
        Some("AccessDenied")
    );

    // A second audience of the provider works; the trust policy of ROLE pins the first.
    let mut c = claims("alice", w.t0);
    c["aud"] = json!(["other", "second-client"]);
    assert_eq!(
        exchange(&client, ROLE, &sign(&w.rsa, &c))
            .await
            .err()
            .as_deref(),
        Some("AccessDenied")
    );
    let mut c = claims("carol", w.t0);
    c["aud"] = json!(["other", "second-client"]);
    assert!(exchange(&client, TAGGED_ROLE, &sign(&w.rsa, &c))
        .await
        .is_ok());
    // Leeway: expired 30 s ago still passes (60 s leeway), 61 s does not.
    let mut c = claims("alice", w.t0);
    c["exp"] = json!(epoch(w.t0) - 30);
    assert!(exchange(&client, ROLE, &sign(&w.rsa, &c)).await.is_ok());
    // The ManualClock decides, not the system clock.
    let token = sign(&w.rsa, &claims("alice", w.t0));
    w.clock.advance(Duration::from_secs(600 + 61));
    assert_eq!(
        exchange(&client, ROLE, &token).await.err().as_deref(),
        Some("ExpiredTokenException")
    );
}

#[actix_web::test]
async fn attack_set_is_refused_with_the_sts_code() {
    let w = world("", "").await;
    let client = sts(&w.url, None, w.t0);
    let now = w.t0;
    let good = claims("alice", now);
    let good_bytes = good.to_string().into_bytes();
    let attacker = rsa_key("rsa-1", "RS256"); // same kid as the real key
    let attacker_ec = ec_key("ec-1");
    let pem = oidc::pem("PUBLIC KEY", &w.rsa.spki_der);
    let hs = |secret: &[u8], kid: Option<&str>| {
        let mut h = json!({"alg": "HS256", "typ": "JWT"});
        if let Some(k) = kid {
            h["kid"] = json!(k);
        }
        sign_raw(&h, &good_bytes, &EncodingKey::from_secret(secret), "HS256")
    };
    let with_header = |extra: serde_json::Value, key: &Key| {
        let mut h = json!({"alg": key.alg, "typ": "JWT"});
        for (k, v) in extra.as_object().unwrap() {
            h[k] = v.clone();
        }
        sign_raw(&h, &good_bytes, &key.encoding, key.alg)
    };
    let claim_variant = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut c = good.clone();
        f(&mut c);
        sign(&w.rsa, &c)
    };
    let real_sig = sign(&w.rsa, &good).rsplit('.').next().unwrap().to_owned();

    let mut cases: Vec<(String, String, &str, Why)> = Vec::new();
    let mut add = |name: &str, token: String, code: &'static str, why: Why| {
        cases.push((name.to_owned(), token, code, why))
    };

    for none in ["none", "None", "NONE", "nOnE", "none ", ""] {
        let h = json!({"alg": none, "typ": "JWT", "kid": "rsa-1"});
        add(
            &format!("alg {none:?}, empty signature"),
            unsigned(&h, &good_bytes, ""),
            "InvalidIdentityToken",
            Why::Invalid(NOT_A_JWT),
        );
        add(
            &format!("alg {none:?}, real signature"),
            unsigned(&h, &good_bytes, &real_sig),
            "InvalidIdentityToken",
            Why::Hidden(ALG),
        );
    }
    add(
        "alg missing",
        unsigned(
            &json!({"typ": "JWT", "kid": "rsa-1"}),
            &good_bytes,
            &real_sig,
        ),
        "InvalidIdentityToken",
        Why::Malformed(HEADER),
    );
    add(
        "HS256 with the RSA public key as PEM",
        hs(pem.as_bytes(), Some("rsa-1")),
        "InvalidIdentityToken",
        Why::Hidden(ALG),
    );
    add(
        "HS256 with the RSA public key as PEM, no kid",
        hs(pem.as_bytes(), None),
        "InvalidIdentityToken",
        Why::Hidden(ALG),
    );
    add(
        "HS256 with the RSA public key as DER",
        hs(&w.rsa.spki_der, Some("rsa-1")),
        "InvalidIdentityToken",
        Why::Hidden(ALG),
    );
    add(
        "HS256 with the RSA public key as JWK",
        hs(w.rsa.jwk.to_string().as_bytes(), Some("rsa-1")),
        "InvalidIdentityToken",
        Why::Hidden(ALG),
    );
    add(
        "HS256 with the RSA modulus",
        hs(w.rsa.jwk["n"].as_str().unwrap().as_bytes(), Some("rsa-1")),
        "InvalidIdentityToken",
        Why::Hidden(ALG),
    );
    add(
        "embedded jwk (attacker key, real kid)",
        with_header(json!({"kid": "rsa-1", "jwk": attacker.jwk}), &attacker),
        "InvalidIdentityToken",
        Why::Hidden(SIG),
    );
    add(
        "embedded jwk (attacker key, no kid)",
        with_header(json!({"jwk": attacker.jwk}), &attacker),
        "InvalidIdentityToken",
        Why::Hidden(SIG),
    );
    add(
        "embedded jwk (EC attacker key)",
        with_header(json!({"kid": "ec-1", "jwk": attacker_ec.jwk}), &attacker_ec),
        "InvalidIdentityToken",
        Why::Hidden(SIG),
    );
    add(
        "jku to an attacker JWKS",
        with_header(
            json!({"kid": "evil", "jku": "https://evil.example/jwks.json"}),
            &attacker,
        ),
        "InvalidIdentityToken",
        Why::Hidden(NO_KEY),
    );
    add(
        "x5u to an attacker certificate",
        with_header(
            json!({"kid": "evil", "x5u": "https://evil.example/cert.pem"}),
            &attacker,
        ),
        "InvalidIdentityToken",
        Why::Hidden(NO_KEY),
    );
    add(
        "x5c with an attacker certificate",
        with_header(
            json!({"x5c": [data_encoding::BASE64.encode(&attacker.spki_der)]}),
            &attacker,
        ),
        "InvalidIdentityToken",
        Why::Hidden(SIG),
    );
    for kid in [
        "../../../../../../dev/null",
        "' OR '1'='1",
        "rsa-1' --",
        "rsa-1\u{0}",
        "/etc/passwd",
        "rsa-1/../ec-1",
        &"k".repeat(300),
    ] {
        add(
            &format!(
                "kid injection {:?}",
                kid.chars().take(30).collect::<String>()
            ),
            with_header(json!({"kid": kid}), &attacker),
            "InvalidIdentityToken",
            if kid.len() > 256 {
                Why::Malformed("kid too long")
            } else {
                Why::Hidden(NO_KEY)
            },
        );
    }
    add(
        "ECDSA r=s=0 (psychic signature)",
        unsigned(
            &json!({"alg": "ES256", "kid": "ec-1"}),
            &good_bytes,
            &b64(&[0u8; 64]),
        ),
        "InvalidIdentityToken",
        Why::Hidden(SIG),
    );
    add(
        "ECDSA r=s=n (order)",
        {
            let n = data_encoding::HEXLOWER
                .decode(b"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
                .unwrap();
            let mut sig = n.clone();
            sig.extend_from_slice(&n);
            unsigned(
                &json!({"alg": "ES256", "kid": "ec-1"}),
                &good_bytes,
                &b64(&sig),
            )
        },
        "InvalidIdentityToken",
        Why::Hidden(SIG),
    );
    add(
        "RS256 key used with ES256 header",
        unsigned(
            &json!({"alg": "ES256", "kid": "rsa-1"}),
            &good_bytes,
            &real_sig,
        ),
        "InvalidIdentityToken",
        Why::Hidden(KID_ALG),
    );
    add(
        "RS256 token relabelled PS256",
        unsigned(
            &json!({"alg": "PS256", "kid": "rsa-1", "typ": "JWT"}),
            &good_bytes,
            &real_sig,
        ),
        "InvalidIdentityToken",
        Why::Hidden(KID_ALG),
    );
    add(
        "signed by another key with the real kid",
        sign(&attacker, &good),
        "InvalidIdentityToken",
        Why::Hidden(SIG),
    );
    add(
        "unknown crit header",
        with_header(json!({"kid": "rsa-1", "crit": ["exp"], "exp": 1}), &w.rsa),
        "InvalidIdentityToken",
        Why::Malformed(CRIT),
    );
    add(
        "b64=false",
        with_header(
            json!({"kid": "rsa-1", "b64": false, "crit": ["b64"]}),
            &w.rsa,
        ),
        "InvalidIdentityToken",
        Why::Malformed(CRIT),
    );
    add(
        "b64=false without crit",
        with_header(json!({"kid": "rsa-1", "b64": false}), &w.rsa),
        "InvalidIdentityToken",
        Why::Malformed("unsupported header (b64, enc or zip)"),
    );
    add(
        "zip=DEF",
        with_header(json!({"kid": "rsa-1", "zip": "DEF"}), &w.rsa),
        "InvalidIdentityToken",
        Why::Malformed("unsupported header (b64, enc or zip)"),
    );
    add(
        "duplicate alg in header",
        {
            let h = r#"{"alg":"RS256","kid":"rsa-1","alg":"none"}"#;
            let input = format!("{}.{}", b64(h.as_bytes()), b64(&good_bytes));
            let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &w.rsa.encoding, alg("RS256"))
                .unwrap();
            format!("{input}.{sig}")
        },
        "InvalidIdentityToken",
        Why::Malformed(HEADER),
    );
    add(
        "modified payload",
        {
            let t = sign(&w.rsa, &good);
            let parts: Vec<&str> = t.split('.').collect();
            let mut c = good.clone();
            c["sub"] = json!("alice-admin");
            format!(
                "{}.{}.{}",
                parts[0],
                b64(c.to_string().as_bytes()),
                parts[2]
            )
        },
        "InvalidIdentityToken",
        Why::Hidden(SIG),
    );
    add(
        "expired",
        claim_variant(&|c| c["exp"] = json!(epoch(now) - 61 - 5)),
        "ExpiredTokenException",
        Why::Expired(epoch(now) - 61 - 5),
    );
    add(
        "exp missing",
        claim_variant(&|c| {
            c.as_object_mut().unwrap().remove("exp");
        }),
        "InvalidIdentityToken",
        Why::Invalid("The token has no exp claim"),
    );
    add(
        "exp as string",
        claim_variant(&|c| c["exp"] = json!((epoch(now) + 600).to_string())),
        "InvalidIdentityToken",
        Why::Invalid(NOT_A_JWT),
    );
    add(
        "exp null",
        claim_variant(&|c| c["exp"] = json!(null)),
        "InvalidIdentityToken",
        Why::Invalid("The token has no exp claim"),
    );
    add(
        "future nbf",
        claim_variant(&|c| c["nbf"] = json!(epoch(now) + 120)),
        "InvalidIdentityToken",
        Why::Invalid("The token is not valid yet (nbf)"),
    );
    add(
        "future iat",
        claim_variant(&|c| c["iat"] = json!(epoch(now) + 3600)),
        "InvalidIdentityToken",
        Why::Invalid("The token was issued in the future (iat)"),
    );
    add(
        "wrong iss",
        claim_variant(&|c| c["iss"] = json!("https://evil.example/tenant")),
        "InvalidIdentityToken",
        Why::Hidden(NO_ISSUER),
    );
    add(
        "iss with trailing slash",
        claim_variant(&|c| c["iss"] = json!(format!("{ISSUER}/"))),
        "InvalidIdentityToken",
        Why::Hidden(NO_ISSUER),
    );
    add(
        "iss missing",
        claim_variant(&|c| {
            c.as_object_mut().unwrap().remove("iss");
        }),
        "InvalidIdentityToken",
        Why::Invalid("The token has no iss claim"),
    );
    add(
        "wrong aud",
        claim_variant(&|c| c["aud"] = json!("someone-else")),
        "InvalidIdentityToken",
        Why::Invalid(AUD),
    );
    add(
        "aud list without a client",
        claim_variant(&|c| c["aud"] = json!(["a", "b"])),
        "InvalidIdentityToken",
        Why::Invalid(AUD),
    );
    add(
        "aud missing",
        claim_variant(&|c| {
            c.as_object_mut().unwrap().remove("aud");
        }),
        "InvalidIdentityToken",
        Why::Invalid(AUD),
    );
    add(
        "azp not a client (aud is)",
        claim_variant(&|c| c["azp"] = json!("someone-else")),
        "InvalidIdentityToken",
        Why::Invalid(AUD),
    );
    add(
        "missing sub",
        claim_variant(&|c| {
            c.as_object_mut().unwrap().remove("sub");
        }),
        "InvalidIdentityToken",
        Why::Invalid("The token has no sub claim"),
    );
    add(
        "empty sub",
        claim_variant(&|c| c["sub"] = json!("")),
        "InvalidIdentityToken",
        Why::Invalid("The token has no sub claim"),
    );
    add(
        "sub of 256 characters",
        claim_variant(&|c| c["sub"] = json!(format!("alice{}", "x".repeat(251)))),
        "InvalidIdentityToken",
        Why::Invalid("The token's sub claim is longer than 255 characters"),
    );
    add(
        "sub not a string",
        claim_variant(&|c| c["sub"] = json!(42)),
        "InvalidIdentityToken",
        Why::Invalid(NOT_A_JWT),
    );
    add(
        "oversized (20,001 chars)",
        {
            let mut c = good.clone();
            c["pad"] = json!("x".repeat(16_000));
            let t = sign(&w.rsa, &c);
            assert!(t.len() > 20_000, "{}", t.len());
            t
        },
        "ValidationError",
        Why::Invalid("The token is longer than 20000 characters"),
    );
    add(
        "non-JSON payload",
        sign_raw(
            &json!({"alg": "RS256", "kid": "rsa-1"}),
            b"not json at all",
            &w.rsa.encoding,
            "RS256",
        ),
        "InvalidIdentityToken",
        Why::Invalid(NOT_A_JWT),
    );
    add(
        "payload a JSON array",
        sign_raw(
            &json!({"alg": "RS256", "kid": "rsa-1"}),
            b"[1,2]",
            &w.rsa.encoding,
            "RS256",
        ),
        "InvalidIdentityToken",
        Why::Invalid(NOT_A_JWT),
    );
    add(
        "non-JSON header",
        format!("{}.{}.{}", b64(b"RS256"), b64(&good_bytes), real_sig),
        "InvalidIdentityToken",
        Why::Malformed(HEADER),
    );
    add(
        "duplicate sub claim",
        {
            let body = format!(
                r#"{{"iss":"{ISSUER}","sub":"alice","aud":"{CLIENT}","exp":{},"sub":"mallory"}}"#,
                epoch(now) + 600
            );
            sign_raw(
                &json!({"alg": "RS256", "kid": "rsa-1"}),
                body.as_bytes(),
                &w.rsa.encoding,
                "RS256",
            )
        },
        "InvalidIdentityToken",
        Why::Invalid(NOT_A_JWT),
    );
    add(
        "padded base64",
        {
            let t = sign(&w.rsa, &good);
            format!("{t}==")
        },
        "InvalidIdentityToken",
        Why::Malformed("signature encoding"),
    );
    add(
        "JWE (five parts)",
        format!("{}.a.b.c.d", b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#)),
        "InvalidIdentityToken",
        Why::Invalid(NOT_A_JWT),
    );
    add(
        "two parts",
        {
            let t = sign(&w.rsa, &good);
            t.rsplit_once('.').unwrap().0.to_owned()
        },
        "InvalidIdentityToken",
        Why::Invalid(NOT_A_JWT),
    );
    add(
        "garbage",
        "this is not a token".into(),
        "InvalidIdentityToken",
        Why::Invalid(NOT_A_JWT),
    );
    add(
        "subject the trust policy refuses",
        sign(&w.rsa, &claims("mallory", now)),
        "AccessDenied",
        Why::Verifies,
    );
    add(
        "unknown role (not revealed)",
        String::new(),
        "AccessDenied",
        Why::Verifies,
    );

    let mut table = String::from("| case | STS error code | refusal |\n|---|---|---|\n");
    let mut failures = Vec::new();
    for (name, token, want, why) in &cases {
        let (role, token) = if name.starts_with("unknown role") {
            (
                "arn:aws:iam::123456789012:role/web/Nope",
                sign(&w.rsa, &good),
            )
        } else {
            (ROLE, token.clone())
        };
        let got = exchange(&client, role, &token).await;
        match got {
            Ok(out) => failures.push(format!(
                "{name}: CREDENTIALS ISSUED ({:?})",
                out.credentials().map(|c| c.access_key_id().to_owned())
            )),
            Err(code) if code != *want => failures.push(format!("{name}: {code}, wanted {want}")),
            Err(_) => {}
        }
        // The same token to the verifier in-process: refused (or not) for the expected reason.
        let got = why_refused(&w.oidc, &token, now).await;
        if got != *why {
            failures.push(format!("{name}: {got:?}, wanted {why:?}"));
        }
        table.push_str(&format!("| {name} | {want} | {why:?} |\n"));
    }
    eprintln!("{table}");
    eprintln!("{} attack cases", cases.len());
    assert!(failures.is_empty(), "{failures:#?}");

    // The raw answer to one of them carries no credential, and says Sender.
    let token = hs(pem.as_bytes(), Some("rsa-1"));
    let body = format!("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName=x1&WebIdentityToken={token}", ROLE.replace(':', "%3A").replace('/', "%2F"));
    let resp = common::raw_http(&w.url, format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())).await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(
        resp.contains("<Code>InvalidIdentityToken</Code>") && !resp.contains("SecretAccessKey"),
        "{resp}"
    );
}

#[actix_web::test]
async fn claim_rules_groups_overage_and_jti_replay() {
    let rules = r#"jti_replay_guard = true
[[oidc_providers.claim_rules]]
claim = "/groups"
values = ["deployers", "eng-*"]
roles = ["arn:aws:iam::123456789012:role/web/Deployer"]
"#;
    let w = world(rules, "").await;
    let client = sts(&w.url, None, w.t0);
    let with = |groups: serde_json::Value, jti: &str| {
        let mut c = claims("alice", w.t0);
        c["groups"] = groups;
        c["jti"] = json!(jti);
        sign(&w.rsa, &c)
    };
    assert!(
        exchange(&client, ROLE, &with(json!(["x", "eng-platform"]), "j1"))
            .await
            .is_ok()
    );
    assert!(exchange(&client, ROLE, &with(json!("deployers"), "j2"))
        .await
        .is_ok());
    assert_eq!(
        exchange(&client, ROLE, &with(json!(["x", "ops"]), "j3"))
            .await
            .err()
            .as_deref(),
        Some("IDPRejectedClaim")
    );
    // Entra ID's groups overage: the groups claim is replaced by a pointer to Graph.
    let mut c = claims("alice", w.t0);
    c["_claim_names"] = json!({"groups": "src1"});
    c["_claim_sources"] =
        json!({"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}});
    c["jti"] = json!("j4");
    assert_eq!(
        exchange(&client, ROLE, &sign(&w.rsa, &c))
            .await
            .err()
            .as_deref(),
        Some("IDPRejectedClaim")
    );
    // A role no rule names.
    let mut c = claims("alice", w.t0);
    c["amr"] = json!(["mfa"]);
    c["jti"] = json!("j5");
    assert_eq!(
        exchange(&client, TAGGED_ROLE, &sign(&w.rsa, &c))
            .await
            .err()
            .as_deref(),
        Some("IDPRejectedClaim")
    );
    // jti: once only, and required.
    let t = with(json!(["deployers"]), "j6");
    assert!(exchange(&client, ROLE, &t).await.is_ok());
    assert_eq!(
        exchange(&client, ROLE, &t).await.err().as_deref(),
        Some("InvalidIdentityToken")
    );
    let mut c = claims("alice", w.t0);
    c["groups"] = json!(["deployers"]);
    assert_eq!(
        exchange(&client, ROLE, &sign(&w.rsa, &c))
            .await
            .err()
            .as_deref(),
        Some("InvalidIdentityToken")
    );
}
