//! Virtual MFA devices and MFA in STS (issue 20), end to end: devices made and enabled through
//! the IAM API by the demo user for himself (the demo's `ManageOwnMFA` policy), codes from an
//! independent implementation (Debian's `oathtool`), and STS answering as AWS: wrong, reused or
//! missing codes, a role that requires MFA, MFA carried through role chaining and aged by
//! `aws:MultiFactorAuthAge`, a code used once across two replicas (PostgreSQL and Redis), and
//! the unmodified AWS CLI (create-virtual-mfa-device, enable-mfa-device, get-session-token, an
//! assume-role profile with `mfa_serial`).
//!
//! The in-process tests run on a `ManualClock` (moved, never slept on); the AWS CLI's on the
//! real clock, taking its codes right after a 30-second step began.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_iam::error::ProvideErrorMetadata as _;
use aws_smithy_async::time::StaticTimeSource;
use common::iam::{DEMO_USER, IAM_ADMIN};
use idbroker::clock::{Clock, ManualClock, Stopwatch, SystemClock};

const ACCOUNT: &str = "123456789012";
const SERIAL: &str = "arn:aws:iam::123456789012:mfa/demo";
const MFA_ADMIN: &str = "arn:aws:iam::123456789012:role/demo/MfaAdmin";
const INVALID_CODE: &str = "MultiFactorAuthentication failed with invalid MFA one time pass code.";
const UNKNOWN_DEVICE: &str = "MultiFactorAuthentication failed, unable to validate MFA code.";

/// Is Debian's oathtool here (the codes' independent implementation)?
fn have_oathtool() -> bool {
    Command::new("oathtool").arg("--version").output().is_ok()
}

/// The code `oathtool` gives for the Base32 `seed` at the start of 30-second step `step`.
fn oath(seed: &str, step: i64) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", "-N", &format!("@{}", step * 30), seed])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(code.len(), 6, "{code}");
    code
}

fn step_of(t: SystemTime) -> i64 {
    i64::try_from(t.duration_since(UNIX_EPOCH).unwrap().as_secs() / 30).unwrap()
}

fn iam_at(
    url: &str,
    key: (&str, &str),
    token: Option<&str>,
    at: SystemTime,
) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .endpoint_url(url)
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            key.0,
            key.1,
            token.map(str::to_owned),
            None,
            "test",
        ))
        .time_source(StaticTimeSource::new(at))
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

/// Temporary credentials as the SDK answers them.
#[derive(Clone, Debug)]
struct Temp {
    id: String,
    secret: String,
    token: String,
}

impl Temp {
    fn of(c: &aws_sdk_sts::types::Credentials) -> Temp {
        Temp {
            id: c.access_key_id().to_owned(),
            secret: c.secret_access_key().to_owned(),
            token: c.session_token().to_owned(),
        }
    }

    fn sts(&self, url: &str, at: SystemTime) -> aws_sdk_sts::Client {
        common::sdk_with_keys(url, &self.id, &self.secret, Some(self.token.clone()), at)
    }
}

fn long_term(url: &str, at: SystemTime) -> aws_sdk_sts::Client {
    common::sdk_with_keys(url, DEMO_USER.0, DEMO_USER.1, None, at)
}

/// The error code and message of a failed STS call.
fn sts_err<E: aws_sdk_sts::error::ProvideErrorMetadata>(
    r: Result<impl std::fmt::Debug, aws_sdk_sts::error::SdkError<E>>,
) -> (String, String) {
    let e = r.expect_err("the call succeeded");
    let s = e.as_service_error().expect("a service error");
    (
        s.code().unwrap_or("?").to_owned(),
        s.message().unwrap_or("?").to_owned(),
    )
}

async fn gst(
    client: &aws_sdk_sts::Client,
    mfa: Option<(&str, &str)>,
) -> Result<
    aws_sdk_sts::operation::get_session_token::GetSessionTokenOutput,
    aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::get_session_token::GetSessionTokenError>,
> {
    let mut r = client.get_session_token();
    if let Some((serial, code)) = mfa {
        r = r.serial_number(serial).token_code(code);
    }
    r.send().await
}

