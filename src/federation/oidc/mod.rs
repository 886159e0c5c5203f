//! OpenID Connect federation: providers as AWS has them (issuer URL -> provider ARN, client IDs),
//! their signing keys (pinned, or fetched from `jwks_uri` found by discovery, cached by the
//! server's cache headers), and the validator that turns a raw JWT into a [`VerifiedIdToken`].
//!
//! What the validator checks, in order: size (≤ 20,000 characters), compact form (three
//! base64url parts, no padding, non-empty signature), header (`alg` one of the provider's
//! allowed algorithms and never `none` or HMAC; `crit`, `b64`, `enc`, `zip` refused; `jwk`,
//! `jku`, `x5u`, `x5c` never looked at), issuer (exact, chooses the provider), signature (key
//! chosen by `kid` from the provider's keys only; the algorithm must be one the key allows, taken
//! from the JWK's `alg` or its type and curve), audience (`azp` when present, else `aud`, must be
//! a configured client ID: AWS's rule), `exp` / `nbf` / `iat` against the `now` passed in with
//! the provider's leeway, `sub` present, and, when configured, `jti` used once.
//!
//! Keys: an unknown `kid` triggers one refetch of the JWKS, rate-limited per provider and shared
//! by concurrent requests; a failed fetch keeps the last good keys for a bounded time, and every
//! fetch outcome is reported to an observer (the server counts them in /metrics) and logged.
//! Every fetch is bounded by a timeout and a body size limit; remote issuers and JWKS URLs must
//! be HTTPS (plain HTTP only on loopback, and only when the provider allows it).

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use aws_lc_rs::signature::{ParsedPublicKey, VerificationAlgorithm};
use idbroker_session::{SessionError, SessionStore};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tracing::{instrument, warn};

use crate::clock::epoch;
use crate::federation::fetch::{FetchObserver, Fetcher, HttpFetcher};

/// Longest token accepted, in characters (AWS's limit for `WebIdentityToken`).
pub const MAX_TOKEN_CHARS: usize = 20_000;
/// Most keys taken from one JWKS.
const MAX_KEYS: usize = 100;
/// Longest `sub` (AWS's `SubjectFromWebIdentityToken` limit).
const MAX_SUBJECT: usize = 255;
/// Longest `kid` looked up.
const MAX_KID: usize = 256;
/// Keys tried for a token without `kid`.
const MAX_KIDLESS_CANDIDATES: usize = 4;

const NOT_A_JWT: &str =
    "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)";
/// The one answer for every refusal, before the signature has verified, that depends on the
/// configuration: an issuer with no provider, an algorithm the provider does not allow, a key
/// id it does not have, a signature its keys do not verify. An unauthenticated caller learns
/// from it neither which issuers are trusted nor anything of their keys (AWS itself names the
/// unknown issuer: "No OpenIDConnect provider found in your account for ..."; idbroker does
/// not). The cause is logged at debug level.
pub const NOT_VERIFIED: &str = "The web identity token could not be verified";
const KEY_UNAVAILABLE: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

/// Why a web identity token was refused. Only `http::error` turns these into STS errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// Malformed, badly signed, unknown issuer, wrong audience, not yet valid, replayed.
    #[error("{0}")]
    InvalidToken(String),
    /// `exp` (plus leeway) is before `now`.
    #[error(
        "Token expired: current date/time {now} must be before the expiration date/time {exp}"
    )]
    Expired {
        /// Now, seconds since the epoch.
        now: u64,
        /// The token's `exp`.
        exp: u64,
    },
    /// The token is valid, but its claims do not allow the role (claim rules, groups overage).
    #[error("{0}")]
    RejectedClaim(String),
    /// The provider's keys could not be had (and no usable last good keys were kept).
    #[error("{0}")]
    Communication(String),
    /// The single-use record of `jti` could not be written: nothing is issued.
    #[error("the session store is unavailable")]
    StoreUnavailable,
}

fn invalid(msg: impl Into<String>) -> OidcError {
    OidcError::InvalidToken(msg.into())
}

// ---------------------------------------------------------------------------------------------
// Algorithms and keys
// ---------------------------------------------------------------------------------------------

/// The asymmetric algorithms idbroker verifies. Never `none`, never HMAC.
const ALGS: [(&str, Algorithm); 8] = [
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
];

/// A set of the algorithms above, as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgSet(u8);

impl AlgSet {
    /// All eight.
    pub const ALL: AlgSet = AlgSet(0xff);
    const RSA: AlgSet = AlgSet(0b0011_1111);
    const NONE: AlgSet = AlgSet(0);

    fn bit(name: &str) -> Option<u8> {
        ALGS.iter().position(|(n, _)| *n == name).map(|i| 1u8 << i)
    }

    /// From names; an unknown name is an error that names it.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<AlgSet, String> {
        let mut set = 0u8;
        for n in names {
            set |= Self::bit(n.as_ref()).ok_or_else(|| {
                format!(
                    "unsupported algorithm {:?}: use RS256, RS384, RS512, PS256, PS384, PS512, ES256 or ES384",
                    n.as_ref()
                )
            })?;
        }
        Ok(AlgSet(set))
    }

    fn only(name: &str) -> AlgSet {
        AlgSet(Self::bit(name).unwrap_or(0))
    }

    fn and(self, other: AlgSet) -> AlgSet {
        AlgSet(self.0 & other.0)
    }

    fn contains(self, name: &str) -> bool {
        Self::bit(name).is_some_and(|b| self.0 & b != 0)
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The algorithm named exactly `name` (case-sensitive), if it is one idbroker verifies.
fn algorithm(name: &str) -> Option<Algorithm> {
    ALGS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}

/// A verification key from a JWKS, with the algorithms it may verify.
///
/// The key is parsed once per algorithm when the JWKS is loaded (aws-lc-rs `ParsedPublicKey`):
/// building an RSA key, with its Montgomery context, for every token cost as much as verifying.
#[derive(Clone)]
struct VerifyKey {
    kid: Option<String>,
    algs: AlgSet,
    // INVARIANT: one entry per algorithm in `algs`, parsed for that algorithm only.
    parsed: Vec<(&'static str, Arc<ParsedPublicKey>)>,
}

impl VerifyKey {
    fn for_alg(&self, alg: &str) -> Option<&ParsedPublicKey> {
        self.parsed
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, k)| k.as_ref())
    }
}

/// The aws-lc-rs verification algorithm of a JWS `alg`.
fn verification_algorithm(alg: &str) -> Option<&'static dyn VerificationAlgorithm> {
    use aws_lc_rs::signature as s;
    Some(match alg {
        "RS256" => &s::RSA_PKCS1_2048_8192_SHA256,
        "RS384" => &s::RSA_PKCS1_2048_8192_SHA384,
        "RS512" => &s::RSA_PKCS1_2048_8192_SHA512,
        "PS256" => &s::RSA_PSS_2048_8192_SHA256,
        "PS384" => &s::RSA_PSS_2048_8192_SHA384,
        "PS512" => &s::RSA_PSS_2048_8192_SHA512,
        "ES256" => &s::ECDSA_P256_SHA256_FIXED,
        "ES384" => &s::ECDSA_P384_SHA384_FIXED,
        _ => return None,
    })
}

