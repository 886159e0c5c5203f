//! GetAccountAuthorizationDetails: every user, group, role and managed policy with its
//! policies (`Filter.member.N`: `User`, `Role`, `Group`, `LocalManagedPolicy`,
//! `AWSManagedPolicy`; none given: all). The directory's managed policies are all the
//! account's own, so `AWSManagedPolicy` lists none.
//!
//! Paging: the entities form one list (users, then groups, roles, policies) that `MaxItems` and
//! `Marker` page through; each page answers the four lists with what falls in it.

use std::collections::BTreeMap;

use crate::directory::{DirectoryDoc, RawGroup, RawManagedPolicy, RawRole, RawUser};
use crate::iam::users::entity::{self, boundary_node, created};
use crate::iam::{common, IamError, Input, Node, Output};

const FILTERS: [&str; 5] = [
    "User",
    "Role",
    "Group",
    "LocalManagedPolicy",
    "AWSManagedPolicy",
];

/// Which list an entity goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    Users,
    Groups,
    Roles,
    Policies,
}

pub(super) fn get_account_authorization_details(
    input: &Input<'_>,
    doc: &DirectoryDoc,
) -> Result<Output, IamError> {
    let filter = input.members("Filter", None);
    for (_, f) in &filter {
        if !FILTERS.contains(f) {
            return Err(common::invalid(
                f,
                "filter",
                "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]",
            ));
        }
    }
    let wants = |kind: &str| filter.is_empty() || filter.iter().any(|(_, f)| *f == kind);
    let mut items: Vec<(List, Node)> = Vec::new();
    if wants("User") {
        items.extend(doc.users.iter().map(|u| (List::Users, user_detail(doc, u))));
    }
    if wants("Group") {
        items.extend(
            doc.groups
                .iter()
                .map(|g| (List::Groups, group_detail(doc, g))),
        );
    }
    if wants("Role") {
        items.extend(doc.roles.iter().map(|r| (List::Roles, role_detail(doc, r))));
    }
    if wants("LocalManagedPolicy") {
        items.extend(
            doc.managed_policies
                .iter()
                .map(|m| (List::Policies, policy_detail(doc, m))),
        );
    }
    let (page, next) = common::page(input, items)?;
    let mut lists: BTreeMap<&'static str, Vec<Node>> = BTreeMap::new();
    for (list, node) in page {
        let name = match list {
            List::Users => "UserDetailList",
            List::Groups => "GroupDetailList",
            List::Roles => "RoleDetailList",
            List::Policies => "Policies",
        };
        lists.entry(name).or_default().push(node);
    }
    let mut out = Output::empty();
    for name in [
        "UserDetailList",
        "GroupDetailList",
        "RoleDetailList",
        "Policies",
    ] {
        out = out.field(name, Node::List(lists.remove(name).unwrap_or_default()));
    }
    Ok(common::page_fields(out, next))
}

/// `PolicyDetail`s: inline policies, their documents URL-encoded.
fn inline_list(policies: &BTreeMap<String, String>) -> Node {
    Node::List(
        policies
            .iter()
            .map(|(name, document)| {
                Node::Struct(vec![
                    ("PolicyName", Node::text(name)),
                    ("PolicyDocument", common::document_node(document)),
                ])
            })
            .collect(),
    )
}

/// `AttachedPolicy`s: the managed policies' names and ARNs.
fn attached_list(doc: &DirectoryDoc, arns: &[String]) -> Node {
    Node::List(
        arns.iter()
            .map(|arn| {
                let name = doc
                    .managed_policies
                    .iter()
                    .find(|m| common::arn(doc, "policy", &m.path, &m.name) == *arn)
                    .map(|m| m.name.as_str())
                    .or_else(|| arn.rsplit('/').next())
                    .unwrap_or(arn);
                Node::Struct(vec![
                    ("PolicyName", Node::text(name)),
                    ("PolicyArn", Node::text(arn)),
                ])
            })
            .collect(),
    )
}

