//! The STS Query protocol, request side: a request's parameters (the query string, and for a
//! form POST its body) decoded into [`Params`], and each action's typed request read out of them
//! with AWS's constraints ([`crate::sts::constraints`]), in the order AWS checks them. Every check
//! of a value's shape happens here, before any proof is verified or anything decided.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::sts::constraints::{self, check_arn_length, check_duration, check_session_name};
use crate::sts::Tag;
use crate::sts::{
    get_session_token, AssumeRoleRequest, AssumeRoleWithSamlRequest,
    AssumeRoleWithWebIdentityRequest, GetSessionTokenRequest, RoleRequest, StsError,
};

/// The parameters of one Query-protocol request (form body or query string), names as sent.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Sorted by name, one entry per name (a flat vector: one allocation instead of a tree
    /// node per parameter on every request).
    values: Vec<(String, String)>,
}

impl Params {
    /// From decoded name/value pairs; a repeated name keeps its first value.
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut values: Vec<(String, String)> = pairs.into_iter().collect();
        // Stable: among equal names the first sent stays first, and dedup keeps it.
        values.sort_by(|a, b| a.0.cmp(&b.0));
        values.dedup_by(|later, first| later.0 == first.0);
        Params { values }
    }

    /// A parameter, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .and_then(|i| self.values.get(i))
            .map(|(_, v)| v.as_str())
    }

    /// A required parameter (`MissingParameter` names it when absent).
    pub fn required(&self, name: &str) -> Result<&str, StsError> {
        self.get(name)
            .ok_or_else(|| StsError::MissingParameter(name.to_owned()))
    }

    /// Every parameter, sorted by name.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.values
    }

    /// The parameters whose names start with `prefix`, sorted by name (a slice of the
    /// request's own: nothing is copied).
    pub fn starting_with(&self, prefix: &str) -> &[(String, String)] {
        let start = self.values.partition_point(|(k, _)| k.as_str() < prefix);
        let rest = self.values.get(start..).unwrap_or_default();
        let len = rest.partition_point(|(k, _)| k.starts_with(prefix));
        rest.get(..len).unwrap_or_default()
    }

    /// `Name.member.1`, `Name.member.2`, ... (or `Name.member.N.field`), in index order.
    pub fn members(&self, name: &str, field: Option<&str>) -> Vec<(usize, &str)> {
        let prefix = format!("{name}.member.");
        let mut out: Vec<(usize, &str)> = self
            .values
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
}

/// The Query-protocol parameters of a request: the query string, and for a form POST its body.
pub fn params(req: &HttpRequest, body: &[u8]) -> Params {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if req.method() == actix_web::http::Method::POST && is_form {
        pairs.extend(form_urlencoded::parse(body).into_owned());
    }
    Params::from_pairs(pairs)
}

/// `Policy`, checked.
fn session_policy(params: &Params) -> Result<Option<&str>, StsError> {
    params
        .get("Policy")
        .map(constraints::check_session_policy)
        .transpose()
}

/// `PolicyArns.member.N.arn`, at most 10.
fn policy_arns(params: &Params) -> Result<Vec<&str>, StsError> {
    constraints::check_policy_arns(
        params
            .members("PolicyArns", Some("arn"))
            .into_iter()
            .map(|(_, v)| v)
            .collect(),
    )
}

/// `DurationSeconds` within `min..=max`, `None` when absent.
fn duration(params: &Params, (min, max): (u32, u32)) -> Result<Option<u32>, StsError> {
    check_duration(params.get("DurationSeconds"), min, max)
}

/// `Tags.member.N.Key` / `.Value`: at most 50, keys unique case-insensitively.
pub fn tags(params: &Params) -> Result<Vec<Tag>, StsError> {
    let keys = params.members("Tags", Some("Key"));
    let values = params.members("Tags", Some("Value"));
    constraints::check_tags(keys.into_iter().map(|(i, key)| {
        let value = values
            .iter()
            .find(|(j, _)| *j == i)
            .map(|(_, v)| *v)
            .unwrap_or("");
        (i, key, value)
    }))
}

