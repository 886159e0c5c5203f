use crate::iam::testkit::*;
use crate::iam::Node;

fn role_arn(path_name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role{path_name}")
}

#[test]
fn create_role_answers_the_role_and_get_role_finds_it() {
    let mut d = doc();
    let out = run(
        &mut d,
        "CreateRole",
        &[
            ("RoleName", "Builder"),
            ("Path", "/ci/"),
            ("AssumeRolePolicyDocument", TRUST),
            ("Description", "builds things"),
            ("MaxSessionDuration", "7200"),
            ("PermissionsBoundary", &policy("P")),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "infra"),
        ],
    )
    .unwrap();
    assert_eq!(text(&out, &["Role", "RoleName"]), "Builder");
    assert_eq!(text(&out, &["Role", "Path"]), "/ci/");
    assert_eq!(text(&out, &["Role", "Arn"]), role_arn("/ci/Builder"));
    assert!(text(&out, &["Role", "RoleId"]).starts_with("AROA"));
    assert_eq!(text(&out, &["Role", "CreateDate"]), NOW);
    assert_eq!(text(&out, &["Role", "Description"]), "builds things");
    assert_eq!(text(&out, &["Role", "MaxSessionDuration"]), "7200");
    assert_eq!(
        text(
            &out,
            &["Role", "PermissionsBoundary", "PermissionsBoundaryType"]
        ),
        "PermissionsPolicy"
    );
    assert_eq!(
        text(
            &out,
            &["Role", "PermissionsBoundary", "PermissionsBoundaryArn"]
        ),
        policy("P")
    );
    assert_eq!(text(&out, &["Role", "Tags", "0", "Key"]), "team");
    assert_eq!(text(&out, &["Role", "Tags", "0", "Value"]), "infra");
    let encoded = text(&out, &["Role", "AssumeRolePolicyDocument"]);
    assert!(encoded.starts_with("%7B%22Version%22"), "{encoded}");
    assert!(!has(&out, &["Role", "RoleLastUsed"]));

    let got = run(&mut d, "GetRole", &[("RoleName", "builder")]).unwrap();
    assert_eq!(text(&got, &["Role", "RoleName"]), "Builder");
    assert_eq!(
        text(&got, &["Role", "RoleId"]),
        text(&out, &["Role", "RoleId"])
    );
    assert!(has(&got, &["Role", "RoleLastUsed"]));
    // A role of a hand-written directory has no creation date: a stable one is answered.
    let r = run(&mut d, "GetRole", &[("RoleName", "R")]).unwrap();
    assert_eq!(text(&r, &["Role", "CreateDate"]), "1970-01-01T00:00:00Z");
    assert!(!has(&r, &["Role", "Description"]));
    assert!(!has(&r, &["Role", "Tags"]));
}