async fn assume(
    client: &aws_sdk_sts::Client,
    role: &str,
    mfa: Option<(&str, &str)>,
) -> Result<
    aws_sdk_sts::operation::assume_role::AssumeRoleOutput,
    aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError>,
> {
    let mut r = client.assume_role().role_arn(role).role_session_name("mfa");
    if let Some((serial, code)) = mfa {
        r = r.serial_number(serial).token_code(code);
    }
    r.send().await
}

/// The demo user makes the virtual device `demo` for himself: its Base32 seed.
async fn create_device(iam: &aws_sdk_iam::Client) -> String {
    let out = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("demo")
        .send()
        .await
        .unwrap();
    let d = out.virtual_mfa_device().unwrap();
    assert_eq!(d.serial_number(), SERIAL);
    let png = d.qr_code_png().unwrap().as_ref();
    assert_eq!(png.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]));
    String::from_utf8(d.base32_string_seed().unwrap().as_ref().to_vec()).unwrap()
}

async fn enable(iam: &aws_sdk_iam::Client, user: &str, codes: (&str, &str)) -> Result<(), String> {
    iam.enable_mfa_device()
        .user_name(user)
        .serial_number(SERIAL)
        .authentication_code1(codes.0)
        .authentication_code2(codes.1)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.code().unwrap_or("?").to_owned())
}

/// A demo server on a manual clock set at the start of a step (plus 5 s): the clock and the
/// state.
async fn manual_server() -> (String, Arc<ManualClock>, idbroker::state::AppState) {
    let t0 = UNIX_EPOCH
        + Duration::from_secs(
            (SystemClock
                .now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
                / 30)
                * 30
                + 5,
        );
    let clock = Arc::new(ManualClock::new(t0));
    let state = idbroker::build_state(common::demo(), clock.clone())
        .await
        .unwrap();
    (common::start(state.clone()).await, clock, state)
}

#[actix_web::test]
async fn oathtool_and_idbroker_agree_on_codes() {
    if !have_oathtool() {
        return common::skip_or_fail("oathtool is not installed (apt-get install oathtool)");
    }
    let new = idbroker::mfa::provision::new_device("x", ACCOUNT).unwrap();
    for step in [0i64, 1, 37_037_036, 59_000_000, 1_000_000_000] {
        let ours = idbroker::mfa::totp::code_at(&new.seed, step).unwrap();
        assert_eq!(
            std::str::from_utf8(&ours).unwrap(),
            oath(&new.base32, step),
            "step {step}"
        );
    }
}

