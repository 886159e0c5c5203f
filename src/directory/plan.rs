//! What applying one directory over another changes, entity by entity: the plan that
//! `idbroker directory diff` prints and `apply` carries out.

use std::collections::BTreeMap;

use super::raw::DirectoryDoc;

/// One entity's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Created.
    Add(String),
    /// Changed.
    Update(String),
    /// Deleted.
    Remove(String),
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Add(e) => write!(f, "+ {e}"),
            Change::Update(e) => write!(f, "~ {e}"),
            Change::Remove(e) => write!(f, "- {e}"),
        }
    }
}

fn entities(doc: &DirectoryDoc) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (i, a) in doc.all_accounts().enumerate() {
        // The first account's entities by path and name; the others' prefixed with their id.
        let at = if i == 0 {
            String::new()
        } else {
            format!("{}:", a.account_id)
        };
        let mut put = |kind: &str, name: String, v: Result<String, serde_json::Error>| {
            out.insert(
                format!("{kind} {at}{name}"),
                v.unwrap_or_else(|e| format!("unserializable: {e}")),
            );
        };
        for p in &a.managed_policies {
            put(
                "policy",
                format!("{}{}", p.path, p.name),
                serde_json::to_string(p),
            );
        }
        for g in &a.groups {
            put(
                "group",
                format!("{}{}", g.path, g.name),
                serde_json::to_string(g),
            );
        }
        for u in &a.users {
            put(
                "user",
                format!("{}{}", u.path, u.name),
                serde_json::to_string(u),
            );
        }
        for r in &a.roles {
            put(
                "role",
                format!("{}{}", r.path, r.name),
                serde_json::to_string(r),
            );
        }
        for d in &a.mfa_devices {
            put(
                "mfa",
                format!("{}{}", d.path, d.name),
                serde_json::to_string(d),
            );
        }
        out.insert(
            format!("account {}", a.account_id),
            format!("{:?} {}", a.account_alias, i == 0),
        );
    }
    out
}

/// The changes that make `from` into `to`, in a stable order (by kind, then path and name).
pub fn plan(from: &DirectoryDoc, to: &DirectoryDoc) -> Vec<Change> {
    let a = entities(from);
    let b = entities(to);
    let mut out = Vec::new();
    for (k, v) in &b {
        match a.get(k) {
            None => out.push(Change::Add(k.clone())),
            Some(old) if old != v => out.push(Change::Update(k.clone())),
            Some(_) => {}
        }
    }
    for k in a.keys() {
        if !b.contains_key(k) {
            out.push(Change::Remove(k.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::RawRole;

    fn role(name: &str, description: &str) -> RawRole {
        RawRole {
            name: name.into(),
            path: "/".into(),
            description: description.into(),
            trust_policy: "{}".into(),
            policies: vec![],
            inline_policies: Default::default(),
            permissions_boundary: None,
            max_session_duration: 3600,
            created: None,
            tags: Default::default(),
        }
    }

    #[test]
    fn adds_updates_and_removes() {
        let from = DirectoryDoc {
            account_id: "123456789012".into(),
            roles: vec![role("Kept", "a"), role("Changed", "a"), role("Gone", "a")],
            ..DirectoryDoc::default()
        };
        let to = DirectoryDoc {
            account_id: "123456789012".into(),
            roles: vec![role("Kept", "a"), role("Changed", "b"), role("New", "a")],
            ..DirectoryDoc::default()
        };
        let p = plan(&from, &to);
        assert_eq!(
            p,
            vec![
                Change::Update("role /Changed".into()),
                Change::Add("role /New".into()),
                Change::Remove("role /Gone".into()),
            ]
        );
        assert!(plan(&to, &to).is_empty());
        assert_eq!(p[0].to_string(), "~ role /Changed");
    }
}
