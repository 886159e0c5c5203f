#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::*;
use crate::sts::{Caller, CallerKind, IssuedSession, SessionPlan};

const ACCOUNT: &str = "123456789012";
const ROLE: &str = "arn:aws:iam::123456789012:role/demo/ReportsReader";

fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_547_600) // 2026-12-06T09:00:00Z
}

fn ctx<'a>(action: &'static str, outcome: Outcome<'a>, params: Option<&'a Params>) -> Context<'a> {
    Context {
        at: at(),
        request_id: "11111111-2222-3333-4444-555555555555",
        action,
        outcome,
        source_ip: "192.0.2.7".parse().ok(),
        user_agent: Some("aws-cli/2.15 Python/3.11"),
        region: "us-east-1",
        account: ACCOUNT,
        params,
    }
}

/// The line, checked to be one JSON object on one line.
fn record(audit: &Audit, c: &Context<'_>) -> (String, Value) {
    let line = audit.line(c);
    assert!(
        line.ends_with('\n') && line.matches('\n').count() == 1,
        "{line}"
    );
    let v: Value = serde_json::from_str(line.trim_end()).unwrap();
    (line, v)
}

fn params(pairs: &[(&str, &str)]) -> Params {
    Params::from_pairs(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

fn user() -> Caller {
    Caller {
        kind: CallerKind::User {
            name: "demo".into(),
        },
        arn: "arn:aws:iam::123456789012:user/demo".into(),
        user_id: "AIDADEMOUSER00000001".into(),
        account: ACCOUNT.into(),
        access_key_id: "AKIAIDBROKERDEMO0001".into(),
        session_policy: None,
        session_policy_arns: vec![],
        source_identity: None,
        tags: vec![],
        transitive_tag_keys: vec![],
        issued_at: None,
        mfa_authenticated_at: None,
    }
}

fn role_session() -> Caller {
    Caller {
        kind: CallerKind::AssumedRole {
            role_arn: ROLE.into(),
            session_name: "alice".into(),
        },
        arn: "arn:aws:sts::123456789012:assumed-role/ReportsReader/alice".into(),
        user_id: "AROADEMOROLE00000001:alice".into(),
        access_key_id: "ASIADEMO000000000001".into(),
        source_identity: Some("alice@example.com".into()),
        issued_at: Some(at() - Duration::from_secs(60)),
        ..user()
    }
}

/// A session minted for real (demo configuration, memory store): its secret and token are
/// what a client would get.
async fn minted() -> IssuedSession {
    let file =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
    let cfg = crate::config::Config::load_with_env(&file, &|_| None, at()).unwrap();
    let store = idbroker_session::MemoryStore::new();
    let keys = idbroker_session::seal::SealingKeys::ephemeral().unwrap();
    let oidc = crate::federation::oidc::OidcFederation::new(&cfg.oidc_providers, None).unwrap();
    let metrics = crate::metrics::Metrics::new();
    let fallback = idbroker_session::LocalBuckets::default();
    let services = crate::sts::Services {
        directory: &cfg.directory,
        store: &store,
        keys: &keys,
        saml: &cfg.saml,
        oidc: &oidc,
        throttle: crate::throttle::Throttle {
            settings: &cfg.throttle,
            store: &store,
            fallback: &fallback,
            metrics: &metrics,
        },
    };
    let plan = SessionPlan {
        arn: "arn:aws:sts::123456789012:assumed-role/ReportsReader/audit".into(),
        user_id: "AROADEMOROLE00000001:audit".into(),
        account: ACCOUNT.into(),
        role: Some((ROLE.into(), "ReportsReader".into(), "audit".into())),
        user_name: None,
        duration: Duration::from_secs(900),
        session_policy: None,
        session_policy_arns: vec![],
        source_identity: Some("alice@example.com".into()),
        tags: vec![],
        transitive_tag_keys: vec![],
        packed_policy_size: Some(3),
        parent_access_key_id: None,
        mfa_authenticated_at: None,
    };
    crate::sts::mint::mint(&services, plan, at()).await.unwrap()
}

fn secrets_of(s: &IssuedSession) -> (String, String, String) {
    (
        s.credentials.access_key_id().to_owned(),
        s.credentials.secret_access_key().to_owned(),
        s.credentials.session_token().to_owned(),
    )
}

#[tokio::test]
async fn assume_role_by_an_iam_user() {
    let session = minted().await;
    let (akid, secret, token) = secrets_of(&session);
    let mut audit = Audit {
        who: Who::Signed(user()),
        ..Audit::default()
    };
    audit.issued(session);
    let p = params(&[
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", ROLE),
        ("RoleSessionName", "audit"),
        ("DurationSeconds", "900"),
        (
            "PolicyArns.member.1.arn",
            "arn:aws:iam::123456789012:policy/ReadOnlyReports",
        ),
        ("SourceIdentity", "alice@example.com"),
    ]);
    let (line, v) = record(&audit, &ctx("AssumeRole", Outcome::Ok, Some(&p)));
    assert!(line.starts_with("{\"eventVersion\":\"1.08\","), "{line}");
    assert_eq!(v["eventTime"], "2026-12-06T09:00:00Z");
    assert_eq!(v["eventSource"], "sts.amazonaws.com");
    assert_eq!(v["eventName"], "AssumeRole");
    assert_eq!(v["awsRegion"], "us-east-1");
    assert_eq!(v["sourceIPAddress"], "192.0.2.7");
    assert_eq!(v["userAgent"], "aws-cli/2.15 Python/3.11");
    assert_eq!(
        v["userIdentity"],
        json!({"type": "IAMUser", "principalId": "AIDADEMOUSER00000001",
               "arn": "arn:aws:iam::123456789012:user/demo", "accountId": ACCOUNT,
               "accessKeyId": "AKIAIDBROKERDEMO0001", "userName": "demo"})
    );
    assert_eq!(
        v["requestParameters"],
        json!({"roleArn": ROLE, "roleSessionName": "audit", "sourceIdentity": "alice@example.com",
               "durationSeconds": 900,
               "policyArns": [{"arn": "arn:aws:iam::123456789012:policy/ReadOnlyReports"}]})
    );
    let r = &v["responseElements"];
    assert_eq!(r["credentials"]["accessKeyId"], akid.as_str());
    assert_eq!(r["credentials"]["expiration"], "2026-12-06T09:15:00Z");
    assert_eq!(r["credentials"].as_object().unwrap().len(), 2);
    assert_eq!(
        r["assumedRoleUser"],
        json!({"assumedRoleId": "AROADEMOROLE00000001:audit",
               "arn": "arn:aws:sts::123456789012:assumed-role/ReportsReader/audit"})
    );
    assert_eq!(r["packedPolicySize"], 3);
    assert_eq!(r["sourceIdentity"], "alice@example.com");
    assert!(v.get("errorCode").is_none() && v.get("additionalEventData").is_none());
    assert_eq!(v["requestID"], "11111111-2222-3333-4444-555555555555");
    assert!(uuid::Uuid::parse_str(v["eventID"].as_str().unwrap()).is_ok());
    assert_eq!(v["readOnly"], false);
    assert_eq!(v["eventType"], "AwsApiCall");
    assert_eq!(v["managementEvent"], true);
    assert_eq!(v["recipientAccountId"], ACCOUNT);
    // The secret and the token the client got are nowhere in the line.
    assert!(!line.contains(&secret) && !line.contains(&token), "{line}");
    // Each record has its own event id.
    let (_, again) = record(&audit, &ctx("AssumeRole", Outcome::Ok, Some(&p)));
    assert_ne!(v["eventID"], again["eventID"]);
}

#[test]
fn get_caller_identity_by_a_role_session_is_read_only() {
    let audit = Audit {
        who: Who::Signed(role_session()),
        ..Audit::default()
    };
    let p = params(&[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")]);
    let (_, v) = record(&audit, &ctx("GetCallerIdentity", Outcome::Ok, Some(&p)));
    assert_eq!(v["readOnly"], true);
    assert_eq!(v["requestParameters"], Value::Null);
    assert_eq!(v["responseElements"], Value::Null);
    assert_eq!(
        v["userIdentity"],
        json!({"type": "AssumedRole", "principalId": "AROADEMOROLE00000001:alice",
               "arn": "arn:aws:sts::123456789012:assumed-role/ReportsReader/alice",
               "accountId": ACCOUNT, "accessKeyId": "ASIADEMO000000000001",
               "sessionContext": {
                   "sessionIssuer": {"type": "Role", "principalId": "AROADEMOROLE00000001",
                                     "arn": ROLE, "accountId": ACCOUNT, "userName": "ReportsReader"},
                   "attributes": {"creationDate": "2026-12-06T08:59:00Z", "mfaAuthenticated": "false"},
                   "sourceIdentity": "alice@example.com"}})
    );
}

#[test]
fn a_scoped_key_call_names_the_scope_and_the_principal_never_the_key() {
    let audit = Audit {
        who: Who::Signed(user()),
        asked: Asked::ScopedKey {
            access_key_id: "ASIADEMO000000000001".into(),
            date: "20261206".into(),
            region: "us-east-1".into(),
            service: "reports".into(),
        },
        answer: Answer::ScopedKey {
            arn: "arn:aws:sts::123456789012:assumed-role/ReportsReader/alice".into(),
            expires_at: 1_796_551_200,
        },
        ..Audit::default()
    };
    let (_, v) = record(&audit, &ctx("GetScopedKey", Outcome::Ok, None));
    assert_eq!(v["eventSource"], "idbroker.amazonaws.com");
    assert_eq!(v["readOnly"], true);
    assert_eq!(
        v["requestParameters"],
        json!({"accessKeyId": "ASIADEMO000000000001", "date": "20261206",
               "region": "us-east-1", "service": "reports"})
    );
    assert_eq!(
        v["responseElements"],
        json!({"principal": "arn:aws:sts::123456789012:assumed-role/ReportsReader/alice",
               "expiresAt": 1_796_551_200})
    );
}

#[test]
fn an_event_stream_subscription_names_the_service() {
    let audit = Audit {
        who: Who::Signed(user()),
        asked: Asked::Events {
            service: "reports".into(),
        },
        ..Audit::default()
    };
    let (_, v) = record(&audit, &ctx("WatchRevocations", Outcome::Ok, None));
    assert_eq!(v["eventSource"], "idbroker.amazonaws.com");
    assert_eq!(v["eventName"], "WatchRevocations");
    assert_eq!(v["readOnly"], true);
    assert_eq!(v["requestParameters"], json!({"service": "reports"}));
    assert_eq!(v["responseElements"], Value::Null);
}

#[tokio::test]
async fn assume_role_with_saml_by_a_saml_user() {
    let session = minted().await;
    let (_, secret, token) = secrets_of(&session);
    let audit = Audit {
        who: Who::Saml {
            provider: "arn:aws:iam::123456789012:saml-provider/DemoIdP".into(),
            name_qualifier: Some("q0k4Zr8=".into()),
            subject: "alice".into(),
        },
        answer: Answer::Saml(
            session.into(),
            Box::new(SamlAnswer {
                subject: "alice".into(),
                subject_type: "persistent".into(),
                issuer: "https://idp.example.com".into(),
                audience: "https://signin.aws.amazon.com/saml".into(),
                name_qualifier: "q0k4Zr8=".into(),
            }),
        ),
        ..Audit::default()
    };
    let p = params(&[
        ("Action", "AssumeRoleWithSAML"),
        ("RoleArn", ROLE),
        (
            "PrincipalArn",
            "arn:aws:iam::123456789012:saml-provider/DemoIdP",
        ),
        (
            "SAMLAssertion",
            "PHNhbWxwOlJlc3BvbnNlPjwvc2FtbHA6UmVzcG9uc2U+",
        ),
    ]);
    let (line, v) = record(&audit, &ctx("AssumeRoleWithSAML", Outcome::Ok, Some(&p)));
    assert_eq!(
        v["userIdentity"],
        json!({"type": "SAMLUser", "principalId": "q0k4Zr8=:alice", "userName": "alice",
               "identityProvider": "q0k4Zr8="})
    );
    assert_eq!(
        v["requestParameters"]["principalArn"],
        "arn:aws:iam::123456789012:saml-provider/DemoIdP"
    );
    assert_eq!(v["responseElements"]["subjectType"], "persistent");
    assert_eq!(v["responseElements"]["nameQualifier"], "q0k4Zr8=");
    assert!(
        !line.contains("PHNhbWxw"),
        "the assertion reached the record: {line}"
    );
    assert!(!line.contains(&secret) && !line.contains(&token));
}

#[tokio::test]
async fn assume_role_with_web_identity_by_a_web_identity_user() {
    let session = minted().await;
    let (akid, secret, token) = secrets_of(&session);
    let provider = "arn:aws:iam::123456789012:oidc-provider/oidc.demo.idbroker.invalid";
    let audit = Audit {
        who: Who::WebIdentity {
            provider: provider.into(),
            audience: Some("demo-client".into()),
            subject: "system:serviceaccount:ns:app".into(),
        },
        answer: Answer::WebIdentity(
            session.into(),
            Box::new(WebIdentityAnswer {
                subject: "system:serviceaccount:ns:app".into(),
                provider: provider.into(),
                audience: "demo-client".into(),
            }),
        ),
        ..Audit::default()
    };
    let p = params(&[
        ("Action", "AssumeRoleWithWebIdentity"),
        ("RoleArn", ROLE),
        ("RoleSessionName", "app"),
        (
            "WebIdentityToken",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
        ),
    ]);
    let (line, v) = record(
        &audit,
        &ctx("AssumeRoleWithWebIdentity", Outcome::Ok, Some(&p)),
    );
    assert_eq!(
        v["userIdentity"],
        json!({"type": "WebIdentityUser",
               "principalId": "oidc.demo.idbroker.invalid:demo-client:system:serviceaccount:ns:app",
               "userName": "system:serviceaccount:ns:app",
               "identityProvider": "oidc.demo.idbroker.invalid"})
    );
    let r = &v["responseElements"];
    assert_eq!(
        r["subjectFromWebIdentityToken"],
        "system:serviceaccount:ns:app"
    );
    assert_eq!(r["provider"], provider);
    assert_eq!(r["credentials"]["accessKeyId"], akid.as_str());
    assert!(
        !line.contains("eyJhbGci"),
        "the token reached the record: {line}"
    );
    assert!(!line.contains(&secret) && !line.contains(&token));
}

#[test]
fn a_refusal_has_its_code_message_and_detail() {
    let audit = Audit {
        who: Who::Signed(user()),
        detail: Some("the role's trust policy does not allow the caller"),
        ..Audit::default()
    };
    let p = params(&[
        ("Action", "AssumeRole"),
        ("RoleArn", ROLE),
        ("RoleSessionName", "x"),
    ]);
    let message = format!(
        "User: arn:aws:iam::123456789012:user/demo is not authorized to perform: sts:AssumeRole on resource: {ROLE}"
    );
    let failed = Outcome::Failed {
        code: "AccessDenied",
        message: &message,
    };
    let (_, v) = record(&audit, &ctx("AssumeRole", failed, Some(&p)));
    assert_eq!(v["errorCode"], "AccessDenied");
    assert_eq!(v["errorMessage"], message.as_str());
    assert_eq!(v["responseElements"], Value::Null);
    assert_eq!(v["requestParameters"]["roleArn"], ROLE);
    assert_eq!(
        v["additionalEventData"],
        json!({"detail": "the role's trust policy does not allow the caller"})
    );
    // Refused before anyone was identified.
    let (_, v) = record(&Audit::default(), &ctx("AssumeRole", failed, Some(&p)));
    assert_eq!(v["userIdentity"], json!({"type": "Unknown"}));
}

#[tokio::test]
async fn a_console_login_is_a_sign_in_event() {
    let session = minted().await;
    let (_, secret, token) = secrets_of(&session);
    let mut audit = Audit {
        who: Who::Saml {
            provider: "arn:aws:iam::123456789012:saml-provider/DemoIdP".into(),
            name_qualifier: None,
            subject: "alice".into(),
        },
        login_to: Some("https://console.example.com/".into()),
        ..Audit::default()
    };
    audit.issued(session);
    let (line, v) = record(&audit, &ctx("ConsolePickRole", Outcome::Ok, None));
    assert_eq!(v["eventSource"], "signin.amazonaws.com");
    assert_eq!(v["eventName"], "ConsoleLogin");
    assert_eq!(v["eventType"], "AwsConsoleSignIn");
    assert_eq!(v["responseElements"]["ConsoleLogin"], "Success");
    assert_eq!(
        v["userIdentity"]["identityProvider"],
        "arn:aws:iam::123456789012:saml-provider/DemoIdP"
    );
    assert_eq!(
        v["additionalEventData"],
        json!({"idbrokerAction": "ConsolePickRole", "LoginTo": "https://console.example.com/"})
    );
    assert!(!line.contains(&secret) && !line.contains(&token));
    let failed = Outcome::Failed {
        code: "SignInFailed",
        message: "The identity provider's answer could not be verified",
    };
    let (_, v) = record(&Audit::default(), &ctx("ConsoleSignInSAML", failed, None));
    assert_eq!(v["responseElements"], json!({"ConsoleLogin": "Failure"}));
    assert_eq!(v["errorCode"], "SignInFailed");
}

#[test]
fn events_by_action() {
    for (action, source, name, kind, read_only) in [
        (
            "GetCallerIdentity",
            STS,
            "GetCallerIdentity",
            "AwsApiCall",
            true,
        ),
        (
            "AssumeRoleWithSAML",
            STS,
            "AssumeRoleWithSAML",
            "AwsApiCall",
            false,
        ),
        (
            "FederationGetSigninToken",
            SIGNIN,
            "GetSigninToken",
            "AwsConsoleSignIn",
            false,
        ),
        (
            "FederationLogin",
            SIGNIN,
            "ConsoleLogin",
            "AwsConsoleSignIn",
            false,
        ),
        ("CliToken", SIGNIN, "CreateToken", "AwsConsoleSignIn", false),
        (
            "CliCredentials",
            SIGNIN,
            "GetRoleCredentials",
            "AwsConsoleSignIn",
            false,
        ),
        (
            "DeviceAuthorization",
            SIGNIN,
            "StartDeviceAuthorization",
            "AwsConsoleSignIn",
            false,
        ),
        (
            "VerifyRequest",
            IDBROKER,
            "VerifyRequest",
            "AwsApiCall",
            true,
        ),
        (
            "RevokeSession",
            IDBROKER,
            "RevokeSession",
            "AwsApiCall",
            false,
        ),
        (
            "WorkloadCredentials",
            IDBROKER,
            "WorkloadCredentials",
            "AwsApiCall",
            false,
        ),
    ] {
        assert_eq!(
            event(action),
            Event {
                source,
                name,
                kind,
                read_only
            },
            "{action}"
        );
    }
}

#[test]
fn an_outsiders_field_cannot_make_the_line_unbounded() {
    // Regression: an unsigned call's RoleArn was written as sent (a 200 KB audit line).
    let huge = "a".repeat(200_000);
    let wide = "é".repeat(5_000);
    let p = params(&[
        ("Action", "AssumeRoleWithSAML"),
        ("RoleArn", &huge),
        ("PrincipalArn", &wide),
        ("RoleSessionName", &huge),
    ]);
    let agent = "b".repeat(100_000);
    let mut c = ctx(
        "AssumeRoleWithSAML",
        Outcome::Failed {
            code: "InvalidIdentityToken",
            message: &huge,
        },
        Some(&p),
    );
    c.user_agent = Some(&agent);
    let (line, v) = record(&Audit::default(), &c);
    assert!(line.len() < 6 * MAX_FIELD_BYTES, "{}", line.len());
    assert!(line.contains("...[truncated: 200000 bytes]"));
    assert!(line.contains("...[truncated: 10000 bytes]"));
    assert!(line.contains("...[truncated: 100000 bytes]"));
    assert_eq!(v["errorCode"], "InvalidIdentityToken");
    assert!(v["requestParameters"]["roleArn"]
        .as_str()
        .is_some_and(|r| r.starts_with("aaaa")));
    let p = params(&[("RoleArn", "arn:aws:iam::123456789012:role/R")]);
    let (_, v) = record(
        &Audit::default(),
        &ctx("GetCallerIdentity", Outcome::Ok, Some(&p)),
    );
    assert_eq!(
        v["requestParameters"]["roleArn"],
        "arn:aws:iam::123456789012:role/R"
    );

    // The worst a client can do: every named parameter at its bound, every list full.
    let big = "x".repeat(10_000);
    let names: Vec<String> = (0..60)
        .flat_map(|i| {
            [
                format!("PolicyArns.member.{i}.arn"),
                format!("Tags.member.{i}.Key"),
                format!("Tags.member.{i}.Value"),
                format!("TransitiveTagKeys.member.{i}"),
            ]
        })
        .chain(
            [
                "RoleArn",
                "RoleSessionName",
                "PrincipalArn",
                "ProviderId",
                "ExternalId",
                "SourceIdentity",
                "SerialNumber",
                "Policy",
                "DurationSeconds",
                "Action",
            ]
            .map(String::from),
        )
        .collect();
    let p = Params::from_pairs(names.iter().map(|n| (n.clone(), big.clone())));
    let mut c = ctx(
        "Other",
        Outcome::Failed {
            code: "InvalidAction",
            message: &big,
        },
        Some(&p),
    );
    c.user_agent = Some(&big);
    let (line, _) = record(&Audit::default(), &c);
    assert!(line.len() < 90_000, "{}", line.len()); // 84,132 bytes measured
}
