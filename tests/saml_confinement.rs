//! XML-DSig confined to the document, and one reading of the XML (issue 13, items 1 and 2).
//!
//! A genuine response of the demo IdP, altered where its signatures do not look (a
//! `<ds:Object><ds:Manifest>` inside the Response's Signature) or where they do (transforms,
//! DOCTYPEs, XInclude, a declared encoding other than UTF-8), is sent to AssumeRoleWithSAML on
//! an in-process server with one worker. Every one is refused with a client error within a
//! second, no request reaches the loopback listener the hostile URIs name, and `/healthz` keeps
//! answering while a flood of them is checked. The same documents also go straight to samael's
//! `reduce_xml_to_signed_with_keys`, past idbroker's profile pass, so that the confinement in
//! vendor/samael (patch 3) is shown to hold on its own.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idbroker::clock::{Clock, Stopwatch, SystemClock};
use samael::crypto::{CertificateDer, Crypto, ReduceMode, VerificationKey};

mod common;

const PROVIDER: &str = common::DEMO_SAML_PROVIDER;
const ROLE: &str = common::DEMO_SAML_ROLE;

fn file(p: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap()
}

/// A genuine demo response (Response and Assertion signed), as XML text.
fn genuine(user: &str) -> String {
    common::demo_saml_xml(user, SystemClock.now())
}

/// A loopback listener that counts the connections made to it (none is ever expected).
struct Tripwire {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Tripwire {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                seen.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut s) = stream {
                    let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
                }
            }
        });
        Tripwire { port, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The Response's Signature (the first in the document) with `inner` added as its last child.
fn in_response_signature(xml: &str, inner: &str) -> String {
    let end = xml.find("</ds:Signature>").unwrap();
    format!("{}{inner}{}", &xml[..end], &xml[end..])
}

fn manifest(uri: &str) -> String {
    format!(
        concat!(
            r#"<ds:Object><ds:Manifest><ds:Reference URI="{uri}">"#,
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
            r#"<ds:DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue>"#,
            r#"</ds:Reference></ds:Manifest></ds:Object>"#
        ),
        uri = uri
    )
}

/// The Response signature's Reference with one more transform before the c14n one.
fn with_transform(xml: &str, transform: &str) -> String {
    let at = xml
        .find(r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#)
        .unwrap();
    format!("{}{transform}{}", &xml[..at], &xml[at..])
}

/// Every hostile variant, named, with the URIs it names pointing at `wire`.
fn hostile(wire: &Tripwire) -> Vec<(&'static str, String)> {
    let g = genuine("alice@example.com");
    let xslt = format!(
        concat!(
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116">"#,
            r#"<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">"#,
            r#"<xsl:template match="/"><xsl:copy-of select="document('{u}')"/></xsl:template>"#,
            r#"</xsl:stylesheet></ds:Transform>"#
        ),
        u = wire.url("xslt")
    );
    let xpath = concat!(
        r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116">"#,
        r#"<ds:XPath>count(//. | //.) &gt; 0 and count(//. | //. | //.) &gt; 0</ds:XPath></ds:Transform>"#
    );
    let body = g.trim_start_matches(|c| c != '>').trim_start_matches('>');
    let has_decl = g.starts_with("<?xml");
    let root = if has_decl { body } else { g.as_str() };
    vec![
        (
            "manifest http",
            in_response_signature(&g, &manifest(&wire.url("manifest"))),
        ),
        (
            "manifest /dev/zero",
            in_response_signature(&g, &manifest("file:///dev/zero")),
        ),
        (
            "manifest /etc/passwd",
            in_response_signature(&g, &manifest("file:///etc/passwd")),
        ),
        ("xslt transform", with_transform(&g, &xslt)),
        ("xpath transform", with_transform(&g, xpath)),
        (
            "external entity",
            format!(
                "<!DOCTYPE r [<!ENTITY x SYSTEM \"{}\">]>{}",
                wire.url("entity"),
                root.replacen("alice@example.com", "&x;", 1)
            ),
        ),
        (
            "xinclude",
            root.replacen(
                "alice@example.com",
                &format!(
                    r#"<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{}" parse="text"/>"#,
                    wire.url("xinclude")
                ),
                1,
            ),
        ),
        (
            "utf-7 with a hidden DOCTYPE",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-7\"?><?x +ADw-!DOCTYPE r +AFs-+ADw-!ATTLIST Assertion ID ID +ACM-IMPLIED+AD4-+AF0-+AD4-?>{root}"
            ),
        ),
        (
            "utf-16 declared over utf-8",
            format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{root}"),
        ),
    ]
}

fn form(assertion_xml: &str) -> String {
    let b64 = data_encoding::BASE64.encode(assertion_xml.as_bytes());
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn={}&PrincipalArn={}&SAMLAssertion={}",
        enc(ROLE),
        enc(PROVIDER),
        enc(&b64)
    )
}

