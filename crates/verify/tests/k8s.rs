//! `k8s-aws-v1.` tokens: made with idbroker-sigv4's presigner (and botocore's, as `aws eks
//! get-token` makes them), verified against sessions minted as the server mints them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use idbroker_session::{AccessKeyId, MemoryStore, SessionStore};
use idbroker_sigv4::{sign, Payload, RequestParts, SigningForm, SigningParams};
use idbroker_verify::{K8sTokenError, Verifier, VerifierOptions, VerifyError};

const HOST: &str = "sts.idbroker.test";
const CLUSTER: &str = "prod-eu";

/// How a test token is made.
struct Tok<'a> {
    host: &'a str,
    cluster: Option<&'a str>,
    query: &'a str,
    time: u64,
    expires: u64,
    region: &'a str,
    service: &'a str,
}

fn tok() -> Tok<'static> {
    Tok {
        host: HOST,
        cluster: Some(CLUSTER),
        query: "Action=GetCallerIdentity&Version=2011-06-15",
        time: T0 + 10,
        expires: 60,
        region: "us-east-1",
        service: "sts",
    }
}

/// The presigned URL and the token, as aws-iam-authenticator builds them.
fn make(c: &Creds, t: &Tok<'_>) -> String {
    let mut headers = vec![("Host", t.host)];
    if let Some(cluster) = t.cluster {
        headers.push(("x-k8s-aws-id", cluster));
    }
    let req = RequestParts {
        method: "GET",
        path: "/",
        query: t.query,
        headers: &headers,
        payload: Payload::Bytes(b""),
    };
    let mut p = SigningParams::new(&c.id, &c.secret, t.region, t.service, t.time);
    p.security_token = Some(&c.token);
    p.form = SigningForm::Presigned {
        expires_in: t.expires,
    };
    let signed = sign(&req, &p).unwrap();
    encode(&format!("https://{}/?{}", t.host, signed.query()))
}

fn encode(url: &str) -> String {
    format!("k8s-aws-v1.{}", URL_SAFE_NO_PAD.encode(url))
}

fn decode(token: &str) -> String {
    let b = URL_SAFE_NO_PAD
        .decode(token.strip_prefix("k8s-aws-v1.").unwrap())
        .unwrap();
    String::from_utf8(b).unwrap()
}

async fn setup() -> (Arc<dyn SessionStore>, Creds, Verifier) {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let creds = mint(&*store, &keys(), &plan(READER)).await;
    // The downstream service's own service, host and region settings do not apply to tokens.
    let opts = VerifierOptions::new("orders")
        .with_host("orders.example.com")
        .with_regions(["eu-west-1"])
        .with_sts_hosts([HOST]);
    (store.clone(), creds, Verifier::new(over(store), opts))
}

async fn check(v: &Verifier, token: &str, now: u64) -> Result<String, K8sTokenError> {
    v.verify_k8s_token(token, CLUSTER, at(now))
        .await
        .map(|c| c.arn().to_owned())
}

#[tokio::test]
async fn valid_token_maps_to_the_session_for_fifteen_minutes() {
    let (_, creds, v) = setup().await;
    let token = make(&creds, &tok());
    let arn = "arn:aws:sts::123456789012:assumed-role/orders-reader/alice";
    // Valid well past X-Amz-Expires=60: 15 minutes from X-Amz-Date, as STS treats it.
    for now in [T0 + 10, T0 + 11, T0 + 70, T0 + 10 + 900] {
        assert_eq!(check(&v, &token, now).await.unwrap(), arn, "at +{now}");
    }
    let caller = v
        .verify_k8s_token(&token, CLUSTER, at(T0 + 20))
        .await
        .unwrap();
    assert_eq!(caller.service(), "sts");
    assert_eq!(caller.form(), idbroker_verify::SignatureForm::Presigned);
    assert_eq!(caller.session_name(), Some("alice"));
}

#[tokio::test]
async fn expired_and_not_yet_valid() {
    let (_, creds, v) = setup().await;
    let token = make(&creds, &tok());
    let err = check(&v, &token, T0 + 10 + 901).await.unwrap_err();
    assert!(
        matches!(err, K8sTokenError::Verify(VerifyError::RequestExpired(_))),
        "{err:?}"
    );
    // Dated beyond the 15-minute skew.
    let err = check(&v, &token, T0 + 10 - 901).await.unwrap_err();
    assert_eq!(err.code(), "RequestExpired");
    // The session itself expired (an hour): ExpiredToken, even with a fresh token.
    let late = make(
        &creds,
        &Tok {
            time: T0 + 3600,
            ..tok()
        },
    );
    let err = check(&v, &late, T0 + 3601).await.unwrap_err();
    assert_eq!(err, K8sTokenError::Verify(VerifyError::ExpiredToken));
}