/// GetSessionToken's parameters.
pub fn get_session_token_request(params: &Params) -> Result<GetSessionTokenRequest<'_>, StsError> {
    let duration = duration(params, get_session_token::DURATION_RANGE)?;
    let mfa = constraints::check_mfa(params.get("SerialNumber"), params.get("TokenCode"))?;
    Ok(GetSessionTokenRequest { duration, mfa })
}

/// AssumeRole's parameters.
pub fn assume_role_request(params: &Params) -> Result<AssumeRoleRequest<'_>, StsError> {
    let role_arn = params.required("RoleArn")?;
    let session_name = params.required("RoleSessionName")?;
    check_session_name("roleSessionName", session_name)?;
    check_arn_length("roleArn", role_arn)?;
    let source_identity = params.get("SourceIdentity");
    if let Some(s) = source_identity {
        check_session_name("sourceIdentity", s)?;
        if constraints::has_reserved_prefix(s) {
            return Err(StsError::Validation(
                "1 validation error detected: Value at 'sourceIdentity' failed to satisfy constraint: Member must not start with 'aws:'".into(),
            ));
        }
    }
    let external_id = params.get("ExternalId");
    if let Some(ext) = external_id {
        let ok = (2..=1224).contains(&ext.len())
            && ext
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
        if !ok {
            return Err(StsError::Validation(
                "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*".into(),
            ));
        }
    }
    let policy = session_policy(params)?;
    let policy_arns = policy_arns(params)?;
    let tags = tags(params)?;
    let transitive_tag_keys: Vec<String> = params
        .members("TransitiveTagKeys", None)
        .into_iter()
        .map(|(_, v)| v.to_owned())
        .collect();
    if transitive_tag_keys.len() > 50 {
        return Err(StsError::Validation(
            "1 validation error detected: Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50".into(),
        ));
    }
    for k in &transitive_tag_keys {
        if !tags.iter().any(|t| t.key.eq_ignore_ascii_case(k)) {
            return Err(StsError::InvalidParameterValue(format!(
                "The specified transitive tag key must be included in the requested tags: {k}"
            )));
        }
    }
    let duration = duration(params, (900, 43_200))?;
    let mfa = constraints::check_mfa(params.get("SerialNumber"), params.get("TokenCode"))?;
    Ok(AssumeRoleRequest {
        role_arn,
        session_name,
        duration,
        source_identity,
        external_id,
        policy,
        policy_arns,
        tags,
        transitive_tag_keys,
        mfa,
    })
}

/// AssumeRoleWithSAML's parameters. The assertion is only measured here (its base64 is
/// decoded and checked by [`crate::federation::saml`]).
pub fn assume_role_with_saml_request(
    params: &Params,
) -> Result<AssumeRoleWithSamlRequest<'_>, StsError> {
    let role_arn = params.required("RoleArn")?;
    let principal_arn = params.required("PrincipalArn")?;
    let assertion = params.required("SAMLAssertion")?;
    check_arn_length("roleArn", role_arn)?;
    check_arn_length("principalArn", principal_arn)?;
    let max = crate::federation::saml::MAX_ASSERTION_CHARS;
    if !(4..=max).contains(&assertion.len()) {
        return Err(StsError::Validation(format!(
            "1 validation error detected: Value at 'SAMLAssertion' failed to satisfy constraint: Member must have length {}",
            if assertion.len() < 4 { "greater than or equal to 4" } else { "less than or equal to 100000" }
        )));
    }
    let policy = session_policy(params)?;
    let policy_arns = policy_arns(params)?;
    let duration = duration(params, (900, 43_200))?;
    Ok(AssumeRoleWithSamlRequest {
        principal_arn,
        assertion,
        role: RoleRequest {
            role_arn,
            duration,
            policy,
            policy_arns,
        },
    })
}