/// A raw HTTP exchange that gives up after `limit` (a hung server fails the test, never hangs it).
fn exchange(addr: &str, request: &str, limit: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    s.set_write_timeout(Some(limit)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn post(addr: &str, body: &str, limit: Duration) -> String {
    exchange(
        addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        limit,
    )
}

fn healthz(addr: &str, limit: Duration) -> String {
    exchange(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        limit,
    )
}

async fn server() -> String {
    let state = idbroker::build_state(common::demo(), Arc::new(idbroker::clock::SystemClock))
        .await
        .unwrap();
    common::start(state)
        .await
        .trim_start_matches("http://")
        .to_owned()
}

#[actix_web::test]
async fn hostile_dsig_and_xml_constructs_are_refused_promptly_and_reach_nothing() {
    let addr = server().await;
    let wire = Tripwire::new();
    // The genuine response still works: the confinement refuses nothing SAML needs.
    let ok = {
        let (a, body) = (addr.clone(), form(&genuine("bob@example.com")));
        actix_web::rt::task::spawn_blocking(move || post(&a, &body, Duration::from_secs(10)))
            .await
            .unwrap()
    };
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    for (name, xml) in hostile(&wire) {
        let (a, body) = (addr.clone(), form(&xml));
        let (answer, took) = actix_web::rt::task::spawn_blocking(move || {
            let started = Stopwatch::start();
            let answer = post(&a, &body, Duration::from_secs(10));
            (answer, started.elapsed())
        })
        .await
        .unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 400"),
            "{name}: not a client error: {answer}"
        );
        assert!(
            answer.contains("<Code>InvalidIdentityToken</Code>"),
            "{name}: {answer}"
        );
        assert!(!answer.contains("AccessKeyId"), "{name}: {answer}");
        assert!(took < Duration::from_secs(1), "{name}: took {took:?}");
    }
    assert_eq!(wire.hits(), 0, "a hostile URI was fetched");
}

fn message(answer: &str) -> &str {
    let at = answer.find("<Message>").unwrap() + "<Message>".len();
    &answer[at..at + answer[at..].find("</Message>").unwrap()]
}

/// An unknown PrincipalArn reads exactly like a signature that does not verify: an
/// unauthenticated caller cannot list the configured providers (issue 13, item 7).
#[actix_web::test]
async fn an_unknown_provider_reads_as_a_bad_signature() {
    let addr = server().await;
    let g = genuine("alice@example.com");
    let unknown = form(&g).replace(
        &form_urlencoded::byte_serialize(PROVIDER.as_bytes()).collect::<String>(),
        &form_urlencoded::byte_serialize(b"arn:aws:iam::123456789012:saml-provider/NoSuchIdP")
            .collect::<String>(),
    );
    let at = g.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
    let forged = format!("{}AAAA{}", &g[..at], &g[at + 4..]);
    let (a, b) = (addr.clone(), addr.clone());
    let unknown =
        actix_web::rt::task::spawn_blocking(move || post(&a, &unknown, Duration::from_secs(10)))
            .await
            .unwrap();
    let forged = actix_web::rt::task::spawn_blocking(move || {
        post(&b, &form(&forged), Duration::from_secs(10))
    })
    .await
    .unwrap();
    for answer in [&unknown, &forged] {
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(
            answer.contains("<Code>InvalidIdentityToken</Code>"),
            "{answer}"
        );
    }
    assert_eq!(message(&unknown), message(&forged));
    assert!(!unknown.contains("NoSuchIdP"), "{unknown}");
}

/// Forty `file:///dev/zero` manifests at once against one worker: `/healthz` answers all along.
#[actix_web::test]
async fn a_flood_of_hostile_responses_does_not_stop_the_server() {
    let addr = server().await;
    let g = genuine("alice@example.com");
    let body = form(&in_response_signature(&g, &manifest("file:///dev/zero")));
    let flood: Vec<_> = (0..40)
        .map(|_| {
            let (a, b) = (addr.clone(), body.clone());
            std::thread::spawn(move || post(&a, &b, Duration::from_secs(10)))
        })
        .collect();
    for _ in 0..10 {
        let a = addr.clone();
        let h = actix_web::rt::task::spawn_blocking(move || healthz(&a, Duration::from_secs(2)))
            .await
            .unwrap();
        assert!(
            h.starts_with("HTTP/1.1 200"),
            "healthz during the flood: {h:?}"
        );
    }
    for t in flood {
        let answer = t.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    }
    let h = healthz(&addr, Duration::from_secs(2));
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
}

/// Past idbroker's own profile pass: samael (vendor patch 3) refuses the same documents, with
/// nothing fetched, nothing read from the file system and nothing hanging.
#[test]
fn samael_alone_stays_inside_the_document() {
    let wire = Tripwire::new();
    let der = openssl::x509::X509::from_pem(&file("certs/demo/saml-idp.crt"))
        .unwrap()
        .to_der()
        .unwrap();
    let key = VerificationKey::from_certificate_der(&CertificateDer::from(der)).unwrap();
    let g = genuine("alice@example.com");
    // Sanity: the genuine response reduces.
    assert!(Crypto::reduce_xml_to_signed_with_keys(
        &g,
        std::slice::from_ref(&key),
        ReduceMode::ValidateAndMarkNoAncestors,
        None
    )
    .is_ok());
    let second_reference = {
        let at = g.find("</ds:SignedInfo>").unwrap();
        format!(
            concat!(
                "{}",
                r#"<ds:Reference URI="{u}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
                r#"<ds:DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue></ds:Reference>"#,
                "{}"
            ),
            &g[..at],
            &g[at..],
            u = wire.url("reference")
        )
    };
    let passwd_reference = second_reference.replace(&wire.url("reference"), "file:///etc/passwd");
    // The encoding cases are the lexical pass's to refuse; samael's part is to read the text
    // as UTF-8 whatever it declares (so it sees no hidden DOCTYPE), not to refuse it.
    let mut cases: Vec<_> = hostile(&wire)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("utf-"))
        .collect();
    cases.push(("a second reference to http", second_reference));
    cases.push(("a second reference to a file", passwd_reference));
    for (name, xml) in cases {
        let started = Stopwatch::start();
        let reduced = Crypto::reduce_xml_to_signed_with_keys(
            &xml,
            std::slice::from_ref(&key),
            ReduceMode::ValidateAndMarkNoAncestors,
            None,
        );
        assert!(reduced.is_err(), "{name}: samael accepted it");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{name}: {:?}",
            started.elapsed()
        );
    }
    assert_eq!(wire.hits(), 0, "samael fetched a hostile URI");
}

