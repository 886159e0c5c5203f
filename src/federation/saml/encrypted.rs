//! EncryptedAssertion (XML Encryption): the content key is unwrapped with one of the SP's
//! private keys (RSA-OAEP only; RSA PKCS#1 v1.5 is refused), the Assertion decrypted (AES-GCM
//! or AES-CBC, 128/192/256), and the plaintext spliced into the Response in place of the
//! EncryptedAssertion, so that the rest of the check sees one ordinary Response with one
//! Assertion and verifies it exactly as a plain one.
//!
//! samael's own decryption is not used: it parses the plaintext into its structs (where the
//! Assertion's signature is never verified), slices ciphertexts without length checks and
//! accepts RSA PKCS#1 v1.5.

use openssl::encrypt::Decrypter;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};
use tracing::instrument;

use super::xml::{self, NS_ASSERTION, NS_DS, NS_PROTOCOL};
use super::SamlError;

/// The XML Encryption namespace.
pub const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";

const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const MAX_ENCRYPTED_KEYS: usize = 4;

/// The SP's private keys for encrypted assertions (first: current; others: during rotation).
#[derive(Clone, Default)]
pub struct SpKeys(pub(super) Vec<PKey<Private>>);

impl std::fmt::Debug for SpKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SpKeys({} keys)", self.0.len())
    }
}

impl SpKeys {
    /// No keys configured: encrypted assertions are refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sign `data` with the current SP key, RSA PKCS#1 v1.5 with SHA-256 (a signed
    /// AuthnRequest over the HTTP-Redirect binding). `None` without a key.
    pub fn sign_rsa_sha256(&self, data: &[u8]) -> Option<Vec<u8>> {
        let key = self.0.first()?;
        let mut signer =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), key).ok()?;
        signer.update(data).ok()?;
        signer.sign_to_vec().ok()
    }
}

fn undecryptable() -> SamlError {
    // One message for every failure: no oracle on padding, key or tag.
    SamlError::Malformed("the EncryptedAssertion cannot be decrypted with this service's keys")
}

/// The one EncryptedAssertion child of the Response, if the document has one. Refuses a
/// document mixing plain and encrypted assertions, or with several encrypted ones.
pub(super) fn find<'a, 'i>(
    doc: &'a roxmltree::Document<'i>,
) -> Result<Option<roxmltree::Node<'a, 'i>>, SamlError> {
    let root = doc.root_element();
    let found: Vec<_> = doc
        .descendants()
        .filter(|n| xml::is(n, NS_ASSERTION, "EncryptedAssertion"))
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => {
            if !xml::is(&root, NS_PROTOCOL, "Response") || one.parent_element() != Some(root) {
                return Err(SamlError::Malformed(
                    "the EncryptedAssertion must be a child of the Response",
                ));
            }
            if doc
                .descendants()
                .any(|n| xml::is(&n, NS_ASSERTION, "Assertion"))
            {
                return Err(SamlError::Malformed(
                    "the Response must contain exactly one Assertion",
                ));
            }
            Ok(Some(*one))
        }
        _ => Err(SamlError::Malformed(
            "the Response must contain exactly one Assertion",
        )),
    }
}

