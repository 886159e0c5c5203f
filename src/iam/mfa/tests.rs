use crate::iam::users::testkit::*;
use crate::iam::Input;
use crate::mfa::totp;

const ALICE_MFA: &str = "arn:aws:iam::123456789012:mfa/alice";

/// The directory as stored (TOML, as export writes it) and as debugged.
fn stored(d: &crate::directory::DirectoryDoc) -> String {
    format!("{}\n{d:?}", toml::to_string(d).unwrap())
}

/// Create device `name` (path `/`) and answer its seed (decoded from the Base32 answer).
fn create(d: &mut crate::directory::DirectoryDoc, name: &str) -> Vec<u8> {
    let out = run(
        d,
        "CreateVirtualMFADevice",
        &[("VirtualMFADeviceName", name)],
    )
    .unwrap();
    let v = field(&out, "VirtualMFADevice");
    let b32 = data_encoding::BASE64
        .decode(text(get(v, "Base32StringSeed")).as_bytes())
        .unwrap();
    data_encoding::BASE32_NOPAD.decode(&b32).unwrap()
}

/// The code of the device with `seed` `offset` steps from the tests' now.
fn code(seed: &[u8], offset: i64) -> String {
    let s = totp::step(now()) + offset;
    String::from_utf8(totp::code_at(seed, s).unwrap().to_vec()).unwrap()
}

fn enable(
    d: &mut crate::directory::DirectoryDoc,
    user: &str,
    serial: &str,
    codes: (&str, &str),
) -> Result<crate::iam::Output, crate::iam::IamError> {
    run(
        d,
        "EnableMFADevice",
        &[
            ("UserName", user),
            ("SerialNumber", serial),
            ("AuthenticationCode1", codes.0),
            ("AuthenticationCode2", codes.1),
        ],
    )
}

