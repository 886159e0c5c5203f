//! Property tests on generated policy documents: the validator and the linter never panic and
//! agree (a document IAM refuses is one lint error carrying the parser's message; an accepted
//! one has no lint error), evaluation never panics, and a Deny statement can only take
//! permissions away.
//!
//! The documents are built from their structure (statements with actions, resources,
//! principals, conditions), then most are mutated one way (a key missing, a value of the wrong
//! type, an unknown key, a single statement object, a bogus version, ...) and written as JSON
//! text (compact, pretty, cut short, with a repeated key): so the validator sees documents that
//! it accepts and documents that it refuses for many different reasons, not only text that is
//! not JSON at all. `the_generators_reach_the_validator_and_the_evaluator` checks that mix on a
//! fixed sample, so a generator that drifts into producing only refusals fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use idbroker_policy::{
    lint, Context, Decision, ParseOptions, Policy, PolicyKind, PolicySet, Principal, Request,
    Severity,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
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

/// An action: mostly of a form IAM accepts, sometimes hostile (`word`).
fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => prop::sample::select(vec![
            "*",
            "s3:*",
            "s3:GetObject",
            "s3:Get*",
            "s3:?etObject",
            "iam:CreateUser",
            "iam:*User",
            "sts:AssumeRole",
            "sts:*",
            "ec2:Describe*",
        ])
        .prop_map(str::to_owned),
        1 => (
            prop_oneof![Just("s3"), Just("iam"), Just("*"), Just("s?")],
            word()
        )
            .prop_map(|(s, a)| format!("{s}:{a}")),
    ]
}

/// A resource: mostly of a form IAM accepts, sometimes hostile (`word`).
fn resource() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => prop::sample::select(vec![
            "*",
            "arn:aws:s3:::a/b",
            "arn:aws:s3:::a/*",
            "arn:aws:s3:::*",
            "arn:aws:s3:::${aws:username}/*",
            "arn:aws:iam::123456789012:user/*",
            "arn:aws:iam::123456789012:user/${aws:username}",
            "arn:aws:iam::*:user/a",
            "arn:aws:*:*:*:*",
            "arn:aws:sqs:eu-west-1:123456789012:q?",
        ])
        .prop_map(str::to_owned),
        1 => prop_oneof![
            (word(), word(), word()).prop_map(|(r, a, x)| format!("arn:aws:s3:{r}:{a}:{x}")),
            word().prop_map(|w| format!("arn:aws:{w}")),
            word(),
        ],
    ]
}

/// Condition operators with values of their own type.
const FAMILIES: [(&str, &[&str]); 13] = [
    ("StringEquals", &["alice", "a*", "${aws:username}", "blue"]),
    ("StringNotLike", &["a*", "*", "x?"]),
    ("StringEqualsIgnoreCase", &["ALICE", "Blue"]),
    ("NumericLessThan", &["42", "7", "1.5"]),
    ("NumericNotEquals", &["7", "0"]),
    ("DateGreaterThan", &["2020-01-01T00:00:00Z", "1577836800"]),
    ("Bool", &["true", "false"]),
    ("BinaryEquals", &["dGVzdA=="]),
    ("IpAddress", &["10.0.0.0/8", "2001:db8::/32", "10.1.2.3"]),
    ("NotIpAddress", &["192.168.0.0/16"]),
    ("ArnLike", &["arn:aws:iam::123456789012:user/*"]),
    ("ArnNotEquals", &["arn:aws:iam::123456789012:user/a"]),
    ("Null", &["true", "false"]),
];

/// One condition operator and its block: mostly values of the operator's type, sometimes
/// anything ([`operator`] with [`cond_value`]: bogus operators, values of the wrong type).
fn condition() -> impl Strategy<Value = (String, Value)> {
    let qualifier = || prop_oneof![Just(""), Just("ForAllValues:"), Just("ForAnyValue:")];
    let if_exists = || prop_oneof![Just(""), Just("IfExists")];
    let typed = (0..FAMILIES.len()).prop_flat_map(move |i| {
        let (op, values) = FAMILIES[i];
        (
            qualifier(),
            if_exists(),
            prop::collection::btree_map(
                key(),
                prop::collection::vec(prop::sample::select(values.to_vec()), 1..3),
                1..3,
            ),
        )
            .prop_map(move |(q, e, block)| {
                let block: serde_json::Map<String, Value> = block
                    .into_iter()
                    .map(|(k, mut v)| {
                        let v = if v.len() == 1 {
                            Value::from(v.remove(0))
                        } else {
                            Value::from(v)
                        };
                        (k, v)
                    })
                    .collect();
                (format!("{q}{op}{e}"), Value::Object(block))
            })
    });
    let anything = (
        operator(),
        prop::collection::btree_map(key(), cond_value(), 1..3),
    )
        .prop_map(|(op, block)| (op, serde_json::to_value(block).unwrap()));
    prop_oneof![9 => typed, 1 => anything]
}

