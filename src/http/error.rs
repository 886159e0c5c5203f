//! The one place where errors become STS error responses: code, HTTP status, `Sender` or
//! `Receiver`, and a message that says what was wrong with the request and nothing about
//! idbroker's insides.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::federation::saml::SamlError;
use crate::http::xml::escape;
use crate::sts::StsError;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    /// STS error code.
    pub code: &'static str,
    /// HTTP status.
    pub status: StatusCode,
    /// The message.
    pub message: String,
    /// Request id, set by the handler.
    pub request_id: String,
}

impl ApiError {
    /// An error with code, status and message.
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        ApiError {
            code,
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
            request_id: String::new(),
        }
    }

    /// Attach the request id.
    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = id.to_owned();
        self
    }

    fn kind(&self) -> &'static str {
        if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        }
    }

    /// The error as the JSON admin API writes it:
    /// `{"Error":{"Type":..,"Code":..,"Message":..},"RequestId":..}` (the XML document's shape).
    pub fn json(&self) -> String {
        serde_json::json!({
            "Error": {"Type": self.kind(), "Code": self.code, "Message": self.message},
            "RequestId": self.request_id,
        })
        .to_string()
    }

    /// The STS error document.
    pub fn xml(&self) -> String {
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            self.kind(),
            self.code,
            escape(&self.message),
            escape(&self.request_id)
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type("text/xml")
            .insert_header(("x-amzn-RequestId", self.request_id.clone()))
            .body(self.xml())
    }
}

/// An [`ApiError`] answered as JSON (the admin API).
#[derive(Debug)]
pub struct JsonError(pub ApiError);

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for JsonError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.0.status)
            .content_type("application/json")
            .insert_header(("x-amzn-RequestId", self.0.request_id.clone()))
            .body(self.0.json())
    }
}

impl From<crate::admin::AdminError> for ApiError {
    fn from(e: crate::admin::AdminError) -> Self {
        use crate::admin::AdminError;
        let msg = e.to_string();
        match e {
            AdminError::Sts(e) => e.into(),
            AdminError::NoSuchSession(_) | AdminError::NoSuchRole(_) => {
                ApiError::new("NoSuchEntity", 404, msg)
            }
        }
    }
}

impl From<crate::iam::IamError> for ApiError {
    fn from(e: crate::iam::IamError) -> Self {
        ApiError::new(e.code(), e.status(), e.message())
    }
}

impl From<StsError> for ApiError {
    fn from(e: StsError) -> Self {
        let msg = e.to_string();
        match e {
            StsError::MissingParameter(_) => ApiError::new("MissingParameter", 400, msg),
            StsError::Validation(_) => ApiError::new("ValidationError", 400, msg),
            StsError::InvalidParameterValue(_) => ApiError::new("InvalidParameterValue", 400, msg),
            StsError::AccessDenied(_) => ApiError::new("AccessDenied", 403, msg),
            StsError::MalformedPolicy(_) => ApiError::new("MalformedPolicyDocument", 400, msg),
            StsError::PackedPolicyTooLarge(_) => ApiError::new("PackedPolicyTooLarge", 400, msg),
            StsError::InvalidAction(_) => ApiError::new("InvalidAction", 400, msg),
            StsError::InvalidIdentityToken(_) => ApiError::new("InvalidIdentityToken", 400, msg),
            StsError::IdpRejectedClaim(_) => ApiError::new("IDPRejectedClaim", 403, msg),
            StsError::UnknownSamlProvider => {
                SamlError::Signature(crate::federation::saml::SIGNATURE_DOES_NOT_VERIFY).into()
            }
            StsError::Saml(e) => e.into(),
            StsError::WebIdentity(e) => e.into(),
            // AWS's answer to a throttled call; the SDKs' and the CLI's retry modes (legacy,
            // standard, adaptive) treat the code `Throttling` as a throttling error and back off.
            StsError::Throttled => ApiError::new("Throttling", 400, "Rate exceeded"),
            StsError::Unavailable => ApiError::new(
                "ServiceUnavailable",
                503,
                "The service is unavailable. Please try again later.",
            ),
            StsError::Internal => ApiError::new(
                "InternalFailure",
                500,
                "The request processing has failed because of an unknown error.",
            ),
        }
    }
}

