use crate::directory::DirectoryDoc;
use crate::iam::users::testkit::*;

const GOOD: &str = "Correct-Horse-1";
const OTHER: &str = "Battery-Staple-2";

fn profile(d: &DirectoryDoc, user: &str) -> crate::directory::RawLoginProfile {
    d.users
        .iter()
        .find(|u| u.name == user)
        .and_then(|u| u.login_profile.clone())
        .unwrap()
}

fn with_profile(pw: &str, reset: &str) -> DirectoryDoc {
    let mut d = doc();
    run(
        &mut d,
        "CreateLoginProfile",
        &[
            ("UserName", "alice"),
            ("Password", pw),
            ("PasswordResetRequired", reset),
        ],
    )
    .unwrap();
    d
}

#[test]
fn create_keeps_only_a_hash_and_answers_no_secret() {
    let mut d = doc();
    let out = run(
        &mut d,
        "CreateLoginProfile",
        &[
            ("UserName", "alice"),
            ("Password", GOOD),
            ("PasswordResetRequired", "true"),
        ],
    )
    .unwrap();
    let lp = field(&out, "LoginProfile");
    assert_eq!(text(get(lp, "UserName")), "alice");
    assert_eq!(text(get(lp, "PasswordResetRequired")), "true");
    assert!(has(lp, "CreateDate"));
    let rendered = format!("{out:?}");
    assert!(!rendered.contains(GOOD) && !rendered.contains("argon2"));
    let p = profile(&d, "alice");
    assert!(p.password_hash.starts_with("$argon2id$"));
    assert!(PASSWORDS.verify(&p.password_hash, GOOD));
    // Exported as TOML (directory export) and debugged: never the password.
    let exported = toml::to_string(&d).unwrap();
    assert!(!exported.contains(GOOD));
    assert!(!format!("{d:?}").contains(&p.password_hash));
    // Twice: EntityAlreadyExists; unknown user: NoSuchEntity.
    assert_eq!(
        err(run(
            &mut d,
            "CreateLoginProfile",
            &[("UserName", "alice"), ("Password", GOOD)]
        ))
        .0,
        "EntityAlreadyExists"
    );
    assert_eq!(
        err(run(
            &mut d,
            "CreateLoginProfile",
            &[("UserName", "nobody"), ("Password", GOOD)]
        ))
        .0,
        "NoSuchEntity"
    );
}

#[test]
fn the_default_policy_and_a_custom_one_refuse_weak_passwords() {
    let mut d = doc();
    let (code, msg) = err(run(
        &mut d,
        "CreateLoginProfile",
        &[("UserName", "alice"), ("Password", "short")],
    ));
    assert_eq!(code, "PasswordPolicyViolation");
    assert!(!msg.contains("short"), "the password is not echoed: {msg}");
    assert_eq!(
        err(run(
            &mut d,
            "CreateLoginProfile",
            &[("UserName", "alice"), ("Password", &"A1a".repeat(43))]
        ))
        .0,
        "ValidationError"
    );
    run(
        &mut d,
        "UpdateAccountPasswordPolicy",
        &[("MinimumPasswordLength", "16"), ("RequireSymbols", "true")],
    )
    .unwrap();
    let (code, msg) = err(run(
        &mut d,
        "CreateLoginProfile",
        &[("UserName", "alice"), ("Password", GOOD)],
    ));
    assert_eq!(code, "PasswordPolicyViolation");
    assert!(msg.contains("16"), "{msg}");
    run(
        &mut d,
        "CreateLoginProfile",
        &[("UserName", "alice"), ("Password", "a-long-passphrase")],
    )
    .unwrap();
}