/// DER of a length.
fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let used = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | used.len() as u8);
        out.extend_from_slice(used);
    }
}

/// DER INTEGER of a positive big-endian magnitude without leading zeros.
fn der_uint(magnitude: &[u8], out: &mut Vec<u8>) {
    out.push(0x02);
    let pad = magnitude.first().is_none_or(|b| b & 0x80 != 0);
    der_len(magnitude.len() + usize::from(pad), out);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(magnitude);
}

/// RFC 8017 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    der_uint(n, &mut body);
    der_uint(e, &mut body);
    let mut out = Vec::with_capacity(body.len() + 8);
    out.push(0x30);
    der_len(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

/// A provider's signing keys.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<VerifyKey>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field(
                "kids",
                &self
                    .keys
                    .iter()
                    .map(|k| k.kid.as_deref())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigFailure {
    /// No key of the set has the token's `kid` (or, without `kid`, none fits its `alg`): the keys
    /// may have rotated.
    UnknownKey,
    /// Anything else: the message says what.
    Invalid(&'static str),
}

/// The header fields idbroker reads. `jwk`, `jku`, `x5u`, `x5c`, `x5t` are never read: keys come
/// from the provider's configuration or its JWKS only. A duplicated field is refused by serde.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
    #[serde(default)]
    b64: Option<Value>,
    #[serde(default)]
    enc: Option<Value>,
    #[serde(default)]
    zip: Option<Value>,
}

/// A compact JWS split into its parts. Each part is checked to be unpadded base64url.
struct Compact<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    signing_input: &'a str,
}

fn b64url(part: &str) -> Option<Vec<u8>> {
    data_encoding::BASE64URL_NOPAD.decode(part.as_bytes()).ok()
}

fn split_compact(token: &str) -> Result<Compact<'_>, SigFailure> {
    let mut it = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(SigFailure::Invalid("not three dot-separated parts"));
    };
    if header.is_empty() || signature.is_empty() {
        return Err(SigFailure::Invalid("empty header or signature"));
    }
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(SigFailure::Invalid("malformed"))?;
    Ok(Compact {
        header,
        payload,
        signature,
        signing_input,
    })
}

impl KeySet {
    /// Parse a JWKS document (`{"keys": [...]}`), keeping the keys that may verify one of
    /// `allowed`: RSA keys of 2048..8192 bits with an odd exponent ≥ 3, EC keys on P-256 / P-384;
    /// `use` absent or `sig`, `key_ops` absent or with `verify`, `alg` absent or consistent with
    /// the key. Symmetric (`oct`) and other keys are skipped, never used. Returns the set and the
    /// number of keys skipped.
    pub fn from_jwks(json: &[u8], allowed: AlgSet) -> Result<(KeySet, usize), String> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<Value>,
        }
        let doc: Doc =
            serde_json::from_slice(json).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Vec::new();
        let mut skipped = 0;
        for v in doc.keys.into_iter().take(MAX_KEYS) {
            match serde_json::from_value::<Jwk>(v)
                .ok()
                .and_then(|jwk| verify_key(&jwk, allowed))
            {
                Some(k) => keys.push(k),
                None => skipped += 1,
            }
        }
        Ok((KeySet { keys }, skipped))
    }

    /// How many usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// No usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verify the signature of a compact JWS with these keys and `allowed` algorithms; the
    /// decoded payload when it verifies. Claims are not looked at.
    pub fn verify_signature(&self, token: &str, allowed: AlgSet) -> Result<Vec<u8>, SigFailure> {
        let parts = split_compact(token)?;
        let header_bytes = b64url(parts.header).ok_or(SigFailure::Invalid("header encoding"))?;
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|_| SigFailure::Invalid("header is not a JSON object with alg"))?;
        if header.crit.is_some() {
            // No JWS extension is understood, so every critical one is unknown (RFC 7515 4.1.11).
            return Err(SigFailure::Invalid("unknown critical header"));
        }
        if header.b64.is_some() || header.enc.is_some() || header.zip.is_some() {
            return Err(SigFailure::Invalid("unsupported header (b64, enc or zip)"));
        }
        algorithm(&header.alg)
            .filter(|_| allowed.contains(&header.alg))
            .ok_or(SigFailure::Invalid("algorithm not allowed"))?;
        let payload = b64url(parts.payload).ok_or(SigFailure::Invalid("payload encoding"))?;
        let signature = b64url(parts.signature).ok_or(SigFailure::Invalid("signature encoding"))?;
        let candidates: Vec<&VerifyKey> = match &header.kid {
            Some(kid) => {
                if kid.len() > MAX_KID {
                    return Err(SigFailure::Invalid("kid too long"));
                }
                let same_kid: Vec<&VerifyKey> = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
                    .collect();
                if same_kid.is_empty() {
                    return Err(SigFailure::UnknownKey);
                }
                if same_kid.len() > 1 {
                    return Err(SigFailure::Invalid("more than one key has this kid"));
                }
                same_kid
                    .into_iter()
                    .filter(|k| k.algs.contains(&header.alg))
                    .collect()
            }
            None => self
                .keys
                .iter()
                .filter(|k| k.algs.contains(&header.alg))
                .take(MAX_KIDLESS_CANDIDATES)
                .collect(),
        };
        if candidates.is_empty() {
            return Err(match header.kid {
                Some(_) => SigFailure::Invalid("the key of this kid does not allow this alg"),
                None => SigFailure::UnknownKey,
            });
        }
        for k in candidates {
            if let Some(key) = k.for_alg(&header.alg) {
                if key
                    .verify_sig(parts.signing_input.as_bytes(), &signature)
                    .is_ok()
                {
                    return Ok(payload);
                }
            }
        }
        Err(SigFailure::Invalid("signature"))
    }
}

/// The answer to a signature failure: [`NOT_VERIFIED`] for every failure that depends on the
/// provider's keys and algorithms (which would otherwise tell a caller without a valid token
/// what they are), AWS's "not a valid JWT" for the token's own form.
fn signature_refusal(f: &SigFailure) -> OidcError {
    match f {
        SigFailure::UnknownKey
        | SigFailure::Invalid(
            "signature"
            | "algorithm not allowed"
            | "the key of this kid does not allow this alg"
            | "more than one key has this kid",
        ) => invalid(NOT_VERIFIED),
        SigFailure::Invalid(_) => invalid(NOT_A_JWT),
    }
}