impl From<crate::throttle::ThrottleError> for ApiError {
    fn from(e: crate::throttle::ThrottleError) -> Self {
        StsError::from(e).into()
    }
}

impl From<crate::federation::oidc::OidcError> for ApiError {
    fn from(e: crate::federation::oidc::OidcError) -> Self {
        use crate::federation::oidc::OidcError;
        let msg = e.to_string();
        match e {
            OidcError::InvalidToken(_) => ApiError::new("InvalidIdentityToken", 400, msg),
            OidcError::Expired { .. } => ApiError::new("ExpiredTokenException", 400, msg),
            OidcError::RejectedClaim(_) => ApiError::new("IDPRejectedClaim", 403, msg),
            OidcError::Communication(_) => ApiError::new("IDPCommunicationError", 400, msg),
            OidcError::StoreUnavailable => StsError::Unavailable.into(),
        }
    }
}

impl From<SamlError> for ApiError {
    fn from(e: SamlError) -> Self {
        let msg = e.to_string();
        match e {
            SamlError::Size => ApiError::new(
                "ValidationError",
                400,
                "1 validation error detected: Value at 'SAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000",
            ),
            SamlError::Expired(_) => ApiError::new("ExpiredTokenException", 400, msg),
            SamlError::StoreUnavailable | SamlError::Overloaded => StsError::Unavailable.into(),
            SamlError::Malformed(_)
            | SamlError::Signature(_)
            | SamlError::Rejected(_)
            | SamlError::NotYetValid(_)
            | SamlError::Replayed => ApiError::new("InvalidIdentityToken", 400, msg),
        }
    }
}

impl From<idbroker_verify::VerifyError> for ApiError {
    fn from(e: idbroker_verify::VerifyError) -> Self {
        ApiError::new(e.code(), e.http_status(), e.to_string())
    }
}

/// What a `POST /verify` error is about: `call` (the call itself: the calling service's
/// signature or permission, a malformed body) or `request` (the forwarded request did not
/// verify, or is denied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyBlame {
    /// The `/verify` call.
    Call,
    /// The forwarded request.
    Request,
}

impl VerifyBlame {
    fn label(self) -> &'static str {
        match self {
            VerifyBlame::Call => "call",
            VerifyBlame::Request => "request",
        }
    }
}

impl From<crate::verification::VerificationError> for (ApiError, VerifyBlame) {
    fn from(e: crate::verification::VerificationError) -> Self {
        use crate::verification::VerificationError;
        match e {
            VerificationError::Call(e) => (e.into(), VerifyBlame::Call),
            // The calling service left out the hash of a body the signature covers: its fault,
            // and the answer says what to send.
            VerificationError::Request(idbroker_verify::VerifyError::BodyHashRequired) => (
                ApiError::new(
                    "MissingParameter",
                    400,
                    "body_sha256 is required: the forwarded request's signature is not an UNSIGNED-PAYLOAD signature (it covers the body, or does not match at all); give the SHA-256 of the body as received",
                ),
                VerifyBlame::Call,
            ),
            VerificationError::Request(e) => (e.into(), VerifyBlame::Request),
        }
    }
}

impl ApiError {
    /// The `error` member of a `POST /verify` answer.
    pub fn verify_json(&self, blame: VerifyBlame) -> serde_json::Value {
        serde_json::json!({
            "code": self.code,
            "message": self.message,
            "type": self.kind(),
            "source": blame.label(),
        })
    }

    /// A failed `POST /verify`: the error's status, and a JSON body that says the request is
    /// neither authenticated nor allowed.
    pub fn verify_response(&self, blame: VerifyBlame) -> HttpResponse {
        HttpResponse::build(self.status)
            .content_type("application/json")
            .insert_header(("x-amzn-RequestId", self.request_id.clone()))
            .body(
                serde_json::json!({
                    "authenticated": false,
                    "allowed": false,
                    "error": self.verify_json(blame),
                    "request_id": self.request_id,
                })
                .to_string(),
            )
    }
}

