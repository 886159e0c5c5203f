//! EncryptedAssertion (XML Encryption): the content key is unwrapped with one of the SP's
//! private keys (RSA-OAEP only; RSA PKCS#1 v1.5 is refused), the Assertion decrypted (AES-GCM
//! or AES-CBC, 128/192/256; a provider with `require_aead_encryption` refuses CBC), and the
//! plaintext spliced into the Response in place of the EncryptedAssertion, so that the rest of
//! the check sees one ordinary Response with one Assertion and verifies it exactly as a plain
//! one.
//!
//! samael's own decryption is not used: it parses the plaintext into its structs (where the
//! Assertion's signature is never verified), slices ciphertexts without length checks and
//! accepts RSA PKCS#1 v1.5.
//!
//! # One answer for every failure
//!
//! AES-CBC is malleable and XML Encryption does not authenticate it: when the Response is not
//! signed (ADFS's default), anyone holding a captured EncryptedAssertion can wrap it in a
//! Response of their own, alter ciphertext blocks and send it. If the answer told bad padding
//! from bad UTF-8, from "not XML", from "not an acceptable Assertion", that would be the
//! padding / format oracle of the published attacks on XML Encryption (Jager & Somorovsky, "How
//! to Break XML Encryption", CCS 2011), which decrypts the assertion a block at a time.
//!
//! So once the EncryptedAssertion's own structure has been read (which algorithm, where the
//! ciphertext is: public facts of the message), [`open`] takes every step and decides only
//! at the end, with one [`SamlError`] value ([`UNDECRYPTABLE`]) for all of these: no SP key
//! unwraps the content key (a random key is used instead and the work goes on), the
//! ciphertext's length, the GCM tag, the CBC padding (checked without returning early; the
//! plaintext is then parsed as it is), UTF-8 (a lossy copy is parsed), the XML, and what the
//! rest of the check would refuse before the Assertion's signature is verified: the lexical pass,
//! the profile pass on the rebuilt Response and, when the Response is not signed, the
//! Assertion's signature itself (samael + xmlsec, with the provider's trusted certificates). A
//! manipulated ciphertext can therefore only come out as that one error, or as an Assertion
//! whose signature verified (the IdP's own bytes). When the Response's signature verified before
//! decryption, it covers the ciphertext: nothing can be altered and the Assertion's own signature
//! is left to the ordinary path.
//!
//! What is not claimed: equal time. Parsing stops at the first XML error, and its time depends
//! on the plaintext; a fully constant-time XML parser and verifier is not on offer. What the
//! early returns used to give away (which stage failed) is gone, and the remaining signal is
//! the parser's speed on garbage. For CBC, the real fix is on the IdP: sign the Response (its
//! signature is checked before anything is decrypted) or encrypt with AES-GCM, and set
//! `require_aead_encryption = true` for providers that can.
//!
//! The detail stays in the server's log (`debug`), never in the answer.

use openssl::encrypt::Decrypter;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};
use samael::crypto::{AllowedSignatureAlgorithm, Crypto, ReduceMode, VerificationKey};
use tracing::instrument;

use super::profile::{profile, signature_element_ok, strip};
use super::sp_keys::SpKeys;
use super::xml::{self, NS_ASSERTION, NS_DS, NS_PROTOCOL};
use super::{SamlError, SamlProvider, SamlSettings};

/// The XML Encryption namespace.
pub const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";

const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const MAX_ENCRYPTED_KEYS: usize = 4;

/// The answer to every failure once the EncryptedAssertion is found (see the module docs).
pub(super) const UNDECRYPTABLE: &str =
    "the EncryptedAssertion cannot be decrypted, or does not hold an acceptable Assertion";

/// A CBC-encrypted assertion for a provider that requires AES-GCM. Decided on the algorithm
/// named in the message, before anything is decrypted: it tells nothing of the plaintext.
pub(super) const AEAD_REQUIRED: &str =
    "this provider accepts only AES-GCM encrypted assertions (require_aead_encryption), not AES-CBC";

fn undecryptable() -> SamlError {
    SamlError::Malformed(UNDECRYPTABLE)
}

