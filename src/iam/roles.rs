//! The roles calls: CreateRole, GetRole, UpdateRole, UpdateRoleDescription, DeleteRole,
//! ListRoles, UpdateAssumeRolePolicy, TagRole, UntagRole, ListRoleTags. (A role's inline and
//! attached policies and its boundary are the `policies` family's.)

use idbroker_policy::PolicyKind;

use super::common::{self, invalid};
use super::entities::{self, created, role_arn, role_index};
use super::{Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;
use crate::directory::{RawRole, Tags};

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "CreateRole",
        effect: Effect::Write,
    },
    Call {
        action: "GetRole",
        effect: Effect::Read,
    },
    Call {
        action: "UpdateRole",
        effect: Effect::Write,
    },
    Call {
        action: "UpdateRoleDescription",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteRole",
        effect: Effect::Write,
    },
    Call {
        action: "ListRoles",
        effect: Effect::Read,
    },
    Call {
        action: "ListInstanceProfilesForRole",
        effect: Effect::Read,
    },
    Call {
        action: "UpdateAssumeRolePolicy",
        effect: Effect::Write,
    },
    Call {
        action: "TagRole",
        effect: Effect::Write,
    },
    Call {
        action: "UntagRole",
        effect: Effect::Write,
    },
    Call {
        action: "ListRoleTags",
        effect: Effect::Read,
    },
];

/// The longest trust policy (characters, whitespace not counted).
const TRUST_POLICY_SIZE: usize = 2048;

/// The resource a call of this family is authorized on (`None`: `*`).
pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<String> {
    let name = input.get("RoleName")?;
    match call.action {
        "ListRoles" => None,
        "CreateRole" => Some(common::arn(
            doc,
            "role",
            input.get("Path").unwrap_or("/"),
            name,
        )),
        _ => Some(entities::entity_resource(doc, "role", name)),
    }
}

/// Run a reading call of this family (`None`: not one of its reading calls).
pub(super) fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "GetRole" => get_role(input, doc),
        "ListRoles" => list_roles(input, doc),
        "ListRoleTags" => list_role_tags(input, doc),
        "ListInstanceProfilesForRole" => list_instance_profiles(input, doc),
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
        "CreateRole" => create_role(input, doc, ctx),
        "UpdateRole" => update_role(input, doc, false),
        "UpdateRoleDescription" => update_role(input, doc, true),
        "DeleteRole" => delete_role(input, doc),
        "UpdateAssumeRolePolicy" => update_assume_role_policy(input, doc),
        "TagRole" => tag_role(input, doc),
        "UntagRole" => untag_role(input, doc),
        _ => return None,
    })
}

/// Which answer a role appears in: fields differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// GetRole, UpdateRoleDescription: everything, `RoleLastUsed` included.
    Full,
    /// CreateRole: no `RoleLastUsed`.
    Created,
    /// ListRoles: no tags, boundary or `RoleLastUsed`.
    Listed,
}

/// A `Role` structure.
fn role_node(doc: &DirectoryDoc, r: &RawRole, view: View) -> Node {
    let arn = role_arn(doc, r);
    let mut fields = vec![
        ("Path", Node::text(&r.path)),
        ("RoleName", Node::text(&r.name)),
        ("RoleId", Node::text(common::unique_id("AROA", doc, &arn))),
        ("Arn", Node::text(&arn)),
        ("CreateDate", Node::text(created(&r.created))),
        (
            "AssumeRolePolicyDocument",
            common::document_node(&r.trust_policy),
        ),
    ];
    if !r.description.is_empty() {
        fields.push(("Description", Node::text(&r.description)));
    }
    fields.push((
        "MaxSessionDuration",
        Node::text(r.max_session_duration.to_string()),
    ));
    if view != View::Listed {
        if let Some(b) = &r.permissions_boundary {
            fields.push(("PermissionsBoundary", boundary_node(b)));
        }
        if !r.tags.is_empty() {
            fields.push(("Tags", common::tags_node(&r.tags)));
        }
    }
    if view == View::Full {
        fields.push(("RoleLastUsed", Node::Struct(Vec::new())));
    }
    Node::Struct(fields)
}

