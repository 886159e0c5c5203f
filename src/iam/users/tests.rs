use super::testkit::*;

#[test]
fn create_user_answers_the_user_and_stores_it() {
    let mut d = doc();
    let out = run(
        &mut d,
        "CreateUser",
        &[
            ("UserName", "carol"),
            ("Path", "/team/"),
            (
                "PermissionsBoundary",
                "arn:aws:iam::123456789012:policy/Boundary",
            ),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "blue"),
        ],
    )
    .unwrap();
    let u = field(&out, "User");
    assert_eq!(text(get(u, "UserName")), "carol");
    assert_eq!(text(get(u, "Path")), "/team/");
    assert_eq!(
        text(get(u, "Arn")),
        "arn:aws:iam::123456789012:user/team/carol"
    );
    assert!(text(get(u, "UserId")).starts_with("AIDA"));
    assert_eq!(text(get(u, "CreateDate")), "2026-12-06T15:04:05Z");
    assert_eq!(
        text(get(get(u, "PermissionsBoundary"), "PermissionsBoundaryArn")),
        "arn:aws:iam::123456789012:policy/Boundary"
    );
    assert_eq!(names(get(u, "Tags"), "Key"), ["team"]);
    let stored = d.users.iter().find(|u| u.name == "carol").unwrap();
    assert_eq!(stored.created.as_deref(), Some("2026-12-06T15:04:05Z"));
    assert_eq!(stored.tags.get("team").map(String::as_str), Some("blue"));
    assert_eq!(
        resource_of(
            &d,
            None,
            "CreateUser",
            &[("UserName", "x"), ("Path", "/p/")]
        ),
        "arn:aws:iam::123456789012:user/p/x"
    );
}

#[test]
fn create_user_refusals() {
    let mut d = doc();
    assert_eq!(
        err(run(&mut d, "CreateUser", &[("UserName", "ALICE")])),
        (
            "EntityAlreadyExists",
            "User with name ALICE already exists.".into()
        )
    );
    assert_eq!(err(run(&mut d, "CreateUser", &[])).0, "ValidationError");
    let long = "a".repeat(65);
    assert_eq!(
        err(run(&mut d, "CreateUser", &[("UserName", &long)])).0,
        "ValidationError"
    );
    assert_eq!(
        err(run(&mut d, "CreateUser", &[("UserName", "a b")])).0,
        "ValidationError"
    );
    assert_eq!(
        err(run(
            &mut d,
            "CreateUser",
            &[("UserName", "c"), ("Path", "nopath")]
        ))
        .0,
        "ValidationError"
    );
    assert_eq!(
        err(run(
            &mut d,
            "CreateUser",
            &[
                ("UserName", "c"),
                (
                    "PermissionsBoundary",
                    "arn:aws:iam::123456789012:policy/Nope"
                )
            ]
        ))
        .0,
        "NoSuchEntity"
    );
    assert_eq!(
        err(run(
            &mut d,
            "CreateUser",
            &[
                ("UserName", "c"),
                ("Tags.member.1.Key", "k"),
                ("Tags.member.2.Key", "K")
            ]
        ))
        .0,
        "InvalidInput"
    );
    assert_eq!(d, doc());
}

#[test]
fn get_user_by_name_any_case_or_the_caller() {
    let mut d = doc();
    let out = run(&mut d, "GetUser", &[("UserName", "BOB")]).unwrap();
    let u = field(&out, "User");
    assert_eq!(text(get(u, "UserName")), "bob");
    assert_eq!(text(get(u, "CreateDate")), "1970-01-01T00:00:00Z");
    assert!(!has(u, "PermissionsBoundary"));
    assert!(!has(u, "Tags"));
    let out = run_as(&mut d, Some("alice"), "GetUser", &[]).unwrap();
    assert_eq!(text(get(field(&out, "User"), "UserName")), "alice");
    assert_eq!(
        err(run(&mut d, "GetUser", &[])),
        (
            "ValidationError",
            "Must specify userName when calling with non-User credentials".into()
        )
    );
    assert_eq!(
        err(run(&mut d, "GetUser", &[("UserName", "zed")])),
        (
            "NoSuchEntity",
            "The user with name zed cannot be found.".into()
        )
    );
    assert_eq!(
        resource_of(&d, Some("bob"), "GetUser", &[]),
        "arn:aws:iam::123456789012:user/ops/bob"
    );
    assert_eq!(resource_of(&d, None, "GetUser", &[]), "*");
    assert_eq!(resource_of(&d, None, "ListUsers", &[]), "*");
}

