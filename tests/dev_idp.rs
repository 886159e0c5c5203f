//! The development IdP (`[dev_idp]`, served under /dev/idp) walked with a plain HTTP client and
//! hand-held cookies, as a browser would: the demo configuration (its URLs moved to the test's
//! port, its DemoIdP metadata copied with the SingleSignOnService there) on an in-process
//! server. SP-initiated SAML (console login -> the people page -> a person -> the signed
//! response posted to the ACS -> a console session, or the role picker), the OIDC code flow
//! with PKCE (console login -> authorize -> a person -> callback -> a console session), and the
//! refusals: a non-demo key or a non-loopback address stops `idbroker serve`, a wrong
//! redirect_uri gets a page (no redirect), a wrong PKCE verifier and a replayed code get
//! `invalid_grant`, and with the IdP off every route is 404.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use idbroker::clock::{Clock, Stopwatch, SystemClock};
use idbroker::config::Config;
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo_file() -> PathBuf {
    root().join("config/demo/idbroker.toml")
}

/// A running server on `base` (`http://127.0.0.1:PORT`) with the demo configuration moved there.
struct Demo {
    base: String,
    _dir: TempDir,
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The demo configuration with every `127.0.0.1:8080` made `127.0.0.1:PORT` (public URL, ACS,
/// the development issuer, trust policies), DemoIdP's metadata copied into `dir` with its
/// SingleSignOnService moved too, and `edit` applied last.
fn demo_text(port: u16, dir: &Path, edit: impl Fn(String) -> String) -> String {
    let here = format!("127.0.0.1:{port}");
    let metadata = std::fs::read_to_string(root().join("certs/demo/saml-idp-metadata.xml"))
        .unwrap()
        .replace("127.0.0.1:8080", &here);
    let md_path = dir.join("saml-idp-metadata.xml");
    std::fs::write(&md_path, metadata).unwrap();
    let text = std::fs::read_to_string(demo_file())
        .unwrap()
        .replace("127.0.0.1:8080", &here)
        .replace(
            "metadata_file = \"../../certs/demo/saml-idp-metadata.xml\"",
            &format!("metadata_file = \"{}\"", md_path.display()),
        );
    edit(text)
}

fn load(text: &str) -> Result<Config, String> {
    Config::from_toml(text, &demo_file(), &|_| None, SystemClock.now()).map_err(|e| e.to_string())
}

async fn serve(edit: impl Fn(String) -> String) -> Demo {
    let dir = std::env::temp_dir().join(format!(
        "idbroker-dev-idp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = load(&demo_text(port, &dir, edit)).unwrap();
    let state = idbroker::build_state(config, Arc::new(SystemClock))
        .await
        .unwrap();
    // Two workers: the console's OIDC callback calls this same server (discovery, token).
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(actix_web::web::Data::new(state.for_worker()))
            .configure(idbroker::routes)
    })
    .workers(2)
    .listen(listener)
    .unwrap();
    actix_web::rt::spawn(server.run());
    Demo {
        base: format!("http://127.0.0.1:{port}"),
        _dir: TempDir(dir),
    }
}

/// A browser, as far as these flows need one: no redirects followed, cookies kept by name.
struct Browser {
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

/// What came back.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> String {
        self.headers
            .get(LOCATION)
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.body))
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of the form field `name` (`name="NAME" value="..."`), HTML unescaped.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        let end = start + self.body[start..].find('"').unwrap();
        unescape(&self.body[start..end])
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#43;", "+")
        .replace("&#47;", "/")
        .replace("&#61;", "=")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Browser {
    fn new() -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, rb: reqwest::RequestBuilder) -> Answer {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let rb = if cookie.is_empty() {
            rb
        } else {
            rb.header(COOKIE, cookie.join("; "))
        };
        let resp = rb.send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        for c in headers.get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = resp.text().await.unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&mut self, url: &str) -> Answer {
        let rb = self.client.get(url);
        self.send(rb).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Answer {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let rb = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(rb).await
    }
}

/// The people page is a console-grade page: the console's headers and the banner.
fn assert_dev_page(a: &Answer) {
    assert_eq!(a.status, 200, "{}", a.body);
    let csp = a.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(a.header("x-frame-options"), Some("DENY"));
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert!(a.body.contains("DEVELOPMENT ONLY"), "{}", a.body);
}

/// SP-initiated SAML as `person`: from the console's login to the ACS's answer.
async fn saml_sign_in(b: &mut Browser, base: &str, person: &str) -> Answer {
    let login = b
        .get(&format!("{base}/console/saml/login?provider=DemoIdP"))
        .await;
    assert_eq!(login.status, 302, "{}", login.body);
    let sso = login.location();
    assert!(
        sso.starts_with(&format!("{base}/dev/idp/saml/sso?SAMLRequest=")),
        "{sso}"
    );
    let people = b.get(&sso).await;
    assert_dev_page(&people);
    for shown in [
        "alice@example.com",
        "bob@example.com",
        "developers",
        "arn:aws:iam::123456789012:role/demo/SamlOperator",
        "id=\"as-alice\"",
        "id=\"as-bob\"",
    ] {
        assert!(people.body.contains(shown), "{shown}: {}", people.body);
    }
    let pending = people.field("pending");
    let posted = b
        .post(
            &format!("{base}/dev/idp/saml/sso"),
            &[("pending", &pending), ("person", person)],
        )
        .await;
    assert_dev_page(&posted);
    assert!(
        posted.body.contains(&format!("action=\"{base}/saml/acs\"")),
        "{}",
        posted.body
    );
    assert!(posted.body.contains("/dev/idp/static/dev_idp.js"));
    let response = posted.field("SAMLResponse");
    let acs = b
        .post(&format!("{base}/saml/acs"), &[("SAMLResponse", &response)])
        .await;
    // The same response a second time: single use.
    let again = Browser::new()
        .post(&format!("{base}/saml/acs"), &[("SAMLResponse", &response)])
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    acs
}

#[actix_web::test]
async fn sp_initiated_saml_signs_bob_in_and_shows_alice_the_role_picker() {
    let demo = serve(|t| t).await;
    let base = &demo.base;

    let mut bob = Browser::new();
    let acs = saml_sign_in(&mut bob, base, "bob").await;
    assert_eq!(acs.status, 303, "{}", acs.body);
    assert_eq!(acs.location(), format!("{base}/console"));
    assert!(bob.cookies.contains_key("idb_console"), "{:?}", bob.cookies);
    let landing = bob.get(&format!("{base}/console")).await;
    assert_eq!(landing.status, 200);
    assert!(
        landing
            .body
            .contains("arn:aws:sts::123456789012:assumed-role/SamlDeveloper/bob@example.com"),
        "{}",
        landing.body
    );

    // Alice may take two roles: the console's picker offers both.
    let mut alice = Browser::new();
    let acs = saml_sign_in(&mut alice, base, "alice").await;
    assert_eq!(acs.status, 303, "{}", acs.body);
    assert_eq!(acs.location(), "/console/roles");
    let picker = alice.get(&format!("{base}/console/roles")).await;
    assert_eq!(picker.status, 200, "{}", picker.body);
    for role in ["SamlDeveloper", "SamlOperator"] {
        assert!(
            picker
                .body
                .contains(&format!("arn:aws:iam::123456789012:role/demo/{role}")),
            "{role}: {}",
            picker.body
        );
    }
}

#[actix_web::test]
async fn the_saml_side_answers_only_its_own_acs_and_its_own_forms() {
    let demo = serve(|t| t).await;
    let base = &demo.base;
    let mut b = Browser::new();
    // The index: who can be signed in, and where to start.
    let index = b.get(&format!("{base}/dev/idp")).await;
    assert_dev_page(&index);
    assert!(
        index.body.contains("<title>Development IdP"),
        "{}",
        index.body
    );
    assert!(index.body.contains("bob@example.com") && !index.body.contains("name=\"person\""));
    // No request, a request for another ACS, a form not made here.
    let none = b.get(&format!("{base}/dev/idp/saml/sso")).await;
    assert_eq!(none.status, 400);
    let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(
        &mut d,
        br#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0" AssertionConsumerServiceURL="https://evil.example/acs"/>"#,
    )
    .unwrap();
    let req = data_encoding::BASE64.encode(&d.finish().unwrap());
    let evil = b
        .get(&format!(
            "{base}/dev/idp/saml/sso?SAMLRequest={}",
            enc(&req)
        ))
        .await;
    assert_eq!(evil.status, 400, "{}", evil.body);
    assert!(evil.body.contains("ACS"), "{}", evil.body);
    assert!(!evil.body.contains("SAMLResponse"));
    let forged = b
        .post(
            &format!("{base}/dev/idp/saml/sso"),
            &[("pending", "forged"), ("person", "alice")],
        )
        .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert!(!forged.body.contains("SAMLResponse"));
}

/// The console's OIDC login up to the people page: the browser at the authorize endpoint.
async fn oidc_people(b: &mut Browser, base: &str) -> Answer {
    let login = b
        .get(&format!("{base}/console/oidc/login?provider=DemoOIDC"))
        .await;
    assert_eq!(login.status, 302, "{}", login.body);
    let authorize = login.location();
    assert!(
        authorize.starts_with(&format!("{base}/dev/idp/oidc/authorize?")),
        "{authorize}"
    );
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(b.cookies.contains_key("idb_oidc"));
    let people = b.get(&authorize).await;
    assert_dev_page(&people);
    people
}

#[actix_web::test]
async fn the_oidc_code_flow_signs_bob_in() {
    let demo = serve(|t| t).await;
    let base = &demo.base;
    let mut b = Browser::new();
    let people = oidc_people(&mut b, base).await;
    assert!(people.body.contains("bob@example.com"), "{}", people.body);
    let chosen = b
        .post(
            &format!("{base}/dev/idp/oidc/authorize"),
            &[("pending", &people.field("pending")), ("person", "bob")],
        )
        .await;
    assert_eq!(chosen.status, 302, "{}", chosen.body);
    let callback = chosen.location();
    assert!(
        callback.starts_with(&format!("{base}/console/oidc/callback?code=")),
        "{callback}"
    );
    let signed_in = b.get(&callback).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.location(), format!("{base}/console"));
    let landing = b.get(&format!("{base}/console")).await;
    assert_eq!(landing.status, 200);
    assert!(
        landing
            .body
            .contains("arn:aws:sts::123456789012:assumed-role/OidcDeveloper/bob@example.com"),
        "{}",
        landing.body
    );
    // The callback works for the browser that started the login only (its sealed state): in
    // another browser, with a login of its own, the same code and state sign nobody in.
    let mut again = Browser::new();
    let _ = oidc_people(&mut again, base).await;
    let code_query = callback.split_once('?').unwrap().1;
    let replay = again
        .get(&format!("{base}/console/oidc/callback?{code_query}"))
        .await;
    assert_ne!(replay.status, 303, "{}", replay.body);
    assert!(!again.cookies.contains_key("idb_console"));
}

