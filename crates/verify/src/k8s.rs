//! `k8s-aws-v1.` bearer tokens, as aws-iam-authenticator and `aws eks get-token` make them: the
//! prefix, then base64url (no padding) of a presigned STS `GetCallerIdentity` URL whose signature
//! covers the `x-k8s-aws-id` header (the cluster id). A Kubernetes token webhook (or any service
//! that takes such a bearer token) learns the caller from it without a call to STS: the URL is
//! checked here as aws-iam-authenticator's verifier checks it, then its signature verified with
//! the session's secret as [`crate::Verifier::verify`] verifies a presigned request, with the
//! expected cluster id as the `x-k8s-aws-id` header (a token made for another cluster does not
//! verify).
//!
//! The rules (aws-iam-authenticator `pkg/token/token.go`, `tokenVerifier.Verify`): at most
//! 4096 bytes; `https://` + one of the configured STS hosts + path `/`; query parameters only
//! from its allow-list (`Action`, `Version`, `X-Amz-Algorithm`, `X-Amz-Credential`,
//! `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Security-Token`,
//! `X-Amz-Signature`; names in any case), each once; `Action=GetCallerIdentity`;
//! `x-k8s-aws-id` among the signed headers; `X-Amz-Expires` from 0 to 900 (aws-iam-authenticator
//! accepts up to 900 since 0.4; the generators send 60); valid for 15 minutes after
//! `X-Amz-Date` whatever `X-Amz-Expires` says, as STS treats it. Stricter than
//! aws-iam-authenticator: a parameter repeated under names differing only in case, a URL with a
//! fragment or user info, a malformed percent escape, and a `Version` other than `2011-06-15` are
//! refused; the credential scope must name the `sts` service.

use base64::Engine;

use crate::VerifyError;

/// The token prefix.
pub const K8S_TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The longest token accepted, in bytes (prefix included).
pub const MAX_K8S_TOKEN_LEN: usize = 4096;
/// How long a token is valid after its `X-Amz-Date`, in seconds.
pub const K8S_TOKEN_LIFETIME: u64 = 900;
/// The largest `X-Amz-Expires` accepted.
pub const MAX_K8S_TOKEN_EXPIRES: u64 = 900;
/// The signed header that carries the cluster id.
pub const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";

/// aws-iam-authenticator's allow-list, in the spelling the SDKs use.
const ALLOWED_PARAMETERS: [&str; 9] = [
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
];

/// Why a `k8s-aws-v1.` token was refused. Messages are fixed text: they never quote the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum K8sTokenError {
    /// Longer than [`MAX_K8S_TOKEN_LEN`].
    #[error("token is too large (at most 4096 bytes)")]
    TooLarge,
    /// Does not start with `k8s-aws-v1.`.
    #[error("token is missing the k8s-aws-v1. prefix")]
    MissingPrefix,
    /// Not base64url without padding, or not UTF-8 text.
    #[error("token is not base64url (without padding) of a URL")]
    BadEncoding,
    /// Not an `https://HOST/?QUERY` URL (the reason is fixed text).
    #[error("token is not a presigned STS URL: {0}")]
    BadUrl(&'static str),
    /// The URL's host is not one of the configured STS hosts.
    #[error("unexpected host in the presigned URL")]
    WrongHost,
    /// A query parameter outside the allow-list.
    #[error("query parameter not allowed in the presigned URL")]
    ParameterNotAllowed,
    /// A query parameter given more than once.
    #[error("query parameter given more than once in the presigned URL")]
    DuplicateParameter,
    /// `Action` is not `GetCallerIdentity` (or `Version` not `2011-06-15`).
    #[error("the presigned URL must be Action=GetCallerIdentity, Version=2011-06-15")]
    WrongAction,
    /// `x-k8s-aws-id` is not among the signed headers.
    #[error("the x-k8s-aws-id header is not signed in the presigned URL")]
    ClusterIdNotSigned,
    /// `X-Amz-Expires` missing, not a number, or over [`MAX_K8S_TOKEN_EXPIRES`].
    #[error("invalid X-Amz-Expires in the presigned URL (0 to 900 seconds)")]
    BadExpires,
    /// The credential scope names a service other than `sts`.
    #[error("the presigned URL must be signed for the sts service")]
    WrongService,
    /// The presigned request itself failed verification: signature (also: made for another
    /// cluster id), time window (15 minutes after `X-Amz-Date`), session token, expired or
    /// revoked session, store unavailable.
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

impl K8sTokenError {
    /// The AWS-style code: the inner [`VerifyError::code`] for [`K8sTokenError::Verify`],
    /// `InvalidToken` for a malformed token.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verify(e) => e.code(),
            _ => "InvalidToken",
        }
    }

    /// The HTTP status: the inner error's, or 401 for a malformed token.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Verify(e) => e.http_status(),
            _ => 401,
        }
    }
}

/// A token's presigned URL, checked against the rules above: what to verify.
#[derive(Clone, PartialEq, Eq)]
pub struct K8sToken {
    host: String,
    query: String,
}

impl K8sToken {
    /// The STS host the URL names (one of the configured ones).
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The raw query string of the presigned URL.
    pub fn query(&self) -> &str {
        &self.query
    }
}

impl std::fmt::Debug for K8sToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K8sToken")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

