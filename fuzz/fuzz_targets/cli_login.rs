//! What `idbroker login` reads from outside, from untrusted bytes: a request on its loopback
//! listener's port (anybody on the machine can send one), the AWS shared credentials file it
//! edits (whatever a person or another tool wrote there), and, for the demo's development IdP,
//! an HTTP-Redirect AuthnRequest. Whatever the bytes: no panic; a callback is taken only with
//! the right state; editing the credentials file twice gives what editing it once gave, and
//! the written keys are in it.
#![no_main]

use idbroker::cli::login::{edit_credentials_file, loopback_answer, Callback};
use libfuzzer_sys::fuzz_target;

const STATE: &str = "st4te-0123456789abcdef";
const VALUES: &[(&str, &str)] = &[
    ("aws_access_key_id", "ASIAFUZZFUZZFUZZFUZZ"),
    ("aws_secret_access_key", "c2VjcmV0"),
    ("aws_session_token", "dG9rZW4="),
];

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = data.split_first() else { return };
    match which % 3 {
        0 => {
            let (reply, callback) = loopback_answer(rest, STATE);
            assert!(reply.starts_with("HTTP/1.1 "));
            if callback.is_some() {
                let text = String::from_utf8_lossy(rest);
                assert!(text.contains(STATE), "a callback without the state: {text:?}");
            }
            if let Some(Callback::Code(code)) = callback {
                assert!(!code.is_empty());
            }
        }
        1 => {
            let once = edit_credentials_file(rest, "work", VALUES);
            let twice = edit_credentials_file(&once, "work", VALUES);
            assert_eq!(once, twice, "editing is not idempotent");
            let text = String::from_utf8_lossy(&once);
            for (_, v) in VALUES {
                assert!(text.contains(v), "{v} not written: {text:?}");
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = idbroker::dev_idp::parse_authn_request(text);
            }
        }
    }
});
