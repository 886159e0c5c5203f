//! `[dev_idp]`: the section as written ([`RawDevIdp`], its people) and, when enabled, validated
//! into a [`DevIdp`] by [`build`], which refuses unless the rest of the configuration is a
//! development one: every listen address and the public URL on loopback, the SAML provider it
//! answers for trusting exactly the demo certificate, the OIDC provider it answers for pinning
//! exactly the demo key, and no secret key but the demo's (`[sealing]`, `console.cookie_key`).
//! The development IdP signs anyone in as anyone: it must never run where any of that is real.

use std::sync::Arc;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::DevIdpError;
use super::keys;
use crate::console::seal::{Purpose, Sealer};
use crate::console::OidcLogin;
use crate::federation::oidc::{is_loopback_host, KeySource, ProviderConfig};
use crate::federation::saml::dev::{DEMO_ENTITY_ID, DEMO_PROVIDER_NAME};
use crate::federation::saml::{MetadataSource, SamlSettings};

/// Most people a development IdP lists.
pub const MAX_PEOPLE: usize = 50;
/// Most groups, and most SAML roles, of one person.
pub const MAX_PER_PERSON: usize = 20;

/// `[dev_idp]`, as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDevIdp {
    /// Serve the development IdP under `/dev/idp/`.
    #[serde(default)]
    pub enabled: bool,
    /// `[[dev_idp.people]]`: who can be signed in, one button each.
    #[serde(default)]
    pub people: Vec<RawPerson>,
}

/// `[[dev_idp.people]]`, as written.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawPerson {
    /// Short name (`alice`): the button's value, the OIDC `sub` (`demo-alice`).
    pub name: String,
    /// What the page shows; default the name.
    pub display_name: Option<String>,
    /// The SAML NameID and RoleSessionName, the ID token's `email` (verified).
    pub email: String,
    /// Groups (SAML `http://schemas.xmlsoap.org/claims/Group`, the ID token's `groups`).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Role ARNs sent in the SAML Role attribute, each as `role,provider`.
    #[serde(default)]
    pub saml_roles: Vec<String>,
}

/// A person the development IdP signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Short name.
    pub name: String,
    /// Shown name.
    pub display_name: String,
    /// Email address (a valid RoleSessionName).
    pub email: String,
    /// Groups.
    pub groups: Vec<String>,
    /// SAML role ARNs.
    pub saml_roles: Vec<String>,
}

impl Person {
    /// The ID token's `sub`.
    pub fn subject(&self) -> String {
        format!("demo-{}", self.name)
    }
}

/// The SAML side: the provider answered for and where responses go.
#[derive(Debug, Clone)]
pub struct SamlSide {
    /// The `DemoIdP` provider's ARN.
    pub provider_arn: String,
    /// `[saml] acs_url`, the only place a response is posted to.
    pub acs_url: String,
    /// `[saml] sp_entity_id`, the only Issuer an AuthnRequest may name.
    pub sp_entity_id: String,
}

/// A client of the OIDC side: one of the provider's client IDs, with the console login's
/// secret when it has one.
pub struct Client {
    /// Client ID.
    pub id: String,
    /// Its secret (none: a public client, PKCE alone).
    pub secret: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("confidential", &self.secret.is_some())
            .finish()
    }
}

/// The OIDC side: the issuer served and the one redirect URI.
#[derive(Debug)]
pub struct OidcSide {
    /// `PUBLIC_URL/dev/idp/oidc`.
    pub issuer: String,
    /// `PUBLIC_URL/console/oidc/callback`: the only redirect URI.
    pub redirect_uri: String,
    /// The provider's client IDs.
    pub clients: Vec<Client>,
}

/// The development IdP, validated and judged safe to run.
#[derive(Debug)]
pub struct DevIdp {
    /// Who can be signed in.
    pub people: Vec<Person>,
    /// SAML, when `DemoIdP` is configured.
    pub saml: Option<SamlSide>,
    /// OIDC, when a provider of the development issuer is configured.
    pub oidc: Option<OidcSide>,
    /// Seals the forms and codes (the console's key, purposes of their own).
    pub(super) sealer: Arc<Sealer>,
}

