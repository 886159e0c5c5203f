//! Device authorization (RFC 8628) for a CLI without a browser (an SSH session): the CLI asks
//! for a device code and a short user code; the person opens the verification page on any
//! device, enters the user code, and signs in at their IdP as for the console; the CLI, polling
//! with its device code, then receives the same ticket as the loopback flow's code exchange
//! (`cli_flow.rs`).
//!
//! Binding: a user code can be entered once (it is taken from the session store), in a form
//! protected by a CSRF cookie, and names one device authorization; the sign-in that follows is
//! bound to that browser by the sealed `idb_cli` flow (see [`super::cli_flow::CliFlow`]). The
//! result is handed to the polling CLI through the session store, taken once, on any replica.
//! The device code itself is sealed and expires with the authorization; polling faster than the
//! interval is answered `slow_down`.

use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::browser::{RoleOption, SignedInVia};
use super::cli_flow::{self, Back, CliFlow, Granted};
use super::error::{CliError, ConsoleError};
use super::seal::{self, Purpose, Sealer};
use super::signin::SignIn;

/// How long a device authorization lasts (RFC 8628 `expires_in`).
pub const DEVICE_TTL: u64 = 600;
/// The polling interval asked of the CLI, seconds (RFC 8628 `interval`).
pub const POLL_INTERVAL: u64 = 5;
/// User code letters: consonants without vowels or look-alikes (RFC 8628 6.1's example set):
/// 20 letters, 8 of them: about 34.6 bits, entered at most once each and throttled per address.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;

/// Session store namespaces.
const USER_CODES: &str = "cli-device-user";
const GRANTS: &str = "cli-device-grant";
const POLLS: &str = "cli-device-poll";

/// The `device_code` (sealed).
#[derive(Serialize, Deserialize)]
struct DeviceCode {
    id: String,
    exp: u64,
}

/// What a user code names until it is entered (sealed, in the session store).
#[derive(Serialize, Deserialize)]
struct DeviceRequest {
    id: String,
    provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secs: Option<u32>,
    exp: u64,
}

/// What the device gets once its person signed in (in the session store until polled).
#[derive(Serialize, Deserialize)]
enum Grant {
    /// Signed in: who, and the roles allowed.
    Allowed {
        via: SignedInVia,
        options: Vec<RoleOption>,
    },
    /// Signed in, but no role is allowed.
    Denied,
}

/// A device authorization's answer (RFC 8628 3.2).
#[derive(Debug, Serialize)]
pub struct Authorization {
    /// For the CLI's polling (sealed).
    pub device_code: String,
    /// For the person to enter, `XXXX-XXXX`.
    pub user_code: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Seconds between polls.
    pub interval: u64,
}

fn user_code() -> Result<String, ConsoleError> {
    let mut out = String::with_capacity(USER_CODE_LEN);
    let mut buf = [0u8; 32];
    while out.len() < USER_CODE_LEN {
        aws_lc_rs::rand::fill(&mut buf).map_err(|_| ConsoleError::Internal)?;
        // Rejection sampling: 240 = 12 * 20, so every letter is equally likely.
        for b in buf.iter().filter(|b| **b < 240) {
            if out.len() == USER_CODE_LEN {
                break;
            }
            let letter = ALPHABET
                .get(usize::from(*b) % ALPHABET.len())
                .ok_or(ConsoleError::Internal)?;
            out.push(char::from(*letter));
        }
    }
    Ok(out)
}

