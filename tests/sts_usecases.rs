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
use idbroker::http::query::{self, Params};
use idbroker::sts::{self, Caller, CallerKind, RequestFacts, StsError};

const READER: &str = "arn:aws:iam::123456789012:role/demo/ReportsReader";
const ADMIN: &str = "arn:aws:iam::123456789012:role/demo/Admin";

fn config() -> Config {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
    Config::load_with_env(&file, &|_| None, now()).unwrap()
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
        mfa_authenticated_at: None,
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
    // The request as the Query codec reads it, then the decision (no store).
    let params = p(pairs);
    let req = query::assume_role_request(&params)?;
    sts::assume_role::decide(&cfg.directory, caller, &req, &RequestFacts::at(now()), None)
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
        mfa_authenticated_at: None,
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
    let gst = |caller: &Caller, pairs: &[(&str, &str)]| {
        let params = p(pairs);
        let req = query::get_session_token_request(&params)?;
        sts::get_session_token::decide(caller, &req)
    };
    let plan = gst(&me, &[]).unwrap();
    assert_eq!(plan.duration, Duration::from_secs(43200));
    assert_eq!(plan.arn, "arn:aws:iam::123456789012:user/demo");
    assert!(gst(&me, &[("DurationSeconds", "129601")]).is_err());
    let mut session = me.clone();
    session.kind = CallerKind::UserSession {
        name: "demo".into(),
    };
    assert!(matches!(gst(&session, &[]), Err(StsError::AccessDenied(_))));
}

// ---- Role chaining: what the calling session passes on (issue 13, item 6) ----------------------

/// A directory for chaining: `Hop` is the calling session's role (its policies allow everything
/// STS needs), `HopNoTag` and `HopNoSource` lack `sts:TagSession` / `sts:SetSourceIdentity` in
/// their own policies; the targets' trust policies each allow one thing.
const CHAINING: &str = r#"
account_id = "123456789012"

[[managed_policies]]
name = "Chain"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Resource":"*"}}'

[[managed_policies]]
name = "ChainNoTag"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Resource":"*"}}'

[[managed_policies]]
name = "ChainNoSource"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}}'

[[managed_policies]]
name = "ChainDenyBobby"
document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Resource":"*"},{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*","Condition":{"StringEquals":{"sts:SourceIdentity":"bobby"}}}]}'

[[users]]
name = "alice"
policies = ["arn:aws:iam::123456789012:policy/Chain"]

[[users.access_keys]]
id = "AKIACHAINTESTALICE01"
secret = { value = "chainTestSecretKeyDoNotUseAnywhere000000" }

[[roles]]
name = "Hop"
policies = ["arn:aws:iam::123456789012:policy/Chain"]
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}}'

[[roles]]
name = "HopNoTag"
policies = ["arn:aws:iam::123456789012:policy/ChainNoTag"]
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}'

[[roles]]
name = "HopNoSource"
policies = ["arn:aws:iam::123456789012:policy/ChainNoSource"]
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}'

[[roles]]
name = "HopDenyBobby"
policies = ["arn:aws:iam::123456789012:policy/ChainDenyBobby"]
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}'

# Trusts the account for everything STS needs.
[[roles]]
name = "Open"
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}}'

# Trusts the account for sts:AssumeRole only: no tags, no source identity.
[[roles]]
name = "PlainTrust"
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}'

# sts:SetSourceIdentity only when the source identity is alice.
[[roles]]
name = "AliceOnly"
trust_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:SetSourceIdentity","Condition":{"StringEquals":{"sts:SourceIdentity":"alice"}}}]}'