#[actix_web::test]
async fn devices_codes_and_sessions_through_the_sdks() {
    if !have_oathtool() {
        return common::skip_or_fail("oathtool is not installed (apt-get install oathtool)");
    }
    let (url, clock, state) = manual_server().await;
    let t0 = clock.now();
    let t = step_of(t0);
    let demo_iam = iam_at(&url, DEMO_USER, None, t0);

    // The demo user manages his own device only.
    let seed = create_device(&demo_iam).await;
    assert_eq!(seed.len(), 64);
    let other = demo_iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("someone-else")
        .send()
        .await
        .unwrap_err();
    assert_eq!(other.code(), Some("AccessDenied"));
    assert_eq!(
        enable(
            &demo_iam,
            "iam-admin",
            (&oath(&seed, t), &oath(&seed, t + 1))
        )
        .await,
        Err("AccessDenied".into())
    );
    // Wrong codes, then the current and the next one.
    assert_eq!(
        enable(&demo_iam, "demo", (&oath(&seed, t), &oath(&seed, t + 2))).await,
        Err("InvalidAuthenticationCode".into())
    );
    enable(&demo_iam, "demo", (&oath(&seed, t), &oath(&seed, t + 1)))
        .await
        .unwrap();
    let listed = demo_iam.list_mfa_devices().send().await.unwrap();
    assert_eq!(listed.mfa_devices().len(), 1);
    assert_eq!(listed.mfa_devices()[0].serial_number(), SERIAL);
    let virt = iam_at(&url, IAM_ADMIN, None, t0)
        .list_virtual_mfa_devices()
        .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Assigned)
        .send()
        .await
        .unwrap();
    assert_eq!(
        virt.virtual_mfa_devices()[0].user().unwrap().user_name(),
        "demo"
    );

    let sts = long_term(&url, t0);
    // The enabling codes are spent; a code from the step before is still in the window.
    let (code, message) = sts_err(gst(&sts, Some((SERIAL, &oath(&seed, t)))).await);
    assert_eq!(code, "AccessDenied");
    assert!(message.starts_with(INVALID_CODE), "{message}");
    assert_eq!(
        sts_err(gst(&sts, Some((SERIAL, &oath(&seed, t + 1)))).await).0,
        "AccessDenied"
    );
    let with_mfa = Temp::of(
        gst(&sts, Some((SERIAL, &oath(&seed, t - 1))))
            .await
            .unwrap()
            .credentials()
            .unwrap(),
    );
    // Once only.
    let (code, message) = sts_err(gst(&sts, Some((SERIAL, &oath(&seed, t - 1)))).await);
    assert_eq!(
        (code.as_str(), message.starts_with(INVALID_CODE)),
        ("AccessDenied", true)
    );
    // A code two steps away, a made-up code, a serial number of no device of his.
    let (code, _) = sts_err(gst(&sts, Some((SERIAL, &oath(&seed, t + 3)))).await);
    assert_eq!(code, "AccessDenied");
    let (code, message) = sts_err(
        gst(
            &sts,
            Some(("arn:aws:iam::123456789012:mfa/nobody", "123456")),
        )
        .await,
    );
    assert_eq!(code, "AccessDenied");
    assert!(message.starts_with(UNKNOWN_DEVICE), "{message}");
    // One without the other, or a code that is no code: ValidationError.
    let half = sts.get_session_token().serial_number(SERIAL).send().await;
    assert_eq!(sts_err(half).0, "ValidationError");
    let half = sts.get_session_token().token_code("123456").send().await;
    assert_eq!(sts_err(half).0, "ValidationError");
    assert_eq!(
        sts_err(gst(&sts, Some((SERIAL, "12345"))).await).0,
        "ValidationError"
    );
    // Without MFA GetSessionToken still answers, and that session has no MFA.
    let without = Temp::of(gst(&sts, None).await.unwrap().credentials().unwrap());

    // A role that requires MFA: refused without, allowed with.
    assert_eq!(
        sts_err(assume(&sts, MFA_ADMIN, None).await).0,
        "AccessDenied"
    );
    assert_eq!(
        sts_err(assume(&without.sts(&url, t0), MFA_ADMIN, None).await).0,
        "AccessDenied"
    );
    let role = Temp::of(
        assume(&with_mfa.sts(&url, t0), MFA_ADMIN, None)
            .await
            .unwrap()
            .credentials()
            .unwrap(),
    );
    // Chained on from the role session: MFA, and its time, carried along.
    let chained = Temp::of(
        assume(&role.sts(&url, t0), MFA_ADMIN, None)
            .await
            .unwrap()
            .credentials()
            .unwrap(),
    );
    let record = |id: &str| {
        let state = state.clone();
        let id = idbroker_session::AccessKeyId::parse(id).unwrap();
        async move {
            state
                .store
                .get(&id, idbroker::clock::epoch(t0))
                .await
                .unwrap()
                .unwrap()
        }
    };
    for id in [&with_mfa.id, &role.id, &chained.id] {
        let s = record(id).await;
        assert!(s.mfa, "{id}");
        assert_eq!(s.mfa_authenticated_at, Some(idbroker::clock::epoch(t0)));
    }
    let s = record(&without.id).await;
    assert!(!s.mfa && s.mfa_authenticated_at.is_none());

    // The long-term key with a code of its own, a step later.
    clock.advance(Duration::from_secs(30));
    let t1 = clock.now();
    let direct = assume(
        &long_term(&url, t1),
        MFA_ADMIN,
        Some((SERIAL, &oath(&seed, t + 2))),
    )
    .await
    .unwrap();
    let direct = record(direct.credentials().unwrap().access_key_id()).await;
    assert_eq!(
        direct.mfa_authenticated_at,
        Some(idbroker::clock::epoch(t1))
    );
    // A role session has no device of its own.
    let (code, message) = sts_err(
        assume(
            &role.sts(&url, t1),
            MFA_ADMIN,
            Some((SERIAL, &oath(&seed, t + 3))),
        )
        .await,
    );
    assert_eq!(code, "AccessDenied");
    assert!(message.starts_with(UNKNOWN_DEVICE), "{message}");

    // IAM from GetSessionToken's credentials: with MFA only.
    assert_eq!(
        iam_at(
            &url,
            (&without.id, &without.secret),
            Some(&without.token),
            t1
        )
        .list_mfa_devices()
        .send()
        .await
        .unwrap_err()
        .code(),
        Some("AccessDenied")
    );
    iam_at(
        &url,
        (&with_mfa.id, &with_mfa.secret),
        Some(&with_mfa.token),
        t1,
    )
    .list_mfa_devices()
    .send()
    .await
    .unwrap();

    // aws:MultiFactorAuthAge in a later decision: a role for MFA less than 10 minutes old.
    let admin = iam_at(&url, IAM_ADMIN, None, t1);
    admin
        .create_role()
        .role_name("FreshMfa")
        .path("/demo/")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"600"}}}]}"#,
        )
        .send()
        .await
        .unwrap();
    let fresh = "arn:aws:iam::123456789012:role/demo/FreshMfa";
    assume(&with_mfa.sts(&url, t1), fresh, None).await.unwrap();
    assume(&role.sts(&url, t1), fresh, None).await.unwrap();
    clock.advance(Duration::from_secs(600));
    let late = clock.now();
    assert_eq!(
        sts_err(assume(&with_mfa.sts(&url, late), fresh, None).await).0,
        "AccessDenied"
    );
    assert_eq!(
        sts_err(assume(&role.sts(&url, late), fresh, None).await).0,
        "AccessDenied"
    );
    // MfaAdmin asks for MFA, not its age: still in.
    assume(&with_mfa.sts(&url, late), MFA_ADMIN, None)
        .await
        .unwrap();

    // Deactivated and deleted: the device signs nobody in.
    let demo_iam = iam_at(&url, DEMO_USER, None, late);
    let in_use = demo_iam
        .delete_virtual_mfa_device()
        .serial_number(SERIAL)
        .send()
        .await
        .unwrap_err();
    assert_eq!(in_use.code(), Some("DeleteConflict"));
    demo_iam
        .deactivate_mfa_device()
        .user_name("demo")
        .serial_number(SERIAL)
        .send()
        .await
        .unwrap();
    demo_iam
        .delete_virtual_mfa_device()
        .serial_number(SERIAL)
        .send()
        .await
        .unwrap();
    let now_step = step_of(late);
    let (code, message) = sts_err(
        gst(
            &long_term(&url, late),
            Some((SERIAL, &oath(&seed, now_step))),
        )
        .await,
    );
    assert_eq!(code, "AccessDenied");
    assert!(message.starts_with(UNKNOWN_DEVICE), "{message}");
}

