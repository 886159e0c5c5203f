//! Signing in the command line (`idbroker login`) through the console, as RFC 8252 has native
//! apps do it: the CLI opens the browser on `/console/cli/start` with a loopback redirect URI
//! and a PKCE challenge; the person signs in at their IdP exactly as for the console; instead
//! of the role picker, the browser is sent to the CLI's loopback listener with a one-time code;
//! the CLI exchanges the code and its PKCE verifier for a ticket naming the roles it may take,
//! and the ticket and one role for credentials. The device flow (`device.rs`) ends in the same
//! ticket.
//!
//! Everything the browser or the CLI carries between steps is sealed under the console key
//! ([`Purpose::CliFlow`], [`Purpose::CliCode`], [`Purpose::CliTicket`]), short-lived, and
//! single use across replicas (the session store's `use_once`): no server-side state but the
//! single-use marks.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::browser::{PendingSignin, RoleOption, SignedInVia, LOGIN_TTL};
use super::error::{CliError, ConsoleError};
use super::seal::{self, Purpose, Sealer};
use super::signin::SignIn;
use crate::clock::epoch;
use crate::sts::mint::{mint, IssuedSession};
use crate::sts::Services;

/// How long the one-time code the loopback redirect carries may wait for its exchange.
pub const CODE_TTL: u64 = 60;
/// How long a ticket may wait for the role choice.
pub const TICKET_TTL: u64 = 300;
/// The longest redirect URI accepted.
const MAX_REDIRECT_URI: usize = 512;
/// The most a sealed code may weigh (it travels in a URL).
const MAX_CODE_CHARS: usize = 6000;
/// What marks a SAML RelayState or an OIDC login's destination as a CLI sign-in's.
const MARKER: &str = "cli:";

/// Where a CLI sign-in's result goes back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Back {
    /// To the CLI's loopback listener (RFC 8252): its redirect URI, `state`, PKCE challenge.
    Loopback {
        /// `http://127.0.0.1:PORT/PATH` or `http://[::1]:PORT/PATH`.
        uri: String,
        /// Returned as given.
        state: String,
        /// `BASE64URL(SHA-256(verifier))`.
        challenge: String,
    },
    /// To a device polling for it (`device.rs`).
    Device {
        /// The device authorization's id.
        id: String,
        /// Its user code, shown back to the person.
        user_code: String,
    },
}

/// A CLI sign-in in flight, sealed in the browser's `idb_cli` cookie while the person is at
/// their IdP. The IdP round trip names it by [`CliFlow::marker`] (the SAML RelayState, the
/// OIDC login's destination), so a sign-in that did not start from this flow (an IdP-initiated
/// one, another tab's) never takes the CLI's path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CliFlow {
    /// Random, names this flow.
    pub id: String,
    /// The provider's console name (a SAML provider's or an OIDC login's).
    pub provider: String,
    /// The session length asked for, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secs: Option<u32>,
    /// Expiry, epoch seconds.
    pub exp: u64,
    /// Where the result goes.
    pub back: Back,
}

impl CliFlow {
    /// A new flow for `provider`, good for [`LOGIN_TTL`] from `now`.
    pub fn new(
        provider: &str,
        secs: Option<u32>,
        back: Back,
        now: u64,
    ) -> Result<Self, ConsoleError> {
        Ok(CliFlow {
            id: seal::random_hex(16)?,
            provider: provider.to_owned(),
            secs,
            exp: now + LOGIN_TTL,
            back,
        })
    }

    /// The RelayState / destination that names this flow through the IdP round trip.
    pub fn marker(&self) -> String {
        format!("{MARKER}{}", self.id)
    }
}

/// Whether `relay` (a SAML RelayState, an OIDC login's destination) names a CLI flow, and which.
pub fn marked(relay: Option<&str>) -> Option<&str> {
    relay.and_then(|r| r.strip_prefix(MARKER))
}

/// The flow the browser's `idb_cli` cookie holds, when it is the one the sign-in named (`id`)
/// and not expired.
pub fn open_flow(
    sealer: &Sealer,
    cookie: Option<&str>,
    id: &str,
    now: u64,
) -> Result<CliFlow, ConsoleError> {
    cookie
        .and_then(|c| sealer.open::<CliFlow>(Purpose::CliFlow, c))
        .filter(|f| seal::same(&f.id, id) && now < f.exp)
        .ok_or_else(|| {
            ConsoleError::Csrf(
                "This command-line sign-in was not started in this browser, or took too long. Run idbroker login again.".into(),
            )
        })
}