#[test]
fn create_role_refusals() {
    let mut d = doc();
    let ok = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![("RoleName", "New"), ("AssumeRolePolicyDocument", TRUST)];
        for (k, v) in extra {
            p.retain(|(pk, _)| pk != k);
            p.push((*k, *v));
        }
        p
    };
    let c = code(run(&mut d, "CreateRole", &ok(&[("RoleName", "r")])));
    assert_eq!(
        c,
        (
            "EntityAlreadyExists",
            "Role with name r already exists.".into()
        )
    );
    let c = code(run(&mut d, "CreateRole", &[("RoleName", "New")]));
    assert_eq!(c.0, "ValidationError");
    assert!(c.1.contains("assumeRolePolicyDocument"), "{}", c.1);
    let c = code(run(&mut d, "CreateRole", &ok(&[("RoleName", "bad name")])));
    assert_eq!(c.0, "ValidationError");
    let c = code(run(&mut d, "CreateRole", &ok(&[("Path", "nopath")])));
    assert_eq!(c.0, "ValidationError");
    // An identity policy is no trust policy (no Principal).
    let c = code(run(
        &mut d,
        "CreateRole",
        &ok(&[("AssumeRolePolicyDocument", ALLOW)]),
    ));
    assert_eq!(c.0, "MalformedPolicyDocument");
    for bad in ["3599", "43201", "soon"] {
        let c = code(run(
            &mut d,
            "CreateRole",
            &ok(&[("MaxSessionDuration", bad)]),
        ));
        assert_eq!(c.0, "ValidationError", "{bad}");
        assert!(c.1.contains("maxSessionDuration"), "{}", c.1);
    }
    let long = "d".repeat(1001);
    let p: Vec<(&str, &str)> = vec![
        ("RoleName", "New"),
        ("AssumeRolePolicyDocument", TRUST),
        ("Description", &long),
    ];
    assert_eq!(code(run(&mut d, "CreateRole", &p)).0, "ValidationError");
    let missing = policy("Missing");
    let p: Vec<(&str, &str)> = vec![
        ("RoleName", "New"),
        ("AssumeRolePolicyDocument", TRUST),
        ("PermissionsBoundary", &missing),
    ];
    let c = code(run(&mut d, "CreateRole", &p));
    assert_eq!(
        c,
        (
            "NoSuchEntity",
            format!("Policy {missing} does not exist or is not attachable.")
        )
    );
    let c = code(run(
        &mut d,
        "CreateRole",
        &ok(&[("PermissionsBoundary", "not-an-arn-but-long-enough")]),
    ));
    assert_eq!(c.0, "InvalidInput");
    let c = code(run(
        &mut d,
        "CreateRole",
        &ok(&[("Tags.member.1.Key", "Env"), ("Tags.member.2.Key", "env")]),
    ));
    assert_eq!(c.0, "InvalidInput");
    // A trust policy over 2048 characters (whitespace not counted).
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"aws:PrincipalTag/x":"{}"}}}}}}]}}"#,
        "y".repeat(2100)
    );
    let p: Vec<(&str, &str)> = vec![("RoleName", "New"), ("AssumeRolePolicyDocument", &big)];
    assert_eq!(code(run(&mut d, "CreateRole", &p)).0, "LimitExceeded");
    assert_eq!(d, doc());
}

#[test]
fn missing_roles_are_no_such_entity() {
    let mut d = doc();
    for (action, extra) in [
        ("GetRole", None),
        ("DeleteRole", None),
        ("UpdateRole", None),
        ("UpdateRoleDescription", Some(("Description", "x"))),
        ("UpdateAssumeRolePolicy", Some(("PolicyDocument", TRUST))),
        ("TagRole", Some(("Tags.member.1.Key", "k"))),
        ("UntagRole", Some(("TagKeys.member.1", "k"))),
        ("ListRoleTags", None),
    ] {
        let mut p = vec![("RoleName", "Nobody")];
        p.extend(extra);
        let c = code(run(&mut d, action, &p));
        assert_eq!(
            c,
            (
                "NoSuchEntity",
                "The role with name Nobody cannot be found.".into()
            ),
            "{action}"
        );
    }
}

#[test]
fn update_role_and_its_description() {
    let mut d = doc();
    let out = run(
        &mut d,
        "UpdateRole",
        &[
            ("RoleName", "r"),
            ("Description", "new"),
            ("MaxSessionDuration", "43200"),
        ],
    )
    .unwrap();
    assert!(out.fields.is_empty());
    assert_eq!(d.roles[0].description, "new");
    assert_eq!(d.roles[0].max_session_duration, 43200);
    let c = code(run(
        &mut d,
        "UpdateRole",
        &[("RoleName", "R"), ("MaxSessionDuration", "100")],
    ));
    assert_eq!(c.0, "ValidationError");

    let out = run(
        &mut d,
        "UpdateRoleDescription",
        &[("RoleName", "R"), ("Description", "newer")],
    )
    .unwrap();
    assert_eq!(text(&out, &["Role", "Description"]), "newer");
    assert_eq!(text(&out, &["Role", "MaxSessionDuration"]), "43200");
    let c = code(run(&mut d, "UpdateRoleDescription", &[("RoleName", "R")]));
    assert_eq!(c.0, "ValidationError");
}

