//! One IAM Query API call (Version 2010-05-08): the use case between the handler
//! (`crate::http::iam_endpoint`) and the directory. The caller's own policies decide (`iam:ACTION`
//! on the entity's ARN, as IAM names resources); a reading call runs on the call's one version of
//! the directory; a writing one goes through [`DirectoryService::change`] (validated whole,
//! stored over the version it was computed from, in force here at once and on every replica
//! within the poll interval). `GetAccessKeyLastUsed` reads the database;
//! GetUser and ListUsers add `PasswordLastUsed` from beside the directory
//! ([`DirectoryService::password_last_used`]). EnableMFADevice's and
//! ResyncMFADevice's two codes are marked used in the session store (`use_once`, namespace
//! `mfa`, as STS marks a sign-in code) before the change is made: a code is accepted once, on
//! every replica. A call that hashes or checks passwords (CreateLoginProfile,
//! UpdateLoginProfile, ChangePassword) first runs once on a copy of the directory, off the async
//! workers and within `[passwords] max_concurrent` ([`PasswordGate::run`]); its change then
//! replays that argon2id work (`iam::Replay`) instead of doing it on the worker.

use idbroker_session::{SealingKeys, SessionError, SessionStore};

use crate::directory::{Directory, DirectoryDoc};
use crate::directory_service::DirectoryService;
use crate::iam::{self, Call, Context, Effect, IamError, Input, Node, Output, Recorded};
use crate::password_signin::PasswordGate;
use crate::sts::{Caller, CallerKind, RequestFacts};

/// What the audit record says of an IAM call: the action and the resource it was authorized on.
#[derive(Debug, Clone)]
pub struct Decided {
    /// `CreateRole`, ...
    pub action: &'static str,
    /// The resource ARN (or `*`).
    pub resource: String,
}

/// The calls that hash or check passwords (their argon2id work is done ahead: [`prepare`]).
const PASSWORD_CALLS: [&str; 3] = ["CreateLoginProfile", "UpdateLoginProfile", "ChangePassword"];

/// `GetAccessKeyLastUsed`: not one of the pure calls (it reads the database).
const LAST_USED: Call = Call {
    action: "GetAccessKeyLastUsed",
    effect: Effect::Read,
};

/// The call `action` names, if idbroker has it.
pub fn known(action: &str) -> Option<Call> {
    if action == LAST_USED.action {
        return Some(LAST_USED);
    }
    iam::call(action)
}

fn caller_user(caller: &Caller) -> Option<&str> {
    match &caller.kind {
        CallerKind::User { name } | CallerKind::UserSession { name } => Some(name),
        CallerKind::AssumedRole { .. } => None,
    }
}

fn seal_with(
    keys: &SealingKeys,
) -> impl Fn(&str, &str) -> Result<crate::settings::SecretRef, IamError> + Sync + '_ {
    move |id, secret| {
        crate::directory::sealed::seal(keys, id, secret).map_err(|e| {
            tracing::error!(error = %e, "a new access key's secret could not be sealed");
            IamError::ServiceFailure("The access key could not be created.".into())
        })
    }
}

