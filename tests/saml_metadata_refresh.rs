//! SAML provider metadata from a URL: loaded at config load (which fails when it cannot be
//! fetched or does not validate), refreshed by calling the refresh function directly (no
//! sleeping): a local HTTP server on loopback serves old, garbage, rollover and new metadata,
//! and a fake fetcher stands in for an unreachable IdP. Key rollover: the old key keeps working
//! until new metadata validates; after the refresh the new key verifies and, once dropped
//! from the metadata, the old key stops verifying. Garbage keeps the old keys.
//!
//! Responses are minted by tests/saml/mint.py (signxml), two runs = two IdP keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use idbroker::config::Config;

mod common;
use common::saml_setup::{self, ACS, PROVIDER};
use idbroker::federation::fetch::{Fetched, Fetcher, HttpFetcher};
use idbroker::federation::saml::{check, InResponseTo, RefreshOutcome, SamlError};

struct Idp {
    metadata: String,
    now: SystemTime,
    valid: String,
}

fn mint(tag: &str) -> Option<Idp> {
    let m = saml_setup::mint(tag)?;
    Some(Idp {
        metadata: std::fs::read_to_string(m.dir.join("metadata.xml")).unwrap(),
        now: m.now,
        valid: m.cases["valid"].clone(),
    })
}

/// The KeyDescriptors of one metadata document.
fn key_descriptors(md: &str) -> String {
    let start = md.find("<md:KeyDescriptor").unwrap();
    let end = md.rfind("</md:KeyDescriptor>").unwrap() + "</md:KeyDescriptor>".len();
    md[start..end].to_owned()
}

/// A loopback HTTP server answering every GET with the current body.
fn serve(body: Arc<Mutex<String>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let b = body.lock().unwrap().clone();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/samlmetadata+xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}",
                b.len()
            );
        }
    });
    format!("http://{addr}/metadata.xml")
}

fn config(url: &str, extra: &str, now: SystemTime) -> Result<Config, String> {
    let toml = format!(
        r#"
account_id = "123456789012"
[saml]
acs_url = "{ACS}"

[[saml_providers]]
name = "TestIdP"
metadata_url = "{url}"
{extra}
"#
    );
    Config::from_toml(&toml, Path::new("/tmp/idbroker-test.toml"), &|_| None, now)
        .map_err(|e| e.to_string())
}

#[derive(Debug)]
struct Fake(Result<Vec<u8>, String>);

#[async_trait]
impl Fetcher for Fake {
    async fn get(&self, _url: &str, _timeout: Duration) -> Result<Fetched, String> {
        self.0.clone().map(|body| Fetched {
            body,
            max_age: None,
        })
    }
}