/// What `GET /console/cli/start` asks.
#[derive(Debug, Clone, Copy)]
pub struct LoopbackRequest<'a> {
    /// `redirect_uri`
    pub redirect_uri: Option<&'a str>,
    /// `state`
    pub state: Option<&'a str>,
    /// `code_challenge`
    pub code_challenge: Option<&'a str>,
    /// `code_challenge_method`
    pub code_challenge_method: Option<&'a str>,
}

/// The loopback flow's return address, checked: only a loopback redirect URI (RFC 8252 7.3),
/// a `state`, and an S256 PKCE challenge. Nothing is ever sent to a redirect URI that failed
/// these checks.
pub fn loopback_back(req: LoopbackRequest<'_>) -> Result<Back, ConsoleError> {
    let bad = |m: &str| ConsoleError::BadRequest(m.to_owned());
    let uri = req
        .redirect_uri
        .ok_or_else(|| bad("The request has no redirect_uri"))?;
    check_redirect_uri(uri).map_err(|m| ConsoleError::Destination(m.into()))?;
    let state = req.state.ok_or_else(|| bad("The request has no state"))?;
    if !(8..=256).contains(&state.len()) || !state.bytes().all(unreserved) {
        return Err(bad("state must be 8 to 256 unreserved characters"));
    }
    if req.code_challenge_method != Some("S256") {
        return Err(bad("code_challenge_method must be S256"));
    }
    let challenge = req
        .code_challenge
        .filter(|c| c.len() == 43 && c.bytes().all(base64url))
        .ok_or_else(|| bad("code_challenge must be 43 characters of base64url (S256)"))?;
    Ok(Back::Loopback {
        uri: uri.to_owned(),
        state: state.to_owned(),
        challenge: challenge.to_owned(),
    })
}

/// A session length the CLI may ask for: 900 to 43200 seconds (the role's maximum still caps
/// it).
pub fn duration(secs: Option<&str>) -> Result<Option<u32>, ConsoleError> {
    match secs {
        None => Ok(None),
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (900..=43200).contains(&n) => Ok(Some(n)),
            _ => Err(ConsoleError::BadRequest(
                "duration_seconds must be a number from 900 to 43200".into(),
            )),
        },
    }
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')
}

/// A redirect URI a CLI may use: `http`, the loopback address literal `127.0.0.1` or `[::1]`
/// (not `localhost`, which a resolver or a proxy setting may send elsewhere: RFC 8252 8.3), an
/// explicit port, a path, nothing else (no user info, query or fragment), and written exactly
/// as the URL parser writes it back (no second reading of an odd spelling).
pub fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    const REFUSED: &str = "redirect_uri must be http://127.0.0.1:PORT/PATH or http://[::1]:PORT/PATH (a loopback address and port, nothing else)";
    if uri.len() > MAX_REDIRECT_URI {
        return Err(REFUSED);
    }
    let url = url::Url::parse(uri).map_err(|_| REFUSED)?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(a)) => a == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(a)) => a == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    };
    let plain = url.scheme() == "http"
        && url.port().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.as_str() == uri;
    if loopback && plain {
        Ok(())
    } else {
        Err(REFUSED)
    }
}

/// The one-time code of a loopback flow: sealed, it holds what the sign-in decided.
#[derive(Serialize, Deserialize)]
struct Code {
    /// Single-use id.
    id: String,
    /// Expiry, epoch seconds.
    exp: u64,
    /// The redirect URI it was sent to (the exchange must name it again).
    uri: String,
    /// The PKCE challenge.
    challenge: String,
    /// Who signed in.
    via: SignedInVia,
    /// The roles allowed.
    options: Vec<RoleOption>,
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    format!("{uri}?{}", q.finish())
}

