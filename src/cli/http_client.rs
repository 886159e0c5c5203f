//! The HTTP client of the command's calls to a running idbroker (`idbroker admin`,
//! `idbroker login`, `idbroker credentials`): rustls (aws-lc-rs), no redirects followed, bounded
//! connect and request times, and for HTTPS with a private CA only the certificates of a PEM
//! bundle (like the AWS CLI's `--ca-bundle`).

use std::path::Path;
use std::time::Duration;

/// A client trusting `ca_bundle`'s certificates only when given (the system's roots otherwise),
/// connecting within `connect` and finishing each request, body included, within `total`.
pub fn build(
    ca_bundle: Option<&Path>,
    connect: Duration,
    total: Duration,
) -> Result<reqwest::Client, String> {
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("idbroker-cli/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(connect)
        .timeout(total);
    if let Some(path) = ca_bundle {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no PEM certificate", path.display()));
        }
        client = client.tls_certs_only(certs);
    }
    client.build().map_err(|e| format!("HTTP client: {e}"))
}

/// An error and its causes, `a: b: c` (reqwest's own text hides the TLS or IO cause).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