/// Read a `k8s-aws-v1.` token and check its URL against the rules (no signature, no clock: see
/// [`crate::Verifier::verify_k8s_token`]). `sts_hosts`: the hosts (with the port, if any, as in
/// the URL) the presigned URL may name; empty refuses every token.
pub fn parse_k8s_token(token: &str, sts_hosts: &[String]) -> Result<K8sToken, K8sTokenError> {
    if token.len() > MAX_K8S_TOKEN_LEN {
        return Err(K8sTokenError::TooLarge);
    }
    let encoded = token
        .strip_prefix(K8S_TOKEN_PREFIX)
        .ok_or(K8sTokenError::MissingPrefix)?;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(K8sTokenError::BadEncoding)?;
    let rest = url
        .get(..8)
        .filter(|s| s.eq_ignore_ascii_case("https://"))
        .and_then(|_| url.get(8..))
        .ok_or(K8sTokenError::BadUrl("the scheme must be https"))?;
    if rest.contains('#') {
        return Err(K8sTokenError::BadUrl("a fragment is not allowed"));
    }
    let (host, path_and_query) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if host.contains('@') {
        return Err(K8sTokenError::BadUrl("user info is not allowed"));
    }
    if !sts_hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(K8sTokenError::WrongHost);
    }
    let query = match path_and_query.split_once('?') {
        Some(("/", q)) => q,
        None if path_and_query == "/" => "",
        _ => return Err(K8sTokenError::BadUrl("the path must be /")),
    };
    let mut seen = [false; ALLOWED_PARAMETERS.len()];
    let mut action = None;
    let mut version = None;
    let mut expires = None;
    let mut signed_headers = None;
    let mut credential = None;
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = decode(name)?;
        let value = decode(value)?;
        let slot = ALLOWED_PARAMETERS
            .iter()
            .position(|a| a.eq_ignore_ascii_case(&name))
            .ok_or(K8sTokenError::ParameterNotAllowed)?;
        match seen.get_mut(slot) {
            Some(s) if !*s => *s = true,
            _ => return Err(K8sTokenError::DuplicateParameter),
        }
        match ALLOWED_PARAMETERS.get(slot).copied() {
            Some("Action") => action = Some(value),
            Some("Version") => version = Some(value),
            Some("X-Amz-Expires") => expires = Some(value),
            Some("X-Amz-SignedHeaders") => signed_headers = Some(value),
            Some("X-Amz-Credential") => credential = Some(value),
            _ => {}
        }
    }
    if action.as_deref() != Some("GetCallerIdentity")
        || version.as_deref().is_some_and(|v| v != "2011-06-15")
    {
        return Err(K8sTokenError::WrongAction);
    }
    let cluster_id_signed = signed_headers.as_deref().is_some_and(|h| {
        h.split(';')
            .any(|n| n.eq_ignore_ascii_case(CLUSTER_ID_HEADER))
    });
    if !cluster_id_signed {
        return Err(K8sTokenError::ClusterIdNotSigned);
    }
    let expires_ok = expires.as_deref().is_some_and(|e| {
        !e.is_empty()
            && e.len() <= 4
            && e.bytes().all(|b| b.is_ascii_digit())
            && e.parse::<u64>().is_ok_and(|n| n <= MAX_K8S_TOKEN_EXPIRES)
    });
    if !expires_ok {
        return Err(K8sTokenError::BadExpires);
    }
    // `AKID/date/region/service/aws4_request`: the service must be STS. (The rest of the
    // credential is the SigV4 parser's to check.)
    let service = credential.as_deref().and_then(|c| c.split('/').nth(3));
    if service.is_some_and(|s| s != "sts") {
        return Err(K8sTokenError::WrongService);
    }
    Ok(K8sToken {
        host: host.to_owned(),
        query: query.to_owned(),
    })
}

/// Form-decode one query component (`+` is a space, `%XX` a byte); a malformed escape or a
/// result that is not UTF-8 is refused (Go's `url.ParseQuery` refuses both too).
fn decode(s: &str) -> Result<String, K8sTokenError> {
    const BAD: K8sTokenError = K8sTokenError::BadUrl("malformed query parameter");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .filter(|_| bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit))
                    .ok_or(BAD)?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| BAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "sts.idbroker.test";
    const QUERY: &str = "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAAAAAAAAAAAAAAAAA%2F20270115%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20270115T080000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=abc%2B%2F%3D&X-Amz-Signature=00";

    fn token(url: &str) -> String {
        format!(
            "{K8S_TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
        )
    }

    #[test]
    fn reads_host_and_query() {
        let hosts = vec![HOST.to_owned()];
        let t = parse_k8s_token(&token(&format!("https://{HOST}/?{QUERY}")), &hosts).unwrap();
        assert_eq!((t.host(), t.query()), (HOST, QUERY));
        // Parameter names in any case, the scheme and host in any case.
        let lower = QUERY
            .replace("Action=", "action=")
            .replace("X-Amz-Expires", "x-amz-expires");
        assert!(parse_k8s_token(
            &token(&format!("HTTPS://STS.idbroker.test/?{lower}")),
            &hosts
        )
        .is_ok());
        assert!(!format!("{t:?}").contains("Signature"));
    }

    #[test]
    fn decoding() {
        assert_eq!(decode("a+b%2Fc%2b").unwrap(), "a b/c+");
        for bad in ["%", "%4", "%zz", "%+F", "%F+", "%FF"] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }

    /// Mutated tokens (a deterministic stand-in for the fuzz target): never a panic, always a
    /// one-line message.
    #[test]
    fn mutations_never_panic() {
        let hosts = vec![HOST.to_owned()];
        let url = format!("https://{HOST}/?{QUERY}");
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"%&=+/?#@:;.-_aAzZ09 \xff";
        for _ in 0..20_000 {
            let mut bytes = url.clone().into_bytes();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % bytes.len();
                let b = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 => bytes[at] = b,
                    1 => bytes.insert(at, b),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            for t in [token(&text), text.to_string()] {
                if let Err(e) = parse_k8s_token(&t, &hosts) {
                    assert!(!e.to_string().contains('\n'));
                }
            }
        }
    }
}
