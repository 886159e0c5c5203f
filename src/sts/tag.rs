//! A session tag: a file of its own, so that `caller` (which holds a session's tags) does not
//! import `constraints` (which checks them, and imports `mfa`, which imports `caller`).

/// A session tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Key (1..128 chars).
    pub key: String,
    /// Value (0..256 chars).
    pub value: String,
}
