//! The policies of roles, users and groups: inline policies (Put/Get/Delete/List
//! {Role,User,Group}Policy/Policies), attached managed policies (Attach/Detach/ListAttached
//! {Role,User,Group}Policies) and permissions boundaries (Put/Delete{Role,User}
//! PermissionsBoundary). The managed policies themselves are the `managed` family's.

use std::collections::BTreeMap;

use idbroker_policy::PolicyKind;

use super::common;
use super::entities::{self, existing_policy, policy_arn};
use super::{Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "PutRolePolicy",
        effect: Effect::Write,
    },
    Call {
        action: "GetRolePolicy",
        effect: Effect::Read,
    },
    Call {
        action: "DeleteRolePolicy",
        effect: Effect::Write,
    },
    Call {
        action: "ListRolePolicies",
        effect: Effect::Read,
    },
    Call {
        action: "PutUserPolicy",
        effect: Effect::Write,
    },
    Call {
        action: "GetUserPolicy",
        effect: Effect::Read,
    },
    Call {
        action: "DeleteUserPolicy",
        effect: Effect::Write,
    },
    Call {
        action: "ListUserPolicies",
        effect: Effect::Read,
    },
    Call {
        action: "PutGroupPolicy",
        effect: Effect::Write,
    },
    Call {
        action: "GetGroupPolicy",
        effect: Effect::Read,
    },
    Call {
        action: "DeleteGroupPolicy",
        effect: Effect::Write,
    },
    Call {
        action: "ListGroupPolicies",
        effect: Effect::Read,
    },
    Call {
        action: "AttachRolePolicy",
        effect: Effect::Write,
    },
    Call {
        action: "DetachRolePolicy",
        effect: Effect::Write,
    },
    Call {
        action: "ListAttachedRolePolicies",
        effect: Effect::Read,
    },
    Call {
        action: "AttachUserPolicy",
        effect: Effect::Write,
    },
    Call {
        action: "DetachUserPolicy",
        effect: Effect::Write,
    },
    Call {
        action: "ListAttachedUserPolicies",
        effect: Effect::Read,
    },
    Call {
        action: "AttachGroupPolicy",
        effect: Effect::Write,
    },
    Call {
        action: "DetachGroupPolicy",
        effect: Effect::Write,
    },
    Call {
        action: "ListAttachedGroupPolicies",
        effect: Effect::Read,
    },
    Call {
        action: "PutRolePermissionsBoundary",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteRolePermissionsBoundary",
        effect: Effect::Write,
    },
    Call {
        action: "PutUserPermissionsBoundary",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteUserPermissionsBoundary",
        effect: Effect::Write,
    },
];

/// Managed policies an entity attaches at most.
const MAX_ATTACHED: usize = 10;

/// Whose policies a call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Role,
    User,
    Group,
}

impl Kind {
    /// `role`, as ARNs and messages write it.
    fn word(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::User => "user",
            Kind::Group => "group",
        }
    }

    /// The parameter naming the entity, also the answer's field.
    fn param(self) -> &'static str {
        match self {
            Kind::Role => "RoleName",
            Kind::User => "UserName",
            Kind::Group => "GroupName",
        }
    }

    fn member(self) -> &'static str {
        match self {
            Kind::Role => "roleName",
            Kind::User => "userName",
            Kind::Group => "groupName",
        }
    }

    fn max_name(self) -> usize {
        match self {
            Kind::Role => 64,
            Kind::User | Kind::Group => 128,
        }
    }

    /// IAM's quota on the inline policies of one entity, all together (characters,
    /// whitespace not counted).
    fn inline_quota(self) -> usize {
        match self {
            Kind::Role => 10240,
            Kind::User => 2048,
            Kind::Group => 5120,
        }
    }

    /// The quota of attached managed policies, as `LimitExceeded` names it.
    fn attached_quota(self) -> &'static str {
        match self {
            Kind::Role => "PoliciesPerRole",
            Kind::User => "PoliciesPerUser",
            Kind::Group => "PoliciesPerGroup",
        }
    }

    fn index(self, doc: &DirectoryDoc, name: &str) -> Result<usize, IamError> {
        match self {
            Kind::Role => entities::role_index(doc, name),
            Kind::User => entities::user_index(doc, name),
            Kind::Group => entities::group_index(doc, name),
        }
    }
}

/// What a call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    PutInline,
    GetInline,
    DeleteInline,
    ListInline,
    Attach,
    Detach,
    ListAttached,
    PutBoundary,
    DeleteBoundary,
}