/// AssumeRoleWithWebIdentity's parameters. Without `session_name_required` (the workload
/// credentials endpoint), an absent RoleSessionName lets the verified token's `sub` name the
/// session.
pub fn assume_role_with_web_identity_request(
    params: &Params,
    session_name_required: bool,
) -> Result<AssumeRoleWithWebIdentityRequest<'_>, StsError> {
    let role_arn = params.required("RoleArn")?;
    let session_name = if session_name_required {
        Some(params.required("RoleSessionName")?)
    } else {
        params.get("RoleSessionName")
    };
    let token = params.required("WebIdentityToken")?;
    check_arn_length("roleArn", role_arn)?;
    if let Some(name) = session_name {
        check_session_name("roleSessionName", name)?;
    }
    let chars = token.chars().count();
    if chars < 4 {
        return Err(StsError::Validation(
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4".into(),
        ));
    }
    if chars > crate::federation::oidc::MAX_TOKEN_CHARS {
        return Err(StsError::Validation(
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000".into(),
        ));
    }
    if params.get("ProviderId").is_some() {
        return Err(StsError::InvalidParameterValue(
            "ProviderId is for OAuth 2.0 access tokens; idbroker accepts OpenID Connect ID tokens, whose provider is found from their iss claim".into(),
        ));
    }
    let duration = duration(params, (900, 43_200))?;
    let policy = session_policy(params)?;
    let policy_arns = policy_arns(params)?;
    Ok(AssumeRoleWithWebIdentityRequest {
        token,
        session_name,
        role: RoleRequest {
            role_arn,
            duration,
            policy,
            policy_arns,
        },
    })
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
    fn a_repeated_name_keeps_its_first_value_and_lookups_are_exact() {
        let p = params(&[
            ("RoleArn", "first"),
            ("Action", "AssumeRole"),
            ("RoleArn", "second"),
            ("Role", "x"),
            ("RoleArn", "third"),
        ]);
        assert_eq!(p.get("RoleArn"), Some("first"));
        assert_eq!(p.get("Role"), Some("x"));
        assert_eq!(p.get("Action"), Some("AssumeRole"));
        assert_eq!(p.get("RoleAr"), None);
        assert_eq!(p.get(""), None);
        assert_eq!(params(&[]).get("Action"), None);
    }

    #[test]
    fn members_in_index_order() {
        let p = params(&[
            ("Tags.member.2.Key", "b"),
            ("Tags.member.10.Key", "c"),
            ("Tags.member.1.Key", "a"),
            ("Tags.member.1.Value", "x"),
        ]);
        let keys: Vec<&str> = p
            .members("Tags", Some("Key"))
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let t = tags(&p).expect("tags");
        assert_eq!(
            t[0],
            Tag {
                key: "a".into(),
                value: "x".into()
            }
        );
        assert_eq!(t[1].value, "");
    }

    #[test]
    fn typed_requests_carry_the_checked_values() {
        let p = params(&[("DurationSeconds", "899")]);
        assert!(get_session_token_request(&p).is_err());
        let p = params(&[("DurationSeconds", "129600")]);
        assert_eq!(
            get_session_token_request(&p).expect("gst").duration,
            Some(129_600)
        );
        let p = params(&[("RoleArn", "arn:aws:iam::123456789012:role/x")]);
        assert!(matches!(
            assume_role_request(&p),
            Err(StsError::MissingParameter(ref n)) if n == "RoleSessionName"
        ));
        let p = params(&[
            ("RoleArn", "arn:aws:iam::123456789012:role/x"),
            ("WebIdentityToken", "abcd"),
        ]);
        let r = assume_role_with_web_identity_request(&p, false).expect("workload form");
        assert_eq!(r.session_name, None);
        assert!(assume_role_with_web_identity_request(&p, true).is_err());
    }
}
