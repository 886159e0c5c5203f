use crate::directory::RawRole;
use crate::iam::users::testkit::*;
use crate::iam::Node;

#[test]
fn account_alias() {
    let mut d = doc();
    let out = run(&mut d, "ListAccountAliases", &[]).unwrap();
    assert!(items(field(&out, "AccountAliases")).is_empty());
    assert_eq!(text(field(&out, "IsTruncated")), "false");

    run(&mut d, "CreateAccountAlias", &[("AccountAlias", "my-corp")]).unwrap();
    assert_eq!(d.account_alias.as_deref(), Some("my-corp"));
    // One alias per account: a new one replaces it.
    run(&mut d, "CreateAccountAlias", &[("AccountAlias", "corp-2")]).unwrap();
    let out = run(&mut d, "ListAccountAliases", &[]).unwrap();
    assert_eq!(items(field(&out, "AccountAliases")), [Node::text("corp-2")]);
    for bad in ["ab", "-abc", "abc-", "a--b", "ABC", "a_b", &"a".repeat(64)] {
        assert_eq!(
            err(run(&mut d, "CreateAccountAlias", &[("AccountAlias", bad)])).0,
            "ValidationError",
            "{bad}"
        );
    }
    assert_eq!(
        err(run(&mut d, "CreateAccountAlias", &[])).0,
        "ValidationError"
    );
    assert_eq!(
        err(run(
            &mut d,
            "DeleteAccountAlias",
            &[("AccountAlias", "my-corp")]
        )),
        (
            "NoSuchEntity",
            "The account alias my-corp cannot be found.".into()
        )
    );
    run(&mut d, "DeleteAccountAlias", &[("AccountAlias", "corp-2")]).unwrap();
    assert_eq!(d.account_alias, None);
    assert_eq!(
        err(run(
            &mut d,
            "DeleteAccountAlias",
            &[("AccountAlias", "corp-2")]
        ))
        .0,
        "NoSuchEntity"
    );
    for action in [
        "CreateAccountAlias",
        "DeleteAccountAlias",
        "ListAccountAliases",
        "GetAccountAuthorizationDetails",
    ] {
        assert_eq!(resource_of(&d, None, action, &[("AccountAlias", "x")]), "*");
    }
}

