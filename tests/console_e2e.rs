//! The web console end to end in a real browser: headless Chromium (Debian's, driven by
//! playwright-core: tests/browser/run.mjs) against the idbroker binary, with a pysaml2 IdP
//! (tests/browser/idp.py) and panva's oidc-provider (tests/oidc/op/op.mjs) as the identity
//! providers, all on loopback. One test per scenario: (a) IdP-initiated SAML with two roles ->
//! picker -> landing page; (b) SP-initiated SAML; (c) OIDC login; (d) the federation endpoint;
//! (e) sign-out and the back button; (f) error pages. A failing scenario leaves a screenshot in
//! target/console-screenshots/. `UPDATE_DOC_SHOTS=1` rewrites docs/img/console-*.png.
//!
//! Needs chromium, node with tests/browser and tests/oidc/op installed (npm ci), python3 with
//! pysaml2 and freezegun, and xmlsec1: scripts/test.sh installs them. Without them the tests
//! are skipped, except in CI (`CI=true`), where they fail (common::skip_or_fail).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::browser::Setup;

fn scenario(name: &str) {
    let Some(setup) = Setup::start(name) else {
        return;
    };
    let (passed, text) = setup.browser(name, &[]);
    assert!(
        passed,
        "scenario {name} failed:\n{text}\nidbroker log:\n{}",
        setup.server_log()
    );
    setup.passed();
}

#[test]
fn console_saml_idp_initiated_picker() {
    scenario("saml-idp-picker");
}

#[test]
fn console_saml_sp_initiated() {
    scenario("saml-sp");
}

#[test]
fn console_oidc_login() {
    scenario("oidc");
}

#[test]
fn console_federation_endpoint() {
    scenario("federation");
}

#[test]
fn console_signout_back_button() {
    scenario("signout-back");
}

#[test]
fn console_error_pages() {
    scenario("errors");
}
