//! Property tests: evaluation never panics, whatever the documents and requests, and a Deny
//! statement can only take permissions away.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use idbroker_policy::{
    Context, Decision, ParseOptions, Policy, PolicyKind, PolicySet, Principal, Request,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        Just("?".to_owned()),
        Just("".to_owned()),
        "[a-c*?]{1,4}",
        Just("${aws:username}".to_owned()),
        Just("${aws:PrincipalTag/team, 'x'}".to_owned()),
        Just("${*}".to_owned()),
        Just("${".to_owned()),
    ]
}

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        (
            prop_oneof![Just("s3"), Just("iam"), Just("*"), Just("s?")],
            word()
        )
            .prop_map(|(s, a)| format!("{s}:{a}")),
    ]
}

fn resource() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        (word(), word(), word()).prop_map(|(r, a, x)| format!("arn:aws:s3:{r}:{a}:{x}")),
        word().prop_map(|w| format!("arn:aws:{w}")),
        word(),
    ]
}

fn operator() -> impl Strategy<Value = String> {
    let base = prop_oneof![
        Just("StringEquals"),
        Just("StringNotLike"),
        Just("StringEqualsIgnoreCase"),
        Just("NumericLessThan"),
        Just("NumericNotEquals"),
        Just("DateGreaterThan"),
        Just("Bool"),
        Just("BinaryEquals"),
        Just("IpAddress"),
        Just("NotIpAddress"),
        Just("ArnLike"),
        Just("ArnNotEquals"),
        Just("Null"),
        Just("Bogus"),
    ];
    (
        prop_oneof![Just(""), Just("ForAllValues:"), Just("ForAnyValue:")],
        base,
        prop_oneof![Just(""), Just("IfExists")],
    )
        .prop_map(|(q, b, s)| format!("{q}{b}{s}"))
}

fn cond_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        word().prop_map(Value::from),
        Just(json!("10.0.0.0/8")),
        Just(json!("2001:db8::/32")),
        Just(json!("2020-01-01T00:00:00Z")),
        Just(json!("1577836800")),
        Just(json!("42")),
        Just(json!(true)),
        Just(json!("dGVzdA==")),
        Just(json!("arn:aws:iam::123456789012:user/*")),
        prop::collection::vec(word().prop_map(Value::from), 0..3).prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("aws:username".to_owned()),
        Just("AWS:SourceIp".to_owned()),
        Just("aws:CurrentTime".to_owned()),
        Just("aws:TagKeys".to_owned()),
        Just("aws:PrincipalTag/team".to_owned()),
        Just("s3:max-keys".to_owned()),
    ]
}

fn statement(effect: Option<&'static str>) -> impl Strategy<Value = Value> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop_oneof![Just("Allow"), Just("Deny")].boxed(),
    };
    (
        effect,
        any::<bool>(),
        prop::collection::vec(action(), 1..3),
        any::<bool>(),
        prop::collection::vec(resource(), 1..3),
        prop::collection::btree_map(
            operator(),
            prop::collection::btree_map(key(), cond_value(), 1..3),
            0..3,
        ),
    )
        .prop_map(
            |(effect, not_action, actions, not_resource, resources, cond)| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), effect.into());
                s.insert(
                    if not_action { "NotAction" } else { "Action" }.into(),
                    actions.into(),
                );
                s.insert(
                    if not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    }
                    .into(),
                    resources.into(),
                );
                if !cond.is_empty() {
                    s.insert("Condition".into(), serde_json::to_value(cond).unwrap());
                }
                Value::Object(s)
            },
        )
}

fn document() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just(Some("2012-10-17")),
            Just(Some("2008-10-17")),
            Just(None)
        ],
        prop::collection::vec(statement(None), 1..5),
    )
        .prop_map(|(version, stmts)| {
            let mut d = serde_json::Map::new();
            if let Some(v) = version {
                d.insert("Version".into(), v.into());
            }
            d.insert("Statement".into(), stmts.into());
            Value::Object(d)
        })
}

fn request() -> impl Strategy<Value = Request> {
    (
        prop_oneof![
            Just("s3:GetObject"),
            Just("iam:CreateUser"),
            Just("s3:x"),
            Just("sts:AssumeRole")
        ],
        prop_oneof![
            Just("arn:aws:s3:::a/b"),
            Just("arn:aws:s3:r:a:c"),
            Just("*"),
            Just("arn:aws:iam::123456789012:user/a"),
            Just("nonsense"),
        ],
        prop::collection::vec(
            (
                key(),
                prop::collection::vec(
                    prop_oneof![
                        word(),
                        Just("10.1.2.3".to_owned()),
                        Just("not-an-ip".to_owned()),
                        Just("2021-06-01T00:00:00Z".to_owned()),
                        Just("7".to_owned()),
                        Just("true".to_owned()),
                    ],
                    0..3,
                ),
            ),
            0..5,
        ),
    )
        .prop_map(|(action, resource, ctx)| {
            let mut c = Context::new();
            for (k, vals) in ctx {
                c.insert_multi(&k, vals);
            }
            Request::new(action, resource, c)
                .with_principal(Principal::aws("arn:aws:iam::123456789012:user/a"))
        })
}

fn lenient() -> ParseOptions {
    ParseOptions {
        kind: PolicyKind::Identity,
        require_current_version: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// Arbitrary text never panics the parser.
    #[test]
    fn parser_never_panics(text in ".{0,200}") {
        let _ = Policy::parse(&text, PolicyKind::Identity);
        let _ = Policy::parse(&text, PolicyKind::Trust);
        let _ = idbroker_policy::lint(&text, lenient());
    }

    /// Arbitrary documents and requests never panic the evaluator.
    #[test]
    fn evaluation_never_panics(docs in prop::collection::vec(document(), 1..4), req in request()) {
        let policies: Vec<Policy> = docs.iter().filter_map(|d| Policy::from_value(d, lenient()).ok()).collect();
        let set = PolicySet {
            identity: policies.iter().collect(),
            permissions_boundary: policies.first(),
            session: policies.iter().skip(1).collect(),
            resource: None,
            account_principal_delegates: false,
        };
        let _ = set.evaluate(&req);
    }

    /// Adding a Deny statement never turns a decision into Allow, and never undoes an
    /// explicit deny.
    #[test]
    fn deny_only_takes_away(doc in document(), deny in statement(Some("Deny")), req in request()) {
        let Ok(before) = Policy::from_value(&doc, lenient()) else { return Ok(()) };
        let mut with_deny = doc.clone();
        with_deny["Statement"].as_array_mut().unwrap().push(deny);
        let Ok(after) = Policy::from_value(&with_deny, lenient()) else { return Ok(()) };
        let d0 = PolicySet { identity: vec![&before], ..Default::default() }.evaluate(&req).decision;
        let d1 = PolicySet { identity: vec![&after], ..Default::default() }.evaluate(&req).decision;
        if d0 != Decision::Allow {
            prop_assert_ne!(d1, Decision::Allow);
        }
        if d0 == Decision::ExplicitDeny {
            prop_assert_eq!(d1, Decision::ExplicitDeny);
        }
    }
}