/// Run `call` for `caller` (verified), with `dir` the call's one version of the directory.
/// `decided` is filled as soon as the resource is known (for the audit record, also when the
/// call is then refused). `store` keeps MFA codes' single-use marks; `gate` runs password work
/// off the async workers.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    service: &DirectoryService,
    store: &dyn SessionStore,
    gate: &PasswordGate,
    dir: &Directory,
    caller: &Caller,
    call: Call,
    input: Input<'_>,
    facts: &RequestFacts<'_>,
    decided: &mut Option<Decided>,
) -> Result<Output, IamError> {
    // AWS refuses IAM calls made with GetSessionToken's credentials unless they carry MFA.
    if matches!(caller.kind, CallerKind::UserSession { .. })
        && caller.mfa_authenticated_at.is_none()
    {
        return Err(IamError::AccessDenied(
            "Cannot call IAM APIs with credentials from GetSessionToken that were not authenticated with MFA.".into(),
        ));
    }
    let seal = seal_with(service.keys());
    let ctx = Context {
        now: facts.now,
        caller_user: caller_user(caller),
        seal: &seal,
        seeds: service.keys(),
        passwords: service.passwords(),
        loopback_providers: service.loopback_providers(),
    };
    // IAM calls act in the caller's own account (a directory may hold several).
    let account = caller.account.as_str();
    let doc = dir.doc().account(account).ok_or_else(|| {
        IamError::AccessDenied(format!("The account {account} is not in this directory."))
    })?;
    let resource = if call.action == LAST_USED.action {
        last_used_owner(dir, account, &input)?.1
    } else {
        iam::resource(&call, &input, doc, &ctx)
    };
    *decided = Some(Decided {
        action: call.action,
        resource: resource.clone(),
    });
    let action = format!("iam:{}", call.action);
    // The account's password policy may let every user change their own password
    // (AllowUsersToChangePassword), which needs no permission then, as on AWS.
    let own_change = call.action == "ChangePassword"
        && caller_user(caller).is_some()
        && iam::change_allowed(doc);
    if !own_change {
        crate::sts::authorize(dir, caller, &action, &resource, facts)
            .map_err(|e| IamError::AccessDenied(e.to_string()))?;
    }
    // A configured provider (the file's [[saml_providers]]) is not the IAM API's to shadow
    // (said only to a caller allowed to create it).
    if call.action == "CreateSAMLProvider" && service.saml_configured(&resource) {
        return Err(IamError::EntityAlreadyExists(format!(
            "SAMLProvider {resource} already exists (in the configuration file)."
        )));
    }
    if call.action == "CreateOpenIDConnectProvider" && service.oidc_configured(&resource) {
        return Err(IamError::EntityAlreadyExists(format!(
            "Provider with url {resource} already exists (in the configuration file)."
        )));
    }
    if call.action == LAST_USED.action {
        return last_used(service, dir, account, &input).await;
    }
    if let Some(spent) = iam::spent_codes(&call, &input, doc, &ctx)? {
        spend(store, &spent, facts.now).await?;
    }
    match call.effect {
        Effect::Read => {
            let out = iam::read(&call, &input, doc, &ctx)?;
            match call.action {
                "GetUser" | "ListUsers" => Ok(with_password_last_used(service, doc, out).await),
                _ => Ok(out),
            }
        }
        Effect::Write => {
            let replay;
            let ctx = if PASSWORD_CALLS.contains(&call.action) {
                replay = iam::Replay::new(
                    prepare(gate, call, &input, doc, &ctx).await?,
                    service.passwords(),
                );
                Context {
                    passwords: &replay,
                    ..ctx
                }
            } else {
                ctx
            };
            service
                .change(|whole| {
                    let doc = whole.account_mut(account).ok_or_else(|| {
                        IamError::AccessDenied(format!(
                            "The account {account} is not in this directory."
                        ))
                    })?;
                    iam::write(&call, &input, doc, &ctx)
                })
                .await
        }
    }
}

/// A call's parameters, copied for the dry run (they may hold passwords: wiped when dropped).
struct Params(Vec<(String, String)>);

impl Drop for Params {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        for (k, v) in &mut self.0 {
            k.zeroize();
            v.zeroize();
        }
    }
}