#[test]
fn update_assume_role_policy() {
    let mut d = doc();
    let trust = TRUST.replace("ec2", "lambda");
    run(
        &mut d,
        "UpdateAssumeRolePolicy",
        &[("RoleName", "R"), ("PolicyDocument", &trust)],
    )
    .unwrap();
    assert_eq!(d.roles[0].trust_policy, trust);
    let c = code(run(
        &mut d,
        "UpdateAssumeRolePolicy",
        &[("RoleName", "R"), ("PolicyDocument", ALLOW)],
    ));
    assert_eq!(c.0, "MalformedPolicyDocument");
    let c = code(run(&mut d, "UpdateAssumeRolePolicy", &[("RoleName", "R")]));
    assert_eq!(c.0, "ValidationError");
}

#[test]
fn delete_role_refuses_while_it_has_policies() {
    let mut d = doc();
    d.roles[0].policies.push(policy("P"));
    d.roles[0]
        .inline_policies
        .insert("inline".into(), ALLOW.into());
    let c = code(run(&mut d, "DeleteRole", &[("RoleName", "R")]));
    assert_eq!(
        c,
        (
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first.".into()
        )
    );
    d.roles[0].policies.clear();
    let c = code(run(&mut d, "DeleteRole", &[("RoleName", "R")]));
    assert_eq!(
        c,
        (
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.".into()
        )
    );
    d.roles[0].inline_policies.clear();
    d.roles[0].permissions_boundary = Some(policy("P"));
    run(&mut d, "DeleteRole", &[("RoleName", "r")]).unwrap();
    assert!(d.roles.is_empty());
}

fn add_roles(d: &mut crate::directory::DirectoryDoc, names: &[(&str, &str)]) {
    for (path, name) in names {
        run(
            d,
            "CreateRole",
            &[
                ("RoleName", name),
                ("Path", path),
                ("AssumeRolePolicyDocument", TRUST),
                ("Tags.member.1.Key", "k"),
            ],
        )
        .unwrap();
    }
}

#[test]
fn list_roles_by_path_and_page() {
    let mut d = doc();
    add_roles(&mut d, &[("/a/", "c"), ("/a/b/", "B"), ("/z/", "a")]);
    let out = run(&mut d, "ListRoles", &[]).unwrap();
    assert_eq!(len(&out, &["Roles"]), 4);
    let names: Vec<String> = (0..4)
        .map(|i| text(&out, &["Roles", &i.to_string(), "RoleName"]))
        .collect();
    assert_eq!(names, ["a", "B", "c", "R"]);
    assert_eq!(text(&out, &["IsTruncated"]), "false");
    assert!(!has(&out, &["Marker"]));
    // ListRoles answers no tags.
    assert!(!has(&out, &["Roles", "0", "Tags"]));
    assert!(has(&out, &["Roles", "0", "AssumeRolePolicyDocument"]));

    let out = run(&mut d, "ListRoles", &[("PathPrefix", "/a/")]).unwrap();
    assert_eq!(len(&out, &["Roles"]), 2);
    assert_eq!(text(&out, &["Roles", "0", "RoleName"]), "B");

    let first = run(&mut d, "ListRoles", &[("MaxItems", "3")]).unwrap();
    assert_eq!(len(&first, &["Roles"]), 3);
    assert_eq!(text(&first, &["IsTruncated"]), "true");
    let marker = text(&first, &["Marker"]);
    let rest = run(
        &mut d,
        "ListRoles",
        &[("MaxItems", "3"), ("Marker", &marker)],
    )
    .unwrap();
    assert_eq!(len(&rest, &["Roles"]), 1);
    assert_eq!(text(&rest, &["Roles", "0", "RoleName"]), "R");
    assert_eq!(text(&rest, &["IsTruncated"]), "false");

    for bad in [
        &[("MaxItems", "0")][..],
        &[("Marker", "nonsense")],
        &[("PathPrefix", "a")],
    ] {
        assert_eq!(code(run(&mut d, "ListRoles", bad)).0, "ValidationError");
    }
}

