//!
//! Wrapper for XmlSec Key and Certificate management Context
//!
use crate::crypto::xmlsec::wrapper::bindings;

use super::backend;
use super::error::XmlSecError;
use super::error::XmlSecResult;
use super::xmlsec_internal;

use std::ptr::null;
use std::ptr::null_mut;

/// x509 key format.
#[allow(dead_code)]
#[allow(missing_docs)]
#[repr(u32)]
pub enum XmlSecKeyFormat {
    Unknown = bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatUnknown,
    Binary = bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatBinary,
    Pem = bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatPem,
    Der = bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatDer,
    Pkcs8Pem = bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatPkcs8Pem,
    Pkcs8Der = bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatPkcs8Der,
    Pkcs12 = bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatPkcs12,
    CertPem = bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatCertPem,
    CertDer = bindings::xmlSecKeyDataFormat_xmlSecKeyDataFormatCertDer,
}

/// Key with which we sign/verify signatures or encrypt data. Used by [`XmlSecSignatureContext`][sigctx].
///
/// [sigctx]: struct.XmlSecSignatureContext.html
#[derive(Debug)]
pub struct XmlSecKey(*mut bindings::xmlSecKey);

impl XmlSecKey {
    /// Load key from buffer in memory, specifying format and optionally the password required to decrypt/unlock.
    pub fn from_memory(buffer: &[u8], format: XmlSecKeyFormat) -> XmlSecResult<Self> {
        xmlsec_internal::guarantee_xmlsec_init()?;

        // Load key from buffer
        let key = unsafe {
            backend::xmlSecCryptoAppKeyLoadMemory(
                buffer.as_ptr(),
                buffer.len().try_into().expect("Key buffer length overflow"),
                format as u32,
                null(),
                null_mut(),
                null_mut(),
            )
        };

        if key.is_null() {
            return Err(XmlSecError::KeyLoadError);
        }

        Ok(Self(key))
    }

    /// Create from raw pointer to an underlying wrapper key structure. Henceforth its lifetime will be managed by this
    /// object.
    pub unsafe fn from_ptr(ptr: *mut bindings::xmlSecKey) -> Self {
        Self(ptr)
    }

    /// Leak the internal resource. This is needed by [`XmlSecSignatureContext`][sigctx], since wrapper takes over the
    /// lifetime management of the underlying resource when setting it as the active key for signature signing or
    /// verification.
    ///
    /// [sigctx]: struct.XmlSecSignatureContext.html
    pub unsafe fn leak(key: Self) -> *mut bindings::xmlSecKey {
        let ptr = key.0;

        std::mem::forget(key);

        ptr
    }
}

impl PartialEq for XmlSecKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 // compare pointer addresses
    }
}

impl Eq for XmlSecKey {}

impl Clone for XmlSecKey {
    fn clone(&self) -> Self {
        let new = unsafe { bindings::xmlSecKeyDuplicate(self.0) };

        Self(new)
    }
}

impl Drop for XmlSecKey {
    fn drop(&mut self) {
        unsafe { bindings::xmlSecKeyDestroy(self.0) };
    }
}

// [idbroker patch 1: keys loaded once] ---------------------------------------------------------

/// A verification key loaded once (from a public key) and duplicated for every signature
/// context that uses it, instead of being loaded again from a certificate for every signature.
///
/// Only public keys go in ([`XmlSecSharedKey::from_public_key_der`]): xmlsec then holds one
/// `EVP_PKEY` in the key's value and no X509 data, and [`XmlSecSharedKey::duplicate`]
/// (`xmlSecKeyDuplicate`) is a small allocation plus `EVP_PKEY_up_ref`. (A key loaded from a
/// certificate, as [`XmlSecKey::from_memory`] with `CertDer` does, also carries the
/// certificate, and xmlsec 1.2.37 copies it with `X509_dup` on every duplication.)
///
/// The certificate itself plays no part in verification: a signature context with a key set
/// ignores `<ds:KeyInfo>` and never looks at the key's X509 data (xmlsec's
/// `xmlSecDSigCtxProcessKeyInfoNode`).
#[derive(Debug)]
pub struct XmlSecSharedKey(std::ptr::NonNull<bindings::xmlSecKey>);

// SAFETY: after construction the pointed-to key is never mutated: the only operations on it
// are `xmlSecKeyDuplicate` (reads the key's fields and takes a reference on its `EVP_PKEY` with
// `EVP_PKEY_up_ref`, which is atomic in OpenSSL 1.1 and later) and `xmlSecKeyDestroy` in `Drop`,
// which needs `&mut self` (no other reference left). Signature contexts only ever receive
// duplicates, never this key. OpenSSL `EVP_PKEY`s may be used by several threads at once for
// verification.
unsafe impl Send for XmlSecSharedKey {}
// SAFETY: see `Send` above: `&XmlSecSharedKey` only allows `duplicate`, a read-only operation on
// the key (plus an atomic reference count increment on its `EVP_PKEY`).
unsafe impl Sync for XmlSecSharedKey {}

impl XmlSecSharedKey {
    /// Load a DER `SubjectPublicKeyInfo` (RSA, EC or DSA public key).
    pub fn from_public_key_der(spki: &[u8]) -> XmlSecResult<Self> {
        let key = XmlSecKey::from_memory(spki, XmlSecKeyFormat::Der)?;
        // SAFETY: `key` owns a valid xmlsec key; `leak` hands that ownership to this value,
        // whose `Drop` destroys it.
        let ptr = unsafe { XmlSecKey::leak(key) };
        std::ptr::NonNull::new(ptr)
            .map(Self)
            .ok_or(XmlSecError::KeyLoadError)
    }

    /// A new key holding the same public key, for one signature context.
    pub fn duplicate(&self) -> XmlSecResult<XmlSecKey> {
        // SAFETY: `self.0` is a valid key for the lifetime of `self`; xmlSecKeyDuplicate only
        // reads it (see the `Send`/`Sync` notes above) and returns a new key or NULL.
        let new = unsafe { bindings::xmlSecKeyDuplicate(self.0.as_ptr()) };
        if new.is_null() {
            return Err(XmlSecError::KeyLoadError);
        }
        // SAFETY: `new` is a fresh key owned by nobody else.
        Ok(unsafe { XmlSecKey::from_ptr(new) })
    }
}

impl Drop for XmlSecSharedKey {
    fn drop(&mut self) {
        // SAFETY: the key was created by xmlsec and is owned by this value alone.
        unsafe { bindings::xmlSecKeyDestroy(self.0.as_ptr()) };
    }
}
// [end idbroker patch 1] -----------------------------------------------------------------------