/// An `AttachedPermissionsBoundary` structure.
pub(super) fn boundary_node(arn: &str) -> Node {
    Node::Struct(vec![
        ("PermissionsBoundaryType", Node::text("PermissionsPolicy")),
        ("PermissionsBoundaryArn", Node::text(arn)),
    ])
}

fn role_name<'a>(input: &Input<'a>) -> Result<&'a str, IamError> {
    common::name(input, "RoleName", "roleName", 64)
}

/// `MaxSessionDuration`, if given: 3600..=43200 seconds.
fn max_session(input: &Input<'_>) -> Result<Option<u32>, IamError> {
    let Some(v) = input.get("MaxSessionDuration") else {
        return Ok(None);
    };
    match v.parse::<u32>() {
        Ok(n) if n < 3600 => Err(invalid(
            v,
            "maxSessionDuration",
            "Member must have value greater than or equal to 3600",
        )),
        Ok(n) if n > 43200 => Err(invalid(
            v,
            "maxSessionDuration",
            "Member must have value less than or equal to 43200",
        )),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(invalid(
            v,
            "maxSessionDuration",
            "Member must have value less than or equal to 43200",
        )),
    }
}

/// `Tags.member.N` as a map: keys are unique regardless of case.
fn tag_map(input: &Input<'_>) -> Result<Tags, IamError> {
    let mut out = Tags::new();
    for (k, v) in common::tags(input)? {
        if out.keys().any(|e| common::same_name(e, &k)) {
            return Err(IamError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
        out.insert(k, v);
    }
    Ok(out)
}

fn create_role(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = role_name(input)?;
    let path = common::path(input, "Path", "path")?;
    let trust = common::policy_document(
        input,
        "AssumeRolePolicyDocument",
        "assumeRolePolicyDocument",
        PolicyKind::Trust,
        TRUST_POLICY_SIZE,
    )?;
    let description = entities::description(input, "Description", "description")?;
    let max_session_duration = max_session(input)?.unwrap_or(3600);
    let boundary = match input.get("PermissionsBoundary") {
        Some(_) => {
            let arn = entities::arn_param(input, "PermissionsBoundary", "permissionsBoundary")?;
            entities::existing_policy(doc, arn)?;
            Some(arn.to_owned())
        }
        None => None,
    };
    let tags = tag_map(input)?;
    if role_index(doc, name).is_ok() {
        return Err(IamError::EntityAlreadyExists(format!(
            "Role with name {name} already exists."
        )));
    }
    let role = RawRole {
        name: name.to_owned(),
        path,
        description: description.unwrap_or_default().to_owned(),
        trust_policy: trust.to_owned(),
        policies: Vec::new(),
        inline_policies: Default::default(),
        permissions_boundary: boundary,
        max_session_duration,
        created: Some(super::timestamp(ctx.now)),
        tags,
    };
    let node = role_node(doc, &role, View::Created);
    doc.roles.push(role);
    Ok(Output::empty().field("Role", node))
}

/// The role named by `RoleName`.
fn find<'d>(input: &Input<'_>, doc: &'d DirectoryDoc) -> Result<&'d RawRole, IamError> {
    let i = role_index(doc, role_name(input)?)?;
    doc.roles
        .get(i)
        .ok_or_else(|| IamError::ServiceFailure("role index out of range".into()))
}

/// The role named by `RoleName`, to change.
fn find_mut<'d>(input: &Input<'_>, doc: &'d mut DirectoryDoc) -> Result<&'d mut RawRole, IamError> {
    let i = role_index(doc, role_name(input)?)?;
    doc.roles
        .get_mut(i)
        .ok_or_else(|| IamError::ServiceFailure("role index out of range".into()))
}

fn get_role(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let r = find(input, doc)?;
    Ok(Output::empty().field("Role", role_node(doc, r, View::Full)))
}

fn list_roles(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let prefix = entities::path_prefix(input)?;
    let mut roles: Vec<&RawRole> = doc
        .roles
        .iter()
        .filter(|r| r.path.starts_with(prefix))
        .collect();
    roles.sort_by_key(|r| r.name.to_ascii_lowercase());
    let (page, next) = common::page(input, roles)?;
    let list = page
        .into_iter()
        .map(|r| role_node(doc, r, View::Listed))
        .collect();
    Ok(common::page_fields(
        Output::empty().field("Roles", Node::List(list)),
        next,
    ))
}

/// UpdateRole (answers nothing) or UpdateRoleDescription (`Description` required; answers
/// the role).
fn update_role(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    description_call: bool,
) -> Result<Output, IamError> {
    let description = entities::description(input, "Description", "description")?;
    if description_call && description.is_none() {
        input.required("Description", "description")?;
    }
    let max = if description_call {
        None
    } else {
        max_session(input)?
    };
    let r = find_mut(input, doc)?;
    if let Some(d) = description {
        d.clone_into(&mut r.description);
    }
    if let Some(m) = max {
        r.max_session_duration = m;
    }
    if description_call {
        let r = find(input, doc)?;
        Ok(Output::empty().field("Role", role_node(doc, r, View::Full)))
    } else {
        Ok(Output::empty())
    }
}

fn delete_role(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let i = role_index(doc, role_name(input)?)?;
    let r = doc
        .roles
        .get(i)
        .ok_or_else(|| IamError::ServiceFailure("role index out of range".into()))?;
    if !r.policies.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must detach all policies first.".into(),
        ));
    }
    if !r.inline_policies.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must delete policies first.".into(),
        ));
    }
    doc.roles.remove(i);
    Ok(Output::empty())
}