#[test]
fn get_update_delete() {
    let mut d = with_profile(GOOD, "false");
    let out = run_as(&mut d, Some("alice"), "GetLoginProfile", &[]).unwrap();
    assert_eq!(
        text(get(field(&out, "LoginProfile"), "PasswordResetRequired")),
        "false"
    );
    run(
        &mut d,
        "UpdateLoginProfile",
        &[("UserName", "alice"), ("PasswordResetRequired", "true")],
    )
    .unwrap();
    assert!(profile(&d, "alice").password_reset_required);
    let before = profile(&d, "alice").password_hash;
    run(
        &mut d,
        "UpdateLoginProfile",
        &[("UserName", "alice"), ("Password", OTHER)],
    )
    .unwrap();
    let p = profile(&d, "alice");
    assert_ne!(p.password_hash, before);
    assert!(PASSWORDS.verify(&p.password_hash, OTHER));
    // No reuse prevention in force: nothing earlier is kept.
    assert!(p.previous_hashes.is_empty());
    assert_eq!(
        err(run(&mut d, "GetLoginProfile", &[("UserName", "bob")])).0,
        "NoSuchEntity"
    );
    run(&mut d, "DeleteLoginProfile", &[("UserName", "alice")]).unwrap();
    assert_eq!(
        err(run(&mut d, "DeleteLoginProfile", &[("UserName", "alice")])).0,
        "NoSuchEntity"
    );
    assert_eq!(
        resource_of(&d, None, "DeleteLoginProfile", &[("UserName", "bob")]),
        "arn:aws:iam::123456789012:user/ops/bob"
    );
}

#[test]
fn change_password_needs_the_old_one_and_honours_reuse_prevention() {
    let mut d = with_profile(GOOD, "true");
    run(
        &mut d,
        "UpdateAccountPasswordPolicy",
        &[
            ("PasswordReusePrevention", "2"),
            ("MinimumPasswordLength", "8"),
        ],
    )
    .unwrap();
    // Only a user may.
    assert_eq!(
        err(run(
            &mut d,
            "ChangePassword",
            &[("OldPassword", GOOD), ("NewPassword", OTHER)]
        ))
        .0,
        "InvalidUserType"
    );
    assert_eq!(
        err(run_as(
            &mut d,
            Some("alice"),
            "ChangePassword",
            &[("OldPassword", "wrong-password"), ("NewPassword", OTHER)]
        ))
        .0,
        "AccessDenied"
    );
    // The current password is never a new one.
    assert_eq!(
        err(run_as(
            &mut d,
            Some("alice"),
            "ChangePassword",
            &[("OldPassword", GOOD), ("NewPassword", GOOD)]
        ))
        .0,
        "PasswordPolicyViolation"
    );
    run_as(
        &mut d,
        Some("alice"),
        "ChangePassword",
        &[("OldPassword", GOOD), ("NewPassword", OTHER)],
    )
    .unwrap();
    let p = profile(&d, "alice");
    assert!(!p.password_reset_required, "a change lifts the reset");
    assert_eq!(p.previous_hashes.len(), 1);
    // GOOD is remembered (one of the last 2).
    assert_eq!(
        err(run_as(
            &mut d,
            Some("alice"),
            "ChangePassword",
            &[("OldPassword", OTHER), ("NewPassword", GOOD)]
        ))
        .0,
        "PasswordPolicyViolation"
    );
    run_as(
        &mut d,
        Some("alice"),
        "ChangePassword",
        &[("OldPassword", OTHER), ("NewPassword", "Third-pass-3")],
    )
    .unwrap();
    run_as(
        &mut d,
        Some("alice"),
        "ChangePassword",
        &[
            ("OldPassword", "Third-pass-3"),
            ("NewPassword", "Fourth-pass-4"),
        ],
    )
    .unwrap();
    // Three changes later GOOD has been forgotten (the last 2 are remembered: the current one
    // and one before it).
    assert_eq!(profile(&d, "alice").previous_hashes.len(), 1);
    run_as(
        &mut d,
        Some("alice"),
        "ChangePassword",
        &[("OldPassword", "Fourth-pass-4"), ("NewPassword", GOOD)],
    )
    .unwrap();
}

