//! What the browser sends back to the console, from untrusted input: sealed state (cookies,
//! sign-in tokens, SAML request ids, the CLI's codes and tickets) through `Sealer::open` for
//! every purpose, a CLI's redirect URI and a device user code as typed, the SAML
//! response's Issuer and status as the ACS reads them before verifying (`peek`), and the destination check.
//! Whatever the bytes: no panic, nothing opens without the key, no destination outside the
//! allowed origins.
#![no_main]

use std::sync::OnceLock;

use idbroker::config::Config;
use idbroker::console::seal::{Purpose, Sealer};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo/idbroker.toml");
        // A fixed load time: runs are reproducible.
        let at = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_867_200);
        match Config::load_with_env(&file, &|_| None, at) {
            Ok(c) => c,
            Err(e) => panic!("demo config: {e}"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let sealer = match Sealer::new(&[9u8; 32]) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    for p in [
        Purpose::Pick, Purpose::Console, Purpose::OidcLogin, Purpose::SigninToken, Purpose::AuthnRequest,
        Purpose::CliFlow, Purpose::CliCode, Purpose::CliTicket, Purpose::DeviceCode, Purpose::DeviceRequest,
        Purpose::DeviceForm,
    ] {
        // Forging a value without the key is the only way this opens: never.
        assert!(sealer.open::<String>(p, text).is_none());
    }
    // A CLI's redirect URI: accepted only as the loopback literal with a port, read back the same.
    if idbroker::console::cli_flow::check_redirect_uri(text).is_ok() {
        let u = match url::Url::parse(text) {
            Ok(u) => u,
            Err(e) => panic!("accepted but does not parse: {text:?}: {e}"),
        };
        assert_eq!(u.scheme(), "http");
        assert!(matches!(u.host_str(), Some("127.0.0.1") | Some("[::1]")), "{text:?}");
        assert_eq!(u.as_str(), text);
    }
    // A device user code as typed: canonical when accepted.
    if let Some(code) = idbroker::console::device::normalize(text) {
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b)), "{code}");
    }
    let cfg = config();
    if let Some(u) = idbroker::federation::saml::peek(text) {
        let _ = u.provider(&cfg.saml);
        let _ = u.failed_status();
    }
    if let Some(d) = cfg.console.destination(text) {
        let own = cfg.console.public_url.clone();
        assert!(d.starts_with(&format!("{own}/")) || cfg.console.allowed_origins.iter().any(|o| idbroker::console::origin_of(&d).as_deref() == Some(o.as_str())), "{d}");
    }
});