/// The operation and the kind of entity of an action of this family.
fn op(action: &str) -> Option<(Op, Kind)> {
    let (kind, rest) = [
        ("Role", Kind::Role),
        ("User", Kind::User),
        ("Group", Kind::Group),
    ]
    .into_iter()
    .find_map(|(word, kind)| {
        action
            .contains(word)
            .then(|| (kind, action.replacen(word, "", 1)))
    })?;
    let op = match rest.as_str() {
        "PutPolicy" => Op::PutInline,
        "GetPolicy" => Op::GetInline,
        "DeletePolicy" => Op::DeleteInline,
        "ListPolicies" => Op::ListInline,
        "AttachPolicy" => Op::Attach,
        "DetachPolicy" => Op::Detach,
        "ListAttachedPolicies" => Op::ListAttached,
        "PutPermissionsBoundary" if kind != Kind::Group => Op::PutBoundary,
        "DeletePermissionsBoundary" if kind != Kind::Group => Op::DeleteBoundary,
        _ => return None,
    };
    Some((op, kind))
}

/// The resource a call of this family is authorized on: the role's, user's or group's ARN.
pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<String> {
    let (_, kind) = op(call.action)?;
    let name = input.get(kind.param())?;
    Some(entities::entity_resource(doc, kind.word(), name))
}

/// Run a reading call of this family (`None`: not one of its reading calls).
pub(super) fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    let (op, kind) = op(call.action)?;
    Some(match op {
        Op::GetInline => get_inline(kind, input, doc),
        Op::ListInline => list_inline(kind, input, doc),
        Op::ListAttached => list_attached(kind, input, doc),
        _ => return None,
    })
}

/// Run a writing call of this family on `doc` (`None`: not one of its writing calls).
pub(super) fn write(
    call: &Call,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    let (op, kind) = op(call.action)?;
    Some(match op {
        Op::PutInline => put_inline(kind, input, doc),
        Op::DeleteInline => delete_inline(kind, input, doc),
        Op::Attach => attach(kind, input, doc),
        Op::Detach => detach(kind, input, doc),
        Op::PutBoundary => put_boundary(kind, input, doc),
        Op::DeleteBoundary => delete_boundary(kind, input, doc),
        _ => return None,
    })
}

/// An entity's policies, to read.
struct Parts<'d> {
    name: &'d str,
    inline: &'d BTreeMap<String, String>,
    attached: &'d [String],
}

/// An entity's policies, to change (`boundary`: roles and users only).
struct PartsMut<'d> {
    inline: &'d mut BTreeMap<String, String>,
    attached: &'d mut Vec<String>,
    boundary: Option<&'d mut Option<String>>,
}

fn out_of_range() -> IamError {
    IamError::ServiceFailure("entity index out of range".into())
}

/// The entity the call's `RoleName`/`UserName`/`GroupName` names.
fn parts<'d>(kind: Kind, input: &Input<'_>, doc: &'d DirectoryDoc) -> Result<Parts<'d>, IamError> {
    let name = common::name(input, kind.param(), kind.member(), kind.max_name())?;
    let i = kind.index(doc, name)?;
    match kind {
        Kind::Role => doc.roles.get(i).map(|r| Parts {
            name: &r.name,
            inline: &r.inline_policies,
            attached: &r.policies,
        }),
        Kind::User => doc.users.get(i).map(|u| Parts {
            name: &u.name,
            inline: &u.inline_policies,
            attached: &u.policies,
        }),
        Kind::Group => doc.groups.get(i).map(|g| Parts {
            name: &g.name,
            inline: &g.inline_policies,
            attached: &g.policies,
        }),
    }
    .ok_or_else(out_of_range)
}

/// See [`parts`].
fn parts_mut<'d>(
    kind: Kind,
    input: &Input<'_>,
    doc: &'d mut DirectoryDoc,
) -> Result<PartsMut<'d>, IamError> {
    let name = common::name(input, kind.param(), kind.member(), kind.max_name())?;
    let i = kind.index(doc, name)?;
    match kind {
        Kind::Role => doc.roles.get_mut(i).map(|r| PartsMut {
            inline: &mut r.inline_policies,
            attached: &mut r.policies,
            boundary: Some(&mut r.permissions_boundary),
        }),
        Kind::User => doc.users.get_mut(i).map(|u| PartsMut {
            inline: &mut u.inline_policies,
            attached: &mut u.policies,
            boundary: Some(&mut u.permissions_boundary),
        }),
        Kind::Group => doc.groups.get_mut(i).map(|g| PartsMut {
            inline: &mut g.inline_policies,
            attached: &mut g.policies,
            boundary: None,
        }),
    }
    .ok_or_else(out_of_range)
}

fn policy_name<'a>(input: &Input<'a>) -> Result<&'a str, IamError> {
    common::name(input, "PolicyName", "policyName", 128)
}