/// A RoleSessionName (2..=64 characters of `[\w+=,.@-]`) naming the session of `claim` (a
/// token's `sub`, or a verified `email`): the claim itself when it is one; otherwise its
/// characters with every other one replaced by `-`, cut to 51, then `-` and 12 hex digits of
/// the claim's SHA-256, so that claims that read alike after the replacement, or share their
/// first 51 characters, still name different sessions.
pub fn session_name_from(claim: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if (2..=64).contains(&claim.len()) && claim.chars().all(allowed) {
        return claim.to_owned();
    }
    let mut name: String = claim
        .chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .take(51)
        .collect();
    let digest = Sha256::digest(claim.as_bytes());
    name.push('-');
    name.push_str(&data_encoding::HEXLOWER.encode(digest.get(..6).unwrap_or_default()));
    name
}

/// A JWK as a verification key, or `None` when it may not verify any allowed algorithm.
fn verify_key(jwk: &Jwk, allowed: AlgSet) -> Option<VerifyKey> {
    use jsonwebtoken::jwk::PublicKeyUse;
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return None,
    }
    if let Some(ops) = &jwk.common.key_operations {
        if !ops.iter().any(|o| matches!(o, KeyOperations::Verify)) {
            return None;
        }
    }
    // The key as aws-lc-rs reads it: RFC 8017 DER for RSA, an uncompressed point for EC.
    let mut material = Vec::new();
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(p) => {
            let n = b64url(&p.n)?;
            let e = b64url(&p.e)?;
            let n = strip_zeros(&n);
            let e = strip_zeros(&e);
            let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
            let e_ok = e.len() <= 8
                && e.last().is_some_and(|b| b & 1 == 1)
                && (e.len() > 1 || e.first().is_some_and(|b| *b >= 3));
            if !(2048..=8192).contains(&bits) || !e_ok || roca_fingerprint(n) {
                return None;
            }
            material = rsa_public_key_der(n, e);
            AlgSet::RSA
        }
        AlgorithmParameters::EllipticCurve(p) => {
            let (set, size) = match p.curve {
                EllipticCurve::P256 => (AlgSet::only("ES256"), 32),
                EllipticCurve::P384 => (AlgSet::only("ES384"), 48),
                _ => return None,
            };
            let (x, y) = (b64url(&p.x)?, b64url(&p.y)?);
            // RFC 7518 6.2.1.2: the coordinates are exactly the field size.
            if x.len() != size || y.len() != size {
                return None;
            }
            material.push(0x04);
            material.extend_from_slice(&x);
            material.extend_from_slice(&y);
            set
        }
        // Symmetric and EdDSA keys never verify here.
        AlgorithmParameters::OctetKey(_) | AlgorithmParameters::OctetKeyPair(_) => AlgSet::NONE,
    };
    let by_alg = match &jwk.common.key_algorithm {
        None => AlgSet::ALL,
        Some(a) => AlgSet::only(key_algorithm_name(a)?),
    };
    let algs = by_type.and(by_alg).and(allowed);
    if algs.is_empty() {
        return None;
    }
    // Every algorithm the key may verify, parsed now; a key aws-lc-rs refuses (a point not on
    // the curve, a malformed modulus) verifies nothing.
    let mut parsed = Vec::new();
    for (name, _) in ALGS.iter().filter(|(n, _)| algs.contains(n)) {
        let alg = verification_algorithm(name)?;
        let key = ParsedPublicKey::new(alg, &material).ok()?;
        parsed.push((*name, Arc::new(key)));
    }
    Some(VerifyKey {
        kid: jwk.common.key_id.clone(),
        algs,
        parsed,
    })
}

/// The fingerprint of RSA moduli made by the Infineon library with the ROCA weakness
/// (CVE-2017-15361): for each of these small primes, `n mod p` lies in the subgroup generated by
/// 65537. A random modulus passes all of them with negligible probability.
fn roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let r = n
            .iter()
            .fold(0u32, |acc, b| (acc * 256 + u32::from(*b)) % p);
        let g = 65_537 % p;
        let mut x = 1u32;
        for _ in 0..p {
            if x == r {
                return true;
            }
            x = x * g % p;
        }
        false
    })
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or_default()
}

fn key_algorithm_name(a: &KeyAlgorithm) -> Option<&'static str> {
    Some(match a {
        KeyAlgorithm::RS256 => "RS256",
        KeyAlgorithm::RS384 => "RS384",
        KeyAlgorithm::RS512 => "RS512",
        KeyAlgorithm::PS256 => "PS256",
        KeyAlgorithm::PS384 => "PS384",
        KeyAlgorithm::PS512 => "PS512",
        KeyAlgorithm::ES256 => "ES256",
        KeyAlgorithm::ES384 => "ES384",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------------------------

/// `[[oidc_providers]]` as written in the configuration file (see config/idbroker.toml).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOidcProvider {
    /// The issuer URL, exactly as tokens carry it in `iss`.
    pub issuer: String,
    /// Client IDs (audiences) accepted.
    pub client_ids: Vec<String>,
    /// A JWKS file (pinned keys; no network).
    pub jwks_file: Option<std::path::PathBuf>,
    /// A JWKS document inline (pinned keys; no network).
    pub jwks_inline: Option<String>,
    /// The JWKS URL, skipping discovery.
    pub jwks_uri: Option<String>,
    /// Algorithms accepted (default all of RS256..512, PS256..512, ES256, ES384).
    pub allowed_algorithms: Option<Vec<String>>,
    /// Clock leeway for `exp`, `nbf`, `iat`, seconds (default 60).
    pub leeway_seconds: Option<u64>,
    /// Accept each `jti` once (and refuse tokens without one). Default false.
    #[serde(default)]
    pub jti_replay_guard: bool,
    /// Plain `http://` issuer and JWKS URLs on loopback addresses (tests). Default false.
    #[serde(default)]
    pub allow_http_loopback: bool,
    /// JWKS freshness when the response has no `Cache-Control: max-age` (default 300 s).
    pub jwks_cache_default_seconds: Option<u64>,
    /// Longest freshness taken from `max-age` (default 86400 s).
    pub jwks_cache_max_seconds: Option<u64>,
    /// Least time between two fetches of the keys (default 10 s): bounds refetches on unknown
    /// `kid` and retries after failures.
    pub jwks_refetch_min_interval_seconds: Option<u64>,
    /// How long the last good keys are used while fetches fail (default 86400 s).
    pub jwks_max_stale_seconds: Option<u64>,
    /// Bound on each discovery or JWKS request, connecting included (default 3000 ms).
    pub fetch_timeout_ms: Option<u64>,
    /// Claim-mapping rules: when any is given, a role may be taken only if a rule naming it
    /// matches the token (the trust policy must still allow it).
    #[serde(default)]
    pub claim_rules: Vec<RawClaimRule>,
    /// Console sign-in with this provider (`[oidc_providers.login]`).
    #[serde(default)]
    pub login: Option<RawOidcLogin>,
}

/// `[oidc_providers.login]`, as written: console sign-in with this provider.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawOidcLogin {
    /// Short name (links, `?provider=`).
    pub name: String,
    /// What the sign-in page shows.
    pub display_name: Option<String>,
    /// The client registered at the provider for idbroker's console.
    pub client_id: String,
    /// Its secret (none: a public client, PKCE alone).
    pub client_secret: Option<crate::settings::SecretRef>,
    /// Scopes besides `openid`.
    pub scopes: Option<Vec<String>>,
}