#[test]
fn create_answers_the_seed_once_and_keeps_it_sealed() {
    let mut d = doc();
    let out = run(
        &mut d,
        "CreateVirtualMFADevice",
        &[
            ("VirtualMFADeviceName", "alice"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "blue"),
        ],
    )
    .unwrap();
    let v = field(&out, "VirtualMFADevice");
    assert_eq!(text(get(v, "SerialNumber")), ALICE_MFA);
    let b32 = String::from_utf8(
        data_encoding::BASE64
            .decode(text(get(v, "Base32StringSeed")).as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(b32.len(), 64);
    let png = data_encoding::BASE64
        .decode(text(get(v, "QRCodePNG")).as_bytes())
        .unwrap();
    assert_eq!(png.get(..4), Some(&b"\x89PNG"[..]));
    assert_eq!(names(get(v, "Tags"), "Key"), ["team"]);

    // Kept sealed, bound to its serial number: the database and an export never see the seed.
    let device = d.mfa_devices.first().unwrap();
    assert_eq!(device.user, None);
    assert_eq!(device.created.as_deref(), Some("2026-12-06T15:04:05Z"));
    let sealed = device.seed.sealed.as_deref().unwrap();
    assert!(sealed.starts_with("test:"));
    assert!(device.seed.value.is_none());
    assert!(!stored(&d).contains(&b32));
    let seed = data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).unwrap();
    assert_eq!(
        crate::directory::sealed::open_seed(&SEEDS, ALICE_MFA, sealed)
            .unwrap()
            .as_slice(),
        seed
    );
    assert!(crate::directory::sealed::open_seed(
        &SEEDS,
        "arn:aws:iam::123456789012:mfa/bob",
        sealed
    )
    .is_err());

    // Unique by path and name, whatever the case; the listing carries no seed.
    assert_eq!(
        err(run(
            &mut d,
            "CreateVirtualMFADevice",
            &[("VirtualMFADeviceName", "ALICE")]
        )),
        (
            "EntityAlreadyExists",
            "MFADevice entity at the same path and name already exists.".into()
        )
    );
    let out = run(
        &mut d,
        "CreateVirtualMFADevice",
        &[("VirtualMFADeviceName", "alice"), ("Path", "/team/")],
    )
    .unwrap();
    assert_eq!(
        text(get(field(&out, "VirtualMFADevice"), "SerialNumber")),
        "arn:aws:iam::123456789012:mfa/team/alice"
    );
    let out = run(&mut d, "ListVirtualMFADevices", &[]).unwrap();
    assert!(!format!("{out:?}").contains(&b32));
    assert!(!format!("{out:?}").contains("Base32StringSeed"));
}

#[test]
fn create_checks_names_and_is_authorized_on_the_device() {
    let mut d = doc();
    assert_eq!(
        err(run(&mut d, "CreateVirtualMFADevice", &[])).0,
        "ValidationError"
    );
    assert_eq!(
        err(run(
            &mut d,
            "CreateVirtualMFADevice",
            &[("VirtualMFADeviceName", "a b")]
        ))
        .0,
        "ValidationError"
    );
    assert_eq!(
        err(run(
            &mut d,
            "CreateVirtualMFADevice",
            &[("VirtualMFADeviceName", "x"), ("Path", "nope")]
        ))
        .0,
        "ValidationError"
    );
    assert_eq!(
        resource_of(
            &d,
            Some("alice"),
            "CreateVirtualMFADevice",
            &[("VirtualMFADeviceName", "alice"), ("Path", "/t/")]
        ),
        "arn:aws:iam::123456789012:mfa/t/alice"
    );
    assert_eq!(
        resource_of(
            &d,
            Some("alice"),
            "DeleteVirtualMFADevice",
            &[("SerialNumber", ALICE_MFA)]
        ),
        ALICE_MFA
    );
    for action in [
        "EnableMFADevice",
        "ResyncMFADevice",
        "DeactivateMFADevice",
        "ListMFADevices",
    ] {
        assert_eq!(
            resource_of(&d, Some("alice"), action, &[("UserName", "bob")]),
            "arn:aws:iam::123456789012:user/ops/bob",
            "{action}"
        );
    }
    assert_eq!(
        resource_of(&d, Some("alice"), "ListMFADevices", &[]),
        "arn:aws:iam::123456789012:user/alice"
    );
    assert_eq!(
        resource_of(&d, Some("alice"), "ListVirtualMFADevices", &[]),
        "*"
    );
}

#[test]
fn enable_takes_two_consecutive_codes() {
    let mut d = doc();
    let seed = create(&mut d, "alice");
    let (c0, c1, c2) = (code(&seed, 0), code(&seed, 1), code(&seed, 2));
    let invalid = (
        "InvalidAuthenticationCode",
        "Authentication code for device is not valid.".to_owned(),
    );
    // Not consecutive, reversed, twice the same, or not this device's: refused.
    assert_eq!(err(enable(&mut d, "alice", ALICE_MFA, (&c0, &c2))), invalid);
    assert_eq!(err(enable(&mut d, "alice", ALICE_MFA, (&c1, &c0))), invalid);
    assert_eq!(err(enable(&mut d, "alice", ALICE_MFA, (&c0, &c0))), invalid);
    let other = [9u8; 40];
    assert_eq!(
        err(enable(
            &mut d,
            "alice",
            ALICE_MFA,
            (&code(&other, 0), &code(&other, 1))
        )),
        invalid
    );
    // The shapes, with no code repeated in a message.
    let (c, m) = err(enable(&mut d, "alice", ALICE_MFA, ("12345", &c1)));
    assert_eq!(c, "ValidationError");
    assert!(
        m.contains("'authenticationCode1'") && !m.contains("12345"),
        "{m}"
    );
    assert_eq!(
        err(enable(&mut d, "alice", ALICE_MFA, (&c0, "12345x"))).0,
        "ValidationError"
    );
    // Unknown user, unknown device.
    assert_eq!(
        err(enable(&mut d, "nobody", ALICE_MFA, (&c0, &c1))).0,
        "NoSuchEntity"
    );
    assert_eq!(
        err(enable(
            &mut d,
            "alice",
            "arn:aws:iam::123456789012:mfa/none",
            (&c0, &c1)
        )),
        (
            "NoSuchEntity",
            "VirtualMFADevice with serial number arn:aws:iam::123456789012:mfa/none doesn't exist."
                .into()
        )
    );
    assert!(d.mfa_devices.first().unwrap().user.is_none());

    // The codes a call would spend, then the call.
    let p = pairs(&[
        ("UserName", "Alice"),
        ("SerialNumber", ALICE_MFA),
        ("AuthenticationCode1", &c0),
        ("AuthenticationCode2", &c1),
    ]);
    let call = crate::iam::call("EnableMFADevice").unwrap();
    let spent = crate::iam::spent_codes(&call, &Input::new(&p), &d, &ctx(None))
        .unwrap()
        .unwrap();
    let now = totp::step(now());
    assert_eq!(spent.serial, ALICE_MFA);
    assert_eq!(spent.steps, [now, now + 1]);
    enable(&mut d, "Alice", ALICE_MFA, (&c0, &c1)).unwrap();
    let device = d.mfa_devices.first().unwrap();
    assert_eq!(device.user.as_deref(), Some("alice"));
    assert_eq!(device.enabled.as_deref(), Some("2026-12-06T15:04:05Z"));
    assert_eq!(device.drift, 0);

    // A device in use is not enabled again, for anyone.
    assert_eq!(
        err(enable(&mut d, "bob", ALICE_MFA, (&c1, &c2))),
        (
            "EntityAlreadyExists",
            "MFA Device is already in use.".into()
        )
    );
    // Other calls spend nothing.
    let list = crate::iam::call("ListMFADevices").unwrap();
    assert_eq!(
        crate::iam::spent_codes(&list, &Input::new(&p), &d, &ctx(None)).unwrap(),
        None
    );
}

#[test]
fn a_device_whose_clock_is_off_is_enabled_with_its_drift_and_resynchronized() {
    let mut d = doc();
    let seed = create(&mut d, "alice");
    // Five steps ahead (2.5 minutes).
    enable(
        &mut d,
        "alice",
        ALICE_MFA,
        (&code(&seed, 5), &code(&seed, 6)),
    )
    .unwrap();
    assert_eq!(d.mfa_devices.first().unwrap().drift, 6);
    // Beyond the window (more than 20 steps): refused.
    let mut far = doc();
    let seed_far = create(&mut far, "alice");
    assert_eq!(
        err(enable(
            &mut far,
            "alice",
            ALICE_MFA,
            (&code(&seed_far, 25), &code(&seed_far, 26))
        ))
        .0,
        "InvalidAuthenticationCode"
    );

    // Resync: the device is back in time.
    let resync = |d: &mut crate::directory::DirectoryDoc, user: &str, a: &str, b: &str| {
        run(
            d,
            "ResyncMFADevice",
            &[
                ("UserName", user),
                ("SerialNumber", ALICE_MFA),
                ("AuthenticationCode1", a),
                ("AuthenticationCode2", b),
            ],
        )
    };
    resync(&mut d, "alice", &code(&seed, -1), &code(&seed, 0)).unwrap();
    assert_eq!(d.mfa_devices.first().unwrap().drift, 0);
    resync(&mut d, "alice", &code(&seed, -8), &code(&seed, -7)).unwrap();
    assert_eq!(d.mfa_devices.first().unwrap().drift, -7);
    assert_eq!(
        err(resync(&mut d, "alice", &code(&seed, 0), &code(&seed, 2))).0,
        "InvalidAuthenticationCode"
    );
    // Only the user's own device.
    assert_eq!(
        err(resync(&mut d, "bob", &code(&seed, 0), &code(&seed, 1))),
        ("NoSuchEntity", "MFA Device invalid for user.".into())
    );
}

#[test]
fn deactivate_delete_and_lists() {
    let mut d = doc();
    let seed = create(&mut d, "alice");
    create(&mut d, "spare");
    enable(
        &mut d,
        "alice",
        ALICE_MFA,
        (&code(&seed, 0), &code(&seed, 1)),
    )
    .unwrap();

    let out = run_as(&mut d, Some("alice"), "ListMFADevices", &[]).unwrap();
    let list = field(&out, "MFADevices");
    assert_eq!(names(list, "SerialNumber"), [ALICE_MFA]);
    assert_eq!(names(list, "UserName"), ["alice"]);
    assert_eq!(names(list, "EnableDate"), ["2026-12-06T15:04:05Z"]);
    let out = run(&mut d, "ListMFADevices", &[("UserName", "bob")]).unwrap();
    assert!(items(field(&out, "MFADevices")).is_empty());
    assert_eq!(
        err(run(&mut d, "ListMFADevices", &[("UserName", "nobody")])).0,
        "NoSuchEntity"
    );

    let listed = |d: &mut crate::directory::DirectoryDoc, status: &str| {
        let out = run(d, "ListVirtualMFADevices", &[("AssignmentStatus", status)]).unwrap();
        names(field(&out, "VirtualMFADevices"), "SerialNumber")
    };
    assert_eq!(
        listed(&mut d, "Any"),
        [ALICE_MFA, "arn:aws:iam::123456789012:mfa/spare"]
    );
    assert_eq!(listed(&mut d, "Assigned"), [ALICE_MFA]);
    assert_eq!(
        listed(&mut d, "Unassigned"),
        ["arn:aws:iam::123456789012:mfa/spare"]
    );
    let out = run(
        &mut d,
        "ListVirtualMFADevices",
        &[("AssignmentStatus", "Assigned")],
    )
    .unwrap();
    let first = items(field(&out, "VirtualMFADevices"))
        .first()
        .unwrap()
        .clone();
    assert_eq!(text(get(get(&first, "User"), "UserName")), "alice");
    assert_eq!(text(get(&first, "EnableDate")), "2026-12-06T15:04:05Z");
    assert_eq!(
        err(run(
            &mut d,
            "ListVirtualMFADevices",
            &[("AssignmentStatus", "Some")]
        ))
        .0,
        "ValidationError"
    );

    // In use: neither the device nor its user can be deleted.
    let delete = |d: &mut crate::directory::DirectoryDoc, serial: &str| {
        run(d, "DeleteVirtualMFADevice", &[("SerialNumber", serial)])
    };
    assert_eq!(
        err(delete(&mut d, ALICE_MFA)),
        (
            "DeleteConflict",
            "MFA VirtualDevice in use. Must deactivate first.".into()
        )
    );
    let mut lonely = d.clone();
    lonely.users.first_mut().unwrap().groups.clear();
    lonely.users.first_mut().unwrap().access_keys.clear();
    assert_eq!(
        err(run(&mut lonely, "DeleteUser", &[("UserName", "alice")])),
        (
            "DeleteConflict",
            "Cannot delete entity, must delete MFA device first.".into()
        )
    );
    // Renamed, the user keeps its device.
    run(
        &mut lonely,
        "UpdateUser",
        &[("UserName", "alice"), ("NewUserName", "alicia")],
    )
    .unwrap();
    assert_eq!(
        lonely.mfa_devices.first().unwrap().user.as_deref(),
        Some("alicia")
    );

    // Deactivated by someone else's name: refused; by its user: unassigned, then deletable.
    assert_eq!(
        err(run(
            &mut d,
            "DeactivateMFADevice",
            &[("UserName", "bob"), ("SerialNumber", ALICE_MFA)]
        )),
        ("NoSuchEntity", "MFA Device invalid for user.".into())
    );
    run_as(
        &mut d,
        Some("alice"),
        "DeactivateMFADevice",
        &[("SerialNumber", ALICE_MFA)],
    )
    .unwrap();
    assert!(d.mfa_devices.first().unwrap().user.is_none());
    delete(&mut d, ALICE_MFA).unwrap();
    assert_eq!(
        err(delete(&mut d, ALICE_MFA)),
        (
            "NoSuchEntity",
            format!("VirtualMFADevice with serial number {ALICE_MFA} doesn't exist.")
        )
    );
    assert_eq!(d.mfa_devices.len(), 1);
}

#[test]
fn the_directory_refuses_unsealed_seeds_and_unknown_users() {
    let mut d = doc();
    create(&mut d, "alice");
    let build = |d: &crate::directory::DirectoryDoc| {
        crate::directory::Directory::build(d, &mut |_, _, _| {
            Ok(zeroize::Zeroizing::new("x".repeat(40)))
        })
    };
    let dir = build(&d).unwrap();
    let device = dir.mfa_device(ALICE_MFA).unwrap();
    assert_eq!(device.user_arn, None);
    assert!(!format!("{device:?}").contains("test:"));
    let mut clear = d.clone();
    clear.mfa_devices.first_mut().unwrap().seed = crate::settings::SecretRef {
        value: Some("JBSWY3DPEHPK3PXP".into()),
        ..Default::default()
    };
    assert!(build(&clear)
        .unwrap_err()
        .to_string()
        .contains("never in clear"));
    let mut orphan = d.clone();
    orphan.mfa_devices.first_mut().unwrap().user = Some("nobody".into());
    assert!(build(&orphan)
        .unwrap_err()
        .to_string()
        .contains("no user nobody"));
    let mut drifted = d;
    drifted.mfa_devices.first_mut().unwrap().drift = 21;
    assert!(build(&drifted).is_err());
}
