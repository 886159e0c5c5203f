//! IAM's errors, with AWS's codes and statuses.

/// An IAM call refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    /// `NoSuchEntity` (404).
    #[error("{0}")]
    NoSuchEntity(String),
    /// `EntityAlreadyExists` (409).
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// `MalformedPolicyDocument` (400).
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// `LimitExceeded` (409).
    #[error("{0}")]
    LimitExceeded(String),
    /// `DeleteConflict` (409).
    #[error("{0}")]
    DeleteConflict(String),
    /// `ValidationError` (400).
    #[error("{0}")]
    Validation(String),
    /// `InvalidInput` (400).
    #[error("{0}")]
    InvalidInput(String),
    /// `MissingParameter` (400)... IAM answers ValidationError for a missing member; kept for
    /// `Action`/`Version` level problems.
    #[error("{0}")]
    MissingParameter(String),
    /// `InvalidAction` (400): not an IAM call idbroker has.
    #[error("{0}")]
    InvalidAction(String),
    /// `ConcurrentModification` (409): another change won; try again.
    #[error("{0}")]
    ConcurrentModification(String),
    /// `ReadOnlyDirectory`... AWS has no such code: the directory is a file (`serve` with a TOML
    /// directory); changes are made to the file. Answered as `UnmodifiableEntity` (400), IAM's
    /// code for an entity that cannot be changed.
    #[error("{0}")]
    ReadOnly(String),
    /// `InvalidAuthenticationCode` (403): MFA codes that the device did not show.
    #[error("{0}")]
    InvalidAuthenticationCode(String),
    /// `PasswordPolicyViolation` (400): a new password the account password policy refuses.
    #[error("{0}")]
    PasswordPolicyViolation(String),
    /// `InvalidUserType` (400): a call only an IAM user may make (ChangePassword).
    #[error("{0}")]
    InvalidUserType(String),
    /// `EntityTemporarilyUnmodifiable` (409): a password that expired under HardExpiry cannot be
    /// changed by its user.
    #[error("{0}")]
    EntityTemporarilyUnmodifiable(String),
    /// `AccessDenied` (403): the caller's policies do not allow it.
    #[error("{0}")]
    AccessDenied(String),
    /// `ServiceFailure` (500): the store failed; nothing was changed.
    #[error("{0}")]
    ServiceFailure(String),
}

impl IamError {
    /// AWS's error code.
    pub fn code(&self) -> &'static str {
        match self {
            IamError::NoSuchEntity(_) => "NoSuchEntity",
            IamError::EntityAlreadyExists(_) => "EntityAlreadyExists",
            IamError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            IamError::LimitExceeded(_) => "LimitExceeded",
            IamError::DeleteConflict(_) => "DeleteConflict",
            IamError::Validation(_) => "ValidationError",
            IamError::InvalidInput(_) => "InvalidInput",
            IamError::MissingParameter(_) => "MissingParameter",
            IamError::InvalidAction(_) => "InvalidAction",
            IamError::ConcurrentModification(_) => "ConcurrentModification",
            IamError::ReadOnly(_) => "UnmodifiableEntity",
            IamError::PasswordPolicyViolation(_) => "PasswordPolicyViolation",
            IamError::InvalidUserType(_) => "InvalidUserType",
            IamError::EntityTemporarilyUnmodifiable(_) => "EntityTemporarilyUnmodifiable",
            IamError::AccessDenied(_) => "AccessDenied",
            IamError::InvalidAuthenticationCode(_) => "InvalidAuthenticationCode",
            IamError::ServiceFailure(_) => "ServiceFailure",
        }
    }

    /// The HTTP status AWS answers it with.
    pub fn status(&self) -> u16 {
        match self {
            IamError::NoSuchEntity(_) => 404,
            IamError::EntityAlreadyExists(_)
            | IamError::LimitExceeded(_)
            | IamError::DeleteConflict(_)
            | IamError::ConcurrentModification(_)
            | IamError::EntityTemporarilyUnmodifiable(_) => 409,
            IamError::ServiceFailure(_) => 500,
            IamError::AccessDenied(_) | IamError::InvalidAuthenticationCode(_) => 403,
            _ => 400,
        }
    }

    /// The message.
    pub fn message(&self) -> String {
        self.to_string()
    }
}