#[test]
fn hard_expiry_stops_a_users_own_change() {
    let mut d = with_profile(GOOD, "false");
    run(
        &mut d,
        "UpdateAccountPasswordPolicy",
        &[("MaxPasswordAge", "1"), ("HardExpiry", "true")],
    )
    .unwrap();
    // Set two days before the tests' now.
    for u in &mut d.users {
        if let Some(p) = &mut u.login_profile {
            p.password_changed = Some("2026-12-04T15:04:05Z".into());
        }
    }
    assert_eq!(
        err(run_as(
            &mut d,
            Some("alice"),
            "ChangePassword",
            &[("OldPassword", GOOD), ("NewPassword", OTHER)]
        ))
        .0,
        "EntityTemporarilyUnmodifiable"
    );
    // An administrator may still reset it.
    run(
        &mut d,
        "UpdateLoginProfile",
        &[("UserName", "alice"), ("Password", OTHER)],
    )
    .unwrap();
}

#[test]
fn the_account_policy_round_trips_with_iams_defaults_and_bounds() {
    let mut d = doc();
    let (code, msg) = err(run(&mut d, "GetAccountPasswordPolicy", &[]));
    assert_eq!(code, "NoSuchEntity");
    assert_eq!(
        msg,
        "The Password Policy with domain name 123456789012 cannot be found."
    );
    run(
        &mut d,
        "UpdateAccountPasswordPolicy",
        &[("AllowUsersToChangePassword", "true")],
    )
    .unwrap();
    let out = run(&mut d, "GetAccountPasswordPolicy", &[]).unwrap();
    let p = field(&out, "PasswordPolicy");
    assert_eq!(text(get(p, "MinimumPasswordLength")), "6");
    assert_eq!(text(get(p, "AllowUsersToChangePassword")), "true");
    assert_eq!(text(get(p, "ExpirePasswords")), "false");
    assert!(!has(p, "MaxPasswordAge"));
    assert!(crate::iam::change_allowed(&d));
    // Another update replaces the whole policy.
    run(
        &mut d,
        "UpdateAccountPasswordPolicy",
        &[("MaxPasswordAge", "90"), ("PasswordReusePrevention", "24")],
    )
    .unwrap();
    let out = run(&mut d, "GetAccountPasswordPolicy", &[]).unwrap();
    let p = field(&out, "PasswordPolicy");
    assert_eq!(text(get(p, "AllowUsersToChangePassword")), "false");
    assert_eq!(text(get(p, "ExpirePasswords")), "true");
    assert_eq!(text(get(p, "MaxPasswordAge")), "90");
    assert_eq!(text(get(p, "PasswordReusePrevention")), "24");
    assert_eq!(text(get(p, "HardExpiry")), "false");
    for (k, v) in [
        ("MinimumPasswordLength", "5"),
        ("MinimumPasswordLength", "129"),
        ("MaxPasswordAge", "1096"),
        ("PasswordReusePrevention", "25"),
        ("PasswordReusePrevention", "x"),
        ("RequireSymbols", "yes"),
    ] {
        assert_eq!(
            err(run(&mut d, "UpdateAccountPasswordPolicy", &[(k, v)])).0,
            "ValidationError",
            "{k}={v}"
        );
    }
    run(&mut d, "DeleteAccountPasswordPolicy", &[]).unwrap();
    assert_eq!(
        err(run(&mut d, "DeleteAccountPasswordPolicy", &[])).0,
        "NoSuchEntity"
    );
    assert_eq!(
        resource_of(&d, None, "UpdateAccountPasswordPolicy", &[]),
        "*"
    );
}

#[test]
fn a_clear_password_in_a_directory_does_not_build() {
    let mut d = doc();
    if let Some(u) = d.users.first_mut() {
        u.login_profile = Some(crate::directory::RawLoginProfile {
            password_hash: "hunter2hunter2".into(),
            password_reset_required: false,
            created: None,
            password_changed: None,
            previous_hashes: Vec::new(),
        });
    }
    let e = crate::directory::Directory::build(&d, &mut |_, _, _| {
        Ok(zeroize::Zeroizing::new("x".repeat(40)))
    })
    .unwrap_err();
    assert!(e.to_string().contains("argon2id"), "{e}");
}

