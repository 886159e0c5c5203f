//! What the roles, policies and managed families share: finding a role, user, group or managed
//! policy (by name, case-insensitively, or by ARN) with IAM's `NoSuchEntity` messages, their
//! ARNs and creation dates, and the parameters several of their calls take (policy ARNs, path
//! prefixes, descriptions).

use super::common::{self, invalid};
use super::{IamError, Input};
use crate::directory::{DirectoryDoc, RawGroup, RawManagedPolicy, RawRole, RawUser};

/// What an entity created outside the IAM API (a hand-written directory) answers as its
/// creation date: a stable value.
pub(super) const EPOCH: &str = "1970-01-01T00:00:00Z";

/// An entity's creation date as answers write it.
pub(super) fn created(at: &Option<String>) -> &str {
    at.as_deref().unwrap_or(EPOCH)
}

/// The role named `name` (case-insensitively).
pub(super) fn role_index(doc: &DirectoryDoc, name: &str) -> Result<usize, IamError> {
    doc.roles
        .iter()
        .position(|r| common::same_name(&r.name, name))
        .ok_or_else(|| {
            IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
        })
}

/// The user named `name` (case-insensitively).
pub(super) fn user_index(doc: &DirectoryDoc, name: &str) -> Result<usize, IamError> {
    doc.users
        .iter()
        .position(|u| common::same_name(&u.name, name))
        .ok_or_else(|| {
            IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
        })
}

/// The group named `name` (case-insensitively).
pub(super) fn group_index(doc: &DirectoryDoc, name: &str) -> Result<usize, IamError> {
    doc.groups
        .iter()
        .position(|g| common::same_name(&g.name, name))
        .ok_or_else(|| {
            IamError::NoSuchEntity(format!("The group with name {name} cannot be found."))
        })
}

/// A role's ARN.
pub(super) fn role_arn(doc: &DirectoryDoc, r: &RawRole) -> String {
    common::arn(doc, "role", &r.path, &r.name)
}

/// A user's ARN.
pub(super) fn user_arn(doc: &DirectoryDoc, u: &RawUser) -> String {
    common::arn(doc, "user", &u.path, &u.name)
}

/// A group's ARN.
pub(super) fn group_arn(doc: &DirectoryDoc, g: &RawGroup) -> String {
    common::arn(doc, "group", &g.path, &g.name)
}

/// A managed policy's ARN.
pub(super) fn policy_arn(doc: &DirectoryDoc, m: &RawManagedPolicy) -> String {
    common::arn(doc, "policy", &m.path, &m.name)
}

/// The ARN a call on an entity is authorized on: the entity's when it exists (its stored path
/// and name), else the requested name under `/`.
pub(super) fn entity_resource(doc: &DirectoryDoc, kind: &str, name: &str) -> String {
    let found = match kind {
        "role" => role_index(doc, name)
            .ok()
            .and_then(|i| doc.roles.get(i))
            .map(|r| role_arn(doc, r)),
        "user" => user_index(doc, name)
            .ok()
            .and_then(|i| doc.users.get(i))
            .map(|u| user_arn(doc, u)),
        "group" => group_index(doc, name)
            .ok()
            .and_then(|i| doc.groups.get(i))
            .map(|g| group_arn(doc, g)),
        _ => None,
    };
    found.unwrap_or_else(|| common::arn(doc, kind, "/", name))
}

/// The managed policy whose ARN is `arn`.
pub(super) fn policy_index(doc: &DirectoryDoc, arn: &str) -> Option<usize> {
    doc.managed_policies
        .iter()
        .position(|m| policy_arn(doc, m) == arn)
}

/// IAM's answer for a policy ARN that names no managed policy.
pub(super) fn no_policy(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

/// The managed policy whose ARN is `arn`, or IAM's `NoSuchEntity`.
pub(super) fn existing_policy(doc: &DirectoryDoc, arn: &str) -> Result<usize, IamError> {
    policy_index(doc, arn).ok_or_else(|| no_policy(arn))
}

/// An ARN parameter (`PolicyArn`, `PermissionsBoundary`): 20..2048 characters, `arn:...`.
pub(super) fn arn_param<'a>(
    input: &Input<'a>,
    param: &str,
    member: &str,
) -> Result<&'a str, IamError> {
    let v = input.required(param, member)?;
    if v.len() < 20 || v.len() > 2048 {
        return Err(invalid(
            v,
            member,
            "Member must have length greater than or equal to 20 and less than or equal to 2048",
        ));
    }
    if !v.starts_with("arn:") || v.split(':').count() < 6 {
        return Err(IamError::InvalidInput(format!("ARN {v} is not valid.")));
    }
    Ok(v)
}

/// `PathPrefix` (default `/`): starts with `/`, at most 512 printable ASCII characters.
pub(crate) fn path_prefix<'a>(input: &Input<'a>) -> Result<&'a str, IamError> {
    let v = input.get("PathPrefix").unwrap_or("/");
    let ok = v.starts_with('/')
        && v.len() <= 512
        && v.chars().all(|c| ('\u{21}'..='\u{7f}').contains(&c));
    if ok {
        Ok(v)
    } else {
        Err(invalid(
            v,
            "pathPrefix",
            "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
        ))
    }
}

/// A description parameter: at most 1000 characters of tab, newline, carriage return,
/// printable ASCII and Latin-1.
pub(super) fn description<'a>(
    input: &Input<'a>,
    param: &str,
    member: &str,
) -> Result<Option<&'a str>, IamError> {
    let Some(v) = input.get(param) else {
        return Ok(None);
    };
    if v.chars().count() > 1000 {
        return Err(invalid(
            v,
            member,
            "Member must have length less than or equal to 1000",
        ));
    }
    let ok = v.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r')
            || (' '..='~').contains(&c)
            || ('\u{a1}'..='\u{ff}').contains(&c)
    });
    if !ok {
        return Err(invalid(
            v,
            member,
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*",
        ));
    }
    Ok(Some(v))
}