/// `UPDATE_FUZZ_SEEDS=1 cargo nextest run --test saml_confinement`: write the hostile documents
/// as seeds of the saml_parse fuzz target (first byte 0: the rest is XML).
#[test]
fn hostile_documents_as_fuzz_seeds() {
    if std::env::var_os("UPDATE_FUZZ_SEEDS").is_none() {
        return;
    }
    let wire = Tripwire::new();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/saml_parse");
    for (name, xml) in hostile(&wire) {
        let file = format!(
            "confinement_{}",
            name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(xml.as_bytes());
        std::fs::write(dir.join(file), bytes).unwrap();
    }
}

/// Signature checks now run on several blocking threads at once: the same genuine response,
/// checked by eight threads at the same time, verifies every time.
#[test]
fn concurrent_checks_all_verify() {
    let cfg = Arc::new(common::demo());
    let b64 = data_encoding::BASE64.encode(genuine("alice@example.com").as_bytes());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (cfg, b64) = (cfg.clone(), b64.clone());
            std::thread::spawn(move || {
                let p = cfg.saml.provider(PROVIDER).unwrap();
                let mut failures = Vec::new();
                for _ in 0..100 {
                    if let Err(e) = idbroker::federation::saml::check(
                        p,
                        &cfg.saml,
                        &b64,
                        idbroker::federation::saml::InResponseTo::Unsolicited,
                        SystemClock.now(),
                    ) {
                        failures.push(e);
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
}

/// Each hostile document above refused in-process by `check`, for its own reason (issue 14:
/// over HTTP they all read `InvalidIdentityToken`).
#[test]
fn each_hostile_document_is_refused_for_its_own_reason() {
    use idbroker::federation::saml::{check, InResponseTo, SamlError, SIGNATURE_DOES_NOT_VERIFY};
    let wire = Tripwire::new();
    let cfg = common::demo();
    let p = cfg.saml.provider(PROVIDER).unwrap();
    let object = SamlError::Signature(
        "a signature holds an element other than SignedInfo, SignatureValue and KeyInfo",
    );
    let transform = SamlError::Signature("the signature is outside the SAML signature profile");
    let encoding = SamlError::Malformed(
        "the response must be UTF-8 (its XML declaration names another encoding)",
    );
    let expected = [
        ("manifest http", object.clone()),
        ("manifest /dev/zero", object.clone()),
        ("manifest /etc/passwd", object),
        ("xslt transform", transform.clone()),
        ("xpath transform", transform),
        (
            "external entity",
            SamlError::Malformed("DOCTYPE and entity declarations are not allowed"),
        ),
        // No XInclude processing: the NameID holds an element the IdP did not sign.
        ("xinclude", SamlError::Signature(SIGNATURE_DOES_NOT_VERIFY)),
        ("utf-7 with a hidden DOCTYPE", encoding.clone()),
        ("utf-16 declared over utf-8", encoding),
    ];
    let cases = hostile(&wire);
    assert_eq!(
        cases.iter().map(|c| c.0).collect::<Vec<_>>(),
        expected.iter().map(|e| e.0).collect::<Vec<_>>()
    );
    let got: Vec<_> = cases
        .iter()
        .map(|(name, xml)| {
            let r = check(
                p,
                &cfg.saml,
                &data_encoding::BASE64.encode(xml.as_bytes()),
                InResponseTo::Unsolicited,
                SystemClock.now(),
            );
            (*name, r.map(|c| c.subject().to_owned()))
        })
        .collect();
    let want: Vec<_> = expected.into_iter().map(|(n, e)| (n, Err(e))).collect();
    assert_eq!(got, want);
    assert_eq!(wire.hits(), 0, "a hostile URI was fetched");
}

/// Issue 13: past the bound on checks in flight the call gets a prompt AWS-shaped error, and
/// the other routes keep answering. The only check thread is held; AssumeRoleWithSAML waits at
/// most `check_timeout_ms` and is answered 503 ServiceUnavailable; once the thread is free the
/// next call is issued credentials.
#[actix_web::test]
async fn busy_check_threads_answer_service_unavailable_promptly() {
    use idbroker::federation::saml::pool::CheckPool;
    let mut cfg = common::demo();
    Arc::get_mut(&mut cfg.saml).unwrap().checks = CheckPool::new(1, Duration::from_millis(300));
    let pool = cfg.saml.checks.clone();
    let state = idbroker::build_state(cfg, Arc::new(idbroker::clock::SystemClock))
        .await
        .unwrap();
    let addr = common::start(state)
        .await
        .trim_start_matches("http://")
        .to_owned();
    let (release, stuck) = std::sync::mpsc::channel::<()>();
    let (started_tx, started) = std::sync::mpsc::channel::<()>();
    let holder = actix_web::rt::spawn(async move {
        pool.run(move || {
            let _ = started_tx.send(());
            let _ = stuck.recv();
        })
        .await
    });
    actix_web::rt::task::spawn_blocking(move || started.recv_timeout(Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap();
    let call = |user: &str| {
        let (a, body) = (addr.clone(), form(&genuine(user)));
        actix_web::rt::task::spawn_blocking(move || {
            let t = Stopwatch::start();
            (post(&a, &body, Duration::from_secs(10)), t.elapsed())
        })
    };
    let (busy, took) = call("carol@example.com").await.unwrap();
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(busy.contains("<Code>ServiceUnavailable</Code>"), "{busy}");
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    let a = addr.clone();
    let h = actix_web::rt::task::spawn_blocking(move || healthz(&a, Duration::from_secs(2)))
        .await
        .unwrap();
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
    release.send(()).unwrap();
    let _ = holder.await;
    let (ok, _) = call("dave@example.com").await.unwrap();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}