/// A hasher that must not be asked: the replay of an unmoved directory needs no password work.
struct NoWork;

impl crate::iam::Passwords for NoWork {
    fn hash(&self, _password: &str) -> Result<String, crate::iam::IamError> {
        panic!("a password was hashed during the replay");
    }

    fn verify(&self, _hash: &str, _password: &str) -> bool {
        panic!("a password was checked during the replay");
    }
}

/// `action` by `caller` as the server runs a password call (`crate::iam_call`): a dry run on a
/// copy with the real hasher, then the call replaying it. Both answer the same and leave the
/// same directory, and the replay does no password work.
fn run_replayed(
    d: &mut DirectoryDoc,
    caller: Option<&'static str>,
    action: &str,
    params: &[(&str, &str)],
) -> Result<crate::iam::Output, crate::iam::IamError> {
    let c = crate::iam::call(action).unwrap();
    let p = pairs(params);
    let input = crate::iam::Input::new(&p);
    let mut copy = d.clone();
    let (dry, recorded) = crate::iam::dry_run(&*PASSWORDS, now(), caller, false, |ctx| {
        crate::iam::write(&c, &input, &mut copy, ctx)
    });
    let replay = crate::iam::Replay::new(recorded, &NoWork);
    let real_ctx = crate::iam::Context {
        passwords: &replay,
        ..ctx(caller)
    };
    let mut real = d.clone();
    let out = crate::iam::write(&c, &input, &mut real, &real_ctx);
    assert_eq!(out, dry, "{action}: the replay answered otherwise");
    if out.is_ok() {
        assert_eq!(real, copy, "{action}: the replay left another directory");
        builds(&real);
        *d = real;
    }
    out
}

#[test]
fn a_replayed_password_call_answers_as_the_dry_run_did_without_hashing() {
    let mut d = doc();
    run(
        &mut d,
        "UpdateAccountPasswordPolicy",
        &[
            ("PasswordReusePrevention", "3"),
            ("AllowUsersToChangePassword", "true"),
        ],
    )
    .unwrap();
    run_replayed(
        &mut d,
        None,
        "CreateLoginProfile",
        &[("UserName", "alice"), ("Password", GOOD)],
    )
    .unwrap();
    let change = |old: &'static str, new: &'static str| {
        move |d: &mut DirectoryDoc| {
            run_replayed(
                d,
                Some("alice"),
                "ChangePassword",
                &[("OldPassword", old), ("NewPassword", new)],
            )
        }
    };
    assert_eq!(
        err(change("wrong-password-9", OTHER)(&mut d)).0,
        "AccessDenied"
    );
    assert_eq!(err(change(GOOD, GOOD)(&mut d)).0, "PasswordPolicyViolation");
    change(GOOD, OTHER)(&mut d).unwrap();
    // GOOD is remembered (3): refused, by the user and by an administrator alike.
    assert_eq!(
        err(change(OTHER, GOOD)(&mut d)).0,
        "PasswordPolicyViolation"
    );
    assert_eq!(
        err(run_replayed(
            &mut d,
            None,
            "UpdateLoginProfile",
            &[("UserName", "alice"), ("Password", GOOD)],
        ))
        .0,
        "PasswordPolicyViolation"
    );
    run_replayed(
        &mut d,
        None,
        "UpdateLoginProfile",
        &[("UserName", "alice"), ("Password", "Third-Password-3")],
    )
    .unwrap();
    assert!(crate::password::Hasher::verify(
        &PASSWORDS,
        &profile(&d, "alice").password_hash,
        "Third-Password-3"
    ));
    assert_eq!(profile(&d, "alice").previous_hashes.len(), 2);
}