fn update_assume_role_policy(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
) -> Result<Output, IamError> {
    let trust = common::policy_document(
        input,
        "PolicyDocument",
        "policyDocument",
        PolicyKind::Trust,
        TRUST_POLICY_SIZE,
    )?;
    let r = find_mut(input, doc)?;
    trust.clone_into(&mut r.trust_policy);
    Ok(Output::empty())
}

fn tag_role(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let tags = tag_map(input)?;
    if tags.is_empty() {
        input.required("Tags.member.1.Key", "tags")?;
    }
    let r = find_mut(input, doc)?;
    let mut merged = r.tags.clone();
    for (k, v) in tags {
        merged.retain(|e, _| !common::same_name(e, &k));
        merged.insert(k, v);
    }
    if merged.len() > 50 {
        return Err(IamError::LimitExceeded(
            "Cannot exceed quota for TagsPerRole: 50".into(),
        ));
    }
    r.tags = merged;
    Ok(Output::empty())
}

fn untag_role(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let keys = input.members("TagKeys", None);
    if keys.is_empty() {
        input.required("TagKeys.member.1", "tagKeys")?;
    }
    if keys.len() > 50 {
        return Err(invalid(
            "[...]",
            "tagKeys",
            "Member must have length less than or equal to 50",
        ));
    }
    let r = find_mut(input, doc)?;
    r.tags
        .retain(|k, _| !keys.iter().any(|(_, gone)| common::same_name(k, gone)));
    Ok(Output::empty())
}

fn list_role_tags(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let r = find(input, doc)?;
    let (page, next) = common::page(input, r.tags.iter().collect())?;
    Ok(common::page_fields(
        Output::empty().field("Tags", common::tags_node(page)),
        next,
    ))
}

/// ListInstanceProfilesForRole: idbroker has no instance profiles (there are no instances), so
/// an existing role has none; tools that clean up before DeleteRole (Terraform) ask.
fn list_instance_profiles(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    find(input, doc)?;
    Ok(common::page_fields(
        Output::empty().field("InstanceProfiles", Node::List(Vec::new())),
        None,
    ))
}

#[cfg(test)]
mod tests;