fn details_doc() -> crate::directory::DirectoryDoc {
    let mut d = doc();
    let boundary = "arn:aws:iam::123456789012:policy/Boundary".to_owned();
    {
        let m = d.managed_policies.first_mut().unwrap();
        m.default_version = "v2".into();
        m.other_versions.insert(
            "v1".into(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#.into(),
        );
        m.description = "the boundary".into();
    }
    {
        let alice = d.users.first_mut().unwrap();
        alice
            .inline_policies
            .insert("own".into(), POLICY_DOC.into());
        alice.policies.push(boundary.clone());
        alice.permissions_boundary = Some(boundary.clone());
        alice.tags.insert("team".into(), "blue".into());
    }
    d.groups
        .first_mut()
        .unwrap()
        .policies
        .push(boundary.clone());
    d.roles.push(RawRole {
        name: "deployer".into(),
        path: "/".into(),
        description: String::new(),
        trust_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#.into(),
        policies: vec![boundary.clone()],
        inline_policies: [("r".to_owned(), POLICY_DOC.to_owned())].into_iter().collect(),
        permissions_boundary: Some(boundary),
        max_session_duration: 3600,
        created: None,
        tags: Default::default(),
    });
    builds(&d);
    d
}

#[test]
fn authorization_details_shapes() {
    let mut d = details_doc();
    let out = run(&mut d, "GetAccountAuthorizationDetails", &[]).unwrap();
    let fields: Vec<&str> = out.fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        fields,
        [
            "UserDetailList",
            "GroupDetailList",
            "RoleDetailList",
            "Policies",
            "IsTruncated"
        ]
    );
    let users = field(&out, "UserDetailList");
    assert_eq!(names(users, "UserName"), ["alice", "bob"]);
    let alice = items(users).first().unwrap();
    assert!(text(get(alice, "UserId")).starts_with("AIDA"));
    let inline = items(get(alice, "UserPolicyList")).first().unwrap();
    assert_eq!(text(get(inline, "PolicyName")), "own");
    assert!(text(get(inline, "PolicyDocument")).starts_with("%7B%22Version%22"));
    assert_eq!(items(get(alice, "GroupList")), [Node::text("devs")]);
    assert_eq!(
        names(get(alice, "AttachedManagedPolicies"), "PolicyName"),
        ["Boundary"]
    );
    assert_eq!(
        text(get(
            get(alice, "PermissionsBoundary"),
            "PermissionsBoundaryType"
        )),
        "PermissionsBoundaryPolicy"
    );
    assert_eq!(names(get(alice, "Tags"), "Key"), ["team"]);

    let devs = items(field(&out, "GroupDetailList")).first().unwrap();
    assert_eq!(text(get(devs, "GroupName")), "devs");
    assert!(text(get(devs, "GroupId")).starts_with("AGPA"));
    assert!(items(get(devs, "GroupPolicyList")).is_empty());
    assert_eq!(
        names(get(devs, "AttachedManagedPolicies"), "PolicyArn"),
        ["arn:aws:iam::123456789012:policy/Boundary"]
    );

    let role = items(field(&out, "RoleDetailList")).first().unwrap();
    assert_eq!(text(get(role, "RoleName")), "deployer");
    assert!(text(get(role, "RoleId")).starts_with("AROA"));
    assert!(text(get(role, "AssumeRolePolicyDocument")).contains("sts%3AAssumeRole"));
    assert_eq!(names(get(role, "RolePolicyList"), "PolicyName"), ["r"]);
    assert!(has(role, "PermissionsBoundary"));

    let policy = items(field(&out, "Policies")).first().unwrap();
    assert_eq!(text(get(policy, "PolicyName")), "Boundary");
    assert!(text(get(policy, "PolicyId")).starts_with("ANPA"));
    assert_eq!(text(get(policy, "DefaultVersionId")), "v2");
    assert_eq!(text(get(policy, "AttachmentCount")), "3");
    assert_eq!(text(get(policy, "PermissionsBoundaryUsageCount")), "2");
    assert_eq!(text(get(policy, "IsAttachable")), "true");
    assert_eq!(text(get(policy, "Description")), "the boundary");
    let versions = get(policy, "PolicyVersionList");
    assert_eq!(names(versions, "VersionId"), ["v2", "v1"]);
    assert_eq!(names(versions, "IsDefaultVersion"), ["true", "false"]);
    assert!(names(versions, "Document")
        .last()
        .unwrap()
        .contains("%22Deny%22"));
}

#[test]
fn authorization_details_filter_and_pages() {
    let mut d = details_doc();
    let out = run(
        &mut d,
        "GetAccountAuthorizationDetails",
        &[
            ("Filter.member.1", "Role"),
            ("Filter.member.2", "LocalManagedPolicy"),
        ],
    )
    .unwrap();
    assert!(items(field(&out, "UserDetailList")).is_empty());
    assert!(items(field(&out, "GroupDetailList")).is_empty());
    assert_eq!(items(field(&out, "RoleDetailList")).len(), 1);
    assert_eq!(items(field(&out, "Policies")).len(), 1);
    let out = run(
        &mut d,
        "GetAccountAuthorizationDetails",
        &[("Filter.member.1", "AWSManagedPolicy")],
    )
    .unwrap();
    assert!(items(field(&out, "Policies")).is_empty());
    assert_eq!(
        err(run(
            &mut d,
            "GetAccountAuthorizationDetails",
            &[("Filter.member.1", "Users")]
        ))
        .0,
        "ValidationError"
    );

    // users(2), groups(1), roles(1), policies(1) as one list.
    let out = run(
        &mut d,
        "GetAccountAuthorizationDetails",
        &[("MaxItems", "3")],
    )
    .unwrap();
    assert_eq!(items(field(&out, "UserDetailList")).len(), 2);
    assert_eq!(items(field(&out, "GroupDetailList")).len(), 1);
    assert!(items(field(&out, "RoleDetailList")).is_empty());
    assert_eq!(text(field(&out, "IsTruncated")), "true");
    let marker = text(field(&out, "Marker")).to_owned();
    let out = run(
        &mut d,
        "GetAccountAuthorizationDetails",
        &[("MaxItems", "3"), ("Marker", &marker)],
    )
    .unwrap();
    assert!(items(field(&out, "UserDetailList")).is_empty());
    assert_eq!(items(field(&out, "RoleDetailList")).len(), 1);
    assert_eq!(items(field(&out, "Policies")).len(), 1);
    assert_eq!(text(field(&out, "IsTruncated")), "false");
}