fn s256(verifier: &str) -> String {
    use sha2::Digest;
    data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(verifier.as_bytes()))
}

/// An authorization request of our own (the test plays the client): the code for `person`.
async fn code_for(b: &mut Browser, base: &str, person: &str, challenge: &str) -> String {
    let redirect = format!("{base}/console/oidc/callback");
    let url = format!(
        "{base}/dev/idp/oidc/authorize?response_type=code&client_id=idbroker-console&redirect_uri={}&scope=openid&state=s1&nonce=n1&code_challenge={challenge}&code_challenge_method=S256",
        enc(&redirect)
    );
    let people = b.get(&url).await;
    assert_dev_page(&people);
    let chosen = b
        .post(
            &format!("{base}/dev/idp/oidc/authorize"),
            &[("pending", &people.field("pending")), ("person", person)],
        )
        .await;
    assert_eq!(chosen.status, 302, "{}", chosen.body);
    let to = chosen.location();
    assert!(
        to.starts_with(&redirect) && to.ends_with("&state=s1"),
        "{to}"
    );
    form_urlencoded::parse(to.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

async fn exchange(
    b: &mut Browser,
    base: &str,
    code: &str,
    verifier: &str,
) -> (u16, serde_json::Value) {
    let redirect = format!("{base}/console/oidc/callback");
    let a = b
        .post(
            &format!("{base}/dev/idp/oidc/token"),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", &redirect),
                ("client_id", "idbroker-console"),
            ],
        )
        .await;
    assert_eq!(a.header("cache-control"), Some("no-store"));
    (a.status, serde_json::from_str(&a.body).unwrap())
}

#[actix_web::test]
async fn the_oidc_side_refuses_wrong_redirects_verifiers_and_replays() {
    let demo = serve(|t| t).await;
    let base = &demo.base;
    let mut b = Browser::new();

    // Discovery and keys.
    let doc: serde_json::Value = serde_json::from_str(
        &b.get(&format!(
            "{base}/dev/idp/oidc/.well-known/openid-configuration"
        ))
        .await
        .body,
    )
    .unwrap();
    assert_eq!(doc["issuer"], format!("{base}/dev/idp/oidc"));
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{base}/dev/idp/oidc/authorize")
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let jwks: serde_json::Value =
        serde_json::from_str(&b.get(&format!("{base}/dev/idp/oidc/jwks")).await.body).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], "idbroker-demo-1");

    // A redirect_uri that is not the console's callback: a page, never a redirect.
    let verifier = "the-test-clients-pkce-verifier-0123456789-abcdefgh";
    let challenge = s256(verifier);
    let evil = b
        .get(&format!(
            "{base}/dev/idp/oidc/authorize?response_type=code&client_id=idbroker-console&redirect_uri={}&scope=openid&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256",
            enc("https://evil.example/callback")
        ))
        .await;
    assert_eq!(evil.status, 400, "{}", evil.body);
    assert!(evil.headers.get(LOCATION).is_none());
    assert!(evil.body.contains("redirect_uri"), "{}", evil.body);

    // A wrong verifier: invalid_grant (and the code is spent).
    let code = code_for(&mut b, base, "alice", &challenge).await;
    let (status, err) = exchange(
        &mut b,
        base,
        &code,
        "a-wrong-verifier-of-the-right-length-0123456789",
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "{err}"
    );
    let (status, err) = exchange(&mut b, base, &code, verifier).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "{err}"
    );

    // The right verifier: an ID token; the same code again: invalid_grant.
    let code = code_for(&mut b, base, "alice", &challenge).await;
    let (status, tokens) = exchange(&mut b, base, &code, verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    let claims: serde_json::Value = serde_json::from_slice(
        &data_encoding::BASE64URL_NOPAD
            .decode(
                tokens["id_token"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .nth(1)
                    .unwrap()
                    .as_bytes(),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "demo-alice");
    assert_eq!(claims["nonce"], "n1");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(
        claims["groups"],
        serde_json::json!(["developers", "operators"])
    );
    let (status, err) = exchange(&mut b, base, &code, verifier).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant")),
        "{err}"
    );
}

#[actix_web::test]
async fn off_every_route_is_not_found() {
    let demo =
        serve(|t| t.replacen("[dev_idp]\nenabled = true", "[dev_idp]\nenabled = false", 1)).await;
    let base = &demo.base;
    let mut b = Browser::new();
    for path in [
        "/dev/idp",
        "/dev/idp/saml/sso?SAMLRequest=x",
        "/dev/idp/oidc/.well-known/openid-configuration",
        "/dev/idp/oidc/jwks",
        "/dev/idp/oidc/authorize",
        "/dev/idp/static/dev_idp.js",
    ] {
        assert_eq!(b.get(&format!("{base}{path}")).await.status, 404, "{path}");
    }
    for path in [
        "/dev/idp/saml/sso",
        "/dev/idp/oidc/authorize",
        "/dev/idp/oidc/token",
    ] {
        assert_eq!(
            b.post(&format!("{base}{path}"), &[]).await.status,
            404,
            "{path}"
        );
    }
}

/// `idbroker serve` with `config` (and `args`): it must exit at once, refusing; its stderr.
fn refuses_to_serve(config: &Path, args: &[&str]) -> String {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_idbroker"))
        .args(["serve", "--config"])
        .arg(config)
        .args(args)
        .env("IDBROKER_METRICS_LISTEN", "")
        .env_remove("IDBROKER_LISTEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let waiting = Stopwatch::start();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if waiting.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("idbroker serve started with {}", config.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "{err}");
    err
}

#[test]
fn a_non_demo_key_or_address_refuses_to_start() {
    let dir = TempDir(
        std::env::temp_dir().join(format!("idbroker-dev-idp-refuse-{}", std::process::id())),
    );
    std::fs::create_dir_all(&dir.0).unwrap();
    let demo = std::fs::read_to_string(demo_file()).unwrap();
    let write = |name: &str, text: String| {
        // Beside the demo file, so that its relative paths hold.
        let path =
            demo_file().with_file_name(format!(".dev-idp-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    };
    let other = data_encoding::BASE64.encode(&[7u8; 32]);
    let cases = [
        (
            "sealing",
            demo.replacen(
                "keys.demo = { value = \"aWRicm9rZXItZGVtby1zZWFsaW5nLWtleS0zMmJ5dGU=\" }",
                &format!("keys.demo = {{ value = \"{other}\" }}"),
                1,
            ),
            "sealing.keys",
        ),
        (
            "cookie",
            demo.replacen(
                "cookie_key = { value = \"aWRicm9rZXItZGVtby1jb25zb2xlLWNvb2tpZS1rZXk=\" }",
                &format!("cookie_key = {{ value = \"{other}\" }}"),
                1,
            ),
            "console.cookie_key",
        ),
        (
            "jwks",
            demo.replacen(
                "jwks_file = \"../../certs/demo/oidc-demo-jwks.json\"\nallow_http_loopback = true",
                "allow_http_loopback = true",
                1,
            ),
            "oidc_providers",
        ),
    ];
    for (name, text, key) in cases {
        assert_ne!(text, demo, "{name}: the edit did not apply");
        let path = write(name, text);
        let err = refuses_to_serve(&path, &["--listen", "127.0.0.1:0"]);
        let _ = std::fs::remove_file(&path);
        assert!(
            err.contains(key) && err.contains("development IdP"),
            "{name}: {err}"
        );
    }
    // The demo itself on an address that is not loopback.
    let err = refuses_to_serve(&demo_file(), &["--listen", "0.0.0.0:0"]);
    assert!(err.contains("loopback"), "{err}");
}
