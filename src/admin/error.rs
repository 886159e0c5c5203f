//! What can go wrong in an admin call. Only `http::error` turns these into responses.

use crate::sts::StsError;

/// What can go wrong revoking or listing sessions.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Validation, access denied, store unavailable: as for STS calls.
    #[error(transparent)]
    Sts(#[from] StsError),
    /// No live session has this access key id.
    #[error("No live session has the access key id {0}.")]
    NoSuchSession(String),
    /// The role is not in the directory.
    #[error("The role with ARN {0} cannot be found.")]
    NoSuchRole(String),
}