/// When the response carries an EncryptedAssertion: the Response with the decrypted Assertion
/// in its place, and whether the Response's signature was verified before decryption. That
/// signature covers the ciphertext, not the plaintext: it is checked here (profile and samael),
/// the text is rebuilt from samael's signed content, and the signature element is dropped from
/// it. Without a Response signature the decrypted Assertion must carry its own, checked by the
/// ordinary path afterwards.
#[instrument(skip_all)]
pub(super) fn open_encrypted(
    provider: &SamlProvider,
    sp: &SamlSettings,
    text: &str,
    trusted: &[VerificationKey],
    algorithms: Option<&[AllowedSignatureAlgorithm]>,
) -> Result<Option<(String, bool)>, SamlError> {
    if !text.contains("EncryptedAssertion") {
        return Ok(None);
    }
    let doc = xml::parse(text)
        .map_err(|_| SamlError::Malformed("the response is not well-formed XML"))?;
    if find(&doc)?.is_none() {
        return Ok(None);
    }
    let root = doc.root_element();
    let root_id = root.attribute("ID");
    let mut response_signed = false;
    for sig in doc.descendants().filter(|n| xml::is(n, NS_DS, "Signature")) {
        response_signed |= signature_element_ok(provider, &sig, &root, None, response_signed)?;
    }
    let unsigned = || SamlError::Signature("the assertion is not covered by a valid signature");
    let base = if response_signed {
        tracing::debug_span!("saml.signature")
            .in_scope(|| {
                Crypto::reduce_xml_to_signed_with_keys(
                    text,
                    trusted,
                    ReduceMode::ValidateAndMarkNoAncestors,
                    algorithms,
                )
            })
            .map_err(|_| SamlError::Signature(super::SIGNATURE_DOES_NOT_VERIFY))?
    } else {
        text.to_owned()
    };
    let bdoc = xml::parse(&base).map_err(|_| unsigned())?;
    let broot = bdoc.root_element();
    if !xml::is(&broot, NS_PROTOCOL, "Response") || broot.attribute("ID") != root_id {
        return Err(unsigned());
    }
    let ea = find(&bdoc)?.ok_or_else(unsigned)?;
    let plain = open(
        &ea,
        &sp.sp_keys,
        provider,
        response_signed,
        trusted,
        algorithms,
    )?;
    let mut edits = vec![(ea.range(), plain.as_str())];
    for sig in xml::children(&broot, NS_DS, "Signature") {
        edits.push((sig.range(), ""));
    }
    Ok(Some((splice(&base, edits), response_signed)))
}

/// The one EncryptedAssertion child of the Response, if the document has one. Refuses a
/// document mixing plain and encrypted assertions, or with several encrypted ones.
fn find<'a, 'i>(
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

/// What [`open`] checks the decrypted Assertion with: the provider, whether the Response's
/// signature verified (it then covers the ciphertext), and what verifies the Assertion's own
/// signature otherwise (the provider's trusted certificates and allowed algorithms).
struct Context<'a> {
    provider: &'a SamlProvider,
    response_signed: bool,
    trusted: &'a [VerificationKey],
    algorithms: Option<&'a [AllowedSignatureAlgorithm]>,
}

/// Decrypt an EncryptedAssertion with the first SP key that unwraps its content key, and make
/// sure that what it holds would pass the check up to the Assertion's signature (included when
/// the Response is not signed): the Assertion's XML text (without an XML declaration).
///
/// `ea` is the EncryptedAssertion in the Response that is rebuilt with the plaintext (the
/// signed content when `response_signed`: the Response's signature verified and covers the
/// ciphertext); `trusted` and `algorithms` verify the Assertion's signature when the Response
/// is not signed. Every failure after the EncryptedAssertion's structure is read is one
/// [`UNDECRYPTABLE`] error, decided after all the work (module docs). A provider with
/// `require_aead_encryption` refuses AES-CBC first ([`AEAD_REQUIRED`]).
#[instrument(skip_all)]
fn open(
    ea: &roxmltree::Node<'_, '_>,
    keys: &SpKeys,
    provider: &SamlProvider,
    response_signed: bool,
    trusted: &[VerificationKey],
    algorithms: Option<&[AllowedSignatureAlgorithm]>,
) -> Result<String, SamlError> {
    let cx = Context {
        provider,
        response_signed,
        trusted,
        algorithms,
    };
    decrypt_checked(ea, keys, Some(&cx))
}