/// `[[oidc_providers.claim_rules]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClaimRule {
    /// JSON pointer into the token's claims (`/groups`, `/email`, `/realm_access/roles`).
    pub claim: String,
    /// Values that match: exact, or glob with `*` and `?`. A list claim matches when any of its
    /// elements does.
    pub values: Vec<String>,
    /// Role ARNs (exact, or glob) this rule allows.
    pub roles: Vec<String>,
}

/// A claim-mapping rule.
#[derive(Debug, Clone)]
pub struct ClaimRule {
    /// JSON pointer.
    pub claim: String,
    /// Exact or glob values.
    pub values: Vec<String>,
    /// Exact or glob role ARNs.
    pub roles: Vec<String>,
}

/// Where a provider's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Pinned in the configuration.
    Pinned(Arc<KeySet>),
    /// Fetched from this JWKS URL.
    JwksUri(String),
    /// Fetched from the `jwks_uri` of the issuer's discovery document.
    Discovery,
}

/// A validated OIDC provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer, exactly.
    pub issuer: String,
    /// `HOST/PATH`: the issuer without scheme and trailing slash; prefix of the trust-policy keys.
    pub host_path: String,
    /// `arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`
    pub arn: String,
    /// Accepted audiences.
    pub client_ids: Vec<String>,
    /// Keys.
    pub keys: KeySource,
    /// Allowed algorithms.
    pub algorithms: AlgSet,
    /// Clock leeway.
    pub leeway: u64,
    /// `jti` once.
    pub jti_replay_guard: bool,
    /// Plain HTTP on loopback.
    pub allow_http_loopback: bool,
    /// JWKS freshness without cache headers.
    pub cache_default: u64,
    /// Longest JWKS freshness.
    pub cache_max: u64,
    /// Least time between fetches.
    pub refetch_min_interval: u64,
    /// How long last good keys serve while fetches fail.
    pub max_stale: u64,
    /// Bound on each fetch.
    pub fetch_timeout: Duration,
    /// Claim-mapping rules.
    pub claim_rules: Vec<ClaimRule>,
}

fn is_loopback_host(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Is `url` one idbroker may fetch: HTTPS, or HTTP on loopback when allowed; no credentials,
/// no fragment.
pub fn check_url(url: &str, allow_http_loopback: bool) -> Result<reqwest::Url, String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !u.username().is_empty() || u.password().is_some() || u.fragment().is_some() {
        return Err(format!(
            "{url:?}: no user, password or fragment in a provider URL"
        ));
    }
    match u.scheme() {
        "https" => {}
        "http" if allow_http_loopback && is_loopback_host(&u) => {}
        "http" => {
            return Err(format!(
                "{url:?}: HTTPS is required (plain HTTP only on loopback with allow_http_loopback = true)"
            ))
        }
        other => return Err(format!("{url:?}: scheme {other:?} is not HTTPS")),
    }
    if u.host().is_none() {
        return Err(format!("{url:?}: no host"));
    }
    Ok(u)
}

