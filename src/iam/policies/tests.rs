use crate::directory::{DirectoryDoc, RawManagedPolicy};
use crate::iam::testkit::*;

/// (entity kind in the action, parameter, name in [`doc`], the directory's inline quota)
const OWNERS: [(&str, &str, &str, usize); 3] = [
    ("Role", "RoleName", "R", 10240),
    ("User", "UserName", "u", 2048),
    ("Group", "GroupName", "g", 5120),
];

fn inline_of<'d>(
    d: &'d DirectoryDoc,
    kind: &str,
) -> &'d std::collections::BTreeMap<String, String> {
    match kind {
        "Role" => &d.roles[0].inline_policies,
        "User" => &d.users[0].inline_policies,
        _ => &d.groups[0].inline_policies,
    }
}

fn attached_of<'d>(d: &'d DirectoryDoc, kind: &str) -> &'d Vec<String> {
    match kind {
        "Role" => &d.roles[0].policies,
        "User" => &d.users[0].policies,
        _ => &d.groups[0].policies,
    }
}

/// A policy of about `size` characters (whitespace not counted).
fn sized(size: usize) -> String {
    let base = ALLOW.len() - "s3:GetObject".len();
    ALLOW.replace(
        "s3:GetObject",
        &format!("s3:{}", "G".repeat(size - base - 3)),
    )
}

#[test]
fn inline_policies_put_get_list_delete() {
    for (kind, param, name, _) in OWNERS {
        let mut d = doc();
        let put = format!("Put{kind}Policy");
        let get = format!("Get{kind}Policy");
        let del = format!("Delete{kind}Policy");
        let list = format!("List{kind}Policies");
        for p in ["Zeta", "alpha"] {
            run(
                &mut d,
                &put,
                &[(param, name), ("PolicyName", p), ("PolicyDocument", ALLOW)],
            )
            .unwrap();
        }
        // The same name, whatever its case, replaces the policy.
        let deny = ALLOW.replace("Allow", "Deny");
        run(
            &mut d,
            &put,
            &[
                (param, &name.to_uppercase()),
                ("PolicyName", "ALPHA"),
                ("PolicyDocument", &deny),
            ],
        )
        .unwrap();
        assert_eq!(inline_of(&d, kind).len(), 2, "{kind}");
        assert_eq!(inline_of(&d, kind).get("ALPHA"), Some(&deny), "{kind}");

        let out = run(&mut d, &get, &[(param, name), ("PolicyName", "zeta")]).unwrap();
        assert_eq!(text(&out, &[param]), name);
        assert_eq!(text(&out, &["PolicyName"]), "Zeta");
        assert_eq!(
            at(&out, &["PolicyDocument"]),
            &crate::iam::common::document_node(ALLOW)
        );

        let out = run(&mut d, &list, &[(param, name)]).unwrap();
        assert_eq!(len(&out, &["PolicyNames"]), 2);
        assert_eq!(text(&out, &["PolicyNames", "0"]), "ALPHA");
        assert_eq!(text(&out, &["IsTruncated"]), "false");
        let page = run(&mut d, &list, &[(param, name), ("MaxItems", "1")]).unwrap();
        assert_eq!(len(&page, &["PolicyNames"]), 1);
        assert_eq!(text(&page, &["IsTruncated"]), "true");
        let marker = text(&page, &["Marker"]);
        let rest = run(
            &mut d,
            &list,
            &[(param, name), ("MaxItems", "1"), ("Marker", &marker)],
        )
        .unwrap();
        assert_eq!(text(&rest, &["PolicyNames", "0"]), "Zeta");

        run(&mut d, &del, &[(param, name), ("PolicyName", "zeta")]).unwrap();
        assert_eq!(inline_of(&d, kind).len(), 1);
        let word = kind.to_lowercase();
        let missing = (
            "NoSuchEntity",
            format!("The {word} policy with name zeta cannot be found."),
        );
        assert_eq!(
            code(run(&mut d, &del, &[(param, name), ("PolicyName", "zeta")])),
            missing
        );
        assert_eq!(
            code(run(&mut d, &get, &[(param, name), ("PolicyName", "zeta")])),
            missing
        );

        let c = code(run(
            &mut d,
            &put,
            &[
                (param, name),
                ("PolicyName", "bad name"),
                ("PolicyDocument", ALLOW),
            ],
        ));
        assert_eq!(c.0, "ValidationError");
        let c = code(run(
            &mut d,
            &put,
            &[
                (param, name),
                ("PolicyName", "p"),
                ("PolicyDocument", TRUST),
            ],
        ));
        assert_eq!(c.0, "MalformedPolicyDocument", "{kind}");
        let c = code(run(&mut d, &put, &[(param, name), ("PolicyName", "p")]));
        assert_eq!(c.0, "ValidationError");
    }
}

