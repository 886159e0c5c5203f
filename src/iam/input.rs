//! A call's Query parameters (`Name=value`, lists as `Name.member.N`, structures in lists as
//! `Name.member.N.Field`).

use super::IamError;

/// The parameters of one call, sorted by name (as `crate::http::query::Params` keeps them).
#[derive(Debug, Clone, Copy)]
pub struct Input<'a>(&'a [(String, String)]);

impl<'a> Input<'a> {
    /// Over `pairs`, sorted by name, one per name.
    pub fn new(pairs: &'a [(String, String)]) -> Self {
        Input(pairs)
    }

    /// A parameter, if present.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, v)| v.as_str())
    }

    /// A required parameter: IAM's `ValidationError` names the member when it is absent
    /// (`member` is its camelCase name, as AWS's message writes it).
    pub fn required(&self, name: &str, member: &str) -> Result<&'a str, IamError> {
        self.get(name).ok_or_else(|| {
            IamError::Validation(format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ))
        })
    }

    /// `Name.member.1`, `Name.member.2`, ... (or `Name.member.N.field`), in index order.
    pub fn members(&self, name: &str, field: Option<&str>) -> Vec<(usize, &'a str)> {
        let prefix = format!("{name}.member.");
        let mut out: Vec<(usize, &'a str)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(&prefix)?;
                let (index, tail) = match rest.split_once('.') {
                    Some((i, t)) => (i, Some(t)),
                    None => (rest, None),
                };
                if tail != field {
                    return None;
                }
                Some((index.parse::<usize>().ok()?, v.as_str()))
            })
            .collect();
        out.sort_by_key(|(i, _)| *i);
        out
    }

    /// Every parameter (for the audit record; the caller removes secrets).
    pub fn pairs(&self) -> &'a [(String, String)] {
        self.0
    }
}