/// A user code as a person may type it (any case, with dashes or spaces), in its canonical
/// form; `None` when it cannot be one.
pub fn normalize(input: &str) -> Option<String> {
    if input.len() > 32 {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// `XXXX-XXXX`
pub fn display(code: &str) -> String {
    let (a, b) = code.split_at(code.len().min(USER_CODE_LEN / 2));
    format!("{a}-{b}")
}

/// Store trouble, whatever it was.
fn unavailable<E>(_: E) -> ConsoleError {
    ConsoleError::Unavailable
}

/// `POST /console/device/authorize`: a new device authorization for `provider` (a console
/// provider name, already checked), good for [`DEVICE_TTL`].
#[instrument(level = "debug", skip_all)]
pub async fn authorize(
    store: &dyn idbroker_session::SessionStore,
    sealer: &Sealer,
    provider: &str,
    secs: Option<u32>,
    now: u64,
) -> Result<Authorization, CliError> {
    let id = seal::random_hex(16).map_err(ConsoleError::from)?;
    let exp = now + DEVICE_TTL;
    let request = DeviceRequest {
        id: id.clone(),
        provider: provider.to_owned(),
        secs,
        exp,
    };
    let sealed = sealer
        .seal(Purpose::DeviceRequest, &request)
        .map_err(ConsoleError::from)?;
    // A user code already in use is drawn again (never replaced: the store refuses).
    for _ in 0..4 {
        let code = user_code()?;
        match store
            .put_handoff(USER_CODES, &code, sealed.as_bytes(), exp, now)
            .await
        {
            Ok(()) => {
                let device_code = sealer
                    .seal(Purpose::DeviceCode, &DeviceCode { id, exp })
                    .map_err(ConsoleError::from)?;
                return Ok(Authorization {
                    device_code,
                    user_code: display(&code),
                    expires_in: DEVICE_TTL,
                    interval: POLL_INTERVAL,
                });
            }
            Err(idbroker_session::SessionError::Replay) => continue,
            Err(e) => return Err(unavailable(e).into()),
        }
    }
    Err(ConsoleError::Internal.into())
}

/// The person entered `input` on the verification page: the device authorization it names,
/// taken (a user code is entered once), becomes this browser's CLI flow. `None` when no such
/// code is waiting (mistyped, used or expired).
#[instrument(level = "debug", skip_all)]
pub async fn enter(
    store: &dyn idbroker_session::SessionStore,
    sealer: &Sealer,
    input: &str,
    now: u64,
) -> Result<Option<CliFlow>, ConsoleError> {
    let Some(code) = normalize(input) else {
        return Ok(None);
    };
    let Some(raw) = store
        .take_handoff(USER_CODES, &code, now)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    let request = std::str::from_utf8(&raw)
        .ok()
        .and_then(|s| sealer.open::<DeviceRequest>(Purpose::DeviceRequest, s))
        .filter(|r| now < r.exp);
    let Some(request) = request else {
        return Ok(None);
    };
    let mut flow = CliFlow::new(
        &request.provider,
        request.secs,
        Back::Device {
            id: request.id,
            user_code: display(&code),
        },
        now,
    )?;
    // The flow ends with the device authorization.
    flow.exp = flow.exp.min(request.exp);
    Ok(Some(flow))
}

/// The person signed in for device flow `id`: hand the result to the polling CLI. No role
/// allowed is handed over too (the CLI stops), then refused here as for the console.
#[instrument(level = "debug", skip_all)]
pub async fn approve(
    store: &dyn idbroker_session::SessionStore,
    id: &str,
    exp: u64,
    sign_in: SignIn,
    now: u64,
) -> Result<(), ConsoleError> {
    let denied = sign_in.options.is_empty();
    if denied {
        tracing::info!(refusals = ?sign_in.refusals, "device sign-in: no role allowed");
    }
    let grant = if denied {
        Grant::Denied
    } else {
        Grant::Allowed {
            via: sign_in.via,
            options: sign_in.options,
        }
    };
    let value = serde_json::to_vec(&grant).map_err(|_| ConsoleError::Internal)?;
    match store.put_handoff(GRANTS, id, &value, exp, now).await {
        Ok(()) => {}
        Err(idbroker_session::SessionError::Replay) => {
            return Err(ConsoleError::Csrf(
                "This device was already signed in.".into(),
            ))
        }
        Err(idbroker_session::SessionError::Expired) => return Err(ConsoleError::Expired(
            "The device code expired before you finished signing in. Start again from the device."
                .into(),
        )),
        Err(e) => return Err(unavailable(e)),
    }
    if denied {
        return Err(ConsoleError::NoRole(
            "None of the roles your identity provider names would let you in.".into(),
        ));
    }
    Ok(())
}

/// The CLI polls (`POST /console/cli/token`, device code grant): pending until the person
/// signed in, then the ticket (once); `slow_down` when it polls twice within one interval.
#[instrument(level = "debug", skip_all)]
pub async fn poll(
    store: &dyn idbroker_session::SessionStore,
    sealer: &Sealer,
    device_code: &str,
    now: u64,
) -> Result<Granted, CliError> {
    let code: DeviceCode = sealer
        .open(Purpose::DeviceCode, device_code)
        .ok_or_else(|| CliError::InvalidGrant("The device code is not valid".into()))?;
    if now >= code.exp {
        return Err(CliError::ExpiredToken);
    }
    // One poll per interval-long slot: a CLI that waits `interval` between polls always lands
    // in a later slot; one that polls faster meets its own mark.
    let slot = now / POLL_INTERVAL;
    let mark = format!("{}-{slot}", code.id);
    match store
        .use_once(POLLS, &mark, (slot + 1) * POLL_INTERVAL, now)
        .await
    {
        Ok(()) => {}
        Err(idbroker_session::SessionError::Replay) => return Err(CliError::SlowDown),
        Err(e) => return Err(unavailable(e).into()),
    }
    let taken = store
        .take_handoff(GRANTS, &code.id, now)
        .await
        .map_err(unavailable)?;
    let Some(raw) = taken else {
        return Err(CliError::AuthorizationPending);
    };
    match serde_json::from_slice::<Grant>(&raw).map_err(|_| ConsoleError::Internal)? {
        Grant::Allowed { via, options } => cli_flow::ticket(sealer, via, options, now),
        Grant::Denied => Err(CliError::AccessDenied(
            "None of the roles your identity provider names would let you in.".into(),
        )),
    }
}

/// The CSRF cookie of the code entry form (`idb_device`).
#[derive(Serialize, Deserialize)]
pub struct DeviceForm {
    /// The form's token.
    pub csrf: String,
    /// Expiry, epoch seconds.
    pub exp: u64,
}

impl std::fmt::Debug for DeviceForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceForm")
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

impl DeviceForm {
    /// A new form, good for [`DEVICE_TTL`].
    pub fn new(now: u64) -> Result<Self, ConsoleError> {
        Ok(DeviceForm {
            csrf: seal::random_hex(16)?,
            exp: now + DEVICE_TTL,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use idbroker_session::MemoryStore;

    fn sign_in(n: usize) -> SignIn {
        crate::console::signin::test_sign_in("arn:aws:iam::1:oidc-provider/op", "bob", n)
    }

    #[test]
    fn user_codes() {
        for _ in 0..200 {
            let c = user_code().unwrap();
            assert_eq!(c.len(), 8);
            assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
            assert_eq!(normalize(&display(&c)), Some(c.clone()));
            assert_eq!(normalize(&display(&c).to_lowercase()), Some(c));
        }
        assert_eq!(normalize("bcdf ghjk"), Some("BCDFGHJK".into()));
        assert_eq!(
            normalize("BCDF-GHJA"),
            None,
            "vowels are not in the alphabet"
        );
        assert_eq!(normalize("BCDF-GHJ"), None);
        assert_eq!(normalize(&"B".repeat(40)), None);
    }

    #[tokio::test]
    async fn the_whole_flow_once() {
        let store = MemoryStore::new();
        let sealer = Sealer::new(&[9u8; 32]).unwrap();
        let t0 = 10_000;
        let auth = authorize(&store, &sealer, "DemoIdP", Some(1800), t0)
            .await
            .unwrap();
        assert_eq!(auth.interval, POLL_INTERVAL);
        // Pending, then polling again within the interval is slow_down.
        let r = poll(&store, &sealer, &auth.device_code, t0).await;
        assert!(matches!(r, Err(CliError::AuthorizationPending)), "{r:?}");
        let r = poll(&store, &sealer, &auth.device_code, t0 + 1).await;
        assert!(matches!(r, Err(CliError::SlowDown)), "{r:?}");
        // A mistyped code names nothing; the right one, once.
        assert!(enter(&store, &sealer, "BBBB-BBBB", t0 + 2)
            .await
            .unwrap()
            .is_none());
        let flow = enter(&store, &sealer, &auth.user_code.to_lowercase(), t0 + 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(flow.provider, "DemoIdP");
        assert_eq!(flow.secs, Some(1800));
        assert!(enter(&store, &sealer, &auth.user_code, t0 + 3)
            .await
            .unwrap()
            .is_none());
        let Back::Device { id, user_code } = &flow.back else {
            panic!("not a device flow")
        };
        assert_eq!(user_code, &auth.user_code);
        approve(&store, id, flow.exp, sign_in(2), t0 + 4)
            .await
            .unwrap();
        // Approved once only.
        assert!(approve(&store, id, flow.exp, sign_in(1), t0 + 4)
            .await
            .is_err());
        let granted = poll(&store, &sealer, &auth.device_code, t0 + 5)
            .await
            .unwrap();
        assert_eq!(granted.pending.options.len(), 2);
        assert_eq!(granted.pending.via.subject, "bob");
        // Taken: polling again is pending (nothing left), and later the code expires.
        let r = poll(&store, &sealer, &auth.device_code, t0 + 10).await;
        assert!(matches!(r, Err(CliError::AuthorizationPending)), "{r:?}");
        let r = poll(&store, &sealer, &auth.device_code, t0 + DEVICE_TTL).await;
        assert!(matches!(r, Err(CliError::ExpiredToken)), "{r:?}");
        // A forged device code.
        let r = poll(&store, &sealer, "abc", t0).await;
        assert!(matches!(r, Err(CliError::InvalidGrant(_))), "{r:?}");
    }

    #[tokio::test]
    async fn no_role_is_access_denied_for_the_device() {
        let store = MemoryStore::new();
        let sealer = Sealer::new(&[9u8; 32]).unwrap();
        let auth = authorize(&store, &sealer, "P", None, 100).await.unwrap();
        let flow = enter(&store, &sealer, &auth.user_code, 101)
            .await
            .unwrap()
            .unwrap();
        let Back::Device { id, .. } = &flow.back else {
            panic!("not a device flow")
        };
        assert!(matches!(
            approve(&store, id, flow.exp, sign_in(0), 102).await,
            Err(ConsoleError::NoRole(_))
        ));
        let r = poll(&store, &sealer, &auth.device_code, 105).await;
        assert!(matches!(r, Err(CliError::AccessDenied(_))), "{r:?}");
    }

    #[tokio::test]
    async fn an_expired_code_cannot_be_entered() {
        let store = MemoryStore::new();
        let sealer = Sealer::new(&[9u8; 32]).unwrap();
        let auth = authorize(&store, &sealer, "P", None, 100).await.unwrap();
        assert!(enter(&store, &sealer, &auth.user_code, 100 + DEVICE_TTL)
            .await
            .unwrap()
            .is_none());
    }
}
