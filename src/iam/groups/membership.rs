//! Who is in which group: AddUserToGroup (idempotent; at most 10 groups per user),
//! RemoveUserFromGroup (succeeds for a user that is not a member), ListGroupsForUser.

use super::is_member;
use crate::directory::{DirectoryDoc, RawGroup};
use crate::iam::users::entity::{self, group_name, user_name};
use crate::iam::{common, IamError, Input, Node, Output};

/// IAM's quota of groups per user.
const GROUPS_PER_USER: usize = 10;

pub(super) fn add_user_to_group(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
) -> Result<Output, IamError> {
    let group = group_name(input)?;
    let user = user_name(input)?;
    let group = entity::group(doc, group)?.name.clone();
    let user = entity::user_mut(doc, user)?;
    if is_member(user, &group) {
        return Ok(Output::empty());
    }
    if user.groups.len() >= GROUPS_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}"
        )));
    }
    user.groups.push(group);
    Ok(Output::empty())
}

pub(super) fn remove_user_from_group(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
) -> Result<Output, IamError> {
    let group = group_name(input)?;
    let user = user_name(input)?;
    let group = entity::group(doc, group)?.name.clone();
    let user = entity::user_mut(doc, user)?;
    user.groups.retain(|g| !common::same_name(g, &group));
    Ok(Output::empty())
}

pub(super) fn list_groups_for_user(
    input: &Input<'_>,
    doc: &DirectoryDoc,
) -> Result<Output, IamError> {
    let user = entity::user(doc, user_name(input)?)?;
    let groups: Vec<&RawGroup> = user
        .groups
        .iter()
        .filter_map(|name| entity::group(doc, name).ok())
        .collect();
    let (page, next) = common::page(input, groups)?;
    let list = Node::List(
        page.into_iter()
            .map(|g| entity::group_node(doc, g))
            .collect(),
    );
    Ok(common::page_fields(
        Output::empty().field("Groups", list),
        next,
    ))
}
