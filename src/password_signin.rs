//! Console sign-in for IAM users, below HTTP (a module of its own beside `console`: its last step
//! changes the directory through `directory_service`, which `console` must not import): account (id or alias), user name and password;
//! then the code of the user's MFA device when they have one; then a new password when the old
//! one must be reset or has expired; then a session of the user, minted as GetSessionToken's
//! (with MFA when a code was given).
//!
//! Invariants, enforced here:
//! - One answer for every refused password step ([`ConsoleError::Credentials`]): an unknown
//!   account, an unknown user, a user without a console password and a wrong password all cost
//!   one argon2id derivation ([`PasswordGate::verify`] derives one and throws it away when there
//!   is no hash to check) and say the same words. The throttling buckets (per address, per typed account and user)
//!   are taken by the handler before this runs, for existing and unknown users alike.
//! - Password checks run off the async workers (`spawn_blocking`), at most
//!   `[passwords] max_concurrent` at once: a flood of sign-ins waits rather than taking every
//!   core.
//! - Between steps the browser holds a sealed [`PasswordPending`] (5 minutes) that names the user
//!   and what is still due; each pending step is single use across replicas (`use_once`,
//!   namespace `console-password`), so a cookie copied after a step cannot be replayed.
//! - An MFA code is verified as STS verifies it (`crate::sts::mfa::verify`): each code once per
//!   device, on every replica. A wrong code spends the user's bucket like a wrong password.
//! - The account root user cannot sign in: idbroker keeps no root credentials (root is locked
//!   away, as AWS recommends).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tracing::instrument;
use zeroize::Zeroizing;

use crate::clock::epoch;
use crate::console::error::ConsoleError;
use crate::console::seal::{self, Purpose};
use crate::console::settings::ConsoleSettings;
use crate::console::signin::{start_plan, Started};
use crate::directory::{DirectoryDoc, RawUser};
use crate::directory_service::DirectoryService;
use crate::iam::IamError;
use crate::password::Hasher;
use crate::sts::mfa::{self, MfaCode};
use crate::sts::{Caller, RequestFacts, Services, StsError};

/// How long a sign-in may wait between its steps.
pub const PENDING_TTL: u64 = 300;
/// How long the sign-in form's CSRF cookie lasts.
pub const FORM_TTL: u64 = 1800;
/// The longest account, user name accepted from the form (an alias is at most 63, a user
/// name 64).
pub const MAX_NAME_BYTES: usize = 64;
/// GetSessionToken's bounds on the console session's length.
const SESSION_SECS: (u32, u32) = (900, 129_600);

/// Password checks off the async workers, a bounded number at once.
#[derive(Debug)]
pub struct PasswordGate {
    hasher: Arc<Hasher>,
    permits: Semaphore,
}

impl PasswordGate {
    /// A gate over `hasher`, letting `hasher.max_concurrent` checks run at once.
    pub fn new(hasher: Arc<Hasher>) -> PasswordGate {
        let permits = Semaphore::new(hasher.max_concurrent);
        PasswordGate { hasher, permits }
    }

    /// Does `password` match `hash`? With no hash, the same work, thrown away: false.
    pub async fn verify(
        &self,
        hash: Option<String>,
        password: Zeroizing<String>,
    ) -> Result<bool, ConsoleError> {
        self.run(move |hasher| match hash {
            Some(h) => hasher.verify(&h, &password),
            None => hasher.verify_absent(&password),
        })
        .await
        .ok_or(ConsoleError::Internal)
    }

    /// `work` with the hasher, off the async workers, once one of the
    /// `[passwords] max_concurrent` permits is free. None: the work could not finish (it
    /// panicked, or the runtime is shutting down).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Hasher) -> T + Send + 'static,
    ) -> Option<T> {
        let _permit = self.permits.acquire().await.ok()?;
        let hasher = Arc::clone(&self.hasher);
        tokio::task::spawn_blocking(move || work(&hasher))
            .await
            .ok()
    }
}

/// The sign-in form's CSRF cookie (`idb_pwform`).
#[derive(Serialize, Deserialize)]
pub struct PasswordForm {
    /// The form's token.
    pub csrf: String,
    /// Expiry, epoch seconds.
    pub exp: u64,
}