/// The inline policy named `name` (case-insensitively): its stored name and document.
fn inline<'d>(kind: Kind, p: &Parts<'d>, name: &str) -> Result<(&'d String, &'d String), IamError> {
    p.inline
        .iter()
        .find(|(k, _)| common::same_name(k, name))
        .ok_or_else(|| {
            IamError::NoSuchEntity(format!(
                "The {} policy with name {name} cannot be found.",
                kind.word()
            ))
        })
}

fn put_inline(kind: Kind, input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let name = policy_name(input)?;
    let document = input.required("PolicyDocument", "policyDocument")?;
    let p = parts(kind, input, doc)?;
    let quota = kind.inline_quota();
    let others: usize = p
        .inline
        .iter()
        .filter(|(k, _)| !common::same_name(k, name))
        .map(|(_, d)| common::policy_size(d))
        .sum();
    if others.saturating_add(common::policy_size(document)) > quota {
        return Err(IamError::LimitExceeded(format!(
            "Maximum policy size of {quota} bytes exceeded for {} {}",
            kind.word(),
            p.name
        )));
    }
    common::check_policy(document, PolicyKind::Identity, quota)?;
    let p = parts_mut(kind, input, doc)?;
    p.inline.retain(|k, _| !common::same_name(k, name));
    p.inline.insert(name.to_owned(), document.to_owned());
    Ok(Output::empty())
}

fn get_inline(kind: Kind, input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let name = policy_name(input)?;
    let p = parts(kind, input, doc)?;
    let (stored, document) = inline(kind, &p, name)?;
    Ok(Output::empty()
        .field(kind.param(), Node::text(p.name))
        .field("PolicyName", Node::text(stored))
        .field("PolicyDocument", common::document_node(document)))
}

fn delete_inline(
    kind: Kind,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
) -> Result<Output, IamError> {
    let name = policy_name(input)?;
    let p = parts(kind, input, doc)?;
    let (stored, _) = inline(kind, &p, name)?;
    let stored = stored.clone();
    parts_mut(kind, input, doc)?.inline.remove(&stored);
    Ok(Output::empty())
}

fn list_inline(kind: Kind, input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let p = parts(kind, input, doc)?;
    let (page, next) = common::page(input, p.inline.keys().collect())?;
    let names = page.into_iter().map(Node::text).collect();
    Ok(common::page_fields(
        Output::empty().field("PolicyNames", Node::List(names)),
        next,
    ))
}

fn policy_arn_param<'a>(input: &Input<'a>) -> Result<&'a str, IamError> {
    entities::arn_param(input, "PolicyArn", "policyArn")
}

fn attach(kind: Kind, input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let arn = policy_arn_param(input)?;
    existing_policy(doc, arn)?;
    let p = parts_mut(kind, input, doc)?;
    if p.attached.iter().any(|a| a == arn) {
        return Ok(Output::empty());
    }
    if p.attached.len() >= MAX_ATTACHED {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for {}: {MAX_ATTACHED}",
            kind.attached_quota()
        )));
    }
    p.attached.push(arn.to_owned());
    Ok(Output::empty())
}

fn detach(kind: Kind, input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let arn = policy_arn_param(input)?;
    let p = parts_mut(kind, input, doc)?;
    let before = p.attached.len();
    p.attached.retain(|a| a != arn);
    if p.attached.len() == before {
        return Err(IamError::NoSuchEntity(format!(
            "Policy {arn} was not found."
        )));
    }
    Ok(Output::empty())
}

fn list_attached(kind: Kind, input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let prefix = entities::path_prefix(input)?;
    let p = parts(kind, input, doc)?;
    let attached: Vec<Node> = p
        .attached
        .iter()
        .filter_map(|arn| {
            let m = doc
                .managed_policies
                .get(entities::policy_index(doc, arn)?)?;
            m.path.starts_with(prefix).then(|| {
                Node::Struct(vec![
                    ("PolicyName", Node::text(&m.name)),
                    ("PolicyArn", Node::text(policy_arn(doc, m))),
                ])
            })
        })
        .collect();
    let (page, next) = common::page(input, attached)?;
    Ok(common::page_fields(
        Output::empty().field("AttachedPolicies", Node::List(page)),
        next,
    ))
}

fn put_boundary(kind: Kind, input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let arn = entities::arn_param(input, "PermissionsBoundary", "permissionsBoundary")?;
    existing_policy(doc, arn)?;
    if let Some(b) = parts_mut(kind, input, doc)?.boundary {
        *b = Some(arn.to_owned());
    }
    Ok(Output::empty())
}

fn delete_boundary(
    kind: Kind,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
) -> Result<Output, IamError> {
    if let Some(b) = parts_mut(kind, input, doc)?.boundary {
        *b = None;
    }
    Ok(Output::empty())
}

#[cfg(test)]
mod tests;
