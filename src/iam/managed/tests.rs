use crate::directory::DirectoryDoc;
use crate::iam::testkit::*;

const DENY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;

fn create(d: &mut DirectoryDoc, name: &str, path: &str) {
    run(
        d,
        "CreatePolicy",
        &[
            ("PolicyName", name),
            ("Path", path),
            ("PolicyDocument", ALLOW),
        ],
    )
    .unwrap();
}

#[test]
fn create_policy_answers_the_policy_and_get_policy_finds_it() {
    let mut d = doc();
    let out = run(
        &mut d,
        "CreatePolicy",
        &[
            ("PolicyName", "Reader"),
            ("Path", "/team/"),
            ("PolicyDocument", ALLOW),
            ("Description", "reads"),
            ("Tags.member.1.Key", "k"),
            ("Tags.member.1.Value", "v"),
        ],
    )
    .unwrap();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/team/Reader");
    assert_eq!(text(&out, &["Policy", "PolicyName"]), "Reader");
    assert_eq!(text(&out, &["Policy", "Arn"]), arn);
    assert_eq!(text(&out, &["Policy", "Path"]), "/team/");
    assert!(text(&out, &["Policy", "PolicyId"]).starts_with("ANPA"));
    assert_eq!(text(&out, &["Policy", "DefaultVersionId"]), "v1");
    assert_eq!(text(&out, &["Policy", "AttachmentCount"]), "0");
    assert_eq!(
        text(&out, &["Policy", "PermissionsBoundaryUsageCount"]),
        "0"
    );
    assert_eq!(text(&out, &["Policy", "IsAttachable"]), "true");
    assert_eq!(text(&out, &["Policy", "Description"]), "reads");
    assert_eq!(text(&out, &["Policy", "CreateDate"]), NOW);
    assert_eq!(text(&out, &["Policy", "UpdateDate"]), NOW);
    assert_eq!(text(&out, &["Policy", "Tags", "0", "Key"]), "k");

    d.roles[0].policies.push(arn.clone());
    d.users[0].policies.push(arn.clone());
    d.groups[0].policies.push(arn.clone());
    d.users[0].permissions_boundary = Some(arn.clone());
    let got = run(&mut d, "GetPolicy", &[("PolicyArn", &arn)]).unwrap();
    assert_eq!(text(&got, &["Policy", "AttachmentCount"]), "3");
    assert_eq!(
        text(&got, &["Policy", "PermissionsBoundaryUsageCount"]),
        "1"
    );
    assert_eq!(
        text(&got, &["Policy", "PolicyId"]),
        text(&out, &["Policy", "PolicyId"])
    );

    let p = run(&mut d, "GetPolicy", &[("PolicyArn", &policy("P"))]).unwrap();
    assert_eq!(text(&p, &["Policy", "CreateDate"]), "1970-01-01T00:00:00Z");
    assert!(!has(&p, &["Policy", "Tags"]));
}

#[test]
fn create_policy_refusals() {
    let mut d = doc();
    let c = code(run(
        &mut d,
        "CreatePolicy",
        &[
            ("PolicyName", "p"),
            ("Path", "/other/"),
            ("PolicyDocument", ALLOW),
        ],
    ));
    assert_eq!(
        c,
        (
            "EntityAlreadyExists",
            "A policy called p already exists. Duplicate names are not allowed.".into()
        )
    );
    let c = code(run(
        &mut d,
        "CreatePolicy",
        &[("PolicyName", "Q"), ("PolicyDocument", "{}")],
    ));
    assert_eq!(c.0, "MalformedPolicyDocument");
    let c = code(run(&mut d, "CreatePolicy", &[("PolicyName", "Q")]));
    assert_eq!(c.0, "ValidationError");
    let big = ALLOW.replace("s3:GetObject", &format!("s3:{}", "G".repeat(6200)));
    let c = code(run(
        &mut d,
        "CreatePolicy",
        &[("PolicyName", "Q"), ("PolicyDocument", &big)],
    ));
    assert_eq!(c.0, "LimitExceeded");
    let long = "x".repeat(1001);
    let c = code(run(
        &mut d,
        "CreatePolicy",
        &[
            ("PolicyName", "Q"),
            ("PolicyDocument", ALLOW),
            ("Description", &long),
        ],
    ));
    assert_eq!(c.0, "ValidationError");
    assert_eq!(d, doc());
}

#[test]
fn missing_policies_are_no_such_entity() {
    let mut d = doc();
    let arn = policy("Nope");
    let message = format!("Policy {arn} does not exist or is not attachable.");
    for (action, extra) in [
        ("GetPolicy", None),
        ("DeletePolicy", None),
        ("ListPolicyVersions", None),
        ("CreatePolicyVersion", Some(("PolicyDocument", ALLOW))),
        ("GetPolicyVersion", Some(("VersionId", "v1"))),
        ("SetDefaultPolicyVersion", Some(("VersionId", "v1"))),
        ("DeletePolicyVersion", Some(("VersionId", "v2"))),
    ] {
        let mut p = vec![("PolicyArn", arn.as_str())];
        p.extend(extra);
        assert_eq!(
            code(run(&mut d, action, &p)),
            ("NoSuchEntity", message.clone()),
            "{action}"
        );
    }
    let c = code(run(
        &mut d,
        "GetPolicy",
        &[("PolicyArn", "policy/P-but-not-an-arn")],
    ));
    assert_eq!(c.0, "InvalidInput");
    let c = code(run(&mut d, "GetPolicy", &[("PolicyArn", "arn:x")]));
    assert_eq!(c.0, "ValidationError");
    let c = code(run(&mut d, "GetPolicy", &[]));
    assert_eq!(c.0, "ValidationError");
}