/// Authentication failures, as STS reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// A signed action arrived without a signature.
    Missing,
    /// Unknown access key, inactive key, or a session token that does not belong.
    InvalidClientTokenId,
    /// The signing credentials have expired.
    ExpiredToken,
    /// The signature is wrong.
    SignatureDoesNotMatch,
    /// The Authorization header or presigned query is malformed; the text says what.
    Incomplete(String),
    /// X-Amz-Date outside the allowed window, or a presigned URL past its expiry.
    RequestExpired(String),
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing => ApiError::new(
                "MissingAuthenticationToken",
                403,
                "Request is missing Authentication Token",
            ),
            AuthError::InvalidClientTokenId => ApiError::new(
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.",
            ),
            AuthError::ExpiredToken => ApiError::new(
                "ExpiredToken",
                403,
                "The security token included in the request is expired",
            ),
            AuthError::SignatureDoesNotMatch => ApiError::new(
                "SignatureDoesNotMatch",
                403,
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            ),
            AuthError::Incomplete(m) => ApiError::new("IncompleteSignature", 400, m),
            AuthError::RequestExpired(m) => ApiError::new("RequestExpired", 400, m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_and_escaping() {
        let e = ApiError::from(StsError::Validation("a < b & c".into())).with_request_id("r-1");
        assert_eq!(e.status.as_u16(), 400);
        assert_eq!(
            e.xml(),
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>a &lt; b &amp; c</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
        );
        let u = ApiError::from(StsError::Unavailable);
        assert_eq!(u.status.as_u16(), 503);
        assert!(u.xml().contains("<Type>Receiver</Type>"));
    }

    #[test]
    fn admin_errors_as_json() {
        let e = ApiError::from(crate::admin::AdminError::NoSuchRole(
            "arn:aws:iam::1:role/\"x".into(),
        ))
        .with_request_id("r-2");
        assert_eq!(e.status.as_u16(), 404);
        let v: serde_json::Value = serde_json::from_str(&e.json()).unwrap();
        assert_eq!(v["Error"]["Code"], "NoSuchEntity");
        assert_eq!(v["Error"]["Type"], "Sender");
        assert_eq!(
            v["Error"]["Message"],
            "The role with ARN arn:aws:iam::1:role/\"x cannot be found."
        );
        assert_eq!(v["RequestId"], "r-2");
        let denied = ApiError::from(crate::admin::AdminError::Sts(StsError::AccessDenied(
            "no".into(),
        )));
        assert_eq!((denied.code, denied.status.as_u16()), ("AccessDenied", 403));
    }
}

/// How a console error is shown: HTTP status, the page's `data-code`, its title, and what the
/// person should do. The detail shown is the error's own text, which says what was wrong with
/// the sign-in and nothing about idbroker's insides.
#[derive(Debug)]
pub struct ConsolePageError {
    /// HTTP status.
    pub status: u16,
    /// Stable code (`data-code` on the page, the audit outcome).
    pub code: &'static str,
    /// Page title.
    pub title: &'static str,
    /// What went wrong.
    pub detail: String,
    /// What to do about it.
    pub advice: &'static str,
}

