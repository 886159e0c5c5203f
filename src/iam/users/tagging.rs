//! A user's tags: TagUser (add or replace), UntagUser, ListUserTags. Tag keys are unique
//! regardless of case, as IAM has them: tagging `Team` replaces `team`.

use super::entity;
use crate::directory::{DirectoryDoc, Tags};
use crate::iam::{common, IamError, Input, Output};

const MAX_TAGS: usize = 50;

/// The `Tags` of a request, no key twice (in any case).
pub(super) fn given(input: &Input<'_>) -> Result<Vec<(String, String)>, IamError> {
    let tags = common::tags(input)?;
    for (i, (k, _)) in tags.iter().enumerate() {
        if tags
            .iter()
            .skip(i.saturating_add(1))
            .any(|(other, _)| common::same_name(k, other))
        {
            return Err(IamError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
    }
    Ok(tags)
}

fn remove_key(tags: &mut Tags, key: &str) {
    tags.retain(|k, _| !common::same_name(k, key));
}

pub(super) fn tag_user(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let name = entity::user_name(input)?;
    let new = given(input)?;
    if new.is_empty() {
        input.required("Tags", "tags")?;
    }
    let user = entity::user_mut(doc, name)?;
    let mut tags = user.tags.clone();
    for (k, v) in new {
        remove_key(&mut tags, &k);
        tags.insert(k, v);
    }
    if tags.len() > MAX_TAGS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for TagsPerEntity: {MAX_TAGS}"
        )));
    }
    user.tags = tags;
    Ok(Output::empty())
}

pub(super) fn untag_user(input: &Input<'_>, doc: &mut DirectoryDoc) -> Result<Output, IamError> {
    let name = entity::user_name(input)?;
    let keys = input.members("TagKeys", None);
    if keys.is_empty() {
        input.required("TagKeys", "tagKeys")?;
    }
    if keys.len() > MAX_TAGS {
        return Err(common::invalid(
            "[...]",
            "tagKeys",
            "Member must have length less than or equal to 50",
        ));
    }
    let user = entity::user_mut(doc, name)?;
    for (_, k) in keys {
        remove_key(&mut user.tags, k);
    }
    Ok(Output::empty())
}

pub(super) fn list_user_tags(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let name = entity::user_name(input)?;
    let user = entity::user(doc, name)?;
    let (page, next) = common::page(input, user.tags.iter().collect())?;
    Ok(common::page_fields(
        Output::empty().field("Tags", common::tags_node(page)),
        next,
    ))
}