#[test]
fn delete_policy_refuses_while_in_use_or_versioned() {
    let mut d = doc();
    let arn = policy("P");
    let conflict = (
        "DeleteConflict",
        "Cannot delete a policy attached to entities.".to_string(),
    );
    d.groups[0].policies.push(arn.clone());
    assert_eq!(
        code(run(&mut d, "DeletePolicy", &[("PolicyArn", &arn)])),
        conflict
    );
    d.groups[0].policies.clear();
    d.roles[0].permissions_boundary = Some(arn.clone());
    assert_eq!(
        code(run(&mut d, "DeletePolicy", &[("PolicyArn", &arn)])),
        conflict
    );
    d.roles[0].permissions_boundary = None;
    run(
        &mut d,
        "CreatePolicyVersion",
        &[("PolicyArn", &arn), ("PolicyDocument", DENY)],
    )
    .unwrap();
    let c = code(run(&mut d, "DeletePolicy", &[("PolicyArn", &arn)]));
    assert_eq!(c.0, "DeleteConflict");
    assert!(
        c.1.starts_with("This policy has more than one version."),
        "{}",
        c.1
    );
    run(
        &mut d,
        "DeletePolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v2")],
    )
    .unwrap();
    run(&mut d, "DeletePolicy", &[("PolicyArn", &arn)]).unwrap();
    assert!(d.managed_policies.is_empty());
}

#[test]
fn list_policies_by_scope_path_usage_and_page() {
    let mut d = doc();
    create(&mut d, "b", "/x/");
    create(&mut d, "A", "/x/y/");
    create(&mut d, "c", "/");
    d.roles[0].policies.push(policy("c"));
    d.users[0].permissions_boundary = Some(format!("arn:aws:iam::{ACCOUNT}:policy/x/b"));

    let names = |out: &crate::iam::Output| -> Vec<String> {
        (0..len(out, &["Policies"]))
            .map(|i| text(out, &["Policies", &i.to_string(), "PolicyName"]))
            .collect()
    };
    let all = run(&mut d, "ListPolicies", &[]).unwrap();
    assert_eq!(names(&all), ["A", "b", "c", "P"]);
    assert_eq!(text(&all, &["IsTruncated"]), "false");
    assert!(!has(&all, &["Policies", "0", "Tags"]));
    let local = run(&mut d, "ListPolicies", &[("Scope", "Local")]).unwrap();
    assert_eq!(names(&local).len(), 4);
    let aws = run(&mut d, "ListPolicies", &[("Scope", "AWS")]).unwrap();
    assert_eq!(len(&aws, &["Policies"]), 0);
    let x = run(&mut d, "ListPolicies", &[("PathPrefix", "/x/")]).unwrap();
    assert_eq!(names(&x), ["A", "b"]);
    let attached = run(&mut d, "ListPolicies", &[("OnlyAttached", "true")]).unwrap();
    assert_eq!(names(&attached), ["b", "c"]);
    let permissions = run(
        &mut d,
        "ListPolicies",
        &[
            ("OnlyAttached", "true"),
            ("PolicyUsageFilter", "PermissionsPolicy"),
        ],
    )
    .unwrap();
    assert_eq!(names(&permissions), ["c"]);
    let boundaries = run(
        &mut d,
        "ListPolicies",
        &[
            ("OnlyAttached", "true"),
            ("PolicyUsageFilter", "PermissionsBoundary"),
        ],
    )
    .unwrap();
    assert_eq!(names(&boundaries), ["b"]);

    let first = run(&mut d, "ListPolicies", &[("MaxItems", "2")]).unwrap();
    assert_eq!(names(&first), ["A", "b"]);
    assert_eq!(text(&first, &["IsTruncated"]), "true");
    let marker = text(&first, &["Marker"]);
    let next = run(
        &mut d,
        "ListPolicies",
        &[("MaxItems", "2"), ("Marker", &marker)],
    )
    .unwrap();
    assert_eq!(names(&next), ["c", "P"]);
    assert_eq!(text(&next, &["IsTruncated"]), "false");

    for bad in [
        &[("Scope", "Everything")][..],
        &[("PolicyUsageFilter", "Other")],
        &[("OnlyAttached", "maybe")],
        &[("MaxItems", "1001")],
    ] {
        assert_eq!(code(run(&mut d, "ListPolicies", bad)).0, "ValidationError");
    }
}