impl ProviderConfig {
    /// Validate a raw provider. `base` anchors a relative `jwks_file`. The error is
    /// `(key suffix, problem)`, the key relative to the provider (`issuer`, `client_ids`, ...).
    pub fn from_raw(
        raw: &RawOidcProvider,
        account_id: &str,
        base: &Path,
    ) -> Result<ProviderConfig, (String, String)> {
        let err = |k: &str, p: String| (k.to_owned(), p);
        check_url(&raw.issuer, raw.allow_http_loopback).map_err(|p| err("issuer", p))?;
        if raw.issuer.contains('?') {
            return Err(err("issuer", "an issuer has no query".into()));
        }
        let host_path = raw
            .issuer
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'))
            .unwrap_or_default()
            .to_owned();
        if raw.client_ids.is_empty() || raw.client_ids.iter().any(|c| c.is_empty()) {
            return Err(err(
                "client_ids",
                "give at least one client ID (audience); none may be empty".into(),
            ));
        }
        let algorithms = match &raw.allowed_algorithms {
            None => AlgSet::ALL,
            Some(names) => {
                let set = AlgSet::from_names(names).map_err(|p| err("allowed_algorithms", p))?;
                if set.is_empty() {
                    return Err(err("allowed_algorithms", "empty".into()));
                }
                set
            }
        };
        let given = [
            raw.jwks_file.is_some(),
            raw.jwks_inline.is_some(),
            raw.jwks_uri.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if given > 1 {
            return Err(err(
                "jwks_file",
                "give at most one of jwks_file, jwks_inline, jwks_uri (none: discovery)".into(),
            ));
        }
        let pinned = |text: &[u8], key: &str| -> Result<KeySource, (String, String)> {
            let (set, _) = KeySet::from_jwks(text, algorithms).map_err(|p| err(key, p))?;
            if set.is_empty() {
                return Err(err(
                    key,
                    "no usable signing key (RSA ≥ 2048 bits or EC P-256/P-384, use = sig)".into(),
                ));
            }
            Ok(KeySource::Pinned(Arc::new(set)))
        };
        let keys = if let Some(f) = &raw.jwks_file {
            let path = base.join(f);
            let bytes = std::fs::read(&path)
                .map_err(|e| err("jwks_file", format!("{}: {e}", path.display())))?;
            pinned(&bytes, "jwks_file")?
        } else if let Some(text) = &raw.jwks_inline {
            pinned(text.as_bytes(), "jwks_inline")?
        } else if let Some(u) = &raw.jwks_uri {
            check_url(u, raw.allow_http_loopback).map_err(|p| err("jwks_uri", p))?;
            KeySource::JwksUri(u.clone())
        } else {
            KeySource::Discovery
        };
        let mut claim_rules = Vec::new();
        for (i, r) in raw.claim_rules.iter().enumerate() {
            let key = format!("claim_rules[{i}]");
            if !r.claim.starts_with('/') {
                return Err(err(
                    &format!("{key}.claim"),
                    "a JSON pointer starts with / (\"/groups\")".into(),
                ));
            }
            if r.values.is_empty() || r.roles.is_empty() {
                return Err(err(&key, "values and roles must not be empty".into()));
            }
            if let Some(bad) = r.roles.iter().find(|a| !a.starts_with("arn:aws:iam::")) {
                return Err(err(
                    &format!("{key}.roles"),
                    format!("{bad:?} is not a role ARN"),
                ));
            }
            claim_rules.push(ClaimRule {
                claim: r.claim.clone(),
                values: r.values.clone(),
                roles: r.roles.clone(),
            });
        }
        let refetch_min_interval = raw.jwks_refetch_min_interval_seconds.unwrap_or(10);
        Ok(ProviderConfig {
            arn: format!("arn:aws:iam::{account_id}:oidc-provider/{host_path}"),
            issuer: raw.issuer.clone(),
            host_path,
            client_ids: raw.client_ids.clone(),
            keys,
            algorithms,
            leeway: raw.leeway_seconds.unwrap_or(60),
            jti_replay_guard: raw.jti_replay_guard,
            allow_http_loopback: raw.allow_http_loopback,
            cache_default: raw.jwks_cache_default_seconds.unwrap_or(300),
            cache_max: raw.jwks_cache_max_seconds.unwrap_or(86_400),
            refetch_min_interval,
            max_stale: raw.jwks_max_stale_seconds.unwrap_or(86_400),
            fetch_timeout: Duration::from_millis(raw.fetch_timeout_ms.unwrap_or(3000).max(1)),
            claim_rules,
        })
    }
}

/// Validate every provider: issuers unique. Errors are `(key, problem)` with the full key.
pub fn providers_from_raw(
    raw: &[RawOidcProvider],
    account_id: &str,
    base: &Path,
) -> Result<Vec<ProviderConfig>, (String, String)> {
    let mut out: Vec<ProviderConfig> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let p = ProviderConfig::from_raw(r, account_id, base)
            .map_err(|(k, p)| (format!("oidc_providers[{i}].{k}"), p))?;
        if out.iter().any(|o| o.host_path == p.host_path) {
            return Err((
                format!("oidc_providers[{i}].issuer"),
                format!("{:?} is configured twice", p.issuer),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Providers at run time
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Cache {
    keys: Option<Arc<KeySet>>,
    generation: u64,
    fresh_until: u64,
    last_success: u64,
    last_attempt: Option<u64>,
    jwks_uri: Option<String>,
}

/// A provider with its key cache.
pub struct OidcProvider {
    config: Arc<ProviderConfig>,
    cache: RwLock<Cache>,
    refresh: tokio::sync::Mutex<()>,
    fetcher: Arc<dyn Fetcher>,
    observer: Option<FetchObserver>,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    fn observe(&self, outcome: &str) {
        if let Some(o) = &self.observer {
            o(&self.config.host_path, outcome);
        }
    }

    fn read_cache<T>(&self, f: impl FnOnce(&Cache) -> T) -> Result<T, OidcError> {
        let c = self
            .cache
            .read()
            .map_err(|_| OidcError::Communication(KEY_UNAVAILABLE.into()))?;
        Ok(f(&c))
    }

    /// Current keys and their generation, fetching when there are none or they are stale.
    async fn keys(&self, now: u64) -> Result<(Arc<KeySet>, u64), OidcError> {
        if let KeySource::Pinned(k) = &self.config.keys {
            return Ok((k.clone(), 0));
        }
        let (fresh, gen) =
            self.read_cache(|c| (c.keys.clone().filter(|_| now < c.fresh_until), c.generation))?;
        match fresh {
            Some(k) => Ok((k, gen)),
            None => self.refresh(now, gen).await,
        }
    }

    /// Fetch the keys once for everyone waiting. `seen` is the generation the caller had: if
    /// another task refreshed meanwhile, its keys are used without a new fetch.
    async fn refresh(&self, now: u64, seen: u64) -> Result<(Arc<KeySet>, u64), OidcError> {
        let _one_at_a_time = self.refresh.lock().await;
        let (keys, gen, last_attempt, last_success, fresh_until) = self.read_cache(|c| {
            (
                c.keys.clone(),
                c.generation,
                c.last_attempt,
                c.last_success,
                c.fresh_until,
            )
        })?;
        if let Some(k) = &keys {
            if gen != seen && now < fresh_until {
                return Ok((k.clone(), gen));
            }
        }
        let too_soon =
            last_attempt.is_some_and(|t| now < t.saturating_add(self.config.refetch_min_interval));
        let stale_ok = |k: Option<Arc<KeySet>>| {
            k.filter(|_| now <= last_success.saturating_add(self.config.max_stale))
        };
        if too_soon {
            return stale_ok(keys)
                .map(|k| (k, gen))
                .ok_or_else(|| OidcError::Communication(KEY_UNAVAILABLE.into()));
        }
        if let Ok(mut c) = self.cache.write() {
            c.last_attempt = Some(now);
        }
        match self.fetch_keys().await {
            Ok((set, max_age)) => {
                let ttl = max_age.unwrap_or(self.config.cache_default).clamp(
                    self.config.refetch_min_interval,
                    self.config.cache_max.max(1),
                );
                let set = Arc::new(set);
                let gen = {
                    let mut c = self
                        .cache
                        .write()
                        .map_err(|_| OidcError::Communication(KEY_UNAVAILABLE.into()))?;
                    c.keys = Some(set.clone());
                    c.generation += 1;
                    c.fresh_until = now.saturating_add(ttl);
                    c.last_success = now;
                    c.generation
                };
                self.observe("ok");
                Ok((set, gen))
            }
            Err(e) => {
                if let Ok(mut c) = self.cache.write() {
                    // Discover again next time: the JWKS URL may have moved.
                    c.jwks_uri = None;
                }
                match stale_ok(keys) {
                    Some(k) => {
                        warn!(provider = %self.config.host_path, error = %e, "OIDC keys could not be fetched; using the last good keys");
                        self.observe("stale");
                        Ok((k, gen))
                    }
                    None => {
                        warn!(provider = %self.config.host_path, error = %e, "OIDC keys could not be fetched");
                        self.observe("error");
                        Err(OidcError::Communication(KEY_UNAVAILABLE.into()))
                    }
                }
            }
        }
    }

    async fn fetch_keys(&self) -> Result<(KeySet, Option<u64>), String> {
        let timeout = self.config.fetch_timeout;
        let uri = match &self.config.keys {
            KeySource::JwksUri(u) => u.clone(),
            KeySource::Pinned(_) => return Err("pinned keys are not fetched".into()),
            KeySource::Discovery => {
                let cached = self.read_cache(|c| c.jwks_uri.clone()).ok().flatten();
                match cached {
                    Some(u) => u,
                    None => {
                        let u = self.discover(timeout).await?;
                        if let Ok(mut c) = self.cache.write() {
                            c.jwks_uri = Some(u.clone());
                        }
                        u
                    }
                }
            }
        };
        let got = self.fetcher.get(&uri, timeout).await?;
        let (set, skipped) = KeySet::from_jwks(&got.body, self.config.algorithms)?;
        if set.is_empty() {
            return Err(format!(
                "the JWKS has no usable signing key ({skipped} skipped)"
            ));
        }
        Ok((set, got.max_age))
    }

    async fn discover(&self, timeout: Duration) -> Result<String, String> {
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let got = self.fetcher.get(&url, timeout).await?;
        let d: Discovery =
            serde_json::from_slice(&got.body).map_err(|e| format!("discovery document: {e}"))?;
        if d.issuer != self.config.issuer {
            return Err(format!(
                "discovery document names issuer {:?}, not {:?}",
                d.issuer, self.config.issuer
            ));
        }
        check_url(&d.jwks_uri, self.config.allow_http_loopback)?;
        Ok(d.jwks_uri)
    }

    /// Verify the signature with this provider's keys, refetching once (rate-limited) when the
    /// `kid` is unknown.
    async fn verify_signature(&self, token: &str, now: u64) -> Result<Vec<u8>, OidcError> {
        let allowed = self.config.algorithms;
        let (keys, gen) = self.keys(now).await?;
        let first = keys.verify_signature(token, allowed);
        let result = match first {
            Err(SigFailure::UnknownKey) if !matches!(self.config.keys, KeySource::Pinned(_)) => {
                let (keys, _) = self.refresh(now, gen).await?;
                keys.verify_signature(token, allowed)
            }
            other => other,
        };
        result.map_err(|f| {
            let why = match f {
                SigFailure::UnknownKey => "no key of the provider has the token's kid and alg",
                SigFailure::Invalid(why) => why,
            };
            tracing::debug!(provider = %self.config.host_path, reason = why, "web identity token refused");
            signature_refusal(&f)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

/// `aud`: one string or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Aud {
    One(String),
    Many(Vec<String>),
}

/// The claims idbroker reads. Numbers must be JSON numbers (`"exp": "123"` is refused); a
/// duplicated claim is refused.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Aud>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    email: Option<Value>,
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    amr: Option<Value>,
    #[serde(default, rename = "https://aws.amazon.com/tags")]
    tags: Option<Value>,
    #[serde(default, rename = "https://aws.amazon.com/source_identity")]
    source_identity: Option<String>,
}

fn numeric_date(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        // Saturates at u64::MAX; fractions are dropped.
        v as u64
    } else {
        0
    }
}

/// Session tags from the `https://aws.amazon.com/tags` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenTags {
    /// `principal_tags`: key -> value (AWS takes exactly one value per key).
    pub principal_tags: Vec<(String, String)>,
    /// `transitive_tag_keys`.
    pub transitive_tag_keys: Vec<String>,
}

fn parse_tags(v: &Value) -> Result<TokenTags, OidcError> {
    let bad = || invalid("The https://aws.amazon.com/tags claim is malformed");
    let obj = v.as_object().ok_or_else(bad)?;
    let mut out = TokenTags::default();
    if let Some(pt) = obj.get("principal_tags") {
        for (k, vals) in pt.as_object().ok_or_else(bad)? {
            let value = match vals {
                Value::Array(a) if a.len() == 1 => a.first().and_then(Value::as_str),
                Value::String(s) => Some(s.as_str()),
                _ => None,
            }
            .ok_or_else(bad)?;
            out.principal_tags.push((k.clone(), value.to_owned()));
        }
    }
    if let Some(tk) = obj.get("transitive_tag_keys") {
        for k in tk.as_array().ok_or_else(bad)? {
            out.transitive_tag_keys
                .push(k.as_str().ok_or_else(bad)?.to_owned());
        }
    }
    Ok(out)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A web identity token whose signature, issuer, audience, times, subject and (when configured)
/// single use were checked. Only [`OidcFederation::verify`] builds one.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    provider: Arc<ProviderConfig>,
    subject: String,
    audience: String,
    audiences: Vec<String>,
    azp_present: bool,
    amr: Vec<String>,
    email: Option<String>,
    email_verified: bool,
    expires_at: u64,
    tags: TokenTags,
    source_identity: Option<String>,
    payload: Arc<[u8]>,
}

impl VerifiedIdToken {
    /// The `nonce` claim (console login compares it with the one it sent).
    pub fn nonce(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct N {
            nonce: Option<String>,
        }
        serde_json::from_slice::<N>(&self.payload)
            .ok()
            .and_then(|n| n.nonce)
    }

    /// The provider's ARN.
    pub fn provider_arn(&self) -> &str {
        &self.provider.arn
    }
    /// `HOST/PATH`, prefix of the trust-policy keys.
    pub fn host_path(&self) -> &str {
        &self.provider.host_path
    }
    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.provider.issuer
    }
    /// `sub`.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// The client ID it was accepted for (`azp` when present, else the matching `aud`).
    pub fn audience(&self) -> &str {
        &self.audience
    }
    /// Every `aud` value (the `:oaud` key when `azp` is present).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
    /// Whether the token had `azp`.
    pub fn has_azp(&self) -> bool {
        self.azp_present
    }
    /// `amr` values.
    pub fn amr(&self) -> &[String] {
        &self.amr
    }
    /// `email`, when a string.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
    /// `email`, only when the IdP says it verified it (`email_verified`: `true`, or the string
    /// `"true"` that some IdPs send, as openidconnect-rs's `accept-string-booleans` reads it).
    pub fn verified_email(&self) -> Option<&str> {
        self.email.as_deref().filter(|_| self.email_verified)
    }
    /// `exp`.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }
    /// Session tags from the token.
    pub fn tags(&self) -> &TokenTags {
        &self.tags
    }
    /// `https://aws.amazon.com/source_identity`.
    pub fn source_identity(&self) -> Option<&str> {
        self.source_identity.as_deref()
    }

    /// Do the provider's claim-mapping rules let this token take `role_arn`? No rules: yes.
    /// A rule whose claim is absent because the IdP moved it out of the token (Entra ID's groups
    /// overage, `_claim_names` / `hasgroups`) is refused with a message saying so: distributed
    /// claims are not fetched.
    pub fn check_claim_rules(&self, role_arn: &str) -> Result<(), OidcError> {
        let rules = &self.provider.claim_rules;
        if rules.is_empty() {
            return Ok(());
        }
        let claims: Value =
            serde_json::from_slice(&self.payload).map_err(|_| invalid(NOT_A_JWT))?;
        let mut overage = false;
        for rule in rules
            .iter()
            .filter(|r| r.roles.iter().any(|p| glob(p, role_arn)))
        {
            match claims.pointer(&rule.claim) {
                Some(v) => {
                    let matched = claim_values(v)
                        .iter()
                        .any(|s| rule.values.iter().any(|p| glob(p, s)));
                    if matched {
                        return Ok(());
                    }
                }
                None => overage |= is_overage(&claims, &rule.claim),
            }
        }
        if overage {
            return Err(OidcError::RejectedClaim(
                "The token's group claim was left out by the identity provider (groups overage); idbroker does not fetch distributed claims: filter the groups the identity provider emits".into(),
            ));
        }
        Err(OidcError::RejectedClaim(format!(
            "No claim rule of the provider allows the role {role_arn}"
        )))
    }
}

fn claim_values(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(a) => a.iter().flat_map(claim_values).collect(),
        _ => Vec::new(),
    }
}

fn is_overage(claims: &Value, pointer: &str) -> bool {
    let top = pointer
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    let named = claims
        .get("_claim_names")
        .and_then(Value::as_object)
        .is_some_and(|m| m.contains_key(top));
    let has_groups = top == "groups" && claims.get("hasgroups") == Some(&Value::Bool(true));
    named || has_groups
}

/// Glob match: `*` any run of characters, `?` one character, everything else literal.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|c| *c == '*')
}

// ---------------------------------------------------------------------------------------------
// The federation
// ---------------------------------------------------------------------------------------------

/// Every configured OIDC provider, by issuer.
#[derive(Debug, Default)]
pub struct OidcFederation {
    providers: Vec<Arc<OidcProvider>>,
    by_issuer: HashMap<String, usize>,
}

impl OidcFederation {
    /// The providers, fetching over HTTPS with [`HttpFetcher`].
    pub fn new(
        configs: &[ProviderConfig],
        observer: Option<FetchObserver>,
    ) -> Result<Self, String> {
        let fetcher: Arc<dyn Fetcher> = Arc::new(HttpFetcher::new()?);
        Ok(Self::with_fetcher(configs, fetcher, observer))
    }

    /// The providers with a given fetcher (tests pass their own).
    pub fn with_fetcher(
        configs: &[ProviderConfig],
        fetcher: Arc<dyn Fetcher>,
        observer: Option<FetchObserver>,
    ) -> Self {
        let mut f = OidcFederation::default();
        for c in configs {
            f.by_issuer.insert(c.issuer.clone(), f.providers.len());
            f.providers.push(Arc::new(OidcProvider {
                config: Arc::new(c.clone()),
                cache: RwLock::new(Cache::default()),
                refresh: tokio::sync::Mutex::new(()),
                fetcher: fetcher.clone(),
                observer: observer.clone(),
            }));
        }
        f
    }

    /// No provider configured.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    /// Validate a web identity token at `now`. `store` records `jti` when the provider asks for
    /// single use.
    #[instrument(level = "debug", skip_all)]
    pub async fn verify(
        &self,
        token: &str,
        store: &dyn SessionStore,
        now: SystemTime,
    ) -> Result<VerifiedIdToken, OidcError> {
        let now = epoch(now);
        if token.len() > MAX_TOKEN_CHARS {
            return Err(invalid("The token is longer than 20000 characters"));
        }
        let parts = split_compact(token).map_err(|_| invalid(NOT_A_JWT))?;
        // The claims are read before the signature is checked only to choose the provider; no
        // decision is taken on them until the signature over this same payload has verified.
        let payload = b64url(parts.payload).ok_or_else(|| invalid(NOT_A_JWT))?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| invalid(NOT_A_JWT))?;
        let iss = claims
            .iss
            .as_deref()
            .ok_or_else(|| invalid("The token has no iss claim"))?;
        let provider = self
            .by_issuer
            .get(iss)
            .and_then(|i| self.providers.get(*i))
            .ok_or_else(|| {
                let shown: String = iss.chars().take(200).collect();
                tracing::debug!(issuer = %shown, "web identity token refused: no provider has its issuer");
                invalid(NOT_VERIFIED)
            })?;
        let verified_payload = provider.verify_signature(token, now).await?;
        debug_assert_eq!(verified_payload, payload);
        let cfg = &provider.config;
        let token = check_claims(cfg, claims, payload, now)?;
        if cfg.jti_replay_guard {
            let jti = claims_jti(&token)?;
            let id = jti_key(&cfg.issuer, &jti);
            let until = token.expires_at.saturating_add(cfg.leeway);
            match store.use_once("jti", &id, until, now).await {
                Ok(()) => {}
                Err(SessionError::Replay) => {
                    return Err(invalid("The token has already been used"))
                }
                Err(SessionError::Expired) => {
                    return Err(OidcError::Expired {
                        now,
                        exp: token.expires_at,
                    })
                }
                Err(_) => return Err(OidcError::StoreUnavailable),
            }
        }
        Ok(token)
    }
}

fn claims_jti(token: &VerifiedIdToken) -> Result<String, OidcError> {
    #[derive(Deserialize)]
    struct J {
        jti: Option<String>,
    }
    serde_json::from_slice::<J>(&token.payload)
        .ok()
        .and_then(|j| j.jti)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid("The token has no jti claim, which this provider requires"))
}

