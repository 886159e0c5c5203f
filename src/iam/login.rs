//! Console passwords: login profiles (CreateLoginProfile, GetLoginProfile, UpdateLoginProfile,
//! DeleteLoginProfile), a user's own ChangePassword, and the account password policy
//! (UpdateAccountPasswordPolicy, GetAccountPasswordPolicy, DeleteAccountPasswordPolicy).
//!
//! A password enters the directory only as an argon2id hash ([`super::Passwords`]), after the
//! account password policy accepted it ([`crate::password::policy::check`]), and after it was
//! compared with the earlier passwords the policy remembers. Answers never carry a password or a
//! hash. Authorization is on the user's ARN (login profiles, ChangePassword) or `*` (the
//! account's policy), as IAM names them; ChangePassword is also allowed, without a permission,
//! when the policy has AllowUsersToChangePassword (the caller decides: [`change_allowed`]).

use super::common::{self, invalid};
use super::users::entity;
use super::{Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;
use crate::directory::RawLoginProfile;
use crate::password::policy::{self, PasswordPolicy};

#[cfg(test)]
mod tests;

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "CreateLoginProfile",
        effect: Effect::Write,
    },
    Call {
        action: "GetLoginProfile",
        effect: Effect::Read,
    },
    Call {
        action: "UpdateLoginProfile",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteLoginProfile",
        effect: Effect::Write,
    },
    Call {
        action: "ChangePassword",
        effect: Effect::Write,
    },
    Call {
        action: "UpdateAccountPasswordPolicy",
        effect: Effect::Write,
    },
    Call {
        action: "GetAccountPasswordPolicy",
        effect: Effect::Read,
    },
    Call {
        action: "DeleteAccountPasswordPolicy",
        effect: Effect::Write,
    },
];

/// The resource a call of this family is authorized on.
pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<String> {
    match call.action {
        "CreateLoginProfile" | "GetLoginProfile" | "UpdateLoginProfile" | "DeleteLoginProfile" => {
            let name = entity::user_name_or_caller_unchecked(input, ctx)?;
            Some(entity::user_arn(doc, name))
        }
        "ChangePassword" => ctx.caller_user.map(|n| entity::user_arn(doc, n)),
        _ => None,
    }
}

/// Run a reading call of this family (`None`: not one of its reading calls).
pub(super) fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "GetLoginProfile" => get_login_profile(input, doc, ctx),
        "GetAccountPasswordPolicy" => get_policy(doc),
        _ => return None,
    })
}

/// Run a writing call of this family on `doc` (`None`: not one of its writing calls).
pub(super) fn write(
    call: &Call,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "CreateLoginProfile" => create(input, doc, ctx),
        "UpdateLoginProfile" => update(input, doc, ctx),
        "DeleteLoginProfile" => delete(input, doc),
        "ChangePassword" => change_password(input, doc, ctx),
        "UpdateAccountPasswordPolicy" => update_policy(input, doc),
        "DeleteAccountPasswordPolicy" => delete_policy(doc),
        _ => return None,
    })
}

/// May the caller change their own password without an `iam:ChangePassword` permission (the
/// account's policy has AllowUsersToChangePassword)?
pub fn change_allowed(doc: &DirectoryDoc) -> bool {
    doc.password_policy
        .as_ref()
        .is_some_and(|p| p.allow_users_to_change_password)
}

fn no_profile(user: &str) -> IamError {
    IamError::NoSuchEntity(format!("Login Profile for User {user} cannot be found."))
}

fn violation(why: String) -> IamError {
    IamError::PasswordPolicyViolation(why)
}

fn profile_node(user: &str, p: &RawLoginProfile) -> Node {
    Node::Struct(vec![
        ("UserName", Node::text(user)),
        ("CreateDate", entity::created(&p.created)),
        (
            "PasswordResetRequired",
            Node::bool(p.password_reset_required),
        ),
    ])
}

/// `Password` / `NewPassword`: present, and what IAM's model allows (1..=128 characters).
fn password<'a>(input: &Input<'a>, param: &str, member: &str) -> Result<&'a str, IamError> {
    let v = input.required(param, member)?;
    if v.is_empty() || v.len() > crate::password::MAX_PASSWORD_BYTES {
        // The value is a password: never echoed.
        return Err(IamError::Validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length between 1 and {}",
            crate::password::MAX_PASSWORD_BYTES
        )));
    }
    Ok(v)
}

