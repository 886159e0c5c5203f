//! What every family of IAM calls shares: names, paths, ARNs and ids, case-insensitive
//! lookups, policy documents (validation, size, how answers write them), tags, pagination.

use idbroker_policy::{Policy, PolicyKind};

use super::{IamError, Input, Node};
use crate::directory::DirectoryDoc;

/// `1 validation error detected: Value 'V' at 'member' failed to satisfy constraint: WHAT`
pub(crate) fn invalid(value: &str, member: &str, what: &str) -> IamError {
    IamError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {what}"
    ))
}

/// A boolean parameter (`true`/`false`), if given.
pub(crate) fn flag(input: &Input<'_>, param: &str, member: &str) -> Result<Option<bool>, IamError> {
    match input.get(param) {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(invalid(v, member, "Member must be a boolean")),
    }
}

/// An entity name (role, user, group, policy: 1..=`max` of `[\w+=,.@-]`).
pub(crate) fn name<'a>(
    input: &Input<'a>,
    param: &str,
    member: &str,
    max: usize,
) -> Result<&'a str, IamError> {
    let v = input.required(param, member)?;
    check_name(v, member, max)?;
    Ok(v)
}

/// See [`name`].
pub(crate) fn check_name(v: &str, member: &str, max: usize) -> Result<(), IamError> {
    if v.is_empty() || v.len() > max {
        return Err(invalid(
            v,
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    {
        return Err(invalid(
            v,
            member,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ));
    }
    Ok(())
}

/// An IAM path (`/` default; `/a/b/`, at most 512 characters).
pub(crate) fn path(input: &Input<'_>, param: &str, member: &str) -> Result<String, IamError> {
    let v = input.get(param).unwrap_or("/");
    let ok = v.starts_with('/')
        && v.ends_with('/')
        && v.len() <= 512
        && v.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(
            v,
            member,
            "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ))
    }
}

/// Same name, case-insensitively (IAM's names are unique regardless of case).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `arn:aws:iam::ACCOUNT:KIND PATH NAME`
pub(crate) fn arn(doc: &DirectoryDoc, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{}:{kind}{path}{name}", doc.account_id)
}

/// A stable unique id (`AROA`, `AIDA`, `AGPA`, `ANPA` + 16 characters), as the directory
/// derives it.
pub(crate) fn unique_id(prefix: &str, doc: &DirectoryDoc, arn: &str) -> String {
    crate::directory::unique_id(prefix, &doc.account_id, arn)
}

/// A policy document as answers carry it: URL-encoded, as IAM does (the AWS CLI and SDKs
/// decode it).
pub(crate) fn document_node(doc: &str) -> Node {
    Node::Text(
        form_urlencoded::byte_serialize(doc.as_bytes())
            .collect::<String>()
            .replace('+', "%20"),
    )
}

/// Characters of a policy document that count against IAM's size quotas (whitespace does not).
pub(crate) fn policy_size(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// A policy document parameter: present, within `max` characters (not counting whitespace),
/// valid for `kind` by IAM's rules (`MalformedPolicyDocument` says why not).
pub(crate) fn policy_document<'a>(
    input: &Input<'a>,
    param: &str,
    member: &str,
    kind: PolicyKind,
    max: usize,
) -> Result<&'a str, IamError> {
    let v = input.required(param, member)?;
    check_policy(v, kind, max)?;
    Ok(v)
}

/// See [`policy_document`].
pub(crate) fn check_policy(v: &str, kind: PolicyKind, max: usize) -> Result<(), IamError> {
    if v.len() > 131_072 {
        return Err(IamError::MalformedPolicyDocument(
            "The policy document is too large".into(),
        ));
    }
    if policy_size(v) > max {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PolicySize: {max}"
        )));
    }
    Policy::parse(v, kind)
        .map(|_| ())
        .map_err(|e| IamError::MalformedPolicyDocument(e.to_string()))
}

/// Tags given as `Tags.member.N.Key` / `.Value` (at most 50; keys 1..128, values 0..256).
pub(crate) fn tags(input: &Input<'_>) -> Result<Vec<(String, String)>, IamError> {
    let keys = input.members("Tags", Some("Key"));
    let values = input.members("Tags", Some("Value"));
    if keys.len() > 50 {
        return Err(IamError::LimitExceeded(
            "Cannot exceed quota for TagsPerEntity: 50".into(),
        ));
    }
    let mut out = Vec::with_capacity(keys.len());
    for (i, k) in keys {
        if k.is_empty() || k.len() > 128 {
            return Err(invalid(
                k,
                "tags.member.key",
                "Member must have length less than or equal to 128",
            ));
        }
        let v = values
            .iter()
            .find(|(j, _)| *j == i)
            .map(|(_, v)| *v)
            .unwrap_or_default();
        if v.len() > 256 {
            return Err(invalid(
                v,
                "tags.member.value",
                "Member must have length less than or equal to 256",
            ));
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

/// Tags as answers list them (`<member><Key/><Value/></member>`).
pub(crate) fn tags_node<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Node {
    Node::List(
        tags.into_iter()
            .map(|(k, v)| Node::Struct(vec![("Key", Node::text(k)), ("Value", Node::text(v))]))
            .collect(),
    )
}

/// One page of `items` (`Marker`: the opaque position a previous page answered; `MaxItems`:
/// 1..1000, default 100): the page, and the marker of the next page when there is one.
pub(crate) fn page<T>(
    input: &Input<'_>,
    items: Vec<T>,
) -> Result<(Vec<T>, Option<String>), IamError> {
    let max = match input.get("MaxItems") {
        None => 100,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(invalid(
                    v,
                    "maxItems",
                    "Member must have value less than or equal to 1000",
                ))
            }
        },
    };
    let start = match input.get("Marker") {
        None => 0,
        Some(m) => m
            .strip_prefix("m")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| IamError::Validation("Invalid Marker".into()))?,
    };
    let total = items.len();
    let end = start.saturating_add(max).min(total);
    let next = (end < total).then(|| format!("m{end}"));
    let page = items.into_iter().skip(start).take(end - start).collect();
    Ok((page, next))
}

/// `IsTruncated` and `Marker` fields of a paged answer.
pub(crate) fn page_fields(out: super::Output, next: Option<String>) -> super::Output {
    let out = out.field("IsTruncated", Node::bool(next.is_some()));
    match next {
        Some(m) => out.field("Marker", Node::text(m)),
        None => out,
    }
}
