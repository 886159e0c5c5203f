//! Bounded strings for the audit record: anything a client can send is written up to a length,
//! then cut on a character boundary with a marker giving its length. Written straight into the
//! line (serde's `collect_str`): no copy, even when cut.

use serde::{Serialize, Serializer};

/// The most of one field that is written: IAM's longest ARN (2,048 characters) fits.
pub(crate) const MAX_FIELD_BYTES: usize = 2048;

/// The most of one item of a list (a tag key or value, a policy ARN, a transitive tag key):
/// AWS's tag values are at most 256 characters.
pub(crate) const MAX_ITEM_BYTES: usize = 256;

/// The most items of a list that are written (AWS's own maxima: 50 session tags, 10 policy
/// ARNs); a longer list ends with a marker item giving its length.
pub(crate) const MAX_ITEMS: usize = 50;

/// `value`, written up to `max` bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounded<'a> {
    value: &'a str,
    max: usize,
}

/// A field: at most [`MAX_FIELD_BYTES`].
pub(crate) fn field(value: &str) -> Bounded<'_> {
    Bounded {
        value,
        max: MAX_FIELD_BYTES,
    }
}

/// A list item: at most [`MAX_ITEM_BYTES`].
pub(crate) fn item(value: &str) -> Bounded<'_> {
    Bounded {
        value,
        max: MAX_ITEM_BYTES,
    }
}

/// The first `max` bytes of `value` (fewer, to end on a character boundary) and a marker.
struct Cut<'a> {
    kept: &'a str,
    len: usize,
}

impl std::fmt::Display for Cut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}...[truncated: {} bytes]", self.kept, self.len)
    }
}

impl Serialize for Bounded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.value;
        if v.len() <= self.max {
            return s.serialize_str(v);
        }
        let mut end = self.max;
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        s.collect_str(&Cut {
            kept: v.get(..end).unwrap_or_default(),
            len: v.len(),
        })
    }
}

/// The marker item that ends a list cut at [`MAX_ITEMS`].
pub(crate) struct MoreItems(pub usize);

impl Serialize for MoreItems {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("...[truncated: {} items]", self.0))
    }
}

/// Any `Display` value written as a JSON string without an intermediate `String` (an IP
/// address, a UUID, a time).
pub(crate) struct Shown<T>(pub T);

impl<T: std::fmt::Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }

    #[test]
    fn cut_on_a_character_boundary_with_the_length() {
        assert_eq!(json(&field("short")), "\"short\"");
        let s = "é".repeat(200);
        let out = json(&item(&s));
        assert!(out.ends_with("...[truncated: 400 bytes]\""), "{out}");
        assert!(out.len() < MAX_ITEM_BYTES + 40);
        assert_eq!(json(&MoreItems(60)), "\"...[truncated: 60 items]\"");
    }
}