fn user_detail(doc: &DirectoryDoc, u: &RawUser) -> Node {
    let mut fields = entity::user_fields(doc, u);
    fields.push(("UserPolicyList", inline_list(&u.inline_policies)));
    fields.push((
        "GroupList",
        Node::List(u.groups.iter().map(Node::text).collect()),
    ));
    fields.push(("AttachedManagedPolicies", attached_list(doc, &u.policies)));
    if let Some(b) = &u.permissions_boundary {
        fields.push(("PermissionsBoundary", boundary_node(b)));
    }
    fields.push(("Tags", common::tags_node(&u.tags)));
    Node::Struct(fields)
}

fn group_detail(doc: &DirectoryDoc, g: &RawGroup) -> Node {
    let mut fields = entity::group_fields(doc, g);
    fields.push(("GroupPolicyList", inline_list(&g.inline_policies)));
    fields.push(("AttachedManagedPolicies", attached_list(doc, &g.policies)));
    Node::Struct(fields)
}

fn role_detail(doc: &DirectoryDoc, r: &RawRole) -> Node {
    let arn = common::arn(doc, "role", &r.path, &r.name);
    let mut fields = vec![
        ("Path", Node::text(&r.path)),
        ("RoleName", Node::text(&r.name)),
        ("RoleId", Node::text(common::unique_id("AROA", doc, &arn))),
        ("Arn", Node::text(arn)),
        ("CreateDate", created(&r.created)),
        (
            "AssumeRolePolicyDocument",
            common::document_node(&r.trust_policy),
        ),
        ("InstanceProfileList", Node::List(Vec::new())),
        ("RolePolicyList", inline_list(&r.inline_policies)),
        ("AttachedManagedPolicies", attached_list(doc, &r.policies)),
    ];
    if let Some(b) = &r.permissions_boundary {
        fields.push(("PermissionsBoundary", boundary_node(b)));
    }
    fields.push(("Tags", common::tags_node(&r.tags)));
    Node::Struct(fields)
}

/// `v12` -> 12 (unparsable ids sort first).
fn version_number(id: &str) -> u64 {
    id.strip_prefix('v')
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn policy_detail(doc: &DirectoryDoc, m: &RawManagedPolicy) -> Node {
    let arn = common::arn(doc, "policy", &m.path, &m.name);
    let attachments = doc
        .users
        .iter()
        .map(|u| &u.policies)
        .chain(doc.groups.iter().map(|g| &g.policies))
        .chain(doc.roles.iter().map(|r| &r.policies))
        .filter(|list| list.contains(&arn))
        .count();
    let boundaries = doc
        .users
        .iter()
        .map(|u| &u.permissions_boundary)
        .chain(doc.roles.iter().map(|r| &r.permissions_boundary))
        .filter(|b| b.as_deref() == Some(arn.as_str()))
        .count();
    // Newest first, as IAM lists versions.
    let mut versions: Vec<(&str, &str, bool)> =
        std::iter::once((m.default_version.as_str(), m.document.as_str(), true))
            .chain(
                m.other_versions
                    .iter()
                    .map(|(id, d)| (id.as_str(), d.as_str(), false)),
            )
            .collect();
    versions.sort_by_key(|(id, _, _)| std::cmp::Reverse(version_number(id)));
    let version_list = Node::List(
        versions
            .into_iter()
            .map(|(id, document, default)| {
                Node::Struct(vec![
                    ("Document", common::document_node(document)),
                    ("VersionId", Node::text(id)),
                    ("IsDefaultVersion", Node::bool(default)),
                    ("CreateDate", created(&m.created)),
                ])
            })
            .collect(),
    );
    let mut fields = vec![
        ("PolicyName", Node::text(&m.name)),
        ("PolicyId", Node::text(common::unique_id("ANPA", doc, &arn))),
        ("Arn", Node::text(arn)),
        ("Path", Node::text(&m.path)),
        ("DefaultVersionId", Node::text(&m.default_version)),
        ("AttachmentCount", Node::text(attachments.to_string())),
        (
            "PermissionsBoundaryUsageCount",
            Node::text(boundaries.to_string()),
        ),
        ("IsAttachable", Node::bool(true)),
    ];
    if !m.description.is_empty() {
        fields.push(("Description", Node::text(&m.description)));
    }
    fields.push(("CreateDate", created(&m.created)));
    fields.push(("UpdateDate", created(&m.created)));
    fields.push(("PolicyVersionList", version_list));
    Node::Struct(fields)
}
