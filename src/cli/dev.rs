//! `idbroker dev ...`: development helpers that sign with the demo keys (`certs/demo`) for the
//! demo providers of `config/demo/idbroker.toml`, and refuse any other provider. Never for
//! production. The arguments are parsed in `src/main.rs`, which passes the system clock.

use std::io::Write;
use std::path::Path;

use crate::clock::Clock;
use crate::config::Config;
use crate::federation::saml::dev;

/// `idbroker dev web-identity-token`: a web identity token of the demo OIDC provider for `sub`,
/// issued at `now` and valid `lifetime` seconds, signed with the demo key in `key`.
pub fn web_identity_token(
    sub: &str,
    lifetime: u64,
    key: &Path,
    now: std::time::SystemTime,
) -> Result<String, String> {
    let pem = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
    crate::federation::oidc::demo_token(&pem, sub, now, lifetime)
}

/// `idbroker dev saml-assertion`: `count` signed, base64 SAML responses of the demo provider of
/// `config`, naming `user` and `role`, one per line on `out`. Each is stamped with the time read
/// from `clock` when it is made (a long run's last responses are as fresh as its first).
pub fn saml_assertions(
    config: &Path,
    role: &str,
    user: &str,
    (key, cert): (&Path, &Path),
    count: u32,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), String> {
    let cfg =
        Config::load(config, clock.now()).map_err(|e| format!("invalid configuration: {e}"))?;
    let arn = format!(
        "arn:aws:iam::{}:saml-provider/{}",
        cfg.directory.account_id,
        dev::DEMO_PROVIDER_NAME
    );
    let provider = cfg
        .saml
        .provider(&arn)
        .ok_or_else(|| format!("{}: no demo provider {arn}", config.display()))?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let (key, cert) = (read(key)?, read(cert)?);
    for _ in 0..count {
        let b64 = dev::demo_response(&cfg.saml, provider, &key, &cert, role, user, clock.now())?;
        writeln!(out, "{b64}").map_err(|e| format!("stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("stdout: {e}"))?;
    Ok(())
}
