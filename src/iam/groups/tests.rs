use crate::iam::users::testkit::*;

#[test]
fn create_and_get_group() {
    let mut d = doc();
    let out = run(
        &mut d,
        "CreateGroup",
        &[("GroupName", "ops"), ("Path", "/t/")],
    )
    .unwrap();
    let g = field(&out, "Group");
    assert_eq!(text(get(g, "GroupName")), "ops");
    assert_eq!(text(get(g, "Arn")), "arn:aws:iam::123456789012:group/t/ops");
    assert!(text(get(g, "GroupId")).starts_with("AGPA"));
    assert_eq!(text(get(g, "CreateDate")), "2026-12-06T15:04:05Z");
    assert_eq!(
        err(run(&mut d, "CreateGroup", &[("GroupName", "DEVS")])),
        (
            "EntityAlreadyExists",
            "Group with name DEVS already exists.".into()
        )
    );
    assert_eq!(err(run(&mut d, "CreateGroup", &[])).0, "ValidationError");

    let out = run(&mut d, "GetGroup", &[("GroupName", "Devs")]).unwrap();
    assert_eq!(text(get(field(&out, "Group"), "GroupName")), "devs");
    assert_eq!(
        text(get(field(&out, "Group"), "CreateDate")),
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(names(field(&out, "Users"), "UserName"), ["alice"]);
    assert_eq!(text(field(&out, "IsTruncated")), "false");
    assert_eq!(
        err(run(&mut d, "GetGroup", &[("GroupName", "nope")])),
        (
            "NoSuchEntity",
            "The group with name nope cannot be found.".into()
        )
    );
    assert_eq!(
        resource_of(&d, None, "GetGroup", &[("GroupName", "devs")]),
        "arn:aws:iam::123456789012:group/eng/devs"
    );
    assert_eq!(
        resource_of(&d, None, "CreateGroup", &[("GroupName", "x")]),
        "arn:aws:iam::123456789012:group/x"
    );
    assert_eq!(resource_of(&d, None, "ListGroups", &[]), "*");
}

#[test]
fn get_group_pages_its_members() {
    let mut d = doc();
    for i in 0..3 {
        let name = format!("m{i}");
        run(&mut d, "CreateUser", &[("UserName", &name)]).unwrap();
        run(
            &mut d,
            "AddUserToGroup",
            &[("GroupName", "devs"), ("UserName", &name)],
        )
        .unwrap();
    }
    let out = run(
        &mut d,
        "GetGroup",
        &[("GroupName", "devs"), ("MaxItems", "3")],
    )
    .unwrap();
    assert_eq!(
        names(field(&out, "Users"), "UserName"),
        ["alice", "m0", "m1"]
    );
    assert_eq!(text(field(&out, "IsTruncated")), "true");
    let marker = text(field(&out, "Marker")).to_owned();
    let out = run(
        &mut d,
        "GetGroup",
        &[
            ("GroupName", "devs"),
            ("MaxItems", "3"),
            ("Marker", &marker),
        ],
    )
    .unwrap();
    assert_eq!(names(field(&out, "Users"), "UserName"), ["m2"]);
    assert_eq!(text(field(&out, "IsTruncated")), "false");
}

#[test]
fn update_group_rename_follows_into_members() {
    let mut d = doc();
    run(
        &mut d,
        "UpdateGroup",
        &[
            ("GroupName", "DEVS"),
            ("NewGroupName", "builders"),
            ("NewPath", "/b/"),
        ],
    )
    .unwrap();
    let g = d.groups.first().unwrap();
    assert_eq!((g.name.as_str(), g.path.as_str()), ("builders", "/b/"));
    assert_eq!(d.users.first().unwrap().groups, ["builders"]);
    let out = run(&mut d, "GetGroup", &[("GroupName", "builders")]).unwrap();
    assert_eq!(names(field(&out, "Users"), "UserName"), ["alice"]);

    run(&mut d, "CreateGroup", &[("GroupName", "other")]).unwrap();
    assert_eq!(
        err(run(
            &mut d,
            "UpdateGroup",
            &[("GroupName", "other"), ("NewGroupName", "Builders")]
        )),
        (
            "EntityAlreadyExists",
            "Group with name Builders already exists.".into()
        )
    );
    assert_eq!(
        err(run(
            &mut d,
            "UpdateGroup",
            &[("GroupName", "devs"), ("NewGroupName", "x")]
        ))
        .0,
        "NoSuchEntity"
    );
}

#[test]
fn delete_group_conflicts() {
    let mut d = doc();
    let cannot = |what: &str| {
        (
            "DeleteConflict",
            format!("Cannot delete entity, must {what} first."),
        )
    };
    {
        let g = d.groups.first_mut().unwrap();
        g.policies
            .push("arn:aws:iam::123456789012:policy/Boundary".into());
        g.inline_policies.insert("p".into(), POLICY_DOC.into());
    }
    assert_eq!(
        err(run(&mut d.clone(), "DeleteGroup", &[("GroupName", "devs")])),
        cannot("remove users from group")
    );
    run(
        &mut d,
        "RemoveUserFromGroup",
        &[("GroupName", "devs"), ("UserName", "alice")],
    )
    .unwrap();
    assert_eq!(
        err(run(&mut d.clone(), "DeleteGroup", &[("GroupName", "devs")])),
        cannot("detach all policies")
    );
    d.groups.first_mut().unwrap().policies.clear();
    assert_eq!(
        err(run(&mut d.clone(), "DeleteGroup", &[("GroupName", "devs")])),
        cannot("delete policies")
    );
    d.groups.first_mut().unwrap().inline_policies.clear();
    run(&mut d, "DeleteGroup", &[("GroupName", "Devs")]).unwrap();
    assert!(d.groups.is_empty());
    assert_eq!(
        err(run(&mut d, "DeleteGroup", &[("GroupName", "devs")])).0,
        "NoSuchEntity"
    );
}

#[test]
fn list_groups_by_prefix_in_pages() {
    let mut d = doc();
    run(
        &mut d,
        "CreateGroup",
        &[("GroupName", "g1"), ("Path", "/eng/x/")],
    )
    .unwrap();
    run(&mut d, "CreateGroup", &[("GroupName", "g2")]).unwrap();
    let out = run(&mut d, "ListGroups", &[]).unwrap();
    assert_eq!(
        names(field(&out, "Groups"), "GroupName"),
        ["devs", "g1", "g2"]
    );
    let out = run(&mut d, "ListGroups", &[("PathPrefix", "/eng/")]).unwrap();
    assert_eq!(names(field(&out, "Groups"), "GroupName"), ["devs", "g1"]);
    let out = run(&mut d, "ListGroups", &[("MaxItems", "2")]).unwrap();
    assert_eq!(names(field(&out, "Groups"), "GroupName"), ["devs", "g1"]);
    assert_eq!(text(field(&out, "Marker")), "m2");
    let out = run(&mut d, "ListGroups", &[("MaxItems", "2"), ("Marker", "m2")]).unwrap();
    assert_eq!(names(field(&out, "Groups"), "GroupName"), ["g2"]);
}

#[test]
fn membership() {
    let mut d = doc();
    // Idempotent, any case; the stored name is the group's own.
    run(
        &mut d,
        "AddUserToGroup",
        &[("GroupName", "DEVS"), ("UserName", "BOB")],
    )
    .unwrap();
    run(
        &mut d,
        "AddUserToGroup",
        &[("GroupName", "devs"), ("UserName", "bob")],
    )
    .unwrap();
    assert_eq!(d.users.get(1).unwrap().groups, ["devs"]);
    let out = run(&mut d, "ListGroupsForUser", &[("UserName", "bob")]).unwrap();
    assert_eq!(names(field(&out, "Groups"), "GroupName"), ["devs"]);
    assert_eq!(
        text(get(items(field(&out, "Groups")).first().unwrap(), "Arn")),
        "arn:aws:iam::123456789012:group/eng/devs"
    );

    run(
        &mut d,
        "RemoveUserFromGroup",
        &[("GroupName", "devs"), ("UserName", "Bob")],
    )
    .unwrap();
    assert!(d.users.get(1).unwrap().groups.is_empty());
    // Not a member: nothing to do.
    run(
        &mut d,
        "RemoveUserFromGroup",
        &[("GroupName", "devs"), ("UserName", "bob")],
    )
    .unwrap();

    for (action, group, user, missing) in [
        (
            "AddUserToGroup",
            "nope",
            "bob",
            "The group with name nope cannot be found.",
        ),
        (
            "AddUserToGroup",
            "devs",
            "nobody",
            "The user with name nobody cannot be found.",
        ),
        (
            "RemoveUserFromGroup",
            "nope",
            "bob",
            "The group with name nope cannot be found.",
        ),
        (
            "RemoveUserFromGroup",
            "devs",
            "nobody",
            "The user with name nobody cannot be found.",
        ),
    ] {
        assert_eq!(
            err(run(
                &mut d,
                action,
                &[("GroupName", group), ("UserName", user)]
            )),
            ("NoSuchEntity", missing.into())
        );
    }
    assert_eq!(
        err(run(&mut d, "ListGroupsForUser", &[("UserName", "nobody")])).0,
        "NoSuchEntity"
    );
    assert_eq!(
        resource_of(
            &d,
            None,
            "AddUserToGroup",
            &[("GroupName", "devs"), ("UserName", "bob")]
        ),
        "arn:aws:iam::123456789012:group/eng/devs"
    );
    assert_eq!(
        resource_of(&d, None, "ListGroupsForUser", &[("UserName", "bob")]),
        "arn:aws:iam::123456789012:user/ops/bob"
    );
}

#[test]
fn ten_groups_per_user_and_paged_listing() {
    let mut d = doc();
    for i in 1..=10 {
        run(&mut d, "CreateGroup", &[("GroupName", &format!("g{i:02}"))]).unwrap();
    }
    for i in 1..=9 {
        run(
            &mut d,
            "AddUserToGroup",
            &[("GroupName", &format!("g{i:02}")), ("UserName", "alice")],
        )
        .unwrap();
    }
    assert_eq!(d.users.first().unwrap().groups.len(), 10);
    assert_eq!(
        err(run(
            &mut d,
            "AddUserToGroup",
            &[("GroupName", "g10"), ("UserName", "alice")]
        )),
        (
            "LimitExceeded",
            "Cannot exceed quota for GroupsPerUser: 10".into()
        )
    );
    // Already a member: still fine at the quota.
    run(
        &mut d,
        "AddUserToGroup",
        &[("GroupName", "g01"), ("UserName", "alice")],
    )
    .unwrap();
    let out = run(
        &mut d,
        "ListGroupsForUser",
        &[("UserName", "alice"), ("MaxItems", "6")],
    )
    .unwrap();
    assert_eq!(items(field(&out, "Groups")).len(), 6);
    assert_eq!(text(field(&out, "IsTruncated")), "true");
    let out = run(
        &mut d,
        "ListGroupsForUser",
        &[("UserName", "alice"), ("MaxItems", "6"), ("Marker", "m6")],
    )
    .unwrap();
    assert_eq!(
        names(field(&out, "Groups"), "GroupName"),
        ["g06", "g07", "g08", "g09"]
    );
}