fn decrypt_checked(
    ea: &roxmltree::Node<'_, '_>,
    keys: &SpKeys,
    cx: Option<&Context<'_>>,
) -> Result<String, SamlError> {
    if keys.is_empty() {
        return Err(SamlError::Malformed(
            "encrypted assertions are not accepted: no SP private key is configured",
        ));
    }
    // The EncryptedAssertion's own structure: what the message says openly.
    let data = xml::child(ea, NS_XENC, "EncryptedData").ok_or_else(undecryptable)?;
    let method = xml::child(&data, NS_XENC, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(undecryptable)?;
    let content = ContentCipher::from_uri(method).ok_or(SamlError::Malformed(
        "the EncryptedAssertion's algorithm is not supported",
    ))?;
    if cx.is_some_and(|cx| cx.provider.require_aead) && !content.aead {
        return Err(SamlError::Malformed(AEAD_REQUIRED));
    }
    let cipher_value = cipher_value(&data).ok_or_else(undecryptable)?;

    // From here on: every step, one answer at the end.
    let mut failure: Option<String> = None;
    let mut fail = |why: &dyn std::fmt::Display| {
        if failure.is_none() {
            failure = Some(why.to_string());
        }
    };
    let key_len = content.cipher.key_len();
    let cek = match unwrap_any(ea, keys, key_len) {
        Some(cek) => cek,
        None => {
            fail(&"no SP key unwraps the content key");
            random_key(key_len)
        }
    };
    let (plain, decrypted) = decrypt_content(content, &cek, &cipher_value);
    if let Err(why) = decrypted {
        fail(&why);
    }
    let text = match String::from_utf8(plain) {
        Ok(t) => t,
        Err(e) => {
            fail(&"the plaintext is not UTF-8");
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    let assertion = match without_declaration(&text) {
        Some(a) => a,
        None => {
            fail(&"the plaintext is not one element");
            text.trim()
        }
    };
    if let Some(cx) = cx {
        if let Err(e) = acceptable(ea, assertion, cx) {
            fail(&e);
        }
    }
    match failure {
        None => Ok(assertion.to_owned()),
        Some(why) => {
            // The detail for the operator; the caller gets one answer.
            tracing::debug!(reason = %why, "encrypted assertion refused");
            Err(undecryptable())
        }
    }
}

/// The plaintext without its XML declaration, when it is one element's text (no other
/// declaration or processing instruction).
fn without_declaration(text: &str) -> Option<&str> {
    let mut t = text.trim();
    if t.starts_with("<?xml") {
        let end = t.find("?>")?;
        t = t.get(end + 2..)?.trim_start();
    }
    (t.starts_with('<') && !t.contains("<?xml")).then_some(t)
}

/// Would the Response rebuilt with `assertion` in place of `ea` pass the lexical and profile
/// passes, and (when the Response is not signed) the Assertion's signature? The same rebuild
/// and the same functions as the check that follows (`open_encrypted`, `check`), run here so
/// that their failures are the one answer of [`open`].
fn acceptable(
    ea: &roxmltree::Node<'_, '_>,
    assertion: &str,
    cx: &Context<'_>,
) -> Result<(), SamlError> {
    let doc = ea.document();
    let root = doc.root_element();
    let mut edits = vec![(ea.range(), assertion)];
    for sig in xml::children(&root, NS_DS, "Signature") {
        edits.push((sig.range(), ""));
    }
    let rebuilt = splice(doc.input_text(), edits);
    let text = strip(&rebuilt)?;
    profile(cx.provider, &text, cx.response_signed)?;
    if !cx.response_signed {
        // The profile pass made sure the Assertion carries a signature, in place.
        tracing::debug_span!("saml.signature")
            .in_scope(|| {
                Crypto::reduce_xml_to_signed_with_keys(
                    &text,
                    cx.trusted,
                    ReduceMode::ValidateAndMarkNoAncestors,
                    cx.algorithms,
                )
            })
            .map_err(|_| SamlError::Signature(super::SIGNATURE_DOES_NOT_VERIFY))?;
    }
    Ok(())
}

/// The first content key that one of the SP keys unwraps from one of the EncryptedKeys, of the
/// length the content cipher needs.
fn unwrap_any(ea: &roxmltree::Node<'_, '_>, keys: &SpKeys, key_len: usize) -> Option<Vec<u8>> {
    let encrypted_keys = ea
        .descendants()
        .filter(|n| xml::is(n, NS_XENC, "EncryptedKey"))
        .take(MAX_ENCRYPTED_KEYS);
    for ek in encrypted_keys {
        for key in &keys.0 {
            if let Ok(cek) = unwrap_key(&ek, key) {
                if cek.len() == key_len {
                    return Some(cek);
                }
            }
        }
    }
    None
}

/// A content key nobody knows, for going on when none unwraps.
fn random_key(len: usize) -> Vec<u8> {
    let mut k = vec![0u8; len];
    if openssl::rand::rand_bytes(&mut k).is_err() {
        // Still unknown to the sender; the decryption fails in any case.
        k.fill(0x5c);
    }
    k
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

/// A content encryption algorithm.
#[derive(Clone, Copy)]
struct ContentCipher {
    cipher: Cipher,
    /// AES-GCM (authenticated), else AES-CBC.
    aead: bool,
}

impl ContentCipher {
    fn from_uri(uri: &str) -> Option<ContentCipher> {
        let (cipher, aead) = match uri {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => (Cipher::aes_128_cbc(), false),
            "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => (Cipher::aes_192_cbc(), false),
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => (Cipher::aes_256_cbc(), false),
            "http://www.w3.org/2009/xmlenc11#aes128-gcm" => (Cipher::aes_128_gcm(), true),
            "http://www.w3.org/2009/xmlenc11#aes192-gcm" => (Cipher::aes_192_gcm(), true),
            "http://www.w3.org/2009/xmlenc11#aes256-gcm" => (Cipher::aes_256_gcm(), true),
            _ => return None,
        };
        Some(ContentCipher { cipher, aead })
    }
}

/// Decrypt the content: the plaintext (empty when there is none to give) and whether it is the
/// genuine one. A bad CBC padding does not stop anything: the plaintext is returned (its last
/// byte dropped) for the caller to go on with, and the failure is reported beside it.
fn decrypt_content(
    content: ContentCipher,
    key: &[u8],
    data: &[u8],
) -> (Vec<u8>, Result<(), &'static str>) {
    let cipher = content.cipher;
    if key.len() != cipher.key_len() {
        return (Vec::new(), Err("the content key has the wrong length"));
    }
    if content.aead {
        const IV: usize = 12;
        const TAG: usize = 16;
        if data.len() < IV + TAG {
            return (Vec::new(), Err("the ciphertext is too short"));
        }
        let (iv, rest) = data.split_at(IV);
        let (ct, tag) = rest.split_at(rest.len() - TAG);
        match openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], ct, tag) {
            Ok(plain) => (plain, Ok(())),
            Err(_) => (Vec::new(), Err("the GCM tag does not verify")),
        }
    } else {
        const BLOCK: usize = 16;
        // The length is a public property of the message.
        if data.len() < 2 * BLOCK || data.len() % BLOCK != 0 {
            return (Vec::new(), Err("the ciphertext is not whole blocks"));
        }
        let (iv, ct) = data.split_at(BLOCK);
        let Ok(mut c) = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)) else {
            return (Vec::new(), Err("the cipher cannot be set up"));
        };
        c.pad(false);
        let mut out = vec![0u8; ct.len() + BLOCK];
        let Ok(n) = c.update(ct, &mut out) else {
            return (Vec::new(), Err("the cipher failed"));
        };
        let Ok(m) = c.finalize(out.get_mut(n..).unwrap_or_default()) else {
            return (Vec::new(), Err("the cipher failed"));
        };
        out.truncate(n + m);
        // XML Encryption padding: the last byte is the pad length (1..=16), the others are
        // arbitrary. No early return on a bad one: the same work follows either way (the
        // plaintext minus one byte is parsed), and the verdict is given with all the others.
        let last = usize::from(out.last().copied().unwrap_or(0));
        let pad_ok = (1..=BLOCK).contains(&last) && last <= out.len();
        let cut = last * usize::from(pad_ok) + usize::from(!pad_ok);
        out.truncate(out.len().saturating_sub(cut));
        let verdict = if pad_ok {
            Ok(())
        } else {
            Err("the CBC padding is invalid")
        };
        (out, verdict)
    }
}

