//! `requestParameters` of an STS call (and `/workload/credentials`), read from the request's
//! parameters by a list of names: only the parameters named here are ever written, so a
//! SAMLAssertion, a WebIdentityToken or an MFA TokenCode cannot reach the record.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use super::bounded::{field, item, MoreItems, MAX_ITEMS};
use crate::http::query::Params;

/// The scalar parameters written, by the name CloudTrail gives them. Never a secret: the
/// assertion, the token and the MFA code are not in this list.
const SCALARS: [(&str, &str); 9] = [
    ("RoleArn", "roleArn"),
    ("RoleSessionName", "roleSessionName"),
    ("PrincipalArn", "principalArn"),
    ("ProviderId", "providerId"),
    ("ExternalId", "externalId"),
    ("SourceIdentity", "sourceIdentity"),
    ("SerialNumber", "serialNumber"),
    ("Policy", "policy"),
    ("DurationSeconds", "durationSeconds"),
];

/// The parameters of a Query-protocol call, as `requestParameters`.
pub(crate) struct QueryParameters<'a>(pub &'a Params);

impl<'a> QueryParameters<'a> {
    /// The action, when it is not one idbroker knows (a known one is the record's eventName).
    fn unknown_action(&self) -> Option<&'a str> {
        self.0
            .get("Action")
            .filter(|a| crate::metrics::action_label(Some(a)) == "Other")
    }

    /// Whether there is anything to write (otherwise `requestParameters` is `null`).
    pub(crate) fn any(&self) -> bool {
        self.unknown_action().is_some()
            || SCALARS.iter().any(|(name, _)| self.0.get(name).is_some())
            || [
                "PolicyArns.member.",
                "Tags.member.",
                "TransitiveTagKeys.member.",
            ]
            .iter()
            .any(|p| !self.0.starting_with(p).is_empty())
    }
}

impl Serialize for QueryParameters<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        if let Some(a) = self.unknown_action() {
            m.serialize_entry("action", &field(a))?;
        }
        for (name, key) in SCALARS {
            let Some(v) = p.get(name) else { continue };
            match (name, v.parse::<u32>()) {
                ("DurationSeconds", Ok(n)) => m.serialize_entry(key, &n)?,
                _ => m.serialize_entry(key, &field(v))?,
            }
        }
        let arns = p.starting_with("PolicyArns.member.");
        if !arns.is_empty() {
            m.serialize_entry("policyArns", &PolicyArns(arns))?;
        }
        let tags = p.starting_with("Tags.member.");
        if !tags.is_empty() {
            m.serialize_entry("tags", &Tags(tags))?;
        }
        let keys = p.starting_with("TransitiveTagKeys.member.");
        if !keys.is_empty() {
            m.serialize_entry("transitiveTagKeys", &Values(keys))?;
        }
        m.end()
    }
}

/// A list cut at [`MAX_ITEMS`], with the marker.
fn seq<'a, S: Serializer, T: Serialize + 'a>(
    s: S,
    items: impl Iterator<Item = T>,
) -> Result<S::Ok, S::Error> {
    let mut q = s.serialize_seq(None)?;
    let mut n = 0usize;
    for it in items {
        if n < MAX_ITEMS {
            q.serialize_element(&it)?;
        }
        n += 1;
    }
    if n > MAX_ITEMS {
        q.serialize_element(&MoreItems(n))?;
    }
    q.end()
}

/// `PolicyArns.member.N.arn` -> `[{"arn": ...}]`.
struct PolicyArns<'a>(&'a [(String, String)]);

struct Arn<'a>(&'a str);

impl Serialize for Arn<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("arn", &item(self.0))?;
        m.end()
    }
}

impl Serialize for PolicyArns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        seq(
            s,
            self.0
                .iter()
                .filter(|(k, _)| k.ends_with(".arn"))
                .map(|(_, v)| Arn(v)),
        )
    }
}

/// `Tags.member.N.Key` / `.Value` -> `[{"key": ..., "value": ...}]`. The parameters are sorted
/// by name, so a member's `Key` is followed by its `Value`.
struct Tags<'a>(&'a [(String, String)]);

struct TagItem<'a>(&'a str, Option<&'a str>);

impl Serialize for TagItem<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("key", &item(self.0))?;
        if let Some(v) = self.1 {
            m.serialize_entry("value", &item(v))?;
        }
        m.end()
    }
}

impl Serialize for Tags<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let all = self.0;
        let items = all.iter().enumerate().filter_map(|(i, (k, v))| {
            let member = k.strip_suffix(".Key")?;
            let value = all
                .get(i + 1)
                .filter(|(nk, _)| nk.strip_suffix(".Value") == Some(member))
                .map(|(_, nv)| nv.as_str());
            Some(TagItem(v, value))
        });
        seq(s, items)
    }
}

/// `Name.member.N` -> `[...]`.
struct Values<'a>(&'a [(String, String)]);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        seq(s, self.0.iter().map(|(_, v)| item(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn named_parameters_only_and_lists_bounded() {
        let mut pairs = vec![
            ("Action", "AssumeRoleWithSAML"),
            ("RoleArn", "arn:aws:iam::123456789012:role/R"),
            ("DurationSeconds", "900"),
            ("SAMLAssertion", "PHNhbWw+c2VjcmV0"),
            ("WebIdentityToken", "eyJhbGciOi.secret.sig"),
            ("TokenCode", "493817"),
            ("PolicyArns.member.1.arn", "arn:aws:iam::aws:policy/P"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "blue"),
            ("Tags.member.2.Key", "lonely"),
            ("TransitiveTagKeys.member.1", "team"),
        ];
        let keys: Vec<String> = (0..80)
            .map(|i| format!("Tags.member.{}.Key", i + 10))
            .collect();
        pairs.extend(keys.iter().map(|k| (k.as_str(), "k")));
        let p = params(&pairs);
        let q = QueryParameters(&p);
        assert!(q.any());
        let v: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&q).unwrap_or_default())
                .unwrap_or_default();
        assert_eq!(v["roleArn"], "arn:aws:iam::123456789012:role/R");
        assert_eq!(v["durationSeconds"], 900);
        assert!(v.get("action").is_none());
        assert_eq!(v["policyArns"][0]["arn"], "arn:aws:iam::aws:policy/P");
        assert_eq!(
            v["tags"][0],
            serde_json::json!({"key": "team", "value": "blue"})
        );
        assert_eq!(v["transitiveTagKeys"][0], "team");
        let tags = v["tags"].as_array().cloned().unwrap_or_default();
        assert_eq!(tags.len(), MAX_ITEMS + 1);
        assert_eq!(tags[MAX_ITEMS], "...[truncated: 82 items]");
        let text = v.to_string();
        for secret in ["PHNhbWw+c2VjcmV0", "eyJhbGciOi.secret.sig", "493817"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(!QueryParameters(&params(&[("Version", "2011-06-15")])).any());
    }
}
