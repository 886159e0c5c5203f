//! The STS use cases on the demo directory, without HTTP: who may take which role, with which
//! parameters, and AWS's answers when not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use idbroker::config::Config;
use idbroker::sts::params::Params;
use idbroker::sts::{self, Caller, CallerKind, RequestFacts, StsError};

const READER: &str = "arn:aws:iam::123456789012:role/demo/ReportsReader";
const ADMIN: &str = "arn:aws:iam::123456789012:role/demo/Admin";

fn config() -> Config {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
    Config::load_with_env(&file, &|_| None).unwrap()
}

fn demo_user(cfg: &Config) -> Caller {
    let (user, key) = cfg.directory.access_key("AKIAIDBROKERDEMO0001").unwrap();
    Caller {
        kind: CallerKind::User {
            name: user.name.clone(),
        },
        arn: user.arn.clone(),
        user_id: user.user_id.clone(),
        account: cfg.directory.account_id.clone(),
        access_key_id: key.id.clone(),
        session_policy: None,
        session_policy_arns: vec![],
        source_identity: None,
        tags: vec![],
        transitive_tag_keys: vec![],
        issued_at: None,
    }
}

fn p(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_867_200)
}

fn assume(
    cfg: &Config,
    caller: &Caller,
    pairs: &[(&str, &str)],
) -> Result<sts::SessionPlan, StsError> {
    sts::assume_role(
        &cfg.directory,
        caller,
        &p(pairs),
        &RequestFacts::default(),
        now(),
    )
}

#[test]
fn user_assumes_roles_its_policies_and_the_trust_policy_allow() {
    let cfg = config();
    let me = demo_user(&cfg);
    let plan = assume(
        &cfg,
        &me,
        &[("RoleArn", READER), ("RoleSessionName", "alice")],
    )
    .unwrap();
    assert_eq!(
        plan.arn,
        "arn:aws:sts::123456789012:assumed-role/ReportsReader/alice"
    );
    assert!(plan.user_id.starts_with("AROA") && plan.user_id.ends_with(":alice"));
    assert_eq!(plan.duration, Duration::from_secs(3600));
    assert_eq!(plan.packed_policy_size, Some(0));
    // The Admin trust policy names the user itself.
    assert!(assume(
        &cfg,
        &me,
        &[("RoleArn", ADMIN), ("RoleSessionName", "alice")]
    )
    .is_ok());
}

#[test]
fn unknown_roles_are_denied_like_forbidden_ones() {
    let cfg = config();
    let me = demo_user(&cfg);
    let err = assume(
        &cfg,
        &me,
        &[
            ("RoleArn", "arn:aws:iam::123456789012:role/demo/Nope"),
            ("RoleSessionName", "alice"),
        ],
    )
    .unwrap_err();
    assert!(
        matches!(err, StsError::AccessDenied(ref m) if m.contains("is not authorized to perform: sts:AssumeRole")),
        "{err}"
    );
}

#[test]
fn tags_and_source_identity_need_their_own_permissions() {
    let cfg = config();
    let me = demo_user(&cfg);
    let tagged = [
        ("RoleArn", ADMIN),
        ("RoleSessionName", "alice"),
        ("Tags.member.1.Key", "team"),
        ("Tags.member.1.Value", "data"),
    ];
    let err = assume(&cfg, &me, &tagged).unwrap_err();
    assert!(
        matches!(err, StsError::AccessDenied(ref m) if m.contains("sts:TagSession")),
        "{err}"
    );
    let ok = assume(
        &cfg,
        &me,
        &[
            ("RoleArn", READER),
            ("RoleSessionName", "alice"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "data"),
            ("SourceIdentity", "alice@example.com"),
        ],
    )
    .unwrap();
    assert_eq!(ok.tags.len(), 1);
    assert_eq!(ok.source_identity.as_deref(), Some("alice@example.com"));
}

