//! Keys and signatures: a JWKS read into verification keys (RSA of 2048..8192 bits with an odd
//! exponent and without the ROCA fingerprint, EC on P-256 / P-384; `use`, `key_ops` and `alg`
//! honoured; symmetric keys never), the algorithms idbroker verifies ([`AlgSet`]), the DER that
//! aws-lc-rs reads an RSA key from, and a compact JWS split into its parts and its signature
//! checked with a [`KeySet`].

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, VerificationAlgorithm};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::Value;

/// Most keys taken from one JWKS.
const MAX_KEYS: usize = 100;
/// Longest `kid` looked up.
const MAX_KID: usize = 256;
/// Keys tried for a token without `kid`.
const MAX_KIDLESS_CANDIDATES: usize = 4;

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

    pub(super) fn is_empty(self) -> bool {
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
pub(super) struct Compact<'a> {
    header: &'a str,
    pub(super) payload: &'a str,
    signature: &'a str,
    signing_input: &'a str,
}

pub(super) fn b64url(part: &str) -> Option<Vec<u8>> {
    data_encoding::BASE64URL_NOPAD.decode(part.as_bytes()).ok()
}

pub(super) fn split_compact(token: &str) -> Result<Compact<'_>, SigFailure> {
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
    #[tracing::instrument(level = "debug", name = "jwt.signature", skip_all)]
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