impl PasswordForm {
    /// A new form, good for [`FORM_TTL`].
    pub fn new(now: u64) -> Result<Self, ConsoleError> {
        Ok(PasswordForm {
            csrf: seal::random_hex(16)?,
            exp: now + FORM_TTL,
        })
    }
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordForm")
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// A sign-in whose password verified, with what is still due (cookie `idb_pw`).
#[derive(Clone, Serialize, Deserialize)]
pub struct PasswordPending {
    /// Single-use id, also the CSRF token of the step's form.
    pub id: String,
    /// Expiry, epoch seconds.
    pub exp: u64,
    /// The account id.
    pub account: String,
    /// The user's name as the directory writes it.
    pub user: String,
    /// The MFA code is still due.
    pub mfa: bool,
    /// When the MFA code verified, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_at: Option<u64>,
    /// A new password is due (reset required, or expired).
    pub change: bool,
}

impl std::fmt::Debug for PasswordPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPending")
            .field("account", &self.account)
            .field("user", &self.user)
            .field("mfa", &self.mfa)
            .field("change", &self.change)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// What the sign-in form sent.
pub struct Credentials<'a> {
    /// Account id or alias.
    pub account: &'a str,
    /// User name.
    pub user: &'a str,
    /// Password.
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("account", &self.account)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// What follows a step.
#[derive(Debug)]
pub enum Next {
    /// The MFA code is due: the sealed [`PasswordPending`].
    Mfa(String),
    /// A new password is due: the sealed [`PasswordPending`].
    Change(String),
    /// Signed in.
    Started(Box<Started>),
}

/// The account a person typed: its id, or its alias (case-insensitively).
fn account<'d>(doc: &'d DirectoryDoc, typed: &str) -> Option<&'d DirectoryDoc> {
    let typed = typed.trim();
    doc.all_accounts().find(|a| {
        a.account_id == typed
            || a.account_alias
                .as_deref()
                .is_some_and(|alias| alias.eq_ignore_ascii_case(typed))
    })
}

/// The user a person typed (IAM user names are unique case-insensitively).
fn user<'d>(acct: &'d DirectoryDoc, typed: &str) -> Option<&'d RawUser> {
    acct.users.iter().find(|u| u.name == typed).or_else(|| {
        acct.users
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(typed))
    })
}

/// The key of the per-user throttling bucket for what was typed: the account it names (an alias
/// read as its id, so that one user does not have two buckets), else the text typed, and the
/// user name, lower-cased. The same for existing and unknown users.
pub fn bucket_key(doc: &DirectoryDoc, account_typed: &str, user_typed: &str) -> String {
    let id = account(doc, account_typed).map_or_else(
        || account_typed.trim().to_ascii_lowercase(),
        |a| a.account_id.clone(),
    );
    format!("console-password:{id}:{}", user_typed.to_ascii_lowercase())
}

/// The serial numbers of the MFA devices enabled for `user`.
fn devices(acct: &DirectoryDoc, user: &str) -> Vec<String> {
    acct.mfa_devices
        .iter()
        .filter(|d| d.user.as_deref() == Some(user) && d.enabled.is_some())
        .map(|d| d.serial(&acct.account_id))
        .collect()
}

/// Has `user`'s password expired under `acct`'s policy at `now`?
fn expired(acct: &DirectoryDoc, user: &RawUser, now: u64) -> bool {
    let (Some(policy), Some(lp)) = (&acct.password_policy, &user.login_profile) else {
        return false;
    };
    policy.expired(lp.set_at(), now)
}

/// The first step: account, user and password.
#[instrument(level = "debug", skip_all)]
pub async fn sign_in(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    service: &DirectoryService,
    gate: &PasswordGate,
    creds: Credentials<'_>,
    now: SystemTime,
) -> Result<Next, ConsoleError> {
    let now_s = epoch(now);
    let doc = sts.directory.doc();
    let found = account(doc, creds.account).and_then(|a| Some((a, user(a, creds.user)?)));
    let hash = found
        .and_then(|(_, u)| u.login_profile.as_ref())
        .map(|p| p.password_hash.clone());
    let matched = gate.verify(hash, creds.password).await?;
    let (acct, u) = match found {
        Some((a, u)) if matched && u.login_profile.is_some() => (a, u),
        _ => return Err(ConsoleError::Credentials),
    };
    let hard = acct.password_policy.as_ref().is_some_and(|p| p.hard_expiry);
    let is_expired = expired(acct, u, now_s);
    if is_expired && hard {
        return Err(ConsoleError::PasswordExpired);
    }
    let reset = u
        .login_profile
        .as_ref()
        .is_some_and(|p| p.password_reset_required);
    let pending = PasswordPending {
        id: seal::random_hex(16)?,
        exp: now_s + PENDING_TTL,
        account: acct.account_id.clone(),
        user: u.name.clone(),
        mfa: !devices(acct, &u.name).is_empty(),
        mfa_at: None,
        change: reset || is_expired,
    };
    next(sts, console, service, pending, now).await
}