#[test]
fn missing_owners_are_no_such_entity() {
    for (kind, param, _, _) in OWNERS {
        let mut d = doc();
        let word = kind.to_lowercase();
        let message = format!("The {word} with name Nobody cannot be found.");
        let arn = policy("P");
        let mut actions = vec![
            (
                format!("Put{kind}Policy"),
                vec![("PolicyName", "p"), ("PolicyDocument", ALLOW)],
            ),
            (format!("Get{kind}Policy"), vec![("PolicyName", "p")]),
            (format!("Delete{kind}Policy"), vec![("PolicyName", "p")]),
            (format!("List{kind}Policies"), vec![]),
            (
                format!("Attach{kind}Policy"),
                vec![("PolicyArn", arn.as_str())],
            ),
            (
                format!("Detach{kind}Policy"),
                vec![("PolicyArn", arn.as_str())],
            ),
            (format!("ListAttached{kind}Policies"), vec![]),
        ];
        if kind != "Group" {
            actions.push((
                format!("Put{kind}PermissionsBoundary"),
                vec![("PermissionsBoundary", arn.as_str())],
            ));
            actions.push((format!("Delete{kind}PermissionsBoundary"), vec![]));
        }
        for (action, mut p) in actions {
            p.push((param, "Nobody"));
            assert_eq!(
                code(run(&mut d, &action, &p)),
                ("NoSuchEntity", message.clone()),
                "{action}"
            );
        }
    }
    assert!(crate::iam::call("PutGroupPermissionsBoundary").is_none());
}

#[test]
fn inline_size_quotas_count_all_of_an_entitys_inline_policies() {
    for (kind, param, name, quota) in OWNERS {
        let mut d = doc();
        let put = format!("Put{kind}Policy");
        let half = sized(quota / 2);
        for p in ["one", "two"] {
            run(
                &mut d,
                &put,
                &[(param, name), ("PolicyName", p), ("PolicyDocument", &half)],
            )
            .unwrap();
        }
        // Replacing one by one of the same size stays within the quota.
        run(
            &mut d,
            &put,
            &[
                (param, name),
                ("PolicyName", "TWO"),
                ("PolicyDocument", &half),
            ],
        )
        .unwrap();
        let c = code(run(
            &mut d,
            &put,
            &[
                (param, name),
                ("PolicyName", "three"),
                ("PolicyDocument", ALLOW),
            ],
        ));
        let word = kind.to_lowercase();
        assert_eq!(
            c,
            (
                "LimitExceeded",
                format!("Maximum policy size of {quota} bytes exceeded for {word} {name}")
            ),
            "{kind}"
        );
        let mut d = doc();
        let c = code(run(
            &mut d,
            &put,
            &[
                (param, name),
                ("PolicyName", "big"),
                ("PolicyDocument", &sized(quota + 1)),
            ],
        ));
        assert_eq!(c.0, "LimitExceeded");
        run(
            &mut d,
            &put,
            &[
                (param, name),
                ("PolicyName", "big"),
                ("PolicyDocument", &sized(quota)),
            ],
        )
        .unwrap();
    }
}

fn add_policies(d: &mut DirectoryDoc, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let name = format!("M{i:02}");
            d.managed_policies.push(RawManagedPolicy {
                name: name.clone(),
                path: if i % 2 == 0 { "/even/" } else { "/" }.into(),
                document: ALLOW.into(),
                description: String::new(),
                default_version: "v1".into(),
                other_versions: Default::default(),
                created: None,
                tags: Default::default(),
            });
            let path = if i % 2 == 0 { "/even/" } else { "/" };
            format!("arn:aws:iam::{ACCOUNT}:policy{path}{name}")
        })
        .collect()
}