#[test]
fn update_user_renames_and_moves() {
    let mut d = doc();
    run(
        &mut d,
        "UpdateUser",
        &[
            ("UserName", "Alice"),
            ("NewUserName", "alicia"),
            ("NewPath", "/dev/"),
        ],
    )
    .unwrap();
    let u = d.users.first().unwrap();
    assert_eq!((u.name.as_str(), u.path.as_str()), ("alicia", "/dev/"));
    // Keys and groups stay the user's.
    assert_eq!(u.groups, ["devs"]);
    assert_eq!(u.access_keys.len(), 1);
    // A change of case only is a rename to itself.
    run(
        &mut d,
        "UpdateUser",
        &[("UserName", "alicia"), ("NewUserName", "Alicia")],
    )
    .unwrap();
    assert_eq!(d.users.first().unwrap().name, "Alicia");
    assert_eq!(
        err(run(
            &mut d,
            "UpdateUser",
            &[("UserName", "Alicia"), ("NewUserName", "BOB")]
        )),
        (
            "EntityAlreadyExists",
            "User with name BOB already exists.".into()
        )
    );
    assert_eq!(
        err(run(
            &mut d,
            "UpdateUser",
            &[("UserName", "nobody"), ("NewPath", "/")]
        ))
        .0,
        "NoSuchEntity"
    );
    assert_eq!(
        err(run(
            &mut d,
            "UpdateUser",
            &[("UserName", "bob"), ("NewPath", "x")]
        ))
        .0,
        "ValidationError"
    );
    assert_eq!(
        resource_of(&d, None, "UpdateUser", &[("UserName", "bob")]),
        "arn:aws:iam::123456789012:user/ops/bob"
    );
}

#[test]
fn delete_user_conflicts_in_aws_order() {
    let mut d = doc();
    let alice = |d: &crate::directory::DirectoryDoc| {
        run(&mut d.clone(), "DeleteUser", &[("UserName", "alice")])
    };
    {
        let u = d.users.first_mut().unwrap();
        u.inline_policies.insert("p".into(), POLICY_DOC.into());
        u.policies
            .push("arn:aws:iam::123456789012:policy/Boundary".into());
    }
    let cannot = |what: &str| {
        (
            "DeleteConflict",
            format!("Cannot delete entity, must {what} first."),
        )
    };
    assert_eq!(err(alice(&d)), cannot("delete access keys"));
    d.users.first_mut().unwrap().access_keys.clear();
    assert_eq!(err(alice(&d)), cannot("delete policies"));
    d.users.first_mut().unwrap().inline_policies.clear();
    assert_eq!(err(alice(&d)), cannot("detach all policies"));
    d.users.first_mut().unwrap().policies.clear();
    assert_eq!(err(alice(&d)), cannot("remove users from group"));
    d.users.first_mut().unwrap().groups.clear();
    run(&mut d, "DeleteUser", &[("UserName", "ALICE")]).unwrap();
    assert_eq!(d.users.len(), 1);
    assert_eq!(
        err(run(&mut d, "DeleteUser", &[("UserName", "alice")])).0,
        "NoSuchEntity"
    );
}