#[tokio::test]
async fn another_cluster_and_unsigned_cluster_id_are_refused() {
    let (_, creds, v) = setup().await;
    let token = make(&creds, &tok());
    let err = v
        .verify_k8s_token(&token, "staging", at(T0 + 11))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        K8sTokenError::Verify(VerifyError::SignatureDoesNotMatch)
    );
    let unsigned = make(
        &creds,
        &Tok {
            cluster: None,
            ..tok()
        },
    );
    assert_eq!(
        check(&v, &unsigned, T0 + 11).await.unwrap_err(),
        K8sTokenError::ClusterIdNotSigned
    );
}

#[tokio::test]
async fn url_rules() {
    let (_, creds, v) = setup().await;
    let cases: Vec<(Tok<'_>, K8sTokenError)> = vec![
        (
            Tok {
                query: "Action=GetCallerIdentity&Version=2011-06-15&Extra=1",
                ..tok()
            },
            K8sTokenError::ParameterNotAllowed,
        ),
        (
            Tok {
                query: "Action=GetSessionToken&Version=2011-06-15",
                ..tok()
            },
            K8sTokenError::WrongAction,
        ),
        (
            Tok {
                query: "Version=2011-06-15",
                ..tok()
            },
            K8sTokenError::WrongAction,
        ),
        (
            Tok {
                query: "Action=GetCallerIdentity&Version=2010-01-01",
                ..tok()
            },
            K8sTokenError::WrongAction,
        ),
        (
            Tok {
                query: "Action=GetCallerIdentity&action=GetCallerIdentity",
                ..tok()
            },
            K8sTokenError::DuplicateParameter,
        ),
        (
            Tok {
                host: "sts.evil.test",
                ..tok()
            },
            K8sTokenError::WrongHost,
        ),
        (
            Tok {
                expires: 901,
                ..tok()
            },
            K8sTokenError::BadExpires,
        ),
        (
            Tok {
                service: "orders",
                ..tok()
            },
            K8sTokenError::WrongService,
        ),
    ];
    for (t, want) in cases {
        let token = make(&creds, &t);
        assert_eq!(check(&v, &token, T0 + 11).await.unwrap_err(), want);
    }
    // X-Amz-Expires 0 and 900 are fine (aws-iam-authenticator's bounds).
    for expires in [0, 900] {
        let token = make(&creds, &Tok { expires, ..tok() });
        assert!(check(&v, &token, T0 + 11).await.is_ok(), "{expires}");
    }
    // Another region of STS is fine (regional endpoints).
    let token = make(
        &creds,
        &Tok {
            region: "eu-central-1",
            ..tok()
        },
    );
    assert!(check(&v, &token, T0 + 11).await.is_ok());
}

#[tokio::test]
async fn encoding_size_scheme_and_path() {
    let (_, creds, v) = setup().await;
    let good = make(&creds, &tok());
    let url = decode(&good);
    let query = url.split_once('?').unwrap().1.to_owned();
    let now = T0 + 11;
    let cases: Vec<(String, K8sTokenError)> = vec![
        (
            format!("k8s-aws-v2.{}", good.strip_prefix("k8s-aws-v1.").unwrap()),
            K8sTokenError::MissingPrefix,
        ),
        (format!("{good}="), K8sTokenError::BadEncoding),
        (format!("{good}!"), K8sTokenError::BadEncoding),
        (
            format!("k8s-aws-v1.+{}", good.strip_prefix("k8s-aws-v1.").unwrap()),
            K8sTokenError::BadEncoding,
        ),
        (
            format!("{good}{}", "A".repeat(4096)),
            K8sTokenError::TooLarge,
        ),
        (
            encode(&url.replacen("https://", "http://", 1)),
            K8sTokenError::BadUrl("the scheme must be https"),
        ),
        (
            encode(&format!("https://{HOST}/x?{query}")),
            K8sTokenError::BadUrl("the path must be /"),
        ),
        (
            encode(&format!("https://{HOST}?{query}")),
            K8sTokenError::BadUrl("the path must be /"),
        ),
        (
            encode(&format!("https://{HOST}/?{query}#x")),
            K8sTokenError::BadUrl("a fragment is not allowed"),
        ),
        (
            encode(&format!("https://user@{HOST}/?{query}")),
            K8sTokenError::BadUrl("user info is not allowed"),
        ),
        (
            encode(&format!("https://{HOST}/?{query}&Action=%zz")),
            K8sTokenError::BadUrl("malformed query parameter"),
        ),
        (
            encode(&format!("https://{HOST}:8443/?{query}")),
            K8sTokenError::WrongHost,
        ),
    ];
    for (token, want) in cases {
        assert_eq!(check(&v, &token, now).await.unwrap_err(), want, "{token}");
    }
    // The URL decoded and re-encoded as it is still verifies (the cases above changed only one
    // thing each).
    assert!(check(&v, &encode(&url), now).await.is_ok());
    // A tampered signature.
    let sig_at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut tampered = url.clone().into_bytes();
    tampered[sig_at] = if tampered[sig_at] == b'0' { b'1' } else { b'0' };
    let err = check(&v, &encode(&String::from_utf8(tampered).unwrap()), now)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        K8sTokenError::Verify(VerifyError::SignatureDoesNotMatch)
    );
    // Without STS hosts configured, nothing is accepted.
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let closed = Verifier::new(over(store), VerifierOptions::new("orders"));
    assert_eq!(
        check(&closed, &good, now).await.unwrap_err(),
        K8sTokenError::WrongHost
    );
}