#[test]
fn attach_detach_and_list_attached() {
    for (kind, param, name, _) in OWNERS {
        let mut d = doc();
        let arns = add_policies(&mut d, 11);
        let attach = format!("Attach{kind}Policy");
        let detach = format!("Detach{kind}Policy");
        let list = format!("ListAttached{kind}Policies");
        for arn in &arns[..10] {
            run(&mut d, &attach, &[(param, name), ("PolicyArn", arn)]).unwrap();
        }
        // Attaching again changes nothing.
        run(&mut d, &attach, &[(param, name), ("PolicyArn", &arns[0])]).unwrap();
        assert_eq!(attached_of(&d, kind).len(), 10);
        let c = code(run(
            &mut d,
            &attach,
            &[(param, name), ("PolicyArn", &arns[10])],
        ));
        assert_eq!(
            c,
            (
                "LimitExceeded",
                format!("Cannot exceed quota for PoliciesPer{kind}: 10")
            )
        );
        let missing = policy("Missing");
        let c = code(run(
            &mut d,
            &attach,
            &[(param, name), ("PolicyArn", &missing)],
        ));
        assert_eq!(
            c,
            (
                "NoSuchEntity",
                format!("Policy {missing} does not exist or is not attachable.")
            )
        );

        let out = run(&mut d, &list, &[(param, name)]).unwrap();
        assert_eq!(len(&out, &["AttachedPolicies"]), 10);
        assert_eq!(text(&out, &["AttachedPolicies", "0", "PolicyName"]), "M00");
        assert_eq!(text(&out, &["AttachedPolicies", "0", "PolicyArn"]), arns[0]);
        let even = run(&mut d, &list, &[(param, name), ("PathPrefix", "/even/")]).unwrap();
        assert_eq!(len(&even, &["AttachedPolicies"]), 5);
        let page = run(&mut d, &list, &[(param, name), ("MaxItems", "4")]).unwrap();
        assert_eq!(len(&page, &["AttachedPolicies"]), 4);
        assert_eq!(text(&page, &["IsTruncated"]), "true");
        let marker = text(&page, &["Marker"]);
        let rest = run(
            &mut d,
            &list,
            &[(param, name), ("MaxItems", "8"), ("Marker", &marker)],
        )
        .unwrap();
        assert_eq!(len(&rest, &["AttachedPolicies"]), 6);
        assert_eq!(text(&rest, &["IsTruncated"]), "false");

        run(&mut d, &detach, &[(param, name), ("PolicyArn", &arns[3])]).unwrap();
        assert_eq!(attached_of(&d, kind).len(), 9);
        let c = code(run(
            &mut d,
            &detach,
            &[(param, name), ("PolicyArn", &arns[3])],
        ));
        assert_eq!(
            c,
            ("NoSuchEntity", format!("Policy {} was not found.", arns[3]))
        );
        let c = code(run(
            &mut d,
            &attach,
            &[(param, name), ("PolicyArn", "nope")],
        ));
        assert_eq!(c.0, "ValidationError");
    }
}

#[test]
fn permissions_boundaries_of_roles_and_users() {
    for (kind, param, name, _) in &OWNERS[..2] {
        let mut d = doc();
        let put = format!("Put{kind}PermissionsBoundary");
        let del = format!("Delete{kind}PermissionsBoundary");
        let arn = policy("P");
        run(
            &mut d,
            &put,
            &[(param, name), ("PermissionsBoundary", &arn)],
        )
        .unwrap();
        let boundary = |d: &DirectoryDoc| match *kind {
            "Role" => d.roles[0].permissions_boundary.clone(),
            _ => d.users[0].permissions_boundary.clone(),
        };
        assert_eq!(boundary(&d), Some(arn.clone()));
        if *kind == "Role" {
            let out = run(&mut d, "GetRole", &[("RoleName", "R")]).unwrap();
            assert_eq!(
                text(
                    &out,
                    &["Role", "PermissionsBoundary", "PermissionsBoundaryArn"]
                ),
                arn
            );
        }
        let missing = policy("Missing");
        let c = code(run(
            &mut d,
            &put,
            &[(param, name), ("PermissionsBoundary", &missing)],
        ));
        assert_eq!(
            c,
            (
                "NoSuchEntity",
                format!("Policy {missing} does not exist or is not attachable.")
            )
        );
        let c = code(run(&mut d, &put, &[(param, name)]));
        assert_eq!(c.0, "ValidationError");
        run(&mut d, &del, &[(param, name)]).unwrap();
        assert_eq!(boundary(&d), None);
        // Deleting a boundary that is not there is no error.
        run(&mut d, &del, &[(param, name)]).unwrap();
    }
}

#[test]
fn resources_are_the_owners_arns() {
    let mut d = doc();
    d.users[0].path = "/people/".into();
    assert_eq!(
        resource_of(
            &d,
            "AttachUserPolicy",
            &[("UserName", "U"), ("PolicyArn", &policy("P"))]
        ),
        format!("arn:aws:iam::{ACCOUNT}:user/people/u")
    );
    assert_eq!(
        resource_of(&d, "PutGroupPolicy", &[("GroupName", "g")]),
        format!("arn:aws:iam::{ACCOUNT}:group/g")
    );
    assert_eq!(
        resource_of(&d, "ListRolePolicies", &[("RoleName", "R")]),
        format!("arn:aws:iam::{ACCOUNT}:role/R")
    );
    assert_eq!(
        resource_of(&d, "PutRolePermissionsBoundary", &[("RoleName", "Gone")]),
        format!("arn:aws:iam::{ACCOUNT}:role/Gone")
    );
}