/// The single-use id of a `jti`: a hash of issuer and `jti`, so ids of different issuers never
/// collide and no token text reaches the store.
fn jti_key(issuer: &str, jti: &str) -> String {
    let mut h = Sha256::new();
    h.update(issuer.as_bytes());
    h.update([0u8]);
    h.update(jti.as_bytes());
    data_encoding::HEXLOWER.encode(&h.finalize())
}

fn check_claims(
    cfg: &Arc<ProviderConfig>,
    c: Claims,
    payload: Vec<u8>,
    now: u64,
) -> Result<VerifiedIdToken, OidcError> {
    let leeway = cfg.leeway;
    let exp = c
        .exp
        .map(numeric_date)
        .ok_or_else(|| invalid("The token has no exp claim"))?;
    if now > exp.saturating_add(leeway) {
        return Err(OidcError::Expired { now, exp });
    }
    if let Some(nbf) = c.nbf.map(numeric_date) {
        if nbf > now.saturating_add(leeway) {
            return Err(invalid("The token is not valid yet (nbf)"));
        }
    }
    if let Some(iat) = c.iat.map(numeric_date) {
        if iat > now.saturating_add(leeway) {
            return Err(invalid("The token was issued in the future (iat)"));
        }
    }
    let audiences = match c.aud {
        Some(Aud::One(a)) => vec![a],
        Some(Aud::Many(v)) => v,
        None => Vec::new(),
    };
    let audience = match &c.azp {
        Some(azp) => cfg.client_ids.iter().find(|id| *id == azp),
        None => cfg
            .client_ids
            .iter()
            .find(|id| audiences.iter().any(|a| a == *id)),
    }
    .cloned()
    .ok_or_else(|| invalid("Incorrect token audience"))?;
    let subject = c
        .sub
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("The token has no sub claim"))?;
    if subject.chars().count() > MAX_SUBJECT {
        return Err(invalid(
            "The token's sub claim is longer than 255 characters",
        ));
    }
    if cfg.jti_replay_guard && c.jti.as_deref().is_none_or(str::is_empty) {
        return Err(invalid(
            "The token has no jti claim, which this provider requires",
        ));
    }
    let tags = match &c.tags {
        Some(v) => parse_tags(v)?,
        None => TokenTags::default(),
    };
    Ok(VerifiedIdToken {
        provider: cfg.clone(),
        subject,
        audience,
        audiences,
        azp_present: c.azp.is_some(),
        amr: strings(c.amr.as_ref()),
        email: c.email.as_ref().and_then(Value::as_str).map(str::to_owned),
        email_verified: matches!(&c.email_verified, Some(Value::Bool(true)))
            || matches!(&c.email_verified, Some(Value::String(v)) if v == "true"),
        expires_at: exp,
        tags,
        source_identity: c.source_identity,
        payload: payload.into(),
    })
}

