//! libxmlsec1 prints every verification failure to stderr through its default error callback
//! (`func=xmlSecOpenSSLEvpDigestVerify:...`). For a server that sees hostile SAML all day that
//! is noise at best and, at worst, attacker-chosen text in the logs. This crate makes the one
//! call that switches that output off. It and idbroker-sched (the threads' scheduling policy)
//! hold idbroker's only `unsafe` code; every other crate forbids it.
//!
//! The errors themselves still reach the caller (samael turns them into `Err` values); only the
//! printing stops.

use std::sync::Once;

#[allow(unsafe_code)]
mod ffi {
    use std::os::raw::c_int;

    extern "C" {
        /// `void xmlSecErrorsDefaultCallbackEnableOutput(int enabled)` from <xmlsec/errors.h>
        /// (libxmlsec1 1.2.x and 1.3.x): sets a process-wide flag read by the default error
        /// callback. Takes no pointers and cannot fail.
        pub fn xmlSecErrorsDefaultCallbackEnableOutput(enabled: c_int);
    }

    pub fn disable() {
        // SAFETY: the function only stores an int in a static of libxmlsec1; it takes no
        // pointers, allocates nothing, needs no prior initialisation and is sound to call from
        // any thread (a racing reader of the flag sees either value, both valid).
        unsafe { xmlSecErrorsDefaultCallbackEnableOutput(0) }
    }
}

static QUIET: Once = Once::new();

/// Switch off libxmlsec1's printing of errors to stderr, once per process. Cheap to call again.
pub fn silence_xmlsec() {
    QUIET.call_once(ffi::disable);
}

// Tested in tests/quiet.rs: a failing verification prints nothing once silenced (in a child
// process, whose stderr is read).