#[actix_web::test]
async fn a_code_is_used_once_across_two_replicas() {
    if !have_oathtool() {
        return common::skip_or_fail("oathtool is not installed (apt-get install oathtool)");
    }
    let Some(db) = common::iam::postgres_database("mfa_replicas").await else {
        return common::skip_or_fail(
            "no PostgreSQL answers on 127.0.0.1:5432 (IDBROKER_TEST_POSTGRES)",
        );
    };
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!(
        "idbroker-mfa-test-{}-{}:",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    );
    let t0 = UNIX_EPOCH
        + Duration::from_secs(
            (SystemClock
                .now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
                / 30)
                * 30
                + 5,
        );
    let clock = Arc::new(ManualClock::new(t0));
    let replica = |clock: Arc<ManualClock>| {
        let (db, redis, prefix) = (db.clone(), redis.clone(), prefix.clone());
        async move {
            let mut config = common::demo();
            config.store = idbroker::config::StoreConfig::Redis { url: redis, prefix };
            config.directory_store = Some(idbroker::config::DirectoryStoreConfig {
                url: db,
                poll: Duration::from_millis(100),
            });
            config.sealing = Some(idbroker::config::SealingConfig {
                active_key_id: "test".into(),
                keys: [("test".to_owned(), zeroize::Zeroizing::new(vec![7u8; 32]))].into(),
            });
            let state = idbroker::build_state(config, clock).await.unwrap();
            (common::start(state.clone()).await, state)
        }
    };
    let (a, _a_state) = replica(clock.clone()).await;
    let (b, b_state) = replica(clock.clone()).await;
    let t = step_of(t0);

    let seed = create_device(&iam_at(&a, DEMO_USER, None, t0)).await;
    enable(
        &iam_at(&a, DEMO_USER, None, t0),
        "demo",
        (&oath(&seed, t), &oath(&seed, t + 1)),
    )
    .await
    .unwrap();
    // B has the enabled device within a second.
    let started = Stopwatch::start();
    while b_state
        .directory()
        .mfa_device(SERIAL)
        .is_none_or(|d| d.user_arn.is_none())
    {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "not on B within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The enabling codes (spent on A) are refused by B; a code used on A is refused by B.
    let (code, message) =
        sts_err(gst(&long_term(&b, t0), Some((SERIAL, &oath(&seed, t + 1)))).await);
    assert_eq!(code, "AccessDenied");
    assert!(message.starts_with(INVALID_CODE), "{message}");
    gst(&long_term(&a, t0), Some((SERIAL, &oath(&seed, t - 1))))
        .await
        .unwrap();
    assert_eq!(
        sts_err(gst(&long_term(&b, t0), Some((SERIAL, &oath(&seed, t - 1)))).await).0,
        "AccessDenied"
    );

    // One code sent to both at once: exactly one session.
    clock.advance(Duration::from_secs(30));
    let t1 = clock.now();
    let code = oath(&seed, t + 2);
    let (sts_a, sts_b) = (long_term(&a, t1), long_term(&b, t1));
    let (ra, rb) = tokio::join!(
        gst(&sts_a, Some((SERIAL, &code))),
        gst(&sts_b, Some((SERIAL, &code))),
    );
    assert_eq!(
        [ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{ra:?} {rb:?}"
    );
}

/// `aws ARGS...` against `url` with `env` (credentials, profile, HOME) and `stdin`.
fn aws(
    url: &str,
    home: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("aws")
        .args(args)
        .args(["--output", "json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        // Every client of the CLI, the assume-role provider's STS client too.
        .env("AWS_ENDPOINT_URL", url)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(out: std::process::Output) -> serde_json::Value {
    common::iam::ok(out)
}

/// Sleep (the real clock) until `step` has begun, plus a second.
fn wait_for_step(step: i64) {
    let start = UNIX_EPOCH + Duration::from_secs(u64::try_from(step * 30).unwrap() + 1);
    if let Ok(d) = start.duration_since(SystemClock.now()) {
        std::thread::sleep(d);
    }
}

#[actix_web::test]
async fn the_aws_cli_enables_a_device_and_gets_mfa_sessions() {
    if !have_oathtool() {
        return common::skip_or_fail("oathtool is not installed (apt-get install oathtool)");
    }
    if !common::iam::have_aws_cli() {
        return common::skip_or_fail("the AWS CLI is not installed (pip install awscli)");
    }
    let state = idbroker::build_state(common::demo(), Arc::new(SystemClock))
        .await
        .unwrap();
    let url = common::start(state).await;
    let home = std::env::temp_dir().join(format!("idbroker-mfa-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    let keys = [
        ("AWS_ACCESS_KEY_ID", DEMO_USER.0),
        ("AWS_SECRET_ACCESS_KEY", DEMO_USER.1),
    ];
    let seed_file = home.join("seed.txt");
    let seed_path = seed_file.to_str().unwrap().to_owned();
    let url2 = url.clone();
    let home2 = home.clone();
    let seed = tokio::task::spawn_blocking(move || {
        ok(aws(
            &url2,
            &home2,
            &keys,
            &[
                "iam",
                "create-virtual-mfa-device",
                "--virtual-mfa-device-name",
                "demo",
                "--outfile",
                &seed_path,
                "--bootstrap-method",
                "Base32StringSeed",
            ],
            "",
        ));
        std::fs::read_to_string(&seed_path).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(seed.len(), 64, "{seed}");

    let url2 = url.clone();
    let home2 = home.clone();
    tokio::task::spawn_blocking(move || {
        // Codes taken early in a step: nothing below crosses into the step after next.
        let mut t = step_of(SystemClock.now());
        if SystemClock.now().duration_since(UNIX_EPOCH).unwrap().as_secs() % 30 > 15 {
            t += 1;
            wait_for_step(t);
        }
        ok(aws(
            &url2,
            &home2,
            &keys,
            &[
                "iam",
                "enable-mfa-device",
                "--user-name",
                "demo",
                "--serial-number",
                SERIAL,
                "--authentication-code1",
                &oath(&seed, t - 1),
                "--authentication-code2",
                &oath(&seed, t),
            ],
            "",
        ));
        // get-session-token with the next code: credentials with MFA; the same code again: no.
        let gst = |code: &str| {
            aws(
                &url2,
                &home2,
                &keys,
                &["sts", "get-session-token", "--serial-number", SERIAL, "--token-code", code],
                "",
            )
        };
        let session = ok(gst(&oath(&seed, t + 1)));
        let c = &session["Credentials"];
        let out = gst(&oath(&seed, t + 1));
        assert_eq!(common::iam::code(out), "AccessDenied");
        // With those credentials, the role that requires MFA.
        let temp = [
            ("AWS_ACCESS_KEY_ID", c["AccessKeyId"].as_str().unwrap()),
            ("AWS_SECRET_ACCESS_KEY", c["SecretAccessKey"].as_str().unwrap()),
            ("AWS_SESSION_TOKEN", c["SessionToken"].as_str().unwrap()),
        ];
        let assumed = ok(aws(
            &url2,
            &home2,
            &temp,
            &["sts", "assume-role", "--role-arn", MFA_ADMIN, "--role-session-name", "cli"],
            "",
        ));
        assert_eq!(
            assumed["AssumedRoleUser"]["Arn"],
            "arn:aws:sts::123456789012:assumed-role/MfaAdmin/cli"
        );
        // The long-term key alone: refused.
        let out = aws(
            &url2,
            &home2,
            &keys,
            &["sts", "assume-role", "--role-arn", MFA_ADMIN, "--role-session-name", "cli"],
            "",
        );
        assert_eq!(common::iam::code(out), "AccessDenied");

        // An assume-role profile with mfa_serial: the CLI asks for the code on its terminal
        // and reads it from stdin; the next unused code is the one after t + 1.
        std::fs::write(
            home2.join(".aws/config"),
            format!(
                "[profile base]\naws_access_key_id = {}\naws_secret_access_key = {}\n\n\
                 [profile mfa]\nrole_arn = {MFA_ADMIN}\nsource_profile = base\nmfa_serial = {SERIAL}\nrole_session_name = profiled\n",
                DEMO_USER.0, DEMO_USER.1
            ),
        )
        .unwrap();
        wait_for_step(t + 1);
        let out = aws(
            &url2,
            &home2,
            &[("AWS_PROFILE", "mfa")],
            &["sts", "get-caller-identity"],
            &format!("{}\n", oath(&seed, t + 2)),
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let who = ok(out);
        assert_eq!(
            who["Arn"], "arn:aws:sts::123456789012:assumed-role/MfaAdmin/profiled",
            "{stderr}"
        );
        assert!(stderr.contains("Enter MFA code for"), "{stderr}");
    })
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&home);
}
