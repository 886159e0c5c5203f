//! What the signed values must be for this provider and this service: Issuer, one bearer
//! confirmation with NotOnOrAfter, times with the provider's skew, status Success,
//! Destination, InResponseTo (as the caller asks: [`InResponseTo`]), audience and Recipient.

use super::config::{ProviderKeys, SamlProvider, SamlSettings};
use super::error::SamlError;
use super::profile::Outer;
use super::signed::Signed;

pub(super) const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Recognises a request id as one this service sent (and that is still current).
pub type IssuedRequest = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What the SP expects of InResponseTo.
///
/// An empty `InResponseTo=""` (samlify and other IdPs write it on IdP-initiated responses, in
/// the Response and in the signed SubjectConfirmationData) names no request: it reads as
/// absent for [`InResponseTo::Unsolicited`] and [`InResponseTo::UnsolicitedOr`], as
/// python3-saml reads it. An SP-initiated flow ([`InResponseTo::OneOf`]) still needs the exact
/// request id.
#[derive(Clone)]
pub enum InResponseTo {
    /// IdP-initiated (AssumeRoleWithSAML): idbroker sent no request, so a response that answers
    /// one was meant for someone else and is refused.
    Unsolicited,
    /// SP-initiated: it must answer one of these request ids.
    OneOf(Vec<String>),
    /// The console's ACS: either unsolicited (IdP-initiated sign-in), or answering a request
    /// that the function recognises as one this service sent (SP-initiated sign-in).
    UnsolicitedOr(IssuedRequest),
}

impl std::fmt::Debug for InResponseTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InResponseTo::Unsolicited => f.write_str("Unsolicited"),
            InResponseTo::OneOf(ids) => f.debug_tuple("OneOf").field(ids).finish(),
            InResponseTo::UnsolicitedOr(_) => f.write_str("UnsolicitedOr(..)"),
        }
    }
}

impl InResponseTo {
    /// The Response's and the bearer confirmation's InResponseTo: unsolicited means neither
    /// is present (or present and empty); SP-initiated means at least one is, and each present
    /// one is a request id idbroker sent.
    fn check(&self, response: Option<&str>, confirmation: Option<&str>) -> Result<(), SamlError> {
        fn named(v: Option<&str>) -> Option<&str> {
            v.filter(|v| !v.is_empty())
        }
        let ok = match self {
            InResponseTo::Unsolicited => named(response).is_none() && named(confirmation).is_none(),
            InResponseTo::OneOf(ids) => {
                (response.is_some() || confirmation.is_some())
                    && [response, confirmation]
                        .into_iter()
                        .flatten()
                        .all(|v| ids.iter().any(|id| id == v))
            }
            InResponseTo::UnsolicitedOr(issued) => match (named(response), named(confirmation)) {
                (None, None) => true,
                (r, c) => [r, c].into_iter().flatten().all(|v| issued(v)),
            },
        };
        if ok {
            Ok(())
        } else {
            Err(SamlError::Rejected(
                "The SAML response answers a request this service did not send (InResponseTo)"
                    .into(),
            ))
        }
    }
}

