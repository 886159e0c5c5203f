//! SAML responses from untrusted input (every AssumeRoleWithSAML call) through the whole check
//! of `idbroker::federation::saml::check` against the demo provider: base64, the lexical pass,
//! the profile pass, samael/xmlsec verification and the reading of signed values. Whatever the
//! bytes: no panic, no crash in libxml2/xmlsec, and messages stay on one line.
//!
//! The first byte chooses the form: even, the rest is the XML (base64-encoded here); odd, the
//! rest is the SAMLAssertion parameter as sent. Seeds: `fuzz/seeds/saml_parse` (the SAML
//! fixtures of tests/data/saml and a demo response).
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use idbroker::config::Config;
use idbroker::federation::saml::{check, InResponseTo};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo/idbroker.toml");
        // A fixed load time, as the checks below use: runs are reproducible.
        let at = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_867_200);
        match Config::load_with_env(&file, &|_| None, at) {
            Ok(c) => c,
            Err(e) => panic!("demo config: {e}"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let cfg = config();
    let Some(provider) = cfg.saml.provider("arn:aws:iam::123456789012:saml-provider/DemoIdP") else {
        return;
    };
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let encoded = if first % 2 == 0 {
        data_encoding::BASE64.encode(rest)
    } else {
        String::from_utf8_lossy(rest).into_owned()
    };
    // A fixed time inside the demo certificate's validity.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_867_200);
    match check(provider, &cfg.saml, &encoded, InResponseTo::Unsolicited, now) {
        Ok(c) => assert!(!c.subject().is_empty()),
        Err(e) => assert!(!e.to_string().contains('\n'), "multi-line message: {e}"),
    }
});