/// What `pending` still needs: a form (sealed again), or the session.
async fn next(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    service: &DirectoryService,
    pending: PasswordPending,
    now: SystemTime,
) -> Result<Next, ConsoleError> {
    if pending.mfa {
        return Ok(Next::Mfa(
            console.sealer.seal(Purpose::PasswordPending, &pending)?,
        ));
    }
    if pending.change {
        return Ok(Next::Change(
            console.sealer.seal(Purpose::PasswordPending, &pending)?,
        ));
    }
    Ok(Next::Started(Box::new(
        start(sts, console, service, &pending, now).await?,
    )))
}

/// The pending sign-in is still good for this form (`csrf`), and this is its first use.
async fn take(
    sts: &Services<'_>,
    pending: &PasswordPending,
    csrf: &str,
    now: SystemTime,
) -> Result<(), ConsoleError> {
    let expired = || ConsoleError::Csrf("This sign-in took too long. Start again.".into());
    if !seal::same(csrf, &pending.id) {
        return Err(ConsoleError::Csrf(
            "The form does not belong to this sign-in.".into(),
        ));
    }
    if pending.exp <= epoch(now) {
        return Err(expired());
    }
    match sts
        .store
        .use_once("console-password", &pending.id, pending.exp, epoch(now))
        .await
    {
        Ok(()) => Ok(()),
        Err(idbroker_session::SessionError::Replay | idbroker_session::SessionError::Expired) => {
            Err(expired())
        }
        Err(_) => Err(ConsoleError::Unavailable),
    }
}

/// The user of `pending`, as the directory in force has them (gone: the sign-in ends).
fn caller(sts: &Services<'_>, pending: &PasswordPending) -> Result<Caller, ConsoleError> {
    let arn = sts
        .directory
        .doc()
        .account(&pending.account)
        .and_then(|a| a.users.iter().find(|u| u.name == pending.user))
        .map(|u| u.arn(&pending.account))
        .ok_or(ConsoleError::Credentials)?;
    let u = sts
        .directory
        .user_by_arn(&arn)
        .ok_or(ConsoleError::Credentials)?;
    Ok(Caller::user(u, String::new()))
}