# Everything allowed, but no session of bobby may come in.
[[roles]]
name = "NoBobby"
trust_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]},{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:SourceIdentity":"bobby"}}}]}'

# sts:TagSession only for team=dev.
[[roles]]
name = "DevTagsOnly"
trust_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:TagSession","Condition":{"StringEquals":{"aws:RequestTag/team":"dev"}}}]}'

# sts:TagSession only for the tag key project, and project alone as transitive.
[[roles]]
name = "ProjectTagOnly"
trust_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:TagSession","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":"project"}}}]}'

[[roles]]
name = "ProjectTransitiveOnly"
trust_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:TagSession","Condition":{"ForAllValues:StringEquals":{"sts:TransitiveTagKeys":"project"}}}]}'
"#;

fn chaining() -> Config {
    Config::from_toml(
        CHAINING,
        std::path::Path::new("tests/chaining.toml"),
        &|_| None,
        now(),
    )
    .unwrap()
}

fn role(name: &str) -> String {
    format!("arn:aws:iam::123456789012:role/{name}")
}

/// A session of role `hop` carrying a source identity and tags (the transitive ones named).
fn session_of(
    hop: &str,
    source_identity: Option<&str>,
    tags: &[(&str, &str)],
    transitive: &[&str],
) -> Caller {
    Caller {
        kind: CallerKind::AssumedRole {
            role_arn: role(hop),
            session_name: "s1".into(),
        },
        arn: format!("arn:aws:sts::123456789012:assumed-role/{hop}/s1"),
        user_id: "AROAAAAAAAAAAAAAAAAA:s1".into(),
        account: "123456789012".into(),
        access_key_id: "ASIAAAAAAAAAAAAAAAAB".into(),
        session_policy: None,
        session_policy_arns: vec![],
        source_identity: source_identity.map(str::to_owned),
        tags: tags
            .iter()
            .map(|(k, v)| sts::Tag {
                key: (*k).to_owned(),
                value: (*v).to_owned(),
            })
            .collect(),
        transitive_tag_keys: transitive.iter().map(|k| (*k).to_owned()).collect(),
        issued_at: Some(now()),
        mfa_authenticated_at: None,
    }
}

fn denied_for(err: &StsError, action: &str) -> bool {
    matches!(err, StsError::AccessDenied(m) if m.contains(&format!("not authorized to perform: {action} ")))
}

/// IAM User Guide, "Permissions required to set source identity": "When you assume a role with
/// another role, called role chaining, permissions for sts:SetSourceIdentity are required in both
/// the permissions policy of the principal who is assuming the role and in the role trust policy
/// of the target role. Otherwise, the assume role operation will fail." The source identity
/// passes on, so the chained request carries it as `sts:SourceIdentity`.
#[test]
fn chaining_checks_the_inherited_source_identity_on_both_sides() {
    let cfg = chaining();
    let chain = |caller: &Caller, target: &str| {
        assume(
            &cfg,
            caller,
            &[("RoleArn", &role(target)), ("RoleSessionName", "s2")],
        )
    };
    let bobby = session_of("Hop", Some("bobby"), &[], &[]);
    let alice = session_of("Hop", Some("alice"), &[], &[]);
    // Trust policy side: SetSourceIdentity allowed only for alice.
    let err = chain(&bobby, "AliceOnly").unwrap_err();
    assert!(denied_for(&err, "sts:SetSourceIdentity"), "{err}");
    let plan = chain(&alice, "AliceOnly").unwrap();
    assert_eq!(plan.source_identity.as_deref(), Some("alice"));
    // A trust policy that does not allow sts:SetSourceIdentity at all refuses a session with one,
    // and takes a session without one.
    let err = chain(&alice, "PlainTrust").unwrap_err();
    assert!(denied_for(&err, "sts:SetSourceIdentity"), "{err}");
    assert!(chain(&session_of("Hop", None, &[], &[]), "PlainTrust").is_ok());
    // A Deny keyed on sts:SourceIdentity applies to the inherited value: in the trust policy ...
    let err = chain(&bobby, "NoBobby").unwrap_err();
    assert!(denied_for(&err, "sts:AssumeRole"), "{err}");
    assert!(chain(&alice, "NoBobby").is_ok());
    // ... and in the caller's own policies.
    let err = chain(&session_of("HopDenyBobby", Some("bobby"), &[], &[]), "Open").unwrap_err();
    assert!(denied_for(&err, "sts:AssumeRole"), "{err}");
    assert!(chain(&session_of("HopDenyBobby", Some("alice"), &[], &[]), "Open").is_ok());
    // The caller's own policies must allow sts:SetSourceIdentity too.
    let err = chain(&session_of("HopNoSource", Some("alice"), &[], &[]), "Open").unwrap_err();
    assert!(denied_for(&err, "sts:SetSourceIdentity"), "{err}");
    assert!(chain(&session_of("HopNoSource", None, &[], &[]), "Open").is_ok());
    // Passing the same source identity again is the same request; another one is refused.
    assert!(assume(
        &cfg,
        &alice,
        &[
            ("RoleArn", &role("AliceOnly")),
            ("RoleSessionName", "s2"),
            ("SourceIdentity", "alice"),
        ],
    )
    .is_ok());
    assert!(assume(
        &cfg,
        &bobby,
        &[
            ("RoleArn", &role("Open")),
            ("RoleSessionName", "s2"),
            ("SourceIdentity", "alice"),
        ],
    )
    .is_err());
}

/// IAM User Guide, "Chaining roles with session tags": transitive session tags pass on to the
/// next session of the chain; they are session tags of the new session, so setting them needs
/// `sts:TagSession` (allowed by the caller's policies and the target's trust policy) and they
/// appear as `aws:RequestTag/*`, `aws:TagKeys` and `sts:TransitiveTagKeys` as if passed.
#[test]
fn chaining_checks_inherited_transitive_tags_like_passed_ones() {
    let cfg = chaining();
    let chain = |caller: &Caller, target: &str| {
        assume(
            &cfg,
            caller,
            &[("RoleArn", &role(target)), ("RoleSessionName", "s2")],
        )
    };
    let admins = session_of("Hop", None, &[("team", "admins")], &["team"]);
    let dev = session_of("Hop", None, &[("team", "dev")], &["team"]);
    // Passing team=admins directly is refused ...
    let err = assume(
        &cfg,
        &session_of("Hop", None, &[], &[]),
        &[
            ("RoleArn", &role("DevTagsOnly")),
            ("RoleSessionName", "s2"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "admins"),
        ],
    )
    .unwrap_err();
    assert!(denied_for(&err, "sts:TagSession"), "{err}");
    // ... and so is inheriting it.
    let err = chain(&admins, "DevTagsOnly").unwrap_err();
    assert!(denied_for(&err, "sts:TagSession"), "{err}");
    let plan = chain(&dev, "DevTagsOnly").unwrap();
    assert_eq!(plan.tags.len(), 1);
    assert_eq!(plan.transitive_tag_keys, ["team"]);
    // A trust policy without sts:TagSession refuses a session with transitive tags; tags that
    // are not transitive do not pass on and need nothing.
    let err = chain(&dev, "PlainTrust").unwrap_err();
    assert!(denied_for(&err, "sts:TagSession"), "{err}");
    let plan = chain(
        &session_of("Hop", None, &[("team", "dev")], &[]),
        "PlainTrust",
    )
    .unwrap();
    assert!(plan.tags.is_empty());
    // aws:TagKeys and sts:TransitiveTagKeys hold the inherited keys.
    let err = chain(&dev, "ProjectTagOnly").unwrap_err();
    assert!(denied_for(&err, "sts:TagSession"), "{err}");
    assert!(chain(
        &session_of("Hop", None, &[("project", "x")], &["project"]),
        "ProjectTagOnly"
    )
    .is_ok());
    let err = chain(&dev, "ProjectTransitiveOnly").unwrap_err();
    assert!(denied_for(&err, "sts:TagSession"), "{err}");
    // The caller's own policies must allow sts:TagSession too.
    let err = chain(
        &session_of("HopNoTag", None, &[("team", "dev")], &["team"]),
        "Open",
    )
    .unwrap_err();
    assert!(denied_for(&err, "sts:TagSession"), "{err}");
    assert!(chain(&session_of("HopNoTag", None, &[], &[]), "Open").is_ok());
}

/// Session tag keys may not use the `aws:` prefix, reserved for AWS (IAM User Guide, "Rules for
/// tagging in IAM and AWS STS"); AssumeRole refuses them as the web identity path does.
#[test]
fn reserved_tag_keys_are_refused() {
    let cfg = chaining();
    let alice = session_of("Hop", None, &[], &[]);
    for key in ["aws:team", "AWS:team", "Aws:PrincipalTag"] {
        let err = assume(
            &cfg,
            &alice,
            &[
                ("RoleArn", &role("Open")),
                ("RoleSessionName", "s2"),
                ("Tags.member.1.Key", key),
                ("Tags.member.1.Value", "x"),
            ],
        )
        .unwrap_err();
        assert!(
            matches!(err, StsError::InvalidParameterValue(ref m) if m.contains("aws:")),
            "{key}: {err}"
        );
    }
    assert!(assume(
        &cfg,
        &alice,
        &[
            ("RoleArn", &role("Open")),
            ("RoleSessionName", "s2"),
            ("Tags.member.1.Key", "team:aws"),
            ("Tags.member.1.Value", "x"),
        ],
    )
    .is_ok());
}

/// A GetSessionToken session outlives nothing of its user: AWS evaluates the permissions of
/// temporary credentials on every request ("Once you remove all permissions from the
/// credentials, AWS requests that use them fail"), and a user no longer in the directory has
/// none. AccessDenied (403), not a server fault.
#[test]
fn a_session_of_a_removed_user_is_denied_not_a_server_fault() {
    let cfg = config();
    let mut ghost = demo_user(&cfg);
    ghost.kind = CallerKind::UserSession {
        name: "ghost".into(),
    };
    ghost.arn = "arn:aws:iam::123456789012:user/ghost".into();
    ghost.access_key_id = "ASIAAAAAAAAAAAAAAAAC".into();
    let err = assume(
        &cfg,
        &ghost,
        &[("RoleArn", READER), ("RoleSessionName", "ghost")],
    )
    .unwrap_err();
    assert!(
        matches!(err, StsError::AccessDenied(ref m) if m.starts_with("User: arn:aws:iam::123456789012:user/ghost is not authorized to perform: sts:AssumeRole on resource: ")),
        "{err:?}"
    );
    let err = sts::authorize(
        &cfg.directory,
        &ghost,
        "idbroker:VerifyRequest",
        "arn:aws:idbroker:us-east-1:123456789012:service/reports",
        &RequestFacts::at(now()),
    )
    .unwrap_err();
    assert!(matches!(err, StsError::AccessDenied(_)), "{err:?}");
}