impl DevIdp {
    /// The person named `name`.
    pub fn person(&self, name: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.name == name)
    }

    /// A people page's form posted back: its sealed request (sealed here for `purpose`, not
    /// expired at `now` by its `exp`) and the person chosen.
    pub(super) fn chosen<T: serde::de::DeserializeOwned>(
        &self,
        purpose: Purpose,
        sealed: &str,
        exp: impl Fn(&T) -> u64,
        person: &str,
        now: std::time::SystemTime,
    ) -> Result<(T, &Person), DevIdpError> {
        let pending = self
            .sealer
            .open(purpose, sealed)
            .filter(|p: &T| exp(p) > crate::clock::epoch(now))
            .ok_or_else(|| {
                DevIdpError::Expired(
                    "This form was not made here or has expired: start the sign-in again".into(),
                )
            })?;
        let person = self
            .person(person)
            .ok_or_else(|| DevIdpError::BadRequest("No such person".into()))?;
        Ok((pending, person))
    }
}

/// What the development IdP's safety depends on, from the rest of the configuration (validated).
#[derive(Debug)]
pub struct Surroundings<'a> {
    /// Every listen address, with its key (`server.listen`, `server.metrics_listen`).
    pub listen: Vec<(&'static str, &'a str)>,
    /// `[console] public_url`, without a trailing slash.
    pub public_url: &'a str,
    /// The `[sealing]` keys' values (`None`: no such section).
    pub sealing_keys: Option<Vec<&'a [u8]>>,
    /// `console.cookie_key` (`None`: random at start).
    pub cookie_key: Option<&'a [u8]>,
    /// The console's sealer.
    pub sealer: &'a Arc<Sealer>,
    /// `[saml]` and `[[saml_providers]]`.
    pub saml: &'a SamlSettings,
    /// `[[oidc_providers]]`.
    pub oidc: &'a [ProviderConfig],
    /// The console's OIDC logins (client secrets).
    pub logins: &'a [Arc<OidcLogin>],
}

/// A refusal: `(key, problem)`.
pub type Refusal = (String, String);

fn refuse(key: &str, problem: impl Into<String>) -> Refusal {
    (key.to_owned(), problem.into())
}

/// `PUBLIC_URL/dev/idp/oidc`: the issuer of the development IdP.
pub fn dev_issuer(public_url: &str) -> String {
    format!("{}/dev/idp/oidc", public_url.trim_end_matches('/'))
}

/// Is `addr` (`server.listen`, `--listen`) a loopback socket address? The development IdP runs
/// only there.
pub fn check_listen(addr: &str) -> Result<(), String> {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_loopback() => Ok(()),
        _ => Err(format!(
            "refusing to run the development IdP ([dev_idp] enabled) on {addr:?}: only a loopback address (127.0.0.1, ::1) may serve it"
        )),
    }
}

fn printable(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.chars().count()) && !s.chars().any(char::is_control)
}

fn person(i: usize, raw: &RawPerson) -> Result<Person, Refusal> {
    let key = |k: &str| format!("dev_idp.people[{i}].{k}");
    let name_ok = (1..=32).contains(&raw.name.len())
        && raw
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if !name_ok {
        return Err(refuse(&key("name"), "1..32 of [a-z0-9_.-]"));
    }
    let display_name = raw.display_name.clone().unwrap_or_else(|| raw.name.clone());
    if !printable(&display_name, 128) {
        return Err(refuse(
            &key("display_name"),
            "1..128 characters, no control characters",
        ));
    }
    // The email is the SAML RoleSessionName too: AWS's [\w+=,.@-]{2,64}.
    let email_ok = (3..=64).contains(&raw.email.len())
        && raw.email.matches('@').count() == 1
        && raw
            .email
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if !email_ok {
        return Err(refuse(
            &key("email"),
            "an address of 3..64 of [A-Za-z0-9_+=,.@-] with one @ (it is the RoleSessionName)",
        ));
    }
    if raw.groups.len() > MAX_PER_PERSON || !raw.groups.iter().all(|g| printable(g, 128)) {
        return Err(refuse(
            &key("groups"),
            format!("at most {MAX_PER_PERSON}, each 1..128 characters, no control characters"),
        ));
    }
    let role_ok = |r: &String| {
        r.len() <= 2048
            && r.starts_with("arn:aws:iam::")
            && r.contains(":role/")
            && !r.contains(',')
            && printable(r, 2048)
    };
    if raw.saml_roles.len() > MAX_PER_PERSON || !raw.saml_roles.iter().all(role_ok) {
        return Err(refuse(
            &key("saml_roles"),
            format!("at most {MAX_PER_PERSON} role ARNs (arn:aws:iam::ACCOUNT:role/NAME)"),
        ));
    }
    Ok(Person {
        name: raw.name.clone(),
        display_name,
        email: raw.email.clone(),
        groups: raw.groups.clone(),
        saml_roles: raw.saml_roles.clone(),
    })
}