/// Replace byte ranges of `text` (sorted, not overlapping) with strings.
fn splice(text: &str, mut edits: Vec<(std::ops::Range<usize>, &str)>) -> String {
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

    const GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
    const CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
    const CBC128: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";

    fn content(uri: &str) -> ContentCipher {
        ContentCipher::from_uri(uri).unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn short_or_odd_ciphertexts_fail_without_panicking() {
        for len in [0usize, 1, 11, 12, 27, 28, 33] {
            assert!(
                decrypt_content(content(GCM), &[0; 16], &vec![0; len])
                    .1
                    .is_err(),
                "{len}"
            );
        }
        for len in [0usize, 15, 16, 17, 31, 33, 48] {
            assert!(
                decrypt_content(content(CBC), &[0; 32], &vec![0; len])
                    .1
                    .is_err(),
                "{len}"
            );
        }
        // Wrong key length for the algorithm.
        assert!(decrypt_content(content(GCM), &[0; 32], &[0; 64]).1.is_err());
        assert!(
            ContentCipher::from_uri("http://www.w3.org/2001/04/xmlenc#tripledes-cbc").is_none()
        );
        assert!(content(GCM).aead && !content(CBC).aead);
    }

    fn cbc_encrypt(key: &[u8; 16], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        let mut c = Crypter::new(Cipher::aes_128_cbc(), Mode::Encrypt, key, Some(iv))
            .unwrap_or_else(|_| unreachable!());
        c.pad(false);
        let mut ct = vec![0u8; plain.len() + 16];
        let n = c.update(plain, &mut ct).unwrap_or_default();
        ct.truncate(n);
        let mut data = iv.to_vec();
        data.extend_from_slice(&ct);
        data
    }

    #[test]
    fn cbc_round_trip_with_xmlenc_padding() {
        let (key, iv) = ([7u8; 16], [9u8; 16]);
        // XML Encryption padding: arbitrary bytes, the last one the length.
        let mut plain = b"<a/>".to_vec();
        plain.extend_from_slice(&[0xAA; 11]);
        plain.push(12);
        let data = cbc_encrypt(&key, &iv, &plain);
        let (out, ok) = decrypt_content(content(CBC128), &key, &data);
        assert_eq!((out.as_slice(), ok), (&b"<a/>"[..], Ok(())));
    }

    /// A bad padding is reported, but the plaintext still comes back for the same work to
    /// follow (no early return).
    #[test]
    fn bad_cbc_padding_still_gives_the_plaintext() {
        let (key, iv) = ([7u8; 16], [9u8; 16]);
        for last in [0u8, 17, 0x80, 0xff] {
            let mut plain = b"<abc/>".to_vec();
            plain.extend_from_slice(&[0x20; 9]);
            plain.push(last);
            let data = cbc_encrypt(&key, &iv, &plain);
            let (out, ok) = decrypt_content(content(CBC128), &key, &data);
            assert!(ok.is_err(), "{last}");
            assert_eq!(out.len(), 15, "{last}");
            assert!(out.starts_with(b"<abc/>"), "{last}");
        }
    }

    #[test]
    fn declarations() {
        assert_eq!(without_declaration(" <a/> "), Some("<a/>"));
        assert_eq!(
            without_declaration("<?xml version=\"1.0\"?>\n<a/>"),
            Some("<a/>")
        );
        assert_eq!(without_declaration("<?xml version=\"1.0\""), None);
        assert_eq!(without_declaration("<a/><?xml x?>"), None);
        assert_eq!(without_declaration("a"), None);
    }

    #[test]
    fn a_random_key_has_the_length_asked() {
        assert_eq!(random_key(32).len(), 32);
        assert_ne!(random_key(16), random_key(16));
    }

    #[test]
    fn splices_in_order() {
        let t = "0123456789";
        assert_eq!(splice(t, vec![(6..8, "X"), (1..2, "")]), "02345X89");
    }
}