#[test]
fn durations_as_aws_limits_them() {
    let cfg = config();
    let me = demo_user(&cfg);
    // ReportsReader allows 12 hours, Admin the default hour.
    assert!(assume(
        &cfg,
        &me,
        &[
            ("RoleArn", READER),
            ("RoleSessionName", "a1"),
            ("DurationSeconds", "43200")
        ]
    )
    .is_ok());
    let err = assume(
        &cfg,
        &me,
        &[
            ("RoleArn", ADMIN),
            ("RoleSessionName", "a1"),
            ("DurationSeconds", "7200"),
        ],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("exceeds the MaxSessionDuration"),
        "{err}"
    );
    let err = assume(
        &cfg,
        &me,
        &[
            ("RoleArn", READER),
            ("RoleSessionName", "a1"),
            ("DurationSeconds", "899"),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, StsError::Validation(_)));
    // Chaining: a role session may not ask for more than an hour.
    let plan = assume(&cfg, &me, &[("RoleArn", READER), ("RoleSessionName", "a1")]).unwrap();
    let (role_arn, _, session_name) = plan.role.clone().unwrap();
    let session = Caller {
        kind: CallerKind::AssumedRole {
            role_arn,
            session_name,
        },
        arn: plan.arn.clone(),
        user_id: plan.user_id.clone(),
        account: plan.account.clone(),
        access_key_id: "ASIAAAAAAAAAAAAAAAAA".into(),
        session_policy: None,
        session_policy_arns: vec![],
        source_identity: None,
        tags: vec![],
        transitive_tag_keys: vec![],
        issued_at: Some(now()),
    };
    let err = assume(
        &cfg,
        &session,
        &[
            ("RoleArn", READER),
            ("RoleSessionName", "a2"),
            ("DurationSeconds", "3601"),
        ],
    )
    .unwrap_err();
    assert!(err.to_string().contains("role chaining"), "{err}");
    // The ReportsReader role's own policies do not allow sts:AssumeRole: chaining is denied.
    let err = assume(
        &cfg,
        &session,
        &[("RoleArn", READER), ("RoleSessionName", "a2")],
    )
    .unwrap_err();
    assert!(matches!(err, StsError::AccessDenied(_)), "{err}");
}

#[test]
fn session_policies_are_validated_and_sized() {
    let cfg = config();
    let me = demo_user(&cfg);
    let err = assume(
        &cfg,
        &me,
        &[
            ("RoleArn", READER),
            ("RoleSessionName", "a1"),
            ("Policy", "{\"Statement\":[]}"),
        ],
    )
    .unwrap_err();
    assert!(
        matches!(err, StsError::MalformedPolicy(ref m) if m == "Syntax errors in policy."),
        "{err}"
    );
    let ok = assume(&cfg, &me, &[("RoleArn", READER), ("RoleSessionName", "a1"), ("Policy", r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#)]).unwrap();
    assert!(ok.packed_policy_size.unwrap() > 0);
    let err = assume(
        &cfg,
        &me,
        &[
            ("RoleArn", READER),
            ("RoleSessionName", "a1"),
            (
                "PolicyArns.member.1.arn",
                "arn:aws:iam::123456789012:policy/Missing",
            ),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, StsError::InvalidParameterValue(_)));
}

#[test]
fn get_session_token_only_for_long_term_keys() {
    let cfg = config();
    let me = demo_user(&cfg);
    let plan = sts::get_session_token(&me, &p(&[])).unwrap();
    assert_eq!(plan.duration, Duration::from_secs(43200));
    assert_eq!(plan.arn, "arn:aws:iam::123456789012:user/demo");
    assert!(sts::get_session_token(&me, &p(&[("DurationSeconds", "129601")])).is_err());
    let mut session = me.clone();
    session.kind = CallerKind::UserSession {
        name: "demo".into(),
    };
    assert!(matches!(
        sts::get_session_token(&session, &p(&[])),
        Err(StsError::AccessDenied(_))
    ));
}