/// The people, validated (also when the IdP is off, so that `check-config` says what is wrong).
fn people(raw: &RawDevIdp) -> Result<Vec<Person>, Refusal> {
    if raw.people.len() > MAX_PEOPLE {
        return Err(refuse(
            "dev_idp.people",
            format!("at most {MAX_PEOPLE} people"),
        ));
    }
    let mut out: Vec<Person> = Vec::new();
    for (i, r) in raw.people.iter().enumerate() {
        let p = person(i, r)?;
        if out.iter().any(|o| o.name == p.name) {
            return Err(refuse(
                &format!("dev_idp.people[{i}].name"),
                format!("{:?} is listed twice", p.name),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

/// What `[dev_idp]` refuses to run beside, in one message.
const WHY: &str = "refusing to enable the development IdP ([dev_idp] enabled = true, which signs anyone in as anyone)";

/// The SAML side: `DemoIdP` from its metadata file, trusting the demo certificate and nothing
/// else, with the ACS on the public URL. `None` when `DemoIdP` is not configured.
fn saml_side(s: &Surroundings<'_>) -> Result<Option<SamlSide>, Refusal> {
    let key = "saml_providers";
    let Some(p) = s.saml.providers().find(|p| p.name == DEMO_PROVIDER_NAME) else {
        return Ok(None);
    };
    if !matches!(p.source, MetadataSource::File(_)) {
        return Err(refuse(
            key,
            format!("{WHY}: {DEMO_PROVIDER_NAME} must read the demo metadata file (certs/demo/saml-idp-metadata.xml), not a URL"),
        ));
    }
    let demo = openssl::x509::X509::from_pem(keys::SAML_CERT_PEM)
        .and_then(|c| c.to_der())
        .map_err(|_| refuse(key, "the demo certificate compiled in is not PEM"))?;
    let provider_keys = p.keys();
    let certs = provider_keys.signing_certs();
    let only_demo = !certs.is_empty() && certs.iter().all(|c| c.der().der_data() == demo);
    if provider_keys.entity_id != DEMO_ENTITY_ID || !only_demo {
        return Err(refuse(
            key,
            format!("{WHY}: {DEMO_PROVIDER_NAME} must be the demo IdP ({DEMO_ENTITY_ID}) trusting the demo certificate (certs/demo/saml-idp.crt) and no other"),
        ));
    }
    let acs = format!("{}/saml/acs", s.public_url);
    if s.saml.acs_url != acs {
        return Err(refuse(
            "saml.acs_url",
            format!(
                "{WHY}: the development IdP posts responses to idbroker's own ACS only: set it to {acs:?} ([console] public_url + /saml/acs)"
            ),
        ));
    }
    Ok(Some(SamlSide {
        provider_arn: p.arn.clone(),
        acs_url: acs,
        sp_entity_id: s.saml.sp_entity_id.clone(),
    }))
}

/// The OIDC side: the provider of the development issuer, pinning the demo key and no other.
/// `None` when no provider has that issuer.
fn oidc_side(s: &Surroundings<'_>) -> Result<Option<OidcSide>, Refusal> {
    let issuer = dev_issuer(s.public_url);
    let Some(p) = s.oidc.iter().find(|p| p.issuer == issuer) else {
        return Ok(None);
    };
    let key = "oidc_providers";
    let wrong = || {
        refuse(
            key,
            format!("{WHY}: the provider {issuer:?} must pin the demo JWKS (jwks_file = certs/demo/oidc-demo-jwks.json) and no other key, and allow RS256"),
        )
    };
    let KeySource::Pinned(set) = &p.keys else {
        return Err(wrong());
    };
    // One key, and it verifies what the demo key signs: the pinned key is the demo key.
    let probe = crate::federation::oidc::sign_with_demo_key(
        keys::OIDC_KEY_PEM,
        &serde_json::json!({"probe": "idbroker development IdP"}),
    )
    .map_err(|e| refuse(key, e))?;
    if set.len() != 1 || set.verify_signature(&probe, p.algorithms).is_err() {
        return Err(wrong());
    }
    let clients = p
        .client_ids
        .iter()
        .map(|id| Client {
            id: id.clone(),
            secret: s
                .logins
                .iter()
                .find(|l| l.issuer == issuer && l.client_id == *id)
                .and_then(|l| l.client_secret.clone()),
        })
        .collect();
    Ok(Some(OidcSide {
        redirect_uri: format!("{}/console/oidc/callback", s.public_url),
        issuer,
        clients,
    }))
}

/// `[dev_idp]` validated: `None` when it is off; a [`DevIdp`] when it is on and everything
/// around it is the demo's; otherwise the refusal.
pub fn build(raw: &RawDevIdp, s: &Surroundings<'_>) -> Result<Option<DevIdp>, Refusal> {
    let people = people(raw)?;
    if !raw.enabled {
        return Ok(None);
    }
    if people.is_empty() {
        return Err(refuse(
            "dev_idp.people",
            "the development IdP is enabled but lists nobody: add [[dev_idp.people]]",
        ));
    }
    for (key, addr) in &s.listen {
        check_listen(addr).map_err(|e| refuse(key, e))?;
    }
    let public =
        url::Url::parse(s.public_url).map_err(|e| refuse("console.public_url", e.to_string()))?;
    if !is_loopback_host(&public) {
        return Err(refuse(
            "console.public_url",
            format!(
                "{WHY}: browsers must reach it on loopback (http://127.0.0.1:PORT), not {:?}",
                s.public_url
            ),
        ));
    }
    let demo_sealing = keys::decoded(keys::SEALING_KEY_B64);
    let sealing_ok = s
        .sealing_keys
        .as_ref()
        .is_some_and(|ks| !ks.is_empty() && ks.iter().all(|k| *k == demo_sealing.as_slice()));
    if !sealing_ok {
        return Err(refuse(
            "sealing.keys",
            format!("{WHY}: [sealing] must hold the demo's development key (config/demo/idbroker.toml) and no other"),
        ));
    }
    let demo_cookie = keys::decoded(keys::COOKIE_KEY_B64);
    if s.cookie_key.is_some_and(|k| k != demo_cookie.as_slice()) {
        return Err(refuse(
            "console.cookie_key",
            format!("{WHY}: the console key must be the demo's development key (config/demo/idbroker.toml) or unset"),
        ));
    }
    let saml = saml_side(s)?;
    let oidc = oidc_side(s)?;
    if saml.is_none() && oidc.is_none() {
        return Err(refuse(
            "dev_idp.enabled",
            format!(
                "the development IdP has nothing to answer for: configure [[saml_providers]] {DEMO_PROVIDER_NAME} (the demo metadata) or an [[oidc_providers]] with issuer {:?} (the demo JWKS)",
                dev_issuer(s.public_url)
            ),
        ));
    }
    Ok(Some(DevIdp {
        people,
        saml,
        oidc,
        sealer: Arc::clone(s.sealer),
    }))
}

/// The demo configuration, edited, loaded as the server loads it (for the tests of this module
/// and its siblings).
#[cfg(test)]
pub(super) mod testing {
    #![allow(clippy::unwrap_used)]
    use std::path::PathBuf;
    use std::time::{Duration, SystemTime};

    use crate::config::Config;

    /// 2026-12-01T00:00:00Z: inside the demo certificate's validity.
    pub fn at() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_083_200)
    }

    pub fn demo_file() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml")
    }

    pub fn demo_text() -> String {
        std::fs::read_to_string(demo_file()).unwrap()
    }

    /// `text` loaded as if it were the demo file (its relative paths work), with `env`.
    pub fn load_with(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
        Config::from_toml(text, &demo_file(), env, at()).map_err(|e| e.to_string())
    }

    pub fn load(text: &str) -> Result<Config, String> {
        load_with(text, &|_| None)
    }

    /// The demo text with `from` replaced by `to` (which must be there).
    pub fn edited(from: &str, to: &str) -> String {
        let text = demo_text();
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::testing::{demo_text, edited, load, load_with};
    use super::*;

    fn refused(text: &str, key: &str) -> String {
        match load(text) {
            Ok(_) => panic!("accepted; expected a refusal naming {key}"),
            Err(e) => {
                assert!(e.contains(key), "expected {key} in {e}");
                e
            }
        }
    }

    #[test]
    fn the_demo_runs_it_with_both_sides() {
        let cfg = load(&demo_text()).unwrap();
        let idp = cfg.dev_idp.as_ref().unwrap();
        assert_eq!(idp.people.len(), 2);
        assert_eq!(idp.person("alice").unwrap().saml_roles.len(), 2);
        let saml = idp.saml.as_ref().unwrap();
        assert_eq!(saml.acs_url, "http://127.0.0.1:8080/saml/acs");
        assert_eq!(
            saml.provider_arn,
            "arn:aws:iam::123456789012:saml-provider/DemoIdP"
        );
        let oidc = idp.oidc.as_ref().unwrap();
        assert_eq!(oidc.issuer, "http://127.0.0.1:8080/dev/idp/oidc");
        assert_eq!(
            oidc.redirect_uri,
            "http://127.0.0.1:8080/console/oidc/callback"
        );
        assert_eq!(oidc.clients.len(), 1);
        assert!(cfg
            .warnings
            .iter()
            .any(|w| w.contains("[dev_idp] is enabled")));
        // The demo's secrets are the ones compiled in.
        let text = demo_text();
        assert!(text.contains(keys::SEALING_KEY_B64));
        assert!(text.contains(keys::COOKIE_KEY_B64));
    }

    #[test]
    fn off_it_judges_nothing() {
        let text = edited("[dev_idp]\nenabled = true", "[dev_idp]\nenabled = false").replacen(
            "listen = \"127.0.0.1:8080\"",
            "listen = \"0.0.0.0:8080\"",
            1,
        );
        let cfg = load(&text).unwrap();
        assert!(cfg.dev_idp.is_none());
    }

    #[test]
    fn it_runs_on_loopback_only() {
        let e = refused(
            &edited("listen = \"127.0.0.1:8080\"", "listen = \"0.0.0.0:8080\""),
            "server.listen",
        );
        assert!(e.contains("loopback"), "{e}");
        refused(
            &edited(
                "listen = \"127.0.0.1:8080\"",
                "listen = \"192.168.1.5:8080\"",
            ),
            "server.listen",
        );
        let env = |k: &str| (k == "IDBROKER_LISTEN").then(|| "[::]:8080".to_owned());
        let e = load_with(&demo_text(), &env).unwrap_err();
        assert!(e.contains("server.listen"), "{e}");
        let env = |k: &str| (k == "IDBROKER_METRICS_LISTEN").then(|| "0.0.0.0:9464".to_owned());
        let e = load_with(&demo_text(), &env).unwrap_err();
        assert!(e.contains("server.metrics_listen"), "{e}");
        // [::1] and other loopback ports are fine.
        let env = |k: &str| (k == "IDBROKER_LISTEN").then(|| "[::1]:18080".to_owned());
        assert!(load_with(&demo_text(), &env).is_ok());
        assert!(check_listen("127.0.0.1:0").is_ok());
        assert!(check_listen("0.0.0.0:0").is_err());
        assert!(
            check_listen("localhost:8080").is_err(),
            "not a socket address"
        );
        // Browsers must reach it on loopback too.
        refused(
            &edited(
                "public_url = \"http://127.0.0.1:8080\"",
                "public_url = \"https://idb.example.com\"",
            ),
            "console.public_url",
        );
    }

    #[test]
    fn it_refuses_any_secret_key_but_the_demos() {
        let demo_sealing =
            "keys.demo = { value = \"aWRicm9rZXItZGVtby1zZWFsaW5nLWtleS0zMmJ5dGU=\" }";
        let other = data_encoding::BASE64.encode(&[7u8; 32]);
        // Another key beside the demo's, another value, no [sealing] at all.
        let e = refused(
            &edited(
                demo_sealing,
                &format!("{demo_sealing}\nkeys.old = {{ value = \"{other}\" }}"),
            ),
            "sealing.keys",
        );
        assert!(e.contains("development IdP"), "{e}");
        refused(
            &edited(
                demo_sealing,
                &format!("keys.demo = {{ value = \"{other}\" }}"),
            ),
            "sealing.keys",
        );
        refused(
            &edited(
                &format!("[sealing]\nactive_key_id = \"demo\"\n{demo_sealing}\n"),
                "",
            ),
            "sealing.keys",
        );
        // Another console key; none at all is fine (random at start).
        let cookie = "cookie_key = { value = \"aWRicm9rZXItZGVtby1jb25zb2xlLWNvb2tpZS1rZXk=\" }";
        refused(
            &edited(cookie, &format!("cookie_key = {{ value = \"{other}\" }}")),
            "console.cookie_key",
        );
        assert!(load(&edited(cookie, "")).unwrap().dev_idp.is_some());
    }

    /// A real IdP's certificate from the test corpus (RSA-2048, valid until 2039), base64 DER.
    fn other_cert() -> String {
        let pem = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/saml/certs/8dba538ea3b6f9f1.pem"),
        )
        .unwrap();
        let der = openssl::x509::X509::from_pem(&pem)
            .unwrap()
            .to_der()
            .unwrap();
        data_encoding::BASE64.encode(&der)
    }

    #[test]
    fn the_saml_provider_must_trust_the_demo_certificate_alone() {
        let demo_md = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("certs/demo/saml-idp-metadata.xml"),
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("idbroker-devidp-md-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let demo_cert = demo_md
            .split("<ds:X509Certificate>")
            .nth(1)
            .and_then(|r| r.split("</ds:X509Certificate>").next())
            .unwrap()
            .to_owned();
        let other = other_cert();
        let descriptor = |c: &str| {
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#
            )
        };
        let cases = [
            // Another certificate instead of the demo's, and beside it (a rollover that adds a
            // real key).
            ("replaced", demo_md.replace(&demo_cert, &other)),
            (
                "added",
                demo_md.replace(
                    "<md:SingleSignOnService",
                    &format!("{}<md:SingleSignOnService", descriptor(&other)),
                ),
            ),
            // The demo certificate under another entity id.
            (
                "entity",
                demo_md.replace(
                    "https://idp.demo.idbroker.invalid/saml",
                    "https://idp.example.com/saml",
                ),
            ),
        ];
        for (name, md) in cases {
            let path = dir.join(format!("{name}.xml"));
            std::fs::write(&path, md).unwrap();
            let text = edited(
                "metadata_file = \"../../certs/demo/saml-idp-metadata.xml\"",
                &format!("metadata_file = \"{}\"", path.display()),
            );
            let e = refused(&text, "saml_providers");
            assert!(e.contains("demo certificate"), "{name}: {e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
        // Responses go to idbroker's own ACS only.
        refused(
            &edited(
                "acs_url = \"http://127.0.0.1:8080/saml/acs\"",
                "acs_url = \"https://signin.aws.amazon.com/saml\"",
            ),
            "saml.acs_url",
        );
    }

    #[test]
    fn the_oidc_provider_must_pin_the_demo_key_alone() {
        let pinned = "issuer = \"http://127.0.0.1:8080/dev/idp/oidc\"\nclient_ids = [\"idbroker-console\"]\njwks_file = \"../../certs/demo/oidc-demo-jwks.json\"";
        let issuer =
            "issuer = \"http://127.0.0.1:8080/dev/idp/oidc\"\nclient_ids = [\"idbroker-console\"]";
        // Keys from discovery (which would be whatever answers there), from a URL, or another key.
        refused(&edited(pinned, issuer), "oidc_providers");
        refused(
            &edited(
                pinned,
                &format!("{issuer}\njwks_uri = \"http://127.0.0.1:8080/dev/idp/oidc/jwks\""),
            ),
            "oidc_providers",
        );
        let demo: serde_json::Value = serde_json::from_str(keys::OIDC_JWKS).unwrap();
        let demo_key = demo["keys"][0].clone();
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let b64 = |b: Vec<u8>| data_encoding::BASE64URL_NOPAD.encode(&b);
        let mut other_key = demo_key.clone();
        other_key["n"] = b64(rsa.n().to_vec()).into();
        let mut rotated = other_key.clone();
        rotated["kid"] = "rotated".into();
        for keys in [
            // Another key under the demo's kid, and the demo key beside another one.
            serde_json::json!([other_key]),
            serde_json::json!([demo_key, rotated]),
        ] {
            let inline = serde_json::json!({ "keys": keys }).to_string();
            refused(
                &edited(pinned, &format!("{issuer}\njwks_inline = '{inline}'")),
                "oidc_providers",
            );
        }
        // The demo key inline is the demo key.
        let inline = serde_json::json!({ "keys": [demo_key] }).to_string();
        let cfg = load(&edited(
            pinned,
            &format!("{issuer}\njwks_inline = '{inline}'"),
        ))
        .unwrap();
        assert!(cfg.dev_idp.unwrap().oidc.is_some());
    }

    #[test]
    fn it_needs_people_and_something_to_answer_for() {
        let people = demo_text()
            .split("\n[[dev_idp.people]]")
            .next()
            .unwrap()
            .to_owned();
        refused(&people, "dev_idp.people");
        // Neither DemoIdP nor the development issuer: nothing to answer for.
        let text = edited(
            "[[saml_providers]]\nname = \"DemoIdP\"\nmetadata_file = \"../../certs/demo/saml-idp-metadata.xml\"\n",
            "",
        )
        .replacen(
            "issuer = \"http://127.0.0.1:8080/dev/idp/oidc\"",
            "issuer = \"http://127.0.0.1:9/elsewhere\"",
            1,
        );
        refused(&text, "dev_idp.enabled");
        // One side is enough.
        let saml_only = edited(
            "[[saml_providers]]\nname = \"DemoIdP\"\nmetadata_file = \"../../certs/demo/saml-idp-metadata.xml\"\n",
            "",
        );
        let idp = load(&saml_only).unwrap().dev_idp.unwrap();
        assert!(idp.saml.is_none() && idp.oidc.is_some());
    }

    #[test]
    fn people_are_checked_even_when_it_is_off() {
        let off = |person: &str| {
            let text = demo_text()
                .split("\n[[dev_idp.people]]")
                .next()
                .unwrap()
                .replacen("[dev_idp]\nenabled = true", "[dev_idp]\nenabled = false", 1);
            format!("{text}\n[[dev_idp.people]]\n{person}\n")
        };
        let ok = "name = \"carol\"\nemail = \"carol@example.com\"";
        assert!(load(&off(ok)).is_ok());
        for (bad, key) in [
            ("name = \"Carol\"\nemail = \"carol@example.com\"", "name"),
            ("name = \"carol\"\nemail = \"carol at example.com\"", "email"),
            ("name = \"carol\"\nemail = \"c@d@example.com\"", "email"),
            ("name = \"carol\"\nemail = \"carol@example.com\"\ndisplay_name = \"\"", "display_name"),
            ("name = \"carol\"\nemail = \"carol@example.com\"\ngroups = [\"a\\nb\"]", "groups"),
            ("name = \"carol\"\nemail = \"carol@example.com\"\nsaml_roles = [\"Admin\"]", "saml_roles"),
            ("name = \"carol\"\nemail = \"carol@example.com\"\nsaml_roles = [\"arn:aws:iam::1:role/a,b\"]", "saml_roles"),
            ("name = \"carol\"\nemail = \"carol@example.com\"\nunknown = 1", "unknown"),
        ] {
            let e = load(&off(bad)).unwrap_err();
            assert!(e.contains(key), "{bad}: {e}");
        }
        let twice = format!("{ok}\n\n[[dev_idp.people]]\n{ok}");
        assert!(load(&off(&twice)).unwrap_err().contains("twice"));
    }
}