/// A new password for `user`: the policy's rules, not one of the passwords it remembers (nor the
/// current one), hashed. Returns the new profile fields to apply.
fn new_hash(
    doc: &DirectoryDoc,
    user: &str,
    current: Option<&RawLoginProfile>,
    new: &str,
    ctx: &Context<'_>,
) -> Result<String, IamError> {
    policy::check(doc.password_policy.as_ref(), user, new).map_err(violation)?;
    if let Some(p) = current {
        let remembered = doc
            .password_policy
            .as_ref()
            .map_or(0, PasswordPolicy::remembered);
        let earlier = std::iter::once(&p.password_hash).chain(p.previous_hashes.iter());
        // The current password, then earlier ones: the last `remembered` in all.
        for h in earlier.take(remembered.max(1)) {
            if ctx.passwords.verify(h, new) {
                return Err(violation(
                    "Password was used recently and cannot be used again.".into(),
                ));
            }
        }
    }
    ctx.passwords.hash(new)
}

/// Put `hash` in force as `user`'s password at `ctx.now`, keeping as many earlier ones as reuse
/// prevention needs: with PasswordReusePrevention N, a new password must differ from the last N
/// (the current one and N - 1 before it).
fn replace(p: &mut RawLoginProfile, hash: String, remembered: usize, ctx: &Context<'_>) {
    let old = std::mem::replace(&mut p.password_hash, hash);
    p.previous_hashes.insert(0, old);
    p.previous_hashes.truncate(remembered.saturating_sub(1));
    p.password_changed = Some(super::timestamp(ctx.now));
}

fn remembered(doc: &DirectoryDoc) -> usize {
    doc.password_policy
        .as_ref()
        .map_or(0, PasswordPolicy::remembered)
}

fn create(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = entity::user_name(input)?;
    let pw = password(input, "Password", "password")?;
    let reset =
        common::flag(input, "PasswordResetRequired", "passwordResetRequired")?.unwrap_or(false);
    let user = entity::user(doc, name)?;
    if user.login_profile.is_some() {
        return Err(IamError::EntityAlreadyExists(format!(
            "Login Profile for user {} already exists.",
            user.name
        )));
    }
    let canonical = user.name.clone();
    let hash = new_hash(doc, &canonical, None, pw, ctx)?;
    let now = super::timestamp(ctx.now);
    let profile = RawLoginProfile {
        password_hash: hash,
        password_reset_required: reset,
        created: Some(now.clone()),
        password_changed: Some(now),
        previous_hashes: Vec::new(),
    };
    let out = Output::empty().field("LoginProfile", profile_node(&canonical, &profile));
    entity::user_mut(doc, name)?.login_profile = Some(profile);
    Ok(out)
}

fn get_login_profile(
    input: &Input<'_>,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = entity::user_name_or_caller(input, ctx)?;
    let user = entity::user(doc, name)?;
    let p = user
        .login_profile
        .as_ref()
        .ok_or_else(|| no_profile(&user.name))?;
    Ok(Output::empty().field("LoginProfile", profile_node(&user.name, p)))
}

fn update(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = entity::user_name(input)?;
    let pw = match input.get("Password") {
        Some(_) => Some(password(input, "Password", "password")?),
        None => None,
    };
    let reset = common::flag(input, "PasswordResetRequired", "passwordResetRequired")?;
    let user = entity::user(doc, name)?;
    let current = user
        .login_profile
        .as_ref()
        .ok_or_else(|| no_profile(&user.name))?;
    let hash = match pw {
        Some(pw) => Some(new_hash(doc, &user.name, Some(current), pw, ctx)?),
        None => None,
    };
    let keep = remembered(doc);
    let p = entity::user_mut(doc, name)?
        .login_profile
        .as_mut()
        .ok_or_else(|| no_profile(name))?;
    if let Some(hash) = hash {
        replace(p, hash, keep, ctx);
    }
    if let Some(reset) = reset {
        p.password_reset_required = reset;
    }
    Ok(Output::empty())
}

fn delete(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let name = entity::user_name(input)?;
    let user = entity::user_mut(doc, name)?;
    if user.login_profile.take().is_none() {
        return Err(no_profile(name));
    }
    Ok(Output::empty())
}

fn change_password(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = ctx.caller_user.ok_or_else(|| {
        IamError::InvalidUserType("Only IAM users can change their own password.".into())
    })?;
    let old = password(input, "OldPassword", "oldPassword")?;
    let new = password(input, "NewPassword", "newPassword")?;
    change_own_password(doc, name, Some(old), new, ctx)?;
    Ok(Output::empty())
}