/// Where the browser goes once the person signed in for a loopback flow: the CLI's redirect
/// URI with a one-time code and the flow's `state`, or with `error=access_denied` when no role
/// is allowed (the CLI stops waiting and says why). `None` when `back` is not a loopback.
pub fn loopback_answer(
    sealer: &Sealer,
    back: &Back,
    sign_in: SignIn,
    now: u64,
) -> Result<Option<String>, ConsoleError> {
    let Back::Loopback {
        uri,
        state,
        challenge,
    } = back
    else {
        return Ok(None);
    };
    if sign_in.options.is_empty() {
        tracing::info!(refusals = ?sign_in.refusals, "cli sign-in: no role allowed");
        return Ok(Some(with_query(
            uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "None of the roles your identity provider names would let you in.",
                ),
                ("state", state),
            ],
        )));
    }
    let code = Code {
        id: seal::random_hex(16)?,
        exp: now + CODE_TTL,
        uri: uri.clone(),
        challenge: challenge.clone(),
        via: sign_in.via,
        options: sign_in.options,
    };
    let sealed = sealer.seal(Purpose::CliCode, &code)?;
    if sealed.len() > MAX_CODE_CHARS {
        return Err(ConsoleError::BadRequest(
            "Your identity provider allows more roles than a command-line sign-in can carry; ask your administrator to narrow them".into(),
        ));
    }
    Ok(Some(with_query(
        uri,
        &[("code", &sealed), ("state", state)],
    )))
}

/// A ticket: the roles one sign-in may take, for the CLI to choose from (sealed; single use).
#[derive(Debug)]
pub struct Granted {
    /// The sealed ticket.
    pub ticket: String,
    /// Seconds it stays good.
    pub expires_in: u64,
    /// What it names.
    pub pending: PendingSignin,
}

/// A ticket for `via`'s `options`, good for [`TICKET_TTL`] from `now`.
pub fn ticket(
    sealer: &Sealer,
    via: SignedInVia,
    options: Vec<RoleOption>,
    now: u64,
) -> Result<Granted, CliError> {
    let pending = PendingSignin {
        id: seal::random_hex(16).map_err(ConsoleError::from)?,
        exp: now + TICKET_TTL,
        via,
        to: None,
        options,
    };
    let ticket = sealer
        .seal(Purpose::CliTicket, &pending)
        .map_err(ConsoleError::from)?;
    Ok(Granted {
        ticket,
        expires_in: TICKET_TTL,
        pending,
    })
}

/// `BASE64URL(SHA-256(verifier))` (RFC 7636 4.2, S256).
pub fn s256(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    data_encoding::BASE64URL_NOPAD.encode(digest.as_ref())
}

/// Map a store refusal of a single-use mark: used already is `used`, anything else is the
/// store's trouble.
fn single_use(r: Result<(), idbroker_session::SessionError>, used: &str) -> Result<(), CliError> {
    match r {
        Ok(()) => Ok(()),
        Err(idbroker_session::SessionError::Replay | idbroker_session::SessionError::Expired) => {
            Err(CliError::InvalidGrant(used.to_owned()))
        }
        Err(_) => Err(ConsoleError::Unavailable.into()),
    }
}

/// The code exchange (`POST /console/cli/token`, `grant_type=authorization_code`): the code
/// must be one this service sealed, unexpired, sent to `redirect_uri`, answered by the PKCE
/// verifier whose challenge it carries, and never exchanged before (on any replica).
#[instrument(level = "debug", skip_all)]
pub async fn exchange_code(
    store: &dyn idbroker_session::SessionStore,
    sealer: &Sealer,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
    now: u64,
) -> Result<Granted, CliError> {
    let invalid = || CliError::InvalidGrant("The code is not valid or has expired".into());
    let code: Code = sealer.open(Purpose::CliCode, code).ok_or_else(invalid)?;
    if now >= code.exp {
        return Err(invalid());
    }
    if !seal::same(redirect_uri, &code.uri) {
        return Err(CliError::InvalidGrant(
            "redirect_uri is not the one the code was sent to".into(),
        ));
    }
    // RFC 7636 4.1: 43 to 128 unreserved characters.
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(unreserved) {
        return Err(CliError::InvalidRequest(
            "code_verifier must be 43 to 128 unreserved characters".into(),
        ));
    }
    if !seal::same(&s256(verifier), &code.challenge) {
        return Err(CliError::InvalidGrant(
            "The code_verifier does not match the code's challenge".into(),
        ));
    }
    single_use(
        store.use_once("cli-code", &code.id, code.exp, now).await,
        "The code was already used",
    )?;
    ticket(sealer, code.via, code.options, now)
}