/// The demo provider's issuer (config/demo/idbroker.toml). [`demo_token`] signs for it alone.
pub const DEMO_ISSUER: &str = "https://oidc.demo.idbroker.invalid";
/// The demo provider's client ID.
pub const DEMO_CLIENT_ID: &str = "idbroker-demo";
/// The kid of the demo key (certs/make-demo-oidc.sh).
pub const DEMO_KID: &str = "idbroker-demo-1";

/// DEVELOPMENT ONLY: a token of the demo provider for `sub`, signed (RS256) with the demo key
/// (`certs/demo/oidc-demo.key`, PEM), valid `lifetime` seconds from `now`. The issuer, audience
/// and kid are the demo provider's, so the token is accepted only where the demo provider is
/// configured.
pub fn demo_token(
    key_pem: &[u8],
    sub: &str,
    now: SystemTime,
    lifetime: u64,
) -> Result<String, String> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem)
        .map_err(|e| format!("the demo key is not an RSA private key in PEM: {e}"))?;
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.kid = Some(DEMO_KID.into());
    let t = epoch(now);
    let claims = serde_json::json!({
        "iss": DEMO_ISSUER, "sub": sub, "aud": DEMO_CLIENT_ID,
        "iat": t, "nbf": t, "exp": t.saturating_add(lifetime),
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| format!("signing: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_public_key_der_is_rfc_8017() {
        let mut out = Vec::new();
        der_uint(&[0x01, 0x00, 0x01], &mut out);
        assert_eq!(out, [0x02, 0x03, 0x01, 0x00, 0x01]);
        out.clear();
        der_uint(&[0x80], &mut out);
        assert_eq!(out, [0x02, 0x02, 0x00, 0x80], "a set high bit needs a zero");
        // A 2048-bit modulus: the familiar 30 82 01 0a 02 82 01 01 00 prefix.
        let n = [0xC5u8; 256];
        let der = rsa_public_key_der(&n, &[0x01, 0x00, 0x01]);
        assert_eq!(
            der.get(..9),
            Some(&[0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00][..])
        );
        assert_eq!(der.len(), 4 + 0x010a);
        // aws-lc-rs reads what we write: its own key's DER comes back byte for byte.
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let theirs = aws_lc_rs::signature::KeyPair::public_key(&kp)
            .as_ref()
            .to_vec();
        let parsed =
            ParsedPublicKey::new(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, &theirs);
        assert!(parsed.is_ok());
        let (n, e) = rsa_components_of(&theirs);
        assert_eq!(rsa_public_key_der(n, e), theirs);
    }

    /// The (n, e) magnitudes of an RFC 8017 DER public key with 2-byte lengths (a 2048-bit key).
    fn rsa_components_of(der: &[u8]) -> (&[u8], &[u8]) {
        // 30 82 LL LL | 02 82 LL LL [00] n | 02 LL e
        let n_len = usize::from(der[6]) << 8 | usize::from(der[7]);
        let n = &der[8..8 + n_len];
        let e = &der[8 + n_len + 2..];
        (strip_zeros(n), e)
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("eng-*", "eng-platform"));
        assert!(!glob("eng-*", "ops-eng-x"));
        assert!(glob("*@example.com", "alice@example.com"));
        assert!(!glob("*@example.com", "alice@example.com.evil"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("admins", "admins"));
    }

    #[test]
    fn urls() {
        assert!(check_url("https://idp.example.com/realms/x", false).is_ok());
        assert!(check_url("http://idp.example.com", true).is_err());
        assert!(check_url("http://127.0.0.1:9000", false).is_err());
        assert!(check_url("http://127.0.0.1:9000", true).is_ok());
        assert!(check_url("http://[::1]:9000", true).is_ok());
        assert!(check_url("http://localhost:9000", true).is_ok());
        assert!(check_url("https://u:p@idp.example.com", false).is_err());
        assert!(check_url("file:///etc/passwd", true).is_err());
    }

    #[test]
    fn session_names_from_claims() {
        let ok = |s: &str| {
            (2..=64).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        };
        assert_eq!(session_name_from("alice@example.com"), "alice@example.com");
        assert_eq!(session_name_from("a_b+c=d,e.f@g-h"), "a_b+c=d,e.f@g-h");
        let k8s = session_name_from("system:serviceaccount:ns:builder");
        assert!(
            k8s.starts_with("system-serviceaccount-ns-builder-"),
            "{k8s}"
        );
        let mut seen = std::collections::HashSet::new();
        for claim in [
            "x",
            "",
            "a:b",
            "a-b-",
            "a|b",
            "ünïcode",
            &"y".repeat(64),
            &"y".repeat(65),
            &"y".repeat(300),
            &format!("{}z", "y".repeat(300)),
        ] {
            let n = session_name_from(claim);
            assert!(ok(&n), "{claim:?} -> {n:?}");
            assert!(seen.insert(n.clone()), "{claim:?} -> {n:?} twice");
        }
    }

    #[test]
    fn only_key_independent_signature_failures_say_what_they_are() {
        for f in [
            SigFailure::UnknownKey,
            SigFailure::Invalid("signature"),
            SigFailure::Invalid("algorithm not allowed"),
            SigFailure::Invalid("the key of this kid does not allow this alg"),
            SigFailure::Invalid("more than one key has this kid"),
        ] {
            assert_eq!(signature_refusal(&f), invalid(NOT_VERIFIED), "{f:?}");
        }
        assert_eq!(
            signature_refusal(&SigFailure::Invalid("header encoding")),
            invalid(NOT_A_JWT)
        );
    }

    #[test]
    fn algorithm_names_are_exact() {
        assert!(algorithm("RS256").is_some());
        for bad in [
            "none", "None", "NONE", "rs256", "HS256", "EdDSA", "ES512", "",
        ] {
            assert!(algorithm(bad).is_none(), "{bad}");
        }
        assert!(AlgSet::from_names(&["HS256"]).is_err());
    }
}