/// `user` changes their own password to `new` (ChangePassword, and the console's change at
/// sign-in, where `old` was verified already and is `None`): the old one must match, a hard
/// expired password cannot be changed this way, the new one must satisfy the policy and differ
/// from the remembered ones; the reset requirement is then lifted.
pub fn change_own_password(
    doc: &mut DirectoryDoc,
    user: &str,
    old: Option<&str>,
    new: &str,
    ctx: &Context<'_>,
) -> Result<(), IamError> {
    let u = entity::user(doc, user)?;
    let current = u
        .login_profile
        .as_ref()
        .ok_or_else(|| no_profile(&u.name))?;
    if let Some(old) = old {
        if !ctx.passwords.verify(&current.password_hash, old) {
            return Err(IamError::AccessDenied(
                "The old password is incorrect.".into(),
            ));
        }
    }
    if let Some(p) = &doc.password_policy {
        if p.hard_expiry && p.expired(current.set_at(), crate::clock::epoch(ctx.now)) {
            return Err(IamError::EntityTemporarilyUnmodifiable(
                "Your password has expired; an administrator must reset it.".into(),
            ));
        }
    }
    let hash = new_hash(doc, &u.name, Some(current), new, ctx)?;
    let keep = remembered(doc);
    let p = entity::user_mut(doc, user)?
        .login_profile
        .as_mut()
        .ok_or_else(|| no_profile(user))?;
    replace(p, hash, keep, ctx);
    p.password_reset_required = false;
    Ok(())
}

fn number(input: &Input<'_>, param: &str, member: &str) -> Result<Option<u32>, IamError> {
    match input.get(param) {
        None => Ok(None),
        Some(v) => v
            .parse::<u32>()
            .map(Some)
            .map_err(|_| invalid(v, member, "Member must be a number")),
    }
}

fn update_policy(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let flag = |param: &str, member: &str| -> Result<bool, IamError> {
        Ok(common::flag(input, param, member)?.unwrap_or(false))
    };
    // As IAM: every member not given takes its default (the call replaces the whole policy).
    let p = PasswordPolicy {
        minimum_password_length: number(input, "MinimumPasswordLength", "minimumPasswordLength")?
            .unwrap_or(policy::LENGTH_RANGE.0),
        require_symbols: flag("RequireSymbols", "requireSymbols")?,
        require_numbers: flag("RequireNumbers", "requireNumbers")?,
        require_uppercase_characters: flag(
            "RequireUppercaseCharacters",
            "requireUppercaseCharacters",
        )?,
        require_lowercase_characters: flag(
            "RequireLowercaseCharacters",
            "requireLowercaseCharacters",
        )?,
        allow_users_to_change_password: flag(
            "AllowUsersToChangePassword",
            "allowUsersToChangePassword",
        )?,
        max_password_age: number(input, "MaxPasswordAge", "maxPasswordAge")?,
        password_reuse_prevention: number(
            input,
            "PasswordReusePrevention",
            "passwordReusePrevention",
        )?,
        hard_expiry: flag("HardExpiry", "hardExpiry")?,
    };
    p.validate().map_err(IamError::Validation)?;
    doc.password_policy = Some(p);
    Ok(Output::empty())
}

fn no_policy(doc: &DirectoryDoc) -> IamError {
    IamError::NoSuchEntity(format!(
        "The Password Policy with domain name {} cannot be found.",
        doc.account_id
    ))
}

fn get_policy(doc: &DirectoryDoc) -> Result<Output, IamError> {
    let p = doc.password_policy.as_ref().ok_or_else(|| no_policy(doc))?;
    let mut fields = vec![
        (
            "MinimumPasswordLength",
            Node::text(p.minimum_password_length.to_string()),
        ),
        ("RequireSymbols", Node::bool(p.require_symbols)),
        ("RequireNumbers", Node::bool(p.require_numbers)),
        (
            "RequireUppercaseCharacters",
            Node::bool(p.require_uppercase_characters),
        ),
        (
            "RequireLowercaseCharacters",
            Node::bool(p.require_lowercase_characters),
        ),
        (
            "AllowUsersToChangePassword",
            Node::bool(p.allow_users_to_change_password),
        ),
        ("ExpirePasswords", Node::bool(p.max_password_age.is_some())),
    ];
    if let Some(d) = p.max_password_age {
        fields.push(("MaxPasswordAge", Node::text(d.to_string())));
    }
    if let Some(n) = p.password_reuse_prevention {
        fields.push(("PasswordReusePrevention", Node::text(n.to_string())));
    }
    if p.max_password_age.is_some() {
        fields.push(("HardExpiry", Node::bool(p.hard_expiry)));
    }
    Ok(Output::empty().field("PasswordPolicy", Node::Struct(fields)))
}

fn delete_policy(doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    if doc.password_policy.take().is_none() {
        return Err(no_policy(doc));
    }
    Ok(Output::empty())
}