/// The MFA step: a code of one of the user's devices. A wrong code leaves the pending sign-in
/// usable (the person types the next code) until it expires; the handler's throttling bounds
/// the tries.
#[instrument(level = "debug", skip_all)]
pub async fn mfa_step(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    service: &DirectoryService,
    mut pending: PasswordPending,
    csrf: &str,
    code: &str,
    now: SystemTime,
) -> Result<Next, ConsoleError> {
    if !seal::same(csrf, &pending.id) || pending.exp <= epoch(now) || !pending.mfa {
        return Err(ConsoleError::Csrf(
            "This sign-in took too long, or the form is not its own. Start again.".into(),
        ));
    }
    let code = crate::mfa::Code::parse(code.trim()).map_err(|_| ConsoleError::MfaCode)?;
    let who = caller(sts, &pending)?;
    let acct = sts
        .directory
        .doc()
        .account(&pending.account)
        .ok_or(ConsoleError::Credentials)?;
    let mut verified = None;
    for serial in devices(acct, &pending.user) {
        let attempt = MfaCode {
            serial: &serial,
            code: code.clone(),
        };
        match mfa::verify(sts, &who, &attempt, now).await {
            Ok(v) => {
                verified = Some(v);
                break;
            }
            Err(StsError::AccessDenied(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let verified = verified.ok_or(ConsoleError::MfaCode)?;
    take(sts, &pending, csrf, now).await?;
    pending.id = seal::random_hex(16)?;
    pending.mfa = false;
    pending.mfa_at = Some(epoch(verified.at()));
    next(sts, console, service, pending, now).await
}

/// The new-password step: the two entries agree, the user may change their password (the
/// account's AllowUsersToChangePassword, or their own `iam:ChangePassword`), and the policy
/// accepts it (`crate::iam::change_own_password`, through the directory's one path for
/// changes). Then the session. The change's argon2id work (checking the new password against
/// the remembered ones, hashing it) is done first, off the async workers, on a copy of the
/// user's account (`crate::iam::dry_run`): a remembered password is refused before the step's
/// single use is spent, and the change replays that work.
#[allow(clippy::too_many_arguments)]
#[instrument(level = "debug", skip_all)]
pub async fn change_step(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    service: &DirectoryService,
    gate: &PasswordGate,
    pending: PasswordPending,
    csrf: &str,
    new: Zeroizing<String>,
    confirm: Zeroizing<String>,
    facts: &RequestFacts<'_>,
) -> Result<Started, ConsoleError> {
    let now = facts.now;
    if !seal::same(csrf, &pending.id) || pending.exp <= epoch(now) || pending.mfa || !pending.change
    {
        return Err(ConsoleError::Csrf(
            "This sign-in took too long, or the form is not its own. Start again.".into(),
        ));
    }
    if !seal::same(new.as_str(), confirm.as_str()) {
        return Err(ConsoleError::NewPassword(
            "The two new passwords are not the same.".into(),
        ));
    }
    let mut who = caller(sts, &pending)?;
    who.mfa_authenticated_at = pending
        .mfa_at
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    let acct = sts
        .directory
        .doc()
        .account(&pending.account)
        .ok_or(ConsoleError::Credentials)?;
    let allowed = crate::iam::change_allowed(acct)
        || crate::sts::authorize(sts.directory, &who, "iam:ChangePassword", &who.arn, facts)
            .is_ok();
    if !allowed {
        return Err(ConsoleError::NewPassword(
            "You must choose a new password, but you are not allowed to change it: ask your administrator (AllowUsersToChangePassword, or iam:ChangePassword).".into(),
        ));
    }
    if !service.writable() {
        return Err(ConsoleError::NewPassword(
            "Passwords cannot be changed here: this directory is read from a file. Ask your administrator.".into(),
        ));
    }
    // The change's rules (the policy's, then the remembered passwords) on a copy, before the
    // single use is spent, so that a refused password leaves the form usable.
    let mut copy = acct.clone();
    let (user, candidate) = (pending.user.clone(), new.clone());
    let (dry, recorded) = gate
        .run(move |hasher| {
            crate::iam::dry_run(hasher, now, Some(&user), false, |dry| {
                crate::iam::change_own_password(&mut copy, &user, None, &candidate, dry)
            })
        })
        .await
        .ok_or(ConsoleError::Internal)?;
    if let Err(IamError::PasswordPolicyViolation(m)) = dry {
        return Err(ConsoleError::NewPassword(m));
    }
    let replay = crate::iam::Replay::new(recorded, service.passwords());
    take(sts, &pending, csrf, now).await?;
    let refuse = |_: &str, _: &str| -> Result<crate::settings::SecretRef, IamError> {
        Err(IamError::ServiceFailure(
            "no access key is made here".into(),
        ))
    };
    let ctx = crate::iam::Context {
        now,
        caller_user: Some(&pending.user),
        seal: &refuse,
        seeds: service.keys(),
        passwords: &replay,
        loopback_providers: false,
    };
    let changed = service
        .change(|whole| {
            let doc = whole
                .account_mut(&pending.account)
                .ok_or_else(|| IamError::NoSuchEntity("no such account".into()))?;
            crate::iam::change_own_password(doc, &pending.user, None, &new, &ctx)
        })
        .await;
    match changed {
        Ok(()) => {}
        Err(IamError::PasswordPolicyViolation(m)) => return Err(ConsoleError::NewPassword(m)),
        Err(IamError::EntityTemporarilyUnmodifiable(_)) => {
            return Err(ConsoleError::PasswordExpired)
        }
        Err(e) => {
            tracing::warn!(error = %e, "a console password change failed");
            return Err(ConsoleError::Unavailable);
        }
    }
    start(sts, console, service, &pending, now).await
}

/// The user's console session: a GetSessionToken session of the user, as long as the console's
/// sessions (within GetSessionToken's bounds), with MFA when a code verified. Once it is made,
/// the user's password counts as used (GetUser's `PasswordLastUsed`).
async fn start(
    sts: &Services<'_>,
    console: &ConsoleSettings,
    service: &DirectoryService,
    pending: &PasswordPending,
    now: SystemTime,
) -> Result<Started, ConsoleError> {
    let who = caller(sts, pending)?;
    let req = crate::sts::get_session_token::GetSessionTokenRequest {
        duration: Some(
            console
                .session_duration
                .clamp(SESSION_SECS.0, SESSION_SECS.1),
        ),
        mfa: None,
    };
    let mut plan = crate::sts::get_session_token::decide(&who, &req)?;
    plan.mfa_authenticated_at = pending
        .mfa_at
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    let started = start_plan(sts, console, plan, now).await?;
    service.note_password_use(&pending.account, &who.arn, now);
    Ok(started)
}
