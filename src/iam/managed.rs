//! The managed policies calls: CreatePolicy, GetPolicy, DeletePolicy, ListPolicies, and their
//! versions (CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions,
//! SetDefaultPolicyVersion, DeletePolicyVersion). Only customer-managed policies exist here:
//! AWS-managed ones (`arn:aws:iam::aws:policy/...`) are no policy of the directory.
//!
//! The directory keeps a policy's default version as its `document` and the others in
//! `other_versions`; a policy's versions have no creation dates of their own, they answer the
//! policy's.

use idbroker_policy::PolicyKind;

use super::common::{self, invalid};
use super::entities::{self, created, existing_policy, policy_arn};
use super::{Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;
use crate::directory::RawManagedPolicy;

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "CreatePolicy",
        effect: Effect::Write,
    },
    Call {
        action: "GetPolicy",
        effect: Effect::Read,
    },
    Call {
        action: "DeletePolicy",
        effect: Effect::Write,
    },
    Call {
        action: "ListPolicies",
        effect: Effect::Read,
    },
    Call {
        action: "CreatePolicyVersion",
        effect: Effect::Write,
    },
    Call {
        action: "GetPolicyVersion",
        effect: Effect::Read,
    },
    Call {
        action: "ListPolicyVersions",
        effect: Effect::Read,
    },
    Call {
        action: "SetDefaultPolicyVersion",
        effect: Effect::Write,
    },
    Call {
        action: "DeletePolicyVersion",
        effect: Effect::Write,
    },
];

/// The largest managed policy document (characters, whitespace not counted).
const POLICY_SIZE: usize = 6144;
/// Versions a managed policy keeps at most.
const MAX_VERSIONS: usize = 5;

/// The resource a call of this family is authorized on (`None`: `*`).
pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<String> {
    match call.action {
        "ListPolicies" => None,
        "CreatePolicy" => Some(common::arn(
            doc,
            "policy",
            input.get("Path").unwrap_or("/"),
            input.get("PolicyName")?,
        )),
        _ => input.get("PolicyArn").map(str::to_owned),
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
        "GetPolicy" => get_policy(input, doc),
        "ListPolicies" => list_policies(input, doc),
        "GetPolicyVersion" => get_policy_version(input, doc),
        "ListPolicyVersions" => list_policy_versions(input, doc),
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
        "CreatePolicy" => create_policy(input, doc, ctx),
        "DeletePolicy" => delete_policy(input, doc),
        "CreatePolicyVersion" => create_policy_version(input, doc),
        "SetDefaultPolicyVersion" => set_default_policy_version(input, doc),
        "DeletePolicyVersion" => delete_policy_version(input, doc),
        _ => return None,
    })
}

/// How many roles, users and groups attach `arn`, and how many roles and users have it as
/// their permissions boundary.
fn usage(doc: &DirectoryDoc, arn: &str) -> (usize, usize) {
    let has = |list: &[String]| list.iter().any(|a| a == arn);
    let attached = doc.roles.iter().filter(|r| has(&r.policies)).count()
        + doc.users.iter().filter(|u| has(&u.policies)).count()
        + doc.groups.iter().filter(|g| has(&g.policies)).count();
    let is = |b: &Option<String>| b.as_deref() == Some(arn);
    let boundary = doc
        .roles
        .iter()
        .filter(|r| is(&r.permissions_boundary))
        .count()
        + doc
            .users
            .iter()
            .filter(|u| is(&u.permissions_boundary))
            .count();
    (attached, boundary)
}

/// Which answer a policy appears in: fields differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    /// CreatePolicy, GetPolicy: description and tags too.
    Full,
    /// ListPolicies: neither.
    Listed,
}

/// A `Policy` structure.
fn policy_node(doc: &DirectoryDoc, m: &RawManagedPolicy, view: View) -> Node {
    let arn = policy_arn(doc, m);
    let (attached, boundary) = usage(doc, &arn);
    let date = created(&m.created);
    let mut fields = vec![
        ("PolicyName", Node::text(&m.name)),
        ("PolicyId", Node::text(common::unique_id("ANPA", doc, &arn))),
        ("Arn", Node::text(&arn)),
        ("Path", Node::text(&m.path)),
        ("DefaultVersionId", Node::text(&m.default_version)),
        ("AttachmentCount", Node::text(attached.to_string())),
        (
            "PermissionsBoundaryUsageCount",
            Node::text(boundary.to_string()),
        ),
        ("IsAttachable", Node::bool(true)),
    ];
    if view == View::Full && !m.description.is_empty() {
        fields.push(("Description", Node::text(&m.description)));
    }
    fields.push(("CreateDate", Node::text(date)));
    fields.push(("UpdateDate", Node::text(date)));
    if view == View::Full && !m.tags.is_empty() {
        fields.push(("Tags", common::tags_node(&m.tags)));
    }
    Node::Struct(fields)
}

