//! AWS's federation endpoint, below HTTP: `getSigninToken` turns a role session's credentials
//! into a short-lived, single-use sign-in token; `login` turns that token into a console session.
//! Both check the session the same way ([`crate::console::check_credentials`]: it exists, is a
//! role session, neither expired nor revoked, its token matches, and for `getSigninToken` its
//! secret too), and neither lets a console session outlive the credentials it names.

use std::time::SystemTime;

use idbroker_session::Session;
use serde::Deserialize;

use crate::clock::epoch;
use crate::console::browser::{ConsoleSession, SigninToken, SIGNIN_TOKEN_TTL};
use crate::console::error::ConsoleError;
use crate::console::seal::{random_hex, Purpose};
use crate::console::settings::ConsoleSettings;
use crate::sts::Services;

/// The `Session` parameter of `getSigninToken`: the credentials of a role session, as AWS's
/// federation endpoint reads them.
#[derive(Deserialize)]
pub struct FederationSession {
    /// The AccessKeyId.
    #[serde(rename = "sessionId")]
    pub session_id: String,
    /// The SecretAccessKey.
    #[serde(rename = "sessionKey")]
    pub session_key: String,
    /// The SessionToken.
    #[serde(rename = "sessionToken")]
    pub session_token: String,
}

impl std::fmt::Debug for FederationSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationSession")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl FederationSession {
    /// Read the `Session` parameter (JSON).
    pub fn from_json(raw: &str) -> Result<FederationSession, ConsoleError> {
        serde_json::from_str(raw).map_err(|_| {
            ConsoleError::BadRequest(
                "Session must be JSON with sessionId, sessionKey and sessionToken".into(),
            )
        })
    }
}

/// `SessionDuration`: 900..=43200 seconds when given.
pub fn session_duration(text: Option<&str>) -> Result<Option<u64>, ConsoleError> {
    text.map(|d| {
        d.parse::<u64>()
            .ok()
            .filter(|d| (900..=43_200).contains(d))
            .ok_or_else(|| {
                ConsoleError::BadRequest("SessionDuration must be 900 to 43200 seconds".into())
            })
    })
    .transpose()
}

/// The end of a console session that asks for `until`: never after its credentials'.
fn bounded(until: Option<u64>, session: &Session) -> u64 {
    until.map_or(session.expires_at, |u| u.min(session.expires_at))
}

/// A sign-in token issued, and the session it names.
#[derive(Debug)]
pub struct Issued {
    /// The sealed [`SigninToken`].
    pub token: String,
    /// The session.
    pub session: Session,
}

/// `getSigninToken`: the credentials (secret included) must name a live role session; the
/// sealed token names it until `SessionDuration` (or the session's end).
pub async fn get_signin_token(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    creds: FederationSession,
    duration: Option<u64>,
    now: SystemTime,
) -> Result<Issued, ConsoleError> {
    let now = epoch(now);
    let session = crate::console::check_credentials(
        sts.store,
        sts.keys,
        &creds.session_id,
        Some(&creds.session_key),
        &creds.session_token,
        now,
    )
    .await?;
    let token = SigninToken {
        id: random_hex(16)?,
        iat: now,
        akid: creds.session_id,
        token: creds.session_token,
        exp: bounded(duration.map(|d| now + d), &session),
    };
    let token = console.sealer.seal(Purpose::SigninToken, &token)?;
    Ok(Issued { token, session })
}

/// A console session from a sign-in token.
#[derive(Debug)]
pub struct LoggedIn {
    /// The sealed [`ConsoleSession`] (cookie `idb_console`).
    pub cookie: String,
    /// When it ends, epoch seconds.
    pub exp: u64,
    /// The session it names.
    pub session: Session,
}

/// `login`: the sign-in token must be one of ours, within its 15 minutes, used once (across
/// replicas), and its session still live; `issuer` (an origin, or nothing) is where the person
/// is sent back on sign-out.
pub async fn login(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    token: Option<&str>,
    issuer: Option<String>,
    now: SystemTime,
) -> Result<LoggedIn, ConsoleError> {
    let now = epoch(now);
    let invalid =
        || ConsoleError::SigninToken("The sign-in token is invalid, used or expired".into());
    let t: SigninToken = token
        .and_then(|t| console.sealer.open(Purpose::SigninToken, t))
        .ok_or_else(invalid)?;
    let until = t.iat + SIGNIN_TOKEN_TTL;
    if until <= now {
        return Err(invalid());
    }
    match sts.store.use_once("signin", &t.id, until, now).await {
        Ok(()) => {}
        Err(idbroker_session::SessionError::Replay | idbroker_session::SessionError::Expired) => {
            return Err(invalid())
        }
        Err(_) => return Err(ConsoleError::Unavailable),
    }
    let session =
        crate::console::check_credentials(sts.store, sts.keys, &t.akid, None, &t.token, now)
            .await?;
    let exp = bounded(Some(t.exp), &session);
    let cs = ConsoleSession {
        akid: t.akid,
        token: t.token,
        exp,
        csrf: random_hex(16)?,
        issuer,
    };
    let cookie = console.sealer.seal(Purpose::Console, &cs)?;
    Ok(LoggedIn {
        cookie,
        exp,
        session,
    })
}