#[tokio::test]
async fn revoked_session_and_unknown_key() {
    let (store, creds, v) = setup().await;
    let token = make(&creds, &tok());
    store
        .revoke(&AccessKeyId::parse(&creds.id).unwrap())
        .await
        .unwrap();
    v.clear_cache();
    assert_eq!(
        check(&v, &token, T0 + 11).await.unwrap_err(),
        K8sTokenError::Verify(VerifyError::InvalidClientTokenId)
    );
    let other = Creds {
        id: "ASIAAAAAAAAAAAAAAAAA".into(),
        ..creds.clone()
    };
    assert_eq!(
        check(&v, &make(&other, &tok()), T0 + 11)
            .await
            .unwrap_err()
            .code(),
        "InvalidClientTokenId"
    );
}

/// botocore's presigner, as awscli's `aws eks get-token` uses it (its TokenGenerator): skipped
/// when python3 or botocore is missing, except under CI (skip_or_fail).
#[tokio::test]
async fn botocore_token_verifies() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    // botocore signs at the wall clock's time, so the session and the check use it too.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    let now_s = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let creds = mint(
        &*store,
        &keys(),
        &Plan {
            issued_at: now_s - 5,
            ..plan(READER)
        },
    )
    .await;
    let script = r#"
import base64, sys
import botocore.session
from botocore.signers import RequestSigner
key, secret, token, host, cluster = sys.argv[1:6]
session = botocore.session.get_session()
client = session.create_client("sts", region_name="us-east-1", endpoint_url="https://" + host,
    aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)
signer = RequestSigner(client.meta.service_model.service_id, "us-east-1", "sts", "v4",
    client._request_signer._credentials, session.get_component("event_emitter"))
params = {"method": "GET", "url": "https://" + host + "/?Action=GetCallerIdentity&Version=2011-06-15",
    "body": {}, "headers": {"x-k8s-aws-id": cluster}, "context": {}}
url = signer.generate_presigned_url(params, region_name="us-east-1", expires_in=60, operation_name="")
print("k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("="))
"#;
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &creds.id,
            &creds.secret,
            &creds.token,
            HOST,
            CLUSTER,
        ])
        .output();
    let token = match out {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap().trim().to_owned(),
        // python3 or botocore missing: a peer, not a failure of the presigner.
        Err(e) => return skip_or_fail(format!("python3 (for botocore's presigner): {e}")),
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("ModuleNotFoundError") => {
            return skip_or_fail(format!(
                "botocore is not installed (pip install botocore): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
        other => panic!("botocore presigner failed: {other:?}"),
    };
    let v = Verifier::new(
        over(store),
        VerifierOptions::new("orders").with_sts_hosts([HOST]),
    );
    let caller = v.verify_k8s_token(&token, CLUSTER, now).await.unwrap();
    assert_eq!(
        caller.arn(),
        "arn:aws:sts::123456789012:assumed-role/orders-reader/alice"
    );
    let err = v
        .verify_k8s_token(&token, "another", now)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        K8sTokenError::Verify(VerifyError::SignatureDoesNotMatch)
    );
}
