//!
//! Central XmlSec1 Context
//!
use crate::crypto::xmlsec::wrapper::bindings;

use lazy_static::lazy_static;

use super::backend;
use super::error::XmlSecError;
use super::XmlSecResult;
use std::convert::TryInto;
use std::ptr::null;
use std::sync::Mutex;

lazy_static! {
    static ref XMLSEC: Mutex<Option<XmlSecContext>> = Mutex::new(None);
}

/// Initialise xmlsec (and libxml2) once per process; cheap afterwards.
pub fn guarantee_xmlsec_init() -> XmlSecResult<()> {
    let mut inner = XMLSEC
        .lock()
        .expect("Unable to lock global wrapper initalization wrapper");

    if inner.is_none() {
        *inner = Some(XmlSecContext::new()?);
    }

    Ok(())
}

/// XmlSec Global Context
///
/// This object initializes the underlying wrapper global state and cleans it
/// up once gone out of scope. It is checked by all objects in the library that
/// require the context to be initialized. See [`globals`][globals].
///
/// [globals]: globals
pub struct XmlSecContext {}

impl XmlSecContext {
    /// Runs wrapper initialization and returns instance of itself.
    pub fn new() -> XmlSecResult<Self> {
        unsafe {
            libxml::bindings::xmlInitParser();
        }

        init_xmlsec()?;
        init_crypto_app()?;
        init_crypto()?;
        confine_io();

        Ok(Self {})
    }
}

/// [idbroker patch 3] Neither xmlsec nor libxml2 may read a file or the network on behalf of
/// a document: xmlsec's I/O callbacks (file, HTTP, FTP; used to fetch `<ds:Reference>` URIs
/// that are not same-document) are removed, and libxml2's external entity loader refuses
/// every entity, DTD and schema it is asked for. Process-wide, set once when xmlsec is
/// initialised (before any document is verified).
fn confine_io() {
    // SAFETY: both functions take no pointers into Rust memory and only replace process-wide
    // tables of the libraries; they are called once, under the `XMLSEC` mutex, before any
    // verification runs in this process. `refuse_external_entity` is a valid `extern "C"`
    // function for the lifetime of the process.
    unsafe {
        bindings::xmlSecIOCleanupCallbacks();
        libxml::bindings::xmlSetExternalEntityLoader(Some(refuse_external_entity));
    }
}

/// libxml2's external entity loader: nothing is ever loaded (a NULL input is libxml2's
/// "could not load", which fails the parse of whatever asked for it).
unsafe extern "C" fn refuse_external_entity(
    _url: *const std::os::raw::c_char,
    _id: *const std::os::raw::c_char,
    _context: libxml::bindings::xmlParserCtxtPtr,
) -> libxml::bindings::xmlParserInputPtr {
    std::ptr::null_mut()
}

impl Drop for XmlSecContext {
    fn drop(&mut self) {
        cleanup_crypto();
        cleanup_crypto_app();
        cleanup_xmlsec();
    }
}

/// Init wrapper library
fn init_xmlsec() -> XmlSecResult<()> {
    let rc = unsafe {
        bindings::xmlSecCheckVersionExt(
            bindings::XMLSEC_VERSION_MAJOR.try_into().unwrap(),
            bindings::XMLSEC_VERSION_MINOR.try_into().unwrap(),
            bindings::XMLSEC_VERSION_SUBMINOR.try_into().unwrap(),
            bindings::xmlSecCheckVersionMode_xmlSecCheckVersionABICompatible,
        )
    };

    if rc < 0 {
        return Err(XmlSecError::XmlSecAbiMismatch);
    }

    let rc = unsafe { bindings::xmlSecInit() };

    if rc < 0 {
        Err(XmlSecError::XmlSecInitError)
    } else {
        Ok(())
    }
}

/// Load default crypto engine if we are supporting dynamic loading for
/// wrapper-crypto libraries. Use the crypto library name ("openssl",
/// "nss", etc.) to load corresponding wrapper-crypto library.
fn init_crypto_app() -> XmlSecResult<()> {
    #[cfg(xmlsec_dynamic)]
    {
        let rc = unsafe { backend::xmlSecCryptoDLLoadLibrary(null()) };
        if rc < 0 {
            return Err(XmlSecError::CryptoLoadLibraryError);
        }
    }

    let rc = unsafe { backend::xmlSecCryptoAppInit(null()) };

    if rc < 0 {
        Err(XmlSecError::CryptoInitOpenSSLAppError)
    } else {
        Ok(())
    }
}

/// Init wrapper-crypto library
fn init_crypto() -> XmlSecResult<()> {
    let rc = unsafe { backend::xmlSecCryptoInit() };

    if rc < 0 {
        Err(XmlSecError::CryptoInitOpenSSLError)
    } else {
        Ok(())
    }
}

/// Shutdown wrapper-crypto library
fn cleanup_crypto() {
    unsafe { backend::xmlSecCryptoShutdown() };
}

/// Shutdown crypto library
fn cleanup_crypto_app() {
    unsafe { backend::xmlSecCryptoAppShutdown() };
}

/// Shutdown wrapper library
fn cleanup_xmlsec() {
    unsafe { bindings::xmlSecShutdown() };
}