#[test]
fn versions_are_created_listed_made_default_and_deleted() {
    let mut d = doc();
    let arn = policy("P");
    let out = run(
        &mut d,
        "CreatePolicyVersion",
        &[("PolicyArn", &arn), ("PolicyDocument", DENY)],
    )
    .unwrap();
    assert_eq!(text(&out, &["PolicyVersion", "VersionId"]), "v2");
    assert_eq!(text(&out, &["PolicyVersion", "IsDefaultVersion"]), "false");
    assert_eq!(d.managed_policies[0].document, ALLOW);

    let out = run(
        &mut d,
        "CreatePolicyVersion",
        &[
            ("PolicyArn", &arn),
            ("PolicyDocument", DENY),
            ("SetAsDefault", "true"),
        ],
    )
    .unwrap();
    assert_eq!(text(&out, &["PolicyVersion", "VersionId"]), "v3");
    assert_eq!(text(&out, &["PolicyVersion", "IsDefaultVersion"]), "true");
    assert_eq!(d.managed_policies[0].default_version, "v3");
    assert_eq!(d.managed_policies[0].document, DENY);
    assert_eq!(
        d.managed_policies[0].other_versions.get("v1").unwrap(),
        ALLOW
    );

    let v1 = run(
        &mut d,
        "GetPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v1")],
    )
    .unwrap();
    assert_eq!(text(&v1, &["PolicyVersion", "IsDefaultVersion"]), "false");
    assert_eq!(
        at(&v1, &["PolicyVersion", "Document"]),
        &crate::iam::common::document_node(ALLOW)
    );
    assert!(text(&v1, &["PolicyVersion", "Document"]).starts_with("%7B"));
    let c = code(run(
        &mut d,
        "GetPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v9")],
    ));
    assert_eq!(
        c,
        (
            "NoSuchEntity",
            format!("Policy {arn} version v9 does not exist or is not attachable.")
        )
    );
    let c = code(run(
        &mut d,
        "GetPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "1")],
    ));
    assert_eq!(c.0, "ValidationError");

    let list = run(&mut d, "ListPolicyVersions", &[("PolicyArn", &arn)]).unwrap();
    let ids: Vec<String> = (0..len(&list, &["Versions"]))
        .map(|i| text(&list, &["Versions", &i.to_string(), "VersionId"]))
        .collect();
    assert_eq!(ids, ["v3", "v2", "v1"]);
    assert_eq!(text(&list, &["Versions", "0", "IsDefaultVersion"]), "true");
    let page = run(
        &mut d,
        "ListPolicyVersions",
        &[("PolicyArn", &arn), ("MaxItems", "2")],
    )
    .unwrap();
    assert_eq!(len(&page, &["Versions"]), 2);
    assert_eq!(text(&page, &["IsTruncated"]), "true");

    run(
        &mut d,
        "SetDefaultPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v1")],
    )
    .unwrap();
    let m = &d.managed_policies[0];
    assert_eq!(
        (m.default_version.as_str(), m.document.as_str()),
        ("v1", ALLOW)
    );
    assert_eq!(m.other_versions.keys().collect::<Vec<_>>(), ["v2", "v3"]);
    let c = code(run(
        &mut d,
        "SetDefaultPolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v7")],
    ));
    assert_eq!(c.0, "NoSuchEntity");

    let c = code(run(
        &mut d,
        "DeletePolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v1")],
    ));
    assert_eq!(
        c,
        (
            "DeleteConflict",
            "Cannot delete the default version of a policy.".into()
        )
    );
    run(
        &mut d,
        "DeletePolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v2")],
    )
    .unwrap();
    let c = code(run(
        &mut d,
        "DeletePolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v2")],
    ));
    assert_eq!(c.0, "NoSuchEntity");
}

#[test]
fn five_versions_at_most_and_ids_keep_growing() {
    let mut d = doc();
    let arn = policy("P");
    let new_version = |d: &mut DirectoryDoc| {
        run(
            d,
            "CreatePolicyVersion",
            &[("PolicyArn", &arn), ("PolicyDocument", DENY)],
        )
    };
    for _ in 0..4 {
        new_version(&mut d).unwrap();
    }
    let c = code(new_version(&mut d));
    assert_eq!(
        c,
        (
            "LimitExceeded",
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".into()
        )
    );
    run(
        &mut d,
        "DeletePolicyVersion",
        &[("PolicyArn", &arn), ("VersionId", "v3")],
    )
    .unwrap();
    let out = new_version(&mut d).unwrap();
    assert_eq!(text(&out, &["PolicyVersion", "VersionId"]), "v6");
}

#[test]
fn resources_are_the_policies_arns() {
    let d = doc();
    let arn = policy("P");
    assert_eq!(resource_of(&d, "GetPolicy", &[("PolicyArn", &arn)]), arn);
    assert_eq!(
        resource_of(
            &d,
            "DeletePolicyVersion",
            &[("PolicyArn", &arn), ("VersionId", "v2")]
        ),
        arn
    );
    assert_eq!(
        resource_of(&d, "CreatePolicy", &[("PolicyName", "N"), ("Path", "/a/")]),
        format!("arn:aws:iam::{ACCOUNT}:policy/a/N")
    );
    assert_eq!(resource_of(&d, "ListPolicies", &[]), "*");
}