/// The console's error map.
pub fn console_error(e: &crate::console::ConsoleError) -> ConsolePageError {
    use crate::console::ConsoleError as E;
    let (status, code, title, advice) = match e {
        E::Expired(_) => (
            400,
            "expired_assertion",
            "Your sign-in has expired",
            "Sign-in answers from your identity provider are valid for a few minutes only. Start again from your identity provider or from the sign-in page; if it keeps happening, the clocks of your identity provider and idbroker may disagree.",
        ),
        E::NoRole(_) => (
            403,
            "no_role",
            "No role is available to you",
            "Your identity provider signed you in, but none of the roles it names lets you in. Ask your administrator to grant you a role (the identity provider's role attribute and the role's trust policy must both allow it).",
        ),
        E::Identity(_) => (
            400,
            "invalid_identity",
            "Your sign-in could not be verified",
            "The answer from your identity provider was refused. Start the sign-in again; if it keeps happening, give your administrator the request ID below.",
        ),
        E::Idp(_) => (
            502,
            "idp_error",
            "Your identity provider reported a problem",
            "Try again in a moment. If the problem persists, contact the team that runs your identity provider with the request ID below.",
        ),
        E::SigninToken(_) => (
            400,
            "signin_token",
            "This sign-in link cannot be used",
            "Sign-in links work once and for 15 minutes. Ask the application that sent you here for a new one.",
        ),
        E::Destination(_) => (
            400,
            "destination",
            "This sign-in link points somewhere idbroker may not send you",
            "For your safety idbroker only sends you to addresses its administrators allowed. Ask for a correct link.",
        ),
        E::BadRequest(_) => (
            400,
            "bad_request",
            "This sign-in request is incomplete",
            "Start again from the sign-in page.",
        ),
        E::Csrf(_) => (
            403,
            "csrf",
            "This form has expired",
            "For your protection, forms work only in the page that showed them and only for a few minutes. Start again from the sign-in page.",
        ),
        E::Credentials => (
            401,
            "credentials",
            "Your authentication information is incorrect",
            "Check the account, user name and password, and try again.",
        ),
        E::MfaCode => (
            401,
            "mfa_code",
            "The MFA code is not valid",
            "Wait for your authenticator to show a new code, and enter it.",
        ),
        E::NewPassword(_) => (
            400,
            "new_password",
            "The new password was not accepted",
            "Choose another password that follows your account's password policy.",
        ),
        E::PasswordExpired => (
            403,
            "password_expired",
            "Your password has expired",
            "Your account's policy does not let you change an expired password yourself. Ask your administrator to reset it.",
        ),
        E::Throttled => (
            429,
            "throttled",
            "Too many sign-in attempts",
            "Too many sign-in requests came from your network or for your identity provider in a short time. Wait a few seconds and try again.",
        ),
        E::Unavailable => (
            503,
            "unavailable",
            "Sign-in is unavailable right now",
            "idbroker cannot reach its session store. Try again in a minute.",
        ),
        E::Internal => (
            500,
            "internal",
            "Something went wrong",
            "Try again. If it keeps happening, give your administrator the request ID below.",
        ),
    };
    ConsolePageError {
        status,
        code,
        title,
        detail: e.to_string(),
        advice,
    }
}

/// A command-line sign-in call's error, as OAuth answers it: `{"error", "error_description"}`
/// with its status.
#[derive(Debug)]
pub struct CliErrorBody {
    /// HTTP status.
    pub status: u16,
    /// OAuth's `error` (RFC 6749 5.2, RFC 8628 3.5), also the audit outcome.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

/// The command-line sign-in calls' error map.
pub fn cli_error(e: &crate::console::CliError) -> CliErrorBody {
    use crate::console::{CliError as E, ConsoleError as C};
    let (status, error) = match e {
        E::InvalidRequest(_) => (400, "invalid_request"),
        E::InvalidGrant(_) => (400, "invalid_grant"),
        E::UnsupportedGrantType(_) => (400, "unsupported_grant_type"),
        E::AuthorizationPending => (400, "authorization_pending"),
        E::SlowDown => (400, "slow_down"),
        E::ExpiredToken => (400, "expired_token"),
        E::AccessDenied(_) => (403, "access_denied"),
        E::Console(c) => match c {
            C::Throttled => (429, "slow_down"),
            C::Unavailable => (503, "temporarily_unavailable"),
            C::Internal => (500, "server_error"),
            C::NoRole(_) => (403, "access_denied"),
            C::BadRequest(_) | C::Destination(_) => (400, "invalid_request"),
            C::Identity(_) | C::Expired(_) | C::SigninToken(_) | C::Csrf(_) => {
                (400, "invalid_grant")
            }
            C::Idp(_) => (502, "server_error"),
            // Password sign-in's refusals do not reach the CLI's calls; should one, it is a
            // refusal.
            C::Credentials | C::MfaCode | C::NewPassword(_) | C::PasswordExpired => {
                (403, "access_denied")
            }
        },
    };
    CliErrorBody {
        status,
        error,
        description: e.to_string(),
    }
}