#[tokio::test]
async fn key_rollover_and_garbage() {
    let (Some(a), Some(b)) = (mint("a"), mint("b")) else {
        return;
    };
    let now = a.now.max(b.now);
    let body = Arc::new(Mutex::new(a.metadata.clone()));
    let url = serve(Arc::clone(&body));

    let cfg = config(
        &url,
        "allow_http_loopback = true\nmetadata_refresh_seconds = 600",
        now,
    )
    .unwrap();
    let sp = &cfg.saml;
    let p = sp.provider(PROVIDER).unwrap();
    let ok = |m: &Idp| check(p, sp, &m.valid, InResponseTo::Unsolicited, now).map(|_| ());
    assert_eq!(ok(&a), Ok(()));
    assert!(matches!(ok(&b), Err(SamlError::Signature(_))));

    // Due by the clock: not before the interval (counted from the load, at `now`).
    assert!(!p.refresh_due(now));
    assert!(p.refresh_due(now + Duration::from_secs(700)));

    let fetcher = HttpFetcher::new().unwrap();
    // Garbage, then metadata without a signing key: old keys stay.
    *body.lock().unwrap() = "<html>not metadata".into();
    assert!(matches!(
        p.refresh(&fetcher, now).await,
        RefreshOutcome::Failed(_)
    ));
    assert_eq!(ok(&a), Ok(()));
    *body.lock().unwrap() = a.metadata.replace("use=\"signing\"", "use=\"encryption\"");
    let out = p.refresh(&fetcher, now).await;
    assert!(
        matches!(&out, RefreshOutcome::Failed(e) if e.contains("no signing certificate")),
        "{out:?}"
    );
    assert_eq!(out.label(), "error");
    assert_eq!(ok(&a), Ok(()));
    // After a failure the retry comes sooner than the interval (300 s), not at once.
    assert!(!p.refresh_due(now + Duration::from_secs(299)));
    assert!(p.refresh_due(now + Duration::from_secs(300)));

    // Same metadata again: unchanged.
    *body.lock().unwrap() = a.metadata.clone();
    assert_eq!(
        p.refresh(&fetcher, now).await,
        RefreshOutcome::Updated(false)
    );

    // Rollover: both keys published, both verify.
    let both = a.metadata.replace(
        "</md:KeyDescriptor>\n",
        &format!("</md:KeyDescriptor>\n{}\n", key_descriptors(&b.metadata)),
    );
    *body.lock().unwrap() = both;
    assert_eq!(
        p.refresh(&fetcher, now).await,
        RefreshOutcome::Updated(true)
    );
    assert_eq!(ok(&a), Ok(()));
    assert_eq!(ok(&b), Ok(()));

    // The old key dropped: only the new one verifies.
    *body.lock().unwrap() = b.metadata.clone();
    let out = p.refresh(&fetcher, now).await;
    assert_eq!(out, RefreshOutcome::Updated(true));
    assert_eq!(out.label(), "updated");
    assert_eq!(ok(&b), Ok(()));
    assert!(matches!(ok(&a), Err(SamlError::Signature(_))));

    // An unreachable IdP and one with eleven keys: the keys of b stay.
    let down = Fake(Err("connection refused".into()));
    assert!(matches!(
        p.refresh(&down, now).await,
        RefreshOutcome::Failed(_)
    ));
    let kd = key_descriptors(&b.metadata);
    let eleven = b.metadata.replace(&kd, &[kd.as_str(); 6].join("\n"));
    let too_many = Fake(Ok(eleven.into_bytes()));
    let out = p.refresh(&too_many, now).await;
    assert!(
        matches!(&out, RefreshOutcome::Failed(e) if e.contains("at most 10")),
        "{out:?}"
    );
    assert_eq!(ok(&b), Ok(()));
    assert!(matches!(ok(&a), Err(SamlError::Signature(_))));
}

#[test]
fn load_needs_valid_metadata_from_an_allowed_url() {
    // The load time plays no part in these refusals.
    let config = |url: &str, extra: &str| config(url, extra, SystemTime::UNIX_EPOCH);
    // Plain HTTP off loopback, or on loopback without the opt-in: refused before any fetch.
    let e = config("http://idp.example/metadata", "").err().unwrap();
    assert!(e.contains("saml_providers[0].metadata_url"), "{e}");
    assert!(e.contains("HTTPS is required"), "{e}");
    let e = config("http://127.0.0.1:9/metadata", "").err().unwrap();
    assert!(e.contains("HTTPS is required"), "{e}");
    // Nothing listens: the load fails and names the key.
    let e = config("http://127.0.0.1:9/metadata", "allow_http_loopback = true")
        .err()
        .unwrap();
    assert!(e.contains("saml_providers[0].metadata_url"), "{e}");
    // Garbage served: the load fails.
    let url = serve(Arc::new(Mutex::new("garbage".into())));
    let e = config(&url, "allow_http_loopback = true").err().unwrap();
    assert!(e.contains("not valid metadata XML"), "{e}");
    // Both sources, or an interval out of range.
    let e = config(
        &url,
        "allow_http_loopback = true\nmetadata_file = \"x.xml\"",
    )
    .err()
    .unwrap();
    assert!(
        e.contains("exactly one of metadata_file and metadata_url"),
        "{e}"
    );
    let e = config(
        &url,
        "allow_http_loopback = true\nmetadata_refresh_seconds = 5",
    )
    .err()
    .unwrap();
    assert!(e.contains("metadata_refresh_seconds"), "{e}");
}
