use crate::iam::users::testkit::*;

/// The directory as stored (TOML, as export writes it) and as debugged.
fn stored(d: &crate::directory::DirectoryDoc) -> String {
    format!("{}\n{d:?}", toml::to_string(d).unwrap())
}

#[test]
fn create_access_key_seals_the_secret_and_answers_it_once() {
    let mut d = doc();
    let out = run(&mut d, "CreateAccessKey", &[("UserName", "Bob")]).unwrap();
    let k = field(&out, "AccessKey");
    assert_eq!(text(get(k, "UserName")), "bob");
    assert_eq!(text(get(k, "Status")), "Active");
    assert_eq!(text(get(k, "CreateDate")), "2026-12-06T15:04:05Z");
    let id = text(get(k, "AccessKeyId")).to_owned();
    let secret = text(get(k, "SecretAccessKey")).to_owned();
    assert!(id.starts_with("AKIA") && id.len() == 20);
    assert_eq!(secret.len(), 40);
    let key = d.users.get(1).unwrap().access_keys.first().unwrap();
    assert_eq!(key.id, id);
    assert_eq!(
        key.secret.sealed.as_deref(),
        Some(format!("test:{id}").as_str())
    );
    assert_eq!(key.secret.value, None);
    assert!(!stored(&d).contains(&secret));

    // The listing has no secret.
    let out = run(&mut d, "ListAccessKeys", &[("UserName", "bob")]).unwrap();
    let list = field(&out, "AccessKeyMetadata");
    assert_eq!(names(list, "AccessKeyId"), [id]);
    assert!(!has(items(list).first().unwrap(), "SecretAccessKey"));
    assert!(!format!("{out:?}").contains(&secret));
}

#[test]
fn create_access_key_for_the_caller_and_two_at_most() {
    let mut d = doc();
    let out = run_as(&mut d, Some("alice"), "CreateAccessKey", &[]).unwrap();
    assert_eq!(text(get(field(&out, "AccessKey"), "UserName")), "alice");
    assert_eq!(d.users.first().unwrap().access_keys.len(), 2);
    assert_eq!(
        err(run_as(&mut d, Some("alice"), "CreateAccessKey", &[])),
        (
            "LimitExceeded",
            "Cannot exceed quota for AccessKeysPerUser: 2".into()
        )
    );
    assert_eq!(
        err(run(&mut d, "CreateAccessKey", &[])),
        (
            "ValidationError",
            "Must specify userName when calling with non-User credentials".into()
        )
    );
    assert_eq!(
        err(run(&mut d, "CreateAccessKey", &[("UserName", "nobody")])),
        (
            "NoSuchEntity",
            "The user with name nobody cannot be found.".into()
        )
    );
    assert_eq!(
        resource_of(&d, Some("alice"), "CreateAccessKey", &[]),
        "arn:aws:iam::123456789012:user/alice"
    );
    assert_eq!(
        resource_of(&d, Some("alice"), "ListAccessKeys", &[("UserName", "bob")]),
        "arn:aws:iam::123456789012:user/ops/bob"
    );
    assert_eq!(resource_of(&d, None, "ListAccessKeys", &[]), "*");
}

#[test]
fn update_and_delete_access_key() {
    let mut d = doc();
    let id = "AKIAAAAAAAAAAAAAAAA1";
    run(
        &mut d,
        "UpdateAccessKey",
        &[
            ("UserName", "alice"),
            ("AccessKeyId", id),
            ("Status", "Inactive"),
        ],
    )
    .unwrap();
    assert_eq!(
        d.users.first().unwrap().access_keys.first().unwrap().status,
        "Inactive"
    );
    run_as(
        &mut d,
        Some("alice"),
        "UpdateAccessKey",
        &[("AccessKeyId", id), ("Status", "Active")],
    )
    .unwrap();
    assert_eq!(
        d.users.first().unwrap().access_keys.first().unwrap().status,
        "Active"
    );
    assert_eq!(
        err(run(
            &mut d,
            "UpdateAccessKey",
            &[
                ("UserName", "alice"),
                ("AccessKeyId", id),
                ("Status", "Expired")
            ]
        ))
        .0,
        "ValidationError"
    );
    assert_eq!(
        err(run(
            &mut d,
            "UpdateAccessKey",
            &[("UserName", "alice"), ("AccessKeyId", id)]
        ))
        .0,
        "ValidationError"
    );
    // Another user's key is not found under this one.
    assert_eq!(
        err(run(
            &mut d,
            "UpdateAccessKey",
            &[
                ("UserName", "bob"),
                ("AccessKeyId", id),
                ("Status", "Active")
            ]
        )),
        (
            "NoSuchEntity",
            format!("The Access Key with id {id} cannot be found")
        )
    );
    assert_eq!(
        err(run(
            &mut d,
            "DeleteAccessKey",
            &[
                ("UserName", "alice"),
                ("AccessKeyId", "AKIAZZZZZZZZZZZZZZZZ")
            ]
        )),
        (
            "NoSuchEntity",
            "The Access Key with id AKIAZZZZZZZZZZZZZZZZ cannot be found".into()
        )
    );
    assert_eq!(
        err(run(&mut d, "DeleteAccessKey", &[("AccessKeyId", id)])).0,
        "ValidationError"
    );
    assert_eq!(
        resource_of(
            &d,
            None,
            "DeleteAccessKey",
            &[("UserName", "alice"), ("AccessKeyId", id)]
        ),
        "arn:aws:iam::123456789012:user/alice"
    );
    run(
        &mut d,
        "DeleteAccessKey",
        &[("UserName", "ALICE"), ("AccessKeyId", id)],
    )
    .unwrap();
    assert!(d.users.first().unwrap().access_keys.is_empty());
}

#[test]
fn list_access_keys_in_pages() {
    let mut d = doc();
    run(&mut d, "CreateAccessKey", &[("UserName", "alice")]).unwrap();
    let out = run_as(
        &mut d,
        Some("alice"),
        "ListAccessKeys",
        &[("MaxItems", "1")],
    )
    .unwrap();
    let list = field(&out, "AccessKeyMetadata");
    assert_eq!(names(list, "AccessKeyId"), ["AKIAAAAAAAAAAAAAAAA1"]);
    assert_eq!(names(list, "UserName"), ["alice"]);
    assert_eq!(names(list, "CreateDate"), ["1970-01-01T00:00:00Z"]);
    assert_eq!(text(field(&out, "IsTruncated")), "true");
    let out = run_as(
        &mut d,
        Some("alice"),
        "ListAccessKeys",
        &[("MaxItems", "1"), ("Marker", "m1")],
    )
    .unwrap();
    assert_eq!(
        names(field(&out, "AccessKeyMetadata"), "Status"),
        ["Active"]
    );
    assert_eq!(text(field(&out, "IsTruncated")), "false");
    assert_eq!(
        err(run(&mut d, "ListAccessKeys", &[("UserName", "nobody")])).0,
        "NoSuchEntity"
    );
    assert_eq!(err(run(&mut d, "ListAccessKeys", &[])).0, "ValidationError");
}