#[test]
fn list_users_by_path_prefix_in_pages() {
    let mut d = doc();
    for i in 0..5 {
        run(
            &mut d,
            "CreateUser",
            &[("UserName", &format!("u{i}")), ("Path", "/ops/x/")],
        )
        .unwrap();
    }
    let out = run(&mut d, "ListUsers", &[]).unwrap();
    assert_eq!(items(field(&out, "Users")).len(), 7);
    assert_eq!(text(field(&out, "IsTruncated")), "false");
    assert!(!out.fields.iter().any(|(n, _)| *n == "Marker"));
    // Lists leave out boundaries and tags.
    assert!(!has(items(field(&out, "Users")).first().unwrap(), "Tags"));

    let out = run(
        &mut d,
        "ListUsers",
        &[("PathPrefix", "/ops/"), ("MaxItems", "4")],
    )
    .unwrap();
    assert_eq!(
        names(field(&out, "Users"), "UserName"),
        ["bob", "u0", "u1", "u2"]
    );
    assert_eq!(text(field(&out, "IsTruncated")), "true");
    let marker = text(field(&out, "Marker")).to_owned();
    let out = run(
        &mut d,
        "ListUsers",
        &[
            ("PathPrefix", "/ops/"),
            ("MaxItems", "4"),
            ("Marker", &marker),
        ],
    )
    .unwrap();
    assert_eq!(names(field(&out, "Users"), "UserName"), ["u3", "u4"]);
    assert_eq!(text(field(&out, "IsTruncated")), "false");
    assert_eq!(
        err(run(&mut d, "ListUsers", &[("PathPrefix", "ops")])).0,
        "ValidationError"
    );
    assert_eq!(
        err(run(&mut d, "ListUsers", &[("MaxItems", "0")])).0,
        "ValidationError"
    );
}

#[test]
fn user_tags() {
    let mut d = doc();
    run(
        &mut d,
        "TagUser",
        &[
            ("UserName", "bob"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "red"),
            ("Tags.member.2.Key", "cost"),
            ("Tags.member.2.Value", "1"),
        ],
    )
    .unwrap();
    // Keys are case-insensitive: Team replaces team.
    run(
        &mut d,
        "TagUser",
        &[
            ("UserName", "bob"),
            ("Tags.member.1.Key", "Team"),
            ("Tags.member.1.Value", "blue"),
        ],
    )
    .unwrap();
    let out = run(&mut d, "ListUserTags", &[("UserName", "bob")]).unwrap();
    assert_eq!(names(field(&out, "Tags"), "Key"), ["Team", "cost"]);
    assert_eq!(names(field(&out, "Tags"), "Value"), ["blue", "1"]);
    let out = run(
        &mut d,
        "ListUserTags",
        &[("UserName", "bob"), ("MaxItems", "1")],
    )
    .unwrap();
    assert_eq!(names(field(&out, "Tags"), "Key"), ["Team"]);
    assert_eq!(text(field(&out, "Marker")), "m1");
    let out = run(&mut d, "GetUser", &[("UserName", "bob")]).unwrap();
    assert_eq!(
        names(get(field(&out, "User"), "Tags"), "Key"),
        ["Team", "cost"]
    );

    run(
        &mut d,
        "UntagUser",
        &[("UserName", "bob"), ("TagKeys.member.1", "TEAM")],
    )
    .unwrap();
    let out = run(&mut d, "ListUserTags", &[("UserName", "bob")]).unwrap();
    assert_eq!(names(field(&out, "Tags"), "Key"), ["cost"]);

    assert_eq!(
        err(run(&mut d, "TagUser", &[("UserName", "bob")])).0,
        "ValidationError"
    );
    assert_eq!(
        err(run(&mut d, "UntagUser", &[("UserName", "bob")])).0,
        "ValidationError"
    );
    assert_eq!(
        err(run(
            &mut d,
            "TagUser",
            &[("UserName", "nobody"), ("Tags.member.1.Key", "k")]
        ))
        .0,
        "NoSuchEntity"
    );
    assert_eq!(
        err(run(&mut d, "ListUserTags", &[("UserName", "nobody")])).0,
        "NoSuchEntity"
    );
    // 50 tags at most on the user.
    let mut params: Vec<(String, String)> = Vec::new();
    for i in 1..=50 {
        params.push((format!("Tags.member.{i}.Key"), format!("k{i}")));
    }
    params.push(("UserName".into(), "bob".into()));
    let p: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        err(run(&mut d, "TagUser", &p)),
        (
            "LimitExceeded",
            "Cannot exceed quota for TagsPerEntity: 50".into()
        )
    );
    assert_eq!(
        resource_of(&d, None, "TagUser", &[("UserName", "bob")]),
        "arn:aws:iam::123456789012:user/ops/bob"
    );
}