/// Run `call` once on a copy of `doc`, off the async workers, with the server's hasher
/// recording every hash and check (`iam::dry_run`); its answer is dropped. The change then
/// replays what was recorded.
async fn prepare(
    gate: &PasswordGate,
    call: Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Recorded, IamError> {
    let mut copy = doc.clone();
    let params = Params(input.pairs().to_vec());
    let caller_user = ctx.caller_user.map(str::to_owned);
    let (now, loopback_providers) = (ctx.now, ctx.loopback_providers);
    gate.run(move |hasher| {
        // The answer is the real change's to give.
        let (_, recorded) = iam::dry_run(
            hasher,
            now,
            caller_user.as_deref(),
            loopback_providers,
            |dry| iam::write(&call, &Input::new(&params.0), &mut copy, dry),
        );
        recorded
    })
    .await
    .ok_or_else(|| IamError::ServiceFailure("The password could not be checked.".into()))
}

/// `out` (GetUser's `User`, ListUsers' `Users`) with each user's `PasswordLastUsed` after its
/// `CreateDate`, as IAM answers it: only for users whose password has signed them in, and not a
/// time from before the user was created (an earlier user of that name and path).
async fn with_password_last_used(
    service: &DirectoryService,
    doc: &DirectoryDoc,
    mut out: Output,
) -> Output {
    let get_user = out.fields.iter().any(|(k, _)| *k == "User");
    let mut users: Vec<&mut Vec<(&'static str, Node)>> = Vec::new();
    for (name, node) in &mut out.fields {
        match (*name, node) {
            ("User", Node::Struct(fields)) => users.push(fields),
            ("Users", Node::List(items)) => {
                users.extend(items.iter_mut().filter_map(|i| match i {
                    Node::Struct(fields) => Some(fields),
                    _ => None,
                }))
            }
            _ => {}
        }
    }
    let arn_of = |fields: &Vec<(&'static str, Node)>| {
        fields.iter().find_map(|(k, v)| match (*k, v) {
            ("Arn", Node::Text(a)) => Some(a.clone()),
            _ => None,
        })
    };
    if users.is_empty() {
        return out;
    }
    let one = match users.as_slice() {
        [single] if get_user => arn_of(single),
        _ => None,
    };
    let used = service
        .password_last_used(&doc.account_id, one.as_deref())
        .await;
    if used.is_empty() {
        return out;
    }
    let created: std::collections::HashMap<String, Option<u64>> = doc
        .users
        .iter()
        .map(|u| (u.arn(&doc.account_id), u.created_at()))
        .collect();
    for fields in users {
        let Some(arn) = arn_of(fields) else { continue };
        let Some(&at) = used.get(&arn) else { continue };
        let at = u64::try_from(at).unwrap_or(0);
        if created.get(&arn).copied().flatten().is_some_and(|c| at < c) {
            continue;
        }
        let after = fields
            .iter()
            .position(|(k, _)| *k == "CreateDate")
            .map_or(fields.len(), |i| i + 1);
        fields.insert(
            after,
            (
                "PasswordLastUsed",
                Node::text(iam::timestamp(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(at),
                )),
            ),
        );
    }
    out
}

/// Mark the two codes EnableMFADevice or ResyncMFADevice accepted as used (a code already used,
/// here or at sign-in, on any replica: `InvalidAuthenticationCode`).
async fn spend(
    store: &dyn SessionStore,
    spent: &iam::SpentCodes,
    now: std::time::SystemTime,
) -> Result<(), IamError> {
    let now = crate::clock::epoch(now);
    for step in spent.steps {
        let mark = crate::mfa::totp::mark(&spent.serial, step);
        match store
            .use_once("mfa", &mark, crate::mfa::totp::mark_until(step), now)
            .await
        {
            Ok(()) => {}
            Err(SessionError::Replay | SessionError::Expired) => {
                return Err(IamError::InvalidAuthenticationCode(
                    "Authentication code for device is not valid.".into(),
                ))
            }
            Err(e) => {
                tracing::warn!(error = %e, "MFA codes could not be marked used");
                return Err(IamError::ServiceFailure(
                    "The MFA codes could not be checked; nothing was changed.".into(),
                ));
            }
        }
    }
    Ok(())
}

/// The user of `account` owning the key `AccessKeyId` names, and the user's ARN (another
/// account's key is not found, as on AWS).
fn last_used_owner(
    dir: &Directory,
    account: &str,
    input: &Input<'_>,
) -> Result<(String, String), IamError> {
    let id = input.required("AccessKeyId", "accessKeyId")?;
    let (user, _) = dir
        .access_key(id)
        .filter(|(u, _)| u.account == account)
        .ok_or_else(|| {
            IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found"))
        })?;
    Ok((user.name.clone(), user.arn.clone()))
}

async fn last_used(
    service: &DirectoryService,
    dir: &Directory,
    account: &str,
    input: &Input<'_>,
) -> Result<Output, IamError> {
    let (user, _) = last_used_owner(dir, account, input)?;
    let id = input.required("AccessKeyId", "accessKeyId")?;
    let used = service.last_used(id).await.map_err(|e| {
        tracing::warn!(error = %e, "access key last use could not be read");
        IamError::ServiceFailure("The access key's last use could not be read.".into())
    })?;
    let details = match used {
        Some(u) => Node::Struct(vec![
            (
                "LastUsedDate",
                Node::text(iam::timestamp(
                    std::time::UNIX_EPOCH
                        + std::time::Duration::from_secs(u64::try_from(u.at).unwrap_or(0)),
                )),
            ),
            ("ServiceName", Node::text(u.service)),
            ("Region", Node::text(u.region)),
        ]),
        None => Node::Struct(vec![
            ("ServiceName", Node::text("N/A")),
            ("Region", Node::text("N/A")),
        ]),
    };
    Ok(Output::empty()
        .field("UserName", Node::text(user))
        .field("AccessKeyLastUsed", details))
}