/// Decrypt an EncryptedAssertion with the first SP key that unwraps its content key: the
/// Assertion's XML text (without an XML declaration).
#[instrument(skip_all)]
pub(super) fn decrypt(ea: &roxmltree::Node<'_, '_>, keys: &SpKeys) -> Result<String, SamlError> {
    if keys.is_empty() {
        return Err(SamlError::Malformed(
            "encrypted assertions are not accepted: no SP private key is configured",
        ));
    }
    let data = xml::child(ea, NS_XENC, "EncryptedData").ok_or_else(undecryptable)?;
    let method = xml::child(&data, NS_XENC, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(undecryptable)?;
    let cipher_value = cipher_value(&data).ok_or_else(undecryptable)?;
    let encrypted_keys: Vec<_> = ea
        .descendants()
        .filter(|n| xml::is(n, NS_XENC, "EncryptedKey"))
        .take(MAX_ENCRYPTED_KEYS)
        .collect();
    for ek in &encrypted_keys {
        for key in &keys.0 {
            let Ok(cek) = unwrap_key(ek, key) else {
                continue;
            };
            let plain = decrypt_content(method, &cek, &cipher_value)?;
            let text = String::from_utf8(plain).map_err(|_| undecryptable())?;
            let mut text = text.trim();
            if text.starts_with("<?xml") {
                let end = text.find("?>").ok_or_else(undecryptable)?;
                text = text.get(end + 2..).unwrap_or_default().trim_start();
            }
            if !text.starts_with('<') || text.contains("<?xml") {
                return Err(undecryptable());
            }
            return Ok(text.to_owned());
        }
    }
    Err(undecryptable())
}

fn cipher_value(parent: &roxmltree::Node<'_, '_>) -> Option<Vec<u8>> {
    let cd = xml::child(parent, NS_XENC, "CipherData")?;
    let cv = xml::child(&cd, NS_XENC, "CipherValue")?;
    let clean: String = xml::full_text(&cv)
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    data_encoding::BASE64.decode(clean.as_bytes()).ok()
}

fn digest(uri: Option<&str>) -> Result<MessageDigest, ()> {
    match uri {
        None | Some("http://www.w3.org/2000/09/xmldsig#sha1") => Ok(MessageDigest::sha1()),
        Some("http://www.w3.org/2001/04/xmlenc#sha256") => Ok(MessageDigest::sha256()),
        Some("http://www.w3.org/2001/04/xmldsig-more#sha384") => Ok(MessageDigest::sha384()),
        Some("http://www.w3.org/2001/04/xmlenc#sha512") => Ok(MessageDigest::sha512()),
        Some(_) => Err(()),
    }
}

fn mgf(uri: Option<&str>) -> Result<MessageDigest, ()> {
    match uri {
        None | Some("http://www.w3.org/2009/xmlenc11#mgf1sha1") => Ok(MessageDigest::sha1()),
        Some("http://www.w3.org/2009/xmlenc11#mgf1sha256") => Ok(MessageDigest::sha256()),
        Some("http://www.w3.org/2009/xmlenc11#mgf1sha384") => Ok(MessageDigest::sha384()),
        Some("http://www.w3.org/2009/xmlenc11#mgf1sha512") => Ok(MessageDigest::sha512()),
        Some(_) => Err(()),
    }
}

/// RSA-OAEP key transport (never PKCS#1 v1.5).
fn unwrap_key(ek: &roxmltree::Node<'_, '_>, key: &PKey<Private>) -> Result<Vec<u8>, ()> {
    let em = xml::child(ek, NS_XENC, "EncryptionMethod").ok_or(())?;
    let alg = em.attribute("Algorithm").ok_or(())?;
    let md = digest(xml::child(&em, NS_DS, "DigestMethod").and_then(|d| d.attribute("Algorithm")))?;
    let mgf1 = match alg {
        RSA_OAEP_MGF1P => MessageDigest::sha1(),
        RSA_OAEP => mgf(xml::child(&em, NS_XENC11, "MGF").and_then(|m| m.attribute("Algorithm")))?,
        _ => return Err(()),
    };
    if xml::child(&em, NS_XENC, "OAEPparams").is_some() {
        return Err(());
    }
    let wrapped = cipher_value(ek).ok_or(())?;
    let mut d = Decrypter::new(key).map_err(|_| ())?;
    d.set_rsa_padding(Padding::PKCS1_OAEP).map_err(|_| ())?;
    d.set_rsa_oaep_md(md).map_err(|_| ())?;
    d.set_rsa_mgf1_md(mgf1).map_err(|_| ())?;
    let mut out = vec![0u8; d.decrypt_len(&wrapped).map_err(|_| ())?];
    let n = d.decrypt(&wrapped, &mut out).map_err(|_| ())?;
    out.truncate(n);
    Ok(out)
}

fn decrypt_content(method: &str, key: &[u8], data: &[u8]) -> Result<Vec<u8>, SamlError> {
    let (cipher, gcm) = match method {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => (Cipher::aes_128_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => (Cipher::aes_192_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => (Cipher::aes_256_cbc(), false),
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => (Cipher::aes_128_gcm(), true),
        "http://www.w3.org/2009/xmlenc11#aes192-gcm" => (Cipher::aes_192_gcm(), true),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => (Cipher::aes_256_gcm(), true),
        _ => {
            return Err(SamlError::Malformed(
                "the EncryptedAssertion's algorithm is not supported",
            ))
        }
    };
    if key.len() != cipher.key_len() {
        return Err(undecryptable());
    }
    if gcm {
        const IV: usize = 12;
        const TAG: usize = 16;
        if data.len() < IV + TAG {
            return Err(undecryptable());
        }
        let (iv, rest) = data.split_at(IV);
        let (ct, tag) = rest.split_at(rest.len() - TAG);
        openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], ct, tag)
            .map_err(|_| undecryptable())
    } else {
        const BLOCK: usize = 16;
        if data.len() < 2 * BLOCK || data.len() % BLOCK != 0 {
            return Err(undecryptable());
        }
        let (iv, ct) = data.split_at(BLOCK);
        let mut c =
            Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).map_err(|_| undecryptable())?;
        c.pad(false);
        let mut out = vec![0u8; ct.len() + BLOCK];
        let mut n = c.update(ct, &mut out).map_err(|_| undecryptable())?;
        n += c
            .finalize(out.get_mut(n..).unwrap_or_default())
            .map_err(|_| undecryptable())?;
        out.truncate(n);
        // XML Encryption padding: the last byte is the pad length (1..=16), the others are
        // arbitrary.
        let pad = usize::from(*out.last().ok_or_else(undecryptable)?);
        if !(1..=BLOCK).contains(&pad) || pad > out.len() {
            return Err(undecryptable());
        }
        out.truncate(out.len() - pad);
        Ok(out)
    }
}