/// The policy named by `PolicyArn`, and its ARN.
fn find<'d>(
    input: &Input<'_>,
    doc: &'d DirectoryDoc,
) -> Result<(&'d RawManagedPolicy, usize), IamError> {
    let arn = entities::arn_param(input, "PolicyArn", "policyArn")?;
    let i = existing_policy(doc, arn)?;
    doc.managed_policies
        .get(i)
        .map(|m| (m, i))
        .ok_or_else(|| IamError::ServiceFailure("policy index out of range".into()))
}

/// The policy named by `PolicyArn`, to change.
fn find_mut<'d>(
    input: &Input<'_>,
    doc: &'d mut DirectoryDoc,
) -> Result<&'d mut RawManagedPolicy, IamError> {
    let (_, i) = find(input, doc)?;
    doc.managed_policies
        .get_mut(i)
        .ok_or_else(|| IamError::ServiceFailure("policy index out of range".into()))
}

fn create_policy(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = common::name(input, "PolicyName", "policyName", 128)?;
    let path = common::path(input, "Path", "path")?;
    let document = common::policy_document(
        input,
        "PolicyDocument",
        "policyDocument",
        PolicyKind::Identity,
        POLICY_SIZE,
    )?;
    let description = entities::description(input, "Description", "description")?;
    let mut tags = crate::directory::Tags::new();
    for (k, v) in common::tags(input)? {
        if tags.keys().any(|e| common::same_name(e, &k)) {
            return Err(IamError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
        tags.insert(k, v);
    }
    if doc
        .managed_policies
        .iter()
        .any(|m| common::same_name(&m.name, name))
    {
        return Err(IamError::EntityAlreadyExists(format!(
            "A policy called {name} already exists. Duplicate names are not allowed."
        )));
    }
    let policy = RawManagedPolicy {
        name: name.to_owned(),
        path,
        document: document.to_owned(),
        description: description.unwrap_or_default().to_owned(),
        default_version: "v1".into(),
        other_versions: Default::default(),
        created: Some(super::timestamp(ctx.now)),
        tags,
    };
    let node = policy_node(doc, &policy, View::Full);
    doc.managed_policies.push(policy);
    Ok(Output::empty().field("Policy", node))
}

fn get_policy(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let (m, _) = find(input, doc)?;
    Ok(Output::empty().field("Policy", policy_node(doc, m, View::Full)))
}

fn delete_policy(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let (m, i) = find(input, doc)?;
    let (attached, boundary) = usage(doc, &policy_arn(doc, m));
    if attached > 0 || boundary > 0 {
        return Err(IamError::DeleteConflict(
            "Cannot delete a policy attached to entities.".into(),
        ));
    }
    if !m.other_versions.is_empty() {
        return Err(IamError::DeleteConflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".into(),
        ));
    }
    doc.managed_policies.remove(i);
    Ok(Output::empty())
}

fn list_policies(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let scope = input.get("Scope").unwrap_or("All");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(invalid(
            scope,
            "scope",
            "Member must satisfy enum value set: [All, AWS, Local]",
        ));
    }
    let only_attached = common::flag(input, "OnlyAttached", "onlyAttached")?.unwrap_or(false);
    let prefix = entities::path_prefix(input)?;
    let usage_filter = input.get("PolicyUsageFilter");
    if let Some(f) = usage_filter {
        if !matches!(f, "PermissionsPolicy" | "PermissionsBoundary") {
            return Err(invalid(
                f,
                "policyUsageFilter",
                "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]",
            ));
        }
    }
    let mut policies: Vec<&RawManagedPolicy> = if scope == "AWS" {
        Vec::new()
    } else {
        doc.managed_policies
            .iter()
            .filter(|m| m.path.starts_with(prefix))
            .filter(|m| {
                let (attached, boundary) = usage(doc, &policy_arn(doc, m));
                // OnlyAttached: in use, as PolicyUsageFilter says (either way when absent).
                let used = match usage_filter {
                    Some("PermissionsPolicy") => attached > 0,
                    Some("PermissionsBoundary") => boundary > 0,
                    _ => attached > 0 || boundary > 0,
                };
                !only_attached || used
            })
            .collect()
    };
    policies.sort_by_key(|m| m.name.to_ascii_lowercase());
    let (page, next) = common::page(input, policies)?;
    let list = page
        .into_iter()
        .map(|m| policy_node(doc, m, View::Listed))
        .collect();
    Ok(common::page_fields(
        Output::empty().field("Policies", Node::List(list)),
        next,
    ))
}