/// Any operator name, bogus ones included.
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

/// Any condition value, of whatever type.
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
        prop::collection::vec(condition(), 0..3),
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
                    let cond: serde_json::Map<String, Value> = cond.into_iter().collect();
                    s.insert("Condition".into(), Value::Object(cond));
                }
                Value::Object(s)
            },
        )
}

/// A `Principal` / `NotPrincipal` value, mostly of a shape IAM accepts.
fn principal() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("*")),
        Just(json!({"AWS": "*"})),
        Just(json!({"AWS": "arn:aws:iam::123456789012:root"})),
        Just(json!({"AWS": ["123456789012", "arn:aws:iam::123456789012:user/a"]})),
        Just(json!({"Federated": "arn:aws:iam::123456789012:saml-provider/TestIdP"})),
        Just(json!({"Federated": "accounts.google.com"})),
        Just(json!({"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]})),
        Just(
            json!({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"})
        ),
        Just(json!({"AWS": []})),
        Just(json!({"Bogus": "x"})),
        word().prop_map(Value::from),
    ]
}

/// A value of any JSON type, for the wrong-type mutations.
fn junk() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        Just(json!(1.5)),
        Just(json!("")),
        word().prop_map(Value::from),
        Just(json!([])),
        Just(json!([[]])),
        Just(json!({})),
        Just(json!({"a": {"b": "c"}})),
        Just(json!([1, "x", null])),
    ]
}

/// The statement keys a mutation may remove or replace.
const STATEMENT_KEYS: [&str; 9] = [
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
    "NotPrincipal",
    "Sid",
];

/// Change `doc` one way (`what`; 0 and 1 leave it as it is), at the statement `at` picks.
fn mutate(mut doc: Value, what: u8, at: &Index, junk: Value, principal: Value) -> Value {
    let n = doc["Statement"].as_array().map_or(0, Vec::len);
    if n == 0 {
        return doc;
    }
    let i = at.index(n);
    let key = *at.get(&STATEMENT_KEYS);
    let stmt = &mut doc["Statement"][i];
    match what {
        2 => {
            stmt.as_object_mut().unwrap().remove(key);
        }
        3 => stmt[key] = junk,
        4 => stmt["Bogus"] = junk,
        5 => stmt["Principal"] = principal,
        6 => stmt["NotPrincipal"] = principal,
        7 => stmt["Sid"] = junk,
        8 => {
            // A repeated Sid.
            stmt["Sid"] = json!("same");
            doc["Statement"][0]["Sid"] = json!("same");
        }
        9 => {
            // A condition block of the wrong shape.
            stmt["Condition"] = json!({ "StringEquals": junk });
        }
        10 => stmt["Effect"] = json!("allow"),
        11 => {
            // One statement object instead of a list (IAM accepts both).
            let one = stmt.take();
            doc["Statement"] = one;
        }
        12 => doc["Statement"] = json!([]),
        13 => doc["Version"] = junk,
        14 => doc["Id"] = junk,
        15 => doc["Bogus"] = junk,
        16 => {
            doc.as_object_mut().unwrap().remove("Statement");
        }
        17 => doc = junk,
        _ => {}
    }
    doc
}

/// A document shaped for one kind or another (no principal: identity and session; with one:
/// resource; with one and no resource: trust), and nearly half of the time one [`mutate`] of it.
fn mutated_document() -> impl Strategy<Value = Value> {
    (
        document(),
        0u8..3,
        principal(),
        0u8..36,
        any::<Index>(),
        junk(),
        principal(),
    )
        .prop_map(|(mut doc, shape, p, what, at, junk, other)| {
            if shape > 0 {
                for s in doc["Statement"].as_array_mut().unwrap() {
                    s["Principal"] = p.clone();
                    if shape == 2 {
                        let s = s.as_object_mut().unwrap();
                        s.remove("Resource");
                        s.remove("NotResource");
                    }
                }
            }
            mutate(doc, what, &at, junk, other)
        })
}

/// [`mutated_document`] as JSON text: compact, pretty, cut short at some byte, or with a key
/// repeated in front.
fn document_text() -> impl Strategy<Value = String> {
    (mutated_document(), 0u8..8, any::<Index>()).prop_map(|(doc, form, at)| {
        let compact = serde_json::to_string(&doc).unwrap();
        match form {
            0..=2 => compact,
            3..=4 => serde_json::to_string_pretty(&doc).unwrap(),
            5 => {
                let mut end = at.index(compact.len().max(1));
                while !compact.is_char_boundary(end) {
                    end -= 1;
                }
                compact[..end].to_owned()
            }
            6 => match compact.strip_prefix('{') {
                Some(rest) => format!(r#"{{"Statement":[],{rest}"#),
                None => compact,
            },
            _ => match compact.strip_prefix('{') {
                Some(rest) => format!(r#"{{"Version":"2008-10-17",{rest}"#),
                None => compact,
            },
        }
    })
}

const KINDS: [PolicyKind; 4] = [
    PolicyKind::Identity,
    PolicyKind::Session,
    PolicyKind::Trust,
    PolicyKind::Resource,
];

/// Every kind, with and without the current version required.
fn all_options() -> impl Iterator<Item = ParseOptions> {
    KINDS.into_iter().flat_map(|kind| {
        [false, true].map(|require_current_version| ParseOptions {
            kind,
            require_current_version,
        })
    })
}

/// One sample of `strategy` (fixed seed: the same values every run).
fn sample<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
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
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Generated documents (accepted and refused ones) never panic the validator or the
    /// linter, and the two agree: refused, the lint is exactly one error with the parser's
    /// (AWS's) message; accepted, the lint has no error. For every kind and version rule.
    #[test]
    fn validator_and_linter_never_panic_and_agree(text in document_text()) {
        for opts in all_options() {
            let parsed = Policy::parse_with(&text, opts);
            let findings = lint(&text, opts);
            let errors: Vec<_> = findings.iter().filter(|f| f.severity == Severity::Error).collect();
            match parsed {
                Ok(_) => prop_assert!(errors.is_empty(), "{:?} accepted, lint says {:?}", opts.kind, errors),
                Err(e) => {
                    prop_assert_eq!(findings.len(), 1, "{:?} {:?}", opts.kind, findings);
                    prop_assert_eq!(findings[0].severity, Severity::Error);
                    prop_assert_eq!(findings[0].message.as_str(), e.message());
                }
            }
        }
    }

    /// Text that is not a policy at all (nor, mostly, JSON) never panics them either.
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        for opts in all_options() {
            let _ = Policy::parse_with(&text, opts);
            let _ = lint(&text, opts);
        }
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

/// The generators are worth running: on a fixed sample, the validator accepts a good share of
/// the documents and refuses a good share, for many different reasons; evaluation reaches every
/// decision. (Failing here means a generator drifted, e.g. into documents IAM always refuses.)
#[test]
fn the_generators_reach_the_validator_and_the_evaluator() {
    let texts = sample(document_text(), 1000);
    let mut accepted = 0;
    let mut reasons = BTreeSet::new();
    for text in &texts {
        let mut any = false;
        for opts in all_options() {
            match Policy::parse_with(text, opts) {
                Ok(_) => any = true,
                Err(e) => {
                    reasons.insert(e.message().to_owned());
                }
            }
        }
        accepted += usize::from(any);
    }
    println!(
        "{accepted} of {} texts accepted as some kind; {} distinct refusals",
        texts.len(),
        reasons.len()
    );
    assert!(accepted >= 300, "only {accepted} of 1000 accepted");
    assert!(
        accepted <= 900,
        "{accepted} of 1000 accepted: too few refusals"
    );
    assert!(
        reasons.len() >= 15,
        "{} distinct refusals: {reasons:#?}",
        reasons.len()
    );

    let pairs = sample((prop::collection::vec(document(), 1..4), request()), 1000);
    let (mut valid, mut decisions) = (0, [0usize; 3]);
    for (docs, req) in &pairs {
        let policies: Vec<Policy> = docs
            .iter()
            .filter_map(|d| Policy::from_value(d, lenient()).ok())
            .collect();
        valid += policies.len();
        let set = PolicySet {
            identity: policies.iter().collect(),
            ..Default::default()
        };
        let at = match set.evaluate(req).decision {
            Decision::Allow => 0,
            Decision::ExplicitDeny => 1,
            _ => 2,
        };
        decisions[at] += 1;
    }
    let total: usize = pairs.iter().map(|(d, _)| d.len()).sum();
    println!("{valid} of {total} documents valid; allow/deny/implicit = {decisions:?}");
    assert!(
        valid * 2 >= total,
        "only {valid} of {total} documents valid"
    );
    for (name, n) in ["Allow", "ExplicitDeny", "implicit deny"]
        .iter()
        .zip(decisions)
    {
        assert!(n >= 50, "{name} in only {n} of 1000 evaluations");
    }
}