/// The role choice (`POST /console/cli/credentials`): the ticket must be one this service
/// sealed, unexpired, name `role`, and be used once; the session is minted as the console's
/// and any STS call's.
#[instrument(level = "debug", skip_all)]
pub async fn redeem(
    sts: &Services<'_>,
    sealer: &Sealer,
    ticket: &str,
    role: &str,
    now: SystemTime,
) -> Result<(SignedInVia, IssuedSession), CliError> {
    let now_s = epoch(now);
    let pending: PendingSignin = sealer
        .open(Purpose::CliTicket, ticket)
        .filter(|p: &PendingSignin| now_s < p.exp)
        .ok_or_else(|| CliError::InvalidGrant("The ticket is not valid or has expired".into()))?;
    let option = pending
        .options
        .iter()
        .find(|o| o.role == role)
        .ok_or_else(|| CliError::AccessDenied(format!("The sign-in does not allow role {role}")))?;
    single_use(
        sts.store
            .use_once("cli-ticket", &pending.id, pending.exp, now_s)
            .await,
        "The ticket was already used",
    )?;
    let plan = option.plan(sts.directory)?;
    let session = mint(sts, plan, now).await?;
    Ok((pending.via, session))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn only_loopback_redirect_uris() {
        for ok in [
            "http://127.0.0.1:8400/idbroker/callback",
            "http://127.0.0.1:1/",
            "http://[::1]:65535/cb",
        ] {
            assert_eq!(check_redirect_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://localhost:8400/cb",
            "https://127.0.0.1:8400/cb",
            "http://127.0.0.1/cb",
            "http://127.0.0.2:8400/cb",
            "http://127.1:8400/cb",
            "http://2130706433:8400/cb",
            "http://0x7f.0.0.1:8400/cb",
            "http://127.0.0.1:8400@evil.example:80/cb",
            "http://user@127.0.0.1:8400/cb",
            "http://127.0.0.1:8400/cb?next=https://evil.example",
            "http://127.0.0.1:8400/cb#x",
            "http://evil.example:8400/cb",
            "http://127.0.0.1.evil.example:8400/cb",
            "HTTP://127.0.0.1:8400/cb",
            "http://127.0.0.1:8400/a/../cb",
            "http://127.0.0.1:8400/c b",
            "javascript:alert(1)//127.0.0.1:80/",
            "//127.0.0.1:8400/cb",
            "",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
        let long = format!("http://127.0.0.1:8400/{}", "a".repeat(600));
        assert!(check_redirect_uri(&long).is_err());
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    fn req<'a>(uri: &'a str, state: &'a str, chal: &'a str, m: &'a str) -> LoopbackRequest<'a> {
        LoopbackRequest {
            redirect_uri: Some(uri),
            state: Some(state),
            code_challenge: Some(chal),
            code_challenge_method: Some(m),
        }
    }

    #[test]
    fn start_requests_are_checked() {
        let chal = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let uri = "http://127.0.0.1:9/cb";
        assert!(loopback_back(req(uri, "abcdefgh", chal, "S256")).is_ok());
        assert!(loopback_back(req(uri, "abcdefgh", chal, "plain")).is_err());
        assert!(loopback_back(req(uri, "short", chal, "S256")).is_err());
        assert!(loopback_back(req(uri, "abc defgh", chal, "S256")).is_err());
        assert!(loopback_back(req(uri, "abcdefgh", "tooshort", "S256")).is_err());
        assert!(loopback_back(req("http://x.example:9/cb", "abcdefgh", chal, "S256")).is_err());
        assert!(duration(Some("899")).is_err());
        assert!(duration(Some("43201")).is_err());
        assert!(duration(Some("x")).is_err());
        assert_eq!(duration(Some("3600")).unwrap(), Some(3600));
    }

    fn sign_in(n: usize) -> SignIn {
        crate::console::signin::test_sign_in("arn:aws:iam::1:saml-provider/P", "alice", n)
    }

    fn code_of(url: &str) -> String {
        let q = url.split_once('?').unwrap().1;
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    #[tokio::test]
    async fn codes_exchange_once_with_their_verifier() {
        let sealer = Sealer::new(&[5u8; 32]).unwrap();
        let store = idbroker_session::MemoryStore::new();
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let uri = "http://127.0.0.1:9/cb";
        let back = Back::Loopback {
            uri: uri.into(),
            state: "st4te-xyz".into(),
            challenge: s256(verifier),
        };
        let url = loopback_answer(&sealer, &back, sign_in(2), 1000)
            .unwrap()
            .unwrap();
        assert!(url.starts_with("http://127.0.0.1:9/cb?code="));
        assert!(url.ends_with("&state=st4te-xyz"));
        let code = code_of(&url);
        // Wrong verifier, wrong redirect URI, expired: refused (and the code is not used up).
        let wrong = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let r = exchange_code(&store, &sealer, &code, wrong, uri, 1001).await;
        assert!(matches!(r, Err(CliError::InvalidGrant(_))), "{r:?}");
        let r = exchange_code(
            &store,
            &sealer,
            &code,
            verifier,
            "http://127.0.0.1:8/cb",
            1001,
        )
        .await;
        assert!(matches!(r, Err(CliError::InvalidGrant(_))), "{r:?}");
        let r = exchange_code(&store, &sealer, &code, verifier, uri, 1000 + CODE_TTL).await;
        assert!(matches!(r, Err(CliError::InvalidGrant(_))), "{r:?}");
        let r = exchange_code(&store, &sealer, &code, "short", uri, 1001).await;
        assert!(matches!(r, Err(CliError::InvalidRequest(_))), "{r:?}");
        // The right one, once.
        let granted = exchange_code(&store, &sealer, &code, verifier, uri, 1001)
            .await
            .unwrap();
        assert_eq!(granted.pending.options.len(), 2);
        assert_eq!(granted.expires_in, TICKET_TTL);
        let again = exchange_code(&store, &sealer, &code, verifier, uri, 1002).await;
        assert!(matches!(again, Err(CliError::InvalidGrant(_))), "{again:?}");
        // A code sealed by another key, or a ticket passed as a code: refused.
        let other = Sealer::new(&[6u8; 32]).unwrap();
        let r = exchange_code(&store, &other, &code, verifier, uri, 1001).await;
        assert!(matches!(r, Err(CliError::InvalidGrant(_))), "{r:?}");
        let r = exchange_code(&store, &sealer, &granted.ticket, verifier, uri, 1001).await;
        assert!(matches!(r, Err(CliError::InvalidGrant(_))), "{r:?}");
    }

    #[test]
    fn no_role_goes_back_as_access_denied() {
        let sealer = Sealer::new(&[5u8; 32]).unwrap();
        let back = Back::Loopback {
            uri: "http://[::1]:7/cb".into(),
            state: "abcdefgh".into(),
            challenge: "x".into(),
        };
        let url = loopback_answer(&sealer, &back, sign_in(0), 1)
            .unwrap()
            .unwrap();
        assert!(
            url.starts_with("http://[::1]:7/cb?error=access_denied&"),
            "{url}"
        );
        assert!(url.ends_with("&state=abcdefgh"));
        let device = Back::Device {
            id: "d".into(),
            user_code: "BCDF-GHJK".into(),
        };
        assert!(loopback_answer(&sealer, &device, sign_in(1), 1)
            .unwrap()
            .is_none());
    }

    #[test]
    fn markers_name_flows() {
        let f = CliFlow::new(
            "P",
            None,
            Back::Device {
                id: "d".into(),
                user_code: "u".into(),
            },
            10,
        )
        .unwrap();
        let m = f.marker();
        assert_eq!(marked(Some(&m)), Some(f.id.as_str()));
        assert_eq!(marked(Some("https://console.example/")), None);
        assert_eq!(marked(None), None);
        assert!(m.len() <= 80, "a RelayState is at most 80 bytes");
        let sealer = Sealer::new(&[5u8; 32]).unwrap();
        let c = sealer.seal(Purpose::CliFlow, &f).unwrap();
        assert!(open_flow(&sealer, Some(&c), &f.id, 11).is_ok());
        assert!(open_flow(&sealer, Some(&c), "other", 11).is_err());
        assert!(open_flow(&sealer, Some(&c), &f.id, f.exp).is_err());
        assert!(open_flow(&sealer, None, &f.id, 11).is_err());
    }
}