/// A version id's number (`v3` -> 3).
fn version_number(id: &str) -> Option<u64> {
    id.strip_prefix('v')?.parse().ok()
}

/// `VersionId`: `v1`, `v2`, ...
fn version_id<'a>(input: &Input<'a>) -> Result<&'a str, IamError> {
    let v = input.required("VersionId", "versionId")?;
    let ok = v.strip_prefix('v').is_some_and(|n| {
        !n.starts_with('0') && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    });
    if ok {
        Ok(v)
    } else {
        Err(invalid(
            v,
            "versionId",
            "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?",
        ))
    }
}

/// IAM's answer for a version a policy does not have.
fn no_version(arn: &str, id: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "Policy {arn} version {id} does not exist or is not attachable."
    ))
}

/// A `PolicyVersion` structure (`document`: with the document).
fn version_node(m: &RawManagedPolicy, id: &str, document: Option<&str>) -> Node {
    let mut fields = Vec::new();
    if let Some(d) = document {
        fields.push(("Document", common::document_node(d)));
    }
    fields.push(("VersionId", Node::text(id)));
    fields.push(("IsDefaultVersion", Node::bool(id == m.default_version)));
    fields.push(("CreateDate", Node::text(created(&m.created))));
    Node::Struct(fields)
}

fn create_policy_version(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let document = common::policy_document(
        input,
        "PolicyDocument",
        "policyDocument",
        PolicyKind::Identity,
        POLICY_SIZE,
    )?;
    let set_default = common::flag(input, "SetAsDefault", "setAsDefault")?.unwrap_or(false);
    let m = find_mut(input, doc)?;
    if m.other_versions.len() + 1 >= MAX_VERSIONS {
        return Err(IamError::LimitExceeded(
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".into(),
        ));
    }
    let highest = std::iter::once(&m.default_version)
        .chain(m.other_versions.keys())
        .filter_map(|id| version_number(id))
        .max()
        .unwrap_or(0);
    let id = format!("v{}", highest.saturating_add(1));
    if set_default {
        let old_document = std::mem::replace(&mut m.document, document.to_owned());
        let old_id = std::mem::replace(&mut m.default_version, id.clone());
        m.other_versions.insert(old_id, old_document);
    } else {
        m.other_versions.insert(id.clone(), document.to_owned());
    }
    Ok(Output::empty().field("PolicyVersion", version_node(m, &id, None)))
}

fn get_policy_version(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let id = version_id(input)?;
    let (m, _) = find(input, doc)?;
    let document = if id == m.default_version {
        &m.document
    } else {
        m.other_versions
            .get(id)
            .ok_or_else(|| no_version(&policy_arn(doc, m), id))?
    };
    Ok(Output::empty().field("PolicyVersion", version_node(m, id, Some(document))))
}

fn list_policy_versions(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let (m, _) = find(input, doc)?;
    let mut ids: Vec<&String> = std::iter::once(&m.default_version)
        .chain(m.other_versions.keys())
        .collect();
    ids.sort_by_key(|id| std::cmp::Reverse(version_number(id)));
    let (page, next) = common::page(input, ids)?;
    let list = page
        .into_iter()
        .map(|id| version_node(m, id, None))
        .collect();
    Ok(common::page_fields(
        Output::empty().field("Versions", Node::List(list)),
        next,
    ))
}

fn set_default_policy_version(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
) -> Result<Output, IamError> {
    let id = version_id(input)?;
    let (m, _) = find(input, doc)?;
    let arn = policy_arn(doc, m);
    let m = find_mut(input, doc)?;
    if id == m.default_version {
        return Ok(Output::empty());
    }
    let document = m
        .other_versions
        .remove(id)
        .ok_or_else(|| no_version(&arn, id))?;
    let old_document = std::mem::replace(&mut m.document, document);
    let old_id = std::mem::replace(&mut m.default_version, id.to_owned());
    m.other_versions.insert(old_id, old_document);
    Ok(Output::empty())
}

fn delete_policy_version(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let id = version_id(input)?;
    let (m, _) = find(input, doc)?;
    let arn = policy_arn(doc, m);
    let m = find_mut(input, doc)?;
    if id == m.default_version {
        return Err(IamError::DeleteConflict(
            "Cannot delete the default version of a policy.".into(),
        ));
    }
    m.other_versions
        .remove(id)
        .map(|_| Output::empty())
        .ok_or_else(|| no_version(&arn, id))
}

#[cfg(test)]
mod tests;