#[test]
fn tag_untag_and_list_role_tags() {
    let mut d = doc();
    run(
        &mut d,
        "TagRole",
        &[
            ("RoleName", "R"),
            ("Tags.member.1.Key", "a"),
            ("Tags.member.1.Value", "1"),
            ("Tags.member.2.Key", "b"),
            ("Tags.member.2.Value", "2"),
        ],
    )
    .unwrap();
    // A key given again (whatever its case) replaces the value.
    run(
        &mut d,
        "TagRole",
        &[
            ("RoleName", "R"),
            ("Tags.member.1.Key", "A"),
            ("Tags.member.1.Value", "one"),
        ],
    )
    .unwrap();
    let out = run(&mut d, "ListRoleTags", &[("RoleName", "R")]).unwrap();
    assert_eq!(len(&out, &["Tags"]), 2);
    assert_eq!(text(&out, &["Tags", "0", "Key"]), "A");
    assert_eq!(text(&out, &["Tags", "0", "Value"]), "one");
    let page = run(
        &mut d,
        "ListRoleTags",
        &[("RoleName", "R"), ("MaxItems", "1")],
    )
    .unwrap();
    assert_eq!(len(&page, &["Tags"]), 1);
    assert_eq!(text(&page, &["IsTruncated"]), "true");
    assert_eq!(text(&page, &["Marker"]), "m1");

    run(
        &mut d,
        "UntagRole",
        &[
            ("RoleName", "R"),
            ("TagKeys.member.1", "a"),
            ("TagKeys.member.2", "zz"),
        ],
    )
    .unwrap();
    assert_eq!(d.roles[0].tags.keys().collect::<Vec<_>>(), ["b"]);
    let c = code(run(&mut d, "UntagRole", &[("RoleName", "R")]));
    assert_eq!(c.0, "ValidationError");
    let c = code(run(&mut d, "TagRole", &[("RoleName", "R")]));
    assert_eq!(c.0, "ValidationError");

    // 50 tags at most.
    let keys: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
    let names: Vec<String> = (1..=50).map(|i| format!("Tags.member.{i}.Key")).collect();
    let mut p: Vec<(&str, &str)> = vec![("RoleName", "R")];
    p.extend(
        names
            .iter()
            .map(String::as_str)
            .zip(keys.iter().map(String::as_str)),
    );
    let c = code(run(&mut d, "TagRole", &p));
    assert_eq!(
        c,
        (
            "LimitExceeded",
            "Cannot exceed quota for TagsPerRole: 50".into()
        )
    );
}

#[test]
fn resources_are_the_roles_arns() {
    let mut d = doc();
    add_roles(&mut d, &[("/ci/", "Builder")]);
    assert_eq!(
        resource_of(&d, "GetRole", &[("RoleName", "builder")]),
        role_arn("/ci/Builder")
    );
    assert_eq!(
        resource_of(&d, "DeleteRole", &[("RoleName", "Gone")]),
        role_arn("/Gone")
    );
    assert_eq!(
        resource_of(&d, "CreateRole", &[("RoleName", "New"), ("Path", "/x/")]),
        role_arn("/x/New")
    );
    assert_eq!(resource_of(&d, "ListRoles", &[]), "*");
}

#[test]
fn outputs_are_trees_of_aws_members() {
    let mut d = doc();
    let out = run(&mut d, "GetRole", &[("RoleName", "R")]).unwrap();
    let Node::Struct(fields) = at(&out, &["Role"]) else {
        panic!("Role is a structure")
    };
    let names: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        [
            "Path",
            "RoleName",
            "RoleId",
            "Arn",
            "CreateDate",
            "AssumeRolePolicyDocument",
            "MaxSessionDuration",
            "RoleLastUsed"
        ]
    );
}
