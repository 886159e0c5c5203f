//! IAM users' console sign-in in headless Chromium (issue 20): the idbroker binary with its
//! directory in a SQLite file, users and their passwords and MFA device set through the IAM API
//! (aws-sdk-iam), then tests/browser/run.mjs's `password` scenario: one answer for a wrong
//! password and an unknown user, password then MFA code (computed by node's crypto), a forced
//! password change, and throttling after repeated failures. With `UPDATE_DOC_SHOTS=1` it
//! writes docs/img/console-password*.png.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::UNIX_EPOCH;

use idbroker::clock::{Clock, SystemClock};

use common::browser::Setup;

const ACCOUNT: &str = "111122223333";
const PASSWORD: &str = "Correct-Horse-12";
const ADMIN: (&str, &str) = (
    "AKIAPASSWORDE2EADMIN",
    "passwordE2eAdminSecretNotForProduction00",
);

/// The directory in a SQLite file of the test's own, sealed with a random key, and an IAM
/// administrator.
fn extra(dir: &std::path::Path) -> String {
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).unwrap();
    format!(
        r#"
[directory]
url = "sqlite://{db}"
[sealing]
active_key_id = "t"
keys.t = {{ value = "{key}" }}
[[users]]
name = "admin"
inline_policies = {{ all = '{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"iam:*","Resource":"*"}}}}' }}
[[users.access_keys]]
id = "{id}"
secret = {{ value = "{secret}" }}
"#,
        db = dir.join("directory.db").display(),
        key = data_encoding::BASE64.encode(&key),
        id = ADMIN.0,
        secret = ADMIN.1,
    )
}

/// Users carol (password and an MFA device), dave (must change his password) and erin; the
/// account's policy (12 characters, a number, users may change their own). Returns carol's
/// device's Base32 seed.
async fn people(url: &str) -> String {
    let iam = common::iam::iam_sdk(url, ADMIN);
    iam.update_account_password_policy()
        .minimum_password_length(12)
        .require_numbers(true)
        .allow_users_to_change_password(true)
        .send()
        .await
        .unwrap();
    for (user, reset) in [("carol", false), ("dave", true), ("erin", false)] {
        iam.create_user().user_name(user).send().await.unwrap();
        iam.create_login_profile()
            .user_name(user)
            .password(PASSWORD)
            .password_reset_required(reset)
            .send()
            .await
            .unwrap();
    }
    let dev = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("carol")
        .send()
        .await
        .unwrap();
    let b32 = String::from_utf8(
        dev.virtual_mfa_device()
            .unwrap()
            .base32_string_seed()
            .unwrap()
            .as_ref()
            .to_vec(),
    )
    .unwrap();
    let seed = data_encoding::BASE32_NOPAD
        .decode(b32.trim_end_matches('=').as_bytes())
        .unwrap();
    // Enabled with the two codes before now's: the browser's code (now's) is still unused.
    let step = i64::try_from(
        SystemClock
            .now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 30,
    )
    .unwrap();
    let code = |s: i64| {
        String::from_utf8(idbroker::mfa::totp::code_at(&seed, s).unwrap().to_vec()).unwrap()
    };
    iam.enable_mfa_device()
        .user_name("carol")
        .serial_number(format!("arn:aws:iam::{ACCOUNT}:mfa/carol"))
        .authentication_code1(code(step - 2))
        .authentication_code2(code(step - 1))
        .send()
        .await
        .unwrap();
    b32
}

#[test]
fn iam_users_sign_in_with_password_and_mfa_change_their_password_and_are_throttled() {
    let Some(setup) = Setup::start_with("password", extra) else {
        return;
    };
    let seed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(people(&setup.url));
    let (passed, out) = setup.browser(
        "password",
        &[
            ("PW_ACCOUNT", ACCOUNT),
            ("PW_PASSWORD", PASSWORD),
            ("PW_SEED", &seed),
        ],
    );
    assert!(passed, "{out}\n--- idbroker ---\n{}", setup.server_log());
    // Every attempt was audited: failures name the typed user, never a password.
    let log = setup.server_log();
    assert!(!log.contains("Wrong-Password-") && !log.contains(PASSWORD));
    let attempts = log
        .lines()
        .filter(|l| l.contains("\"ConsoleSignInPassword\"") && l.contains("\"userName\":\"erin\""))
        .count();
    assert_eq!(
        attempts, 11,
        "erin's ten failures and the throttled try, each audited"
    );
    assert!(log
        .lines()
        .any(|l| l.contains("\"ConsoleSignInMFA\"") && l.contains("\"errorCode\":\"mfa_code\"")));
    setup.passed();
}
