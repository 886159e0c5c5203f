//! Listing the sessions of a scope a page at a time: the order (expiry, then access key id), where
//! a page ends, and how large one may be. Both backends list in this order, so a position taken
//! from one page is where the next starts, whatever was issued, revoked or expired in between.

use crate::credentials::AccessKeyId;
use crate::session::Session;
use crate::SessionError;

/// The most sessions one page may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;

/// Where a listing stands: just after the session expiring at `expires_at` with `access_key_id`.
/// Sessions are listed by expiry, then by access key id (byte order, as Redis orders the members
/// of a sorted set with equal scores).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListPosition {
    /// The expiry of the last session the previous page covered (seconds since the epoch).
    pub expires_at: u64,
    /// Its access key id.
    pub access_key_id: AccessKeyId,
}

impl ListPosition {
    /// The position of `session`.
    pub fn of(session: &Session) -> Self {
        Self {
            expires_at: session.expires_at,
            access_key_id: session.access_key_id.clone(),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPage {
    /// The live sessions of the page, in listing order.
    pub sessions: Vec<Session>,
    /// Where the next page starts; `None` when the listing is complete.
    pub next: Option<ListPosition>,
}

/// A page size must be 1..=[`MAX_PAGE_SIZE`].
pub(crate) fn check_page_size(max: usize) -> Result<(), SessionError> {
    if (1..=MAX_PAGE_SIZE).contains(&max) {
        Ok(())
    } else {
        Err(SessionError::Invalid("page size (1 to 1000)"))
    }
}

/// The first page of at most `max` of `sessions` (all listable) after `after`.
pub(crate) fn page_of<'a>(
    sessions: impl Iterator<Item = &'a Session>,
    after: Option<&ListPosition>,
    max: usize,
) -> SessionPage {
    let mut found: Vec<(ListPosition, &Session)> = sessions
        .map(|s| (ListPosition::of(s), s))
        .filter(|(p, _)| after.is_none_or(|a| p > a))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let next = (found.len() > max)
        .then(|| found.get(max - 1).map(|(p, _)| p.clone()))
        .flatten();
    SessionPage {
        sessions: found
            .into_iter()
            .take(max)
            .map(|(_, s)| s.clone())
            .collect(),
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes() {
        assert!(check_page_size(1).is_ok());
        assert!(check_page_size(MAX_PAGE_SIZE).is_ok());
        assert!(check_page_size(0).is_err());
        assert!(check_page_size(MAX_PAGE_SIZE + 1).is_err());
    }

    #[test]
    fn positions_order_by_expiry_then_id() {
        let id = |s: &str| AccessKeyId::parse(s).unwrap();
        let a = ListPosition {
            expires_at: 10,
            access_key_id: id("ASIAZZZZZZZZZZZZZZZZ"),
        };
        let b = ListPosition {
            expires_at: 11,
            access_key_id: id("ASIAAAAAAAAAAAAAAAAA"),
        };
        let c = ListPosition {
            expires_at: 11,
            access_key_id: id("ASIAAAAAAAAAAAAAAAAB"),
        };
        assert!(a < b && b < c);
    }
}