/// Addressing, status and time checks; returns until when the assertion ID must be remembered.
pub(super) fn validate(
    provider: &SamlProvider,
    keys: &ProviderKeys,
    sp: &SamlSettings,
    outer: &Outer,
    s: &Signed,
    in_response_to: InResponseTo,
    now: i64,
) -> Result<i64, SamlError> {
    let skew = provider.skew;
    if s.issuer != keys.entity_id {
        return Err(SamlError::Rejected(
            "The SAML assertion's Issuer is not the provider's entity id".into(),
        ));
    }
    if outer.issuer.as_deref().is_some_and(|i| i != keys.entity_id) {
        return Err(SamlError::Rejected(
            "The SAML response's Issuer is not the provider's entity id".into(),
        ));
    }
    let [bearer] = s.bearer.as_slice() else {
        return Err(SamlError::Rejected(
            "The SAML assertion must have exactly one bearer SubjectConfirmation".into(),
        ));
    };
    let Some(confirmation_end) = bearer.not_on_or_after else {
        return Err(SamlError::Rejected(
            "The SAML assertion's SubjectConfirmationData has no NotOnOrAfter".into(),
        ));
    };

    // Time first: an assertion that is stale or early says so, whatever else is wrong.
    for issued in [outer.issue_instant, s.issue_instant] {
        if issued > now + skew {
            return Err(SamlError::NotYetValid(
                "The SAML assertion is issued in the future",
            ));
        }
        if issued + provider.max_age + skew <= now {
            return Err(SamlError::Expired("The SAML assertion is too old"));
        }
    }
    for nb in [s.not_before, bearer.not_before].into_iter().flatten() {
        if nb > now + skew {
            return Err(SamlError::NotYetValid(
                "The SAML assertion is not yet valid",
            ));
        }
    }
    let end = s
        .not_on_or_after
        .map_or(confirmation_end, |c| c.min(confirmation_end));
    if end + skew <= now {
        return Err(SamlError::Expired("The SAML assertion has expired"));
    }
    if s.session_not_on_or_after.is_some_and(|t| t <= now) {
        return Err(SamlError::Expired(
            "The SAML session has expired (SessionNotOnOrAfter)",
        ));
    }

    // Addressing and status.
    if outer.status.as_deref() != Some(STATUS_SUCCESS) {
        return Err(SamlError::Rejected(
            "The SAML response's status is not Success".into(),
        ));
    }
    if outer
        .destination
        .as_deref()
        .is_some_and(|d| d != sp.acs_url)
    {
        return Err(SamlError::Rejected(
            "The SAML response's Destination is not this service's ACS URL".into(),
        ));
    }
    in_response_to.check(
        outer.in_response_to.as_deref(),
        bearer.in_response_to.as_deref(),
    )?;
    let Some(audiences) = &s.audiences else {
        return Err(SamlError::Rejected(
            "The SAML assertion has no Conditions".into(),
        ));
    };
    if audiences.is_empty()
        || !audiences
            .iter()
            .all(|r| r.iter().any(|a| sp.audience_ok(a)))
    {
        return Err(SamlError::Rejected(
            "The SAML assertion's audience does not include this service".into(),
        ));
    }
    if bearer.recipient.as_deref() != Some(sp.acs_url.as_str()) {
        return Err(SamlError::Rejected(
            "The SAML assertion's Recipient is not this service's ACS URL".into(),
        ));
    }
    Ok(end + skew)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn in_response_to_policies() {
        let ids = || InResponseTo::OneOf(vec!["req-1".to_owned()]);
        assert!(InResponseTo::Unsolicited.check(None, None).is_ok());
        assert!(InResponseTo::Unsolicited.check(Some("x"), None).is_err());
        assert!(InResponseTo::Unsolicited.check(None, Some("x")).is_err());
        assert!(ids().check(Some("req-1"), None).is_ok());
        assert!(ids().check(Some("req-1"), Some("req-2")).is_err());
        assert!(ids().check(None, None).is_err());
    }

    /// samlify writes `InResponseTo=""` on IdP-initiated responses: empty names no request.
    #[test]
    fn an_empty_in_response_to_is_unsolicited_but_answers_no_request() {
        assert!(InResponseTo::Unsolicited.check(Some(""), Some("")).is_ok());
        assert!(InResponseTo::Unsolicited.check(Some(""), None).is_ok());
        assert!(InResponseTo::Unsolicited
            .check(Some(""), Some("x"))
            .is_err());
        let never: IssuedRequest = Arc::new(|_: &str| false);
        let console = InResponseTo::UnsolicitedOr(never);
        assert!(console.check(Some(""), Some("")).is_ok());
        assert!(console.check(None, Some("req-9")).is_err());
        // SP-initiated: an empty value is not the request id.
        let sp = InResponseTo::OneOf(vec!["req-1".to_owned()]);
        assert!(sp.check(Some(""), Some("")).is_err());
        assert!(sp.check(Some("req-1"), Some("")).is_err());
    }
}