/// Replace byte ranges of `text` (sorted, not overlapping) with strings.
pub(super) fn splice(text: &str, mut edits: Vec<(std::ops::Range<usize>, &str)>) -> String {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (r, with) in edits {
        out.push_str(text.get(at..r.start).unwrap_or_default());
        out.push_str(with);
        at = r.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_odd_ciphertexts_fail_without_panicking() {
        let gcm = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
        let cbc = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
        for len in [0usize, 1, 11, 12, 27, 28, 33] {
            assert!(
                decrypt_content(gcm, &[0; 16], &vec![0; len]).is_err(),
                "{len}"
            );
        }
        for len in [0usize, 15, 16, 17, 31, 33, 48] {
            assert!(
                decrypt_content(cbc, &[0; 32], &vec![0; len]).is_err(),
                "{len}"
            );
        }
        // Wrong key length for the algorithm.
        assert!(decrypt_content(gcm, &[0; 32], &[0; 64]).is_err());
        assert!(matches!(
            decrypt_content("http://www.w3.org/2001/04/xmlenc#tripledes-cbc", &[0; 24], &[0; 64]),
            Err(SamlError::Malformed(m)) if m.contains("not supported")
        ));
    }

    #[test]
    fn cbc_round_trip_with_xmlenc_padding() {
        let key = [7u8; 16];
        let iv = [9u8; 16];
        // XML Encryption padding: arbitrary bytes, the last one the length.
        let mut plain = b"<a/>".to_vec();
        plain.extend_from_slice(&[0xAA; 11]);
        plain.push(12);
        let mut c = Crypter::new(Cipher::aes_128_cbc(), Mode::Encrypt, &key, Some(&iv))
            .unwrap_or_else(|_| unreachable!());
        c.pad(false);
        let mut ct = vec![0u8; 32];
        let n = c.update(&plain, &mut ct).unwrap_or_default();
        ct.truncate(n);
        let mut data = iv.to_vec();
        data.extend_from_slice(&ct);
        let out = decrypt_content("http://www.w3.org/2001/04/xmlenc#aes128-cbc", &key, &data);
        assert_eq!(out.as_deref(), Ok(&b"<a/>"[..]));
    }

    #[test]
    fn splices_in_order() {
        let t = "0123456789";
        assert_eq!(splice(t, vec![(6..8, "X"), (1..2, "")]), "02345X89");
    }
}
