//! The IAM API's side of the tests: a server whose directory is in a database (SQLite file or a
//! fresh PostgreSQL database), the demo's IAM administrator, and the AWS CLI and SDK as clients.

use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use idbroker::clock::SystemClock;

/// The demo IAM administrator's development-only key (`iam:*`).
pub const IAM_ADMIN: (&str, &str) = (
    "AKIAIDBROKERIAMADM01",
    "idbrokerIamAdminSecretDoNotUseAnywhere00",
);
/// The demo user's key (no IAM permission; may assume the demo roles).
pub const DEMO_USER: (&str, &str) = (
    "AKIAIDBROKERDEMO0001",
    "idbrokerDemoSecretKeyDoNotUseAnywhere000",
);

/// A server in-process on loopback whose directory is at `url` (`None`: the demo file's,
/// read-only), sealing with a fixed test key, on the real clock (the AWS CLI signs with it).
pub async fn server(url: Option<&str>) -> (String, idbroker::state::AppState) {
    let mut config = super::demo();
    config.directory_store = url.map(|u| idbroker::config::DirectoryStoreConfig {
        url: u.to_owned(),
        poll: Duration::from_millis(100),
    });
    config.sealing = Some(idbroker::config::SealingConfig {
        active_key_id: "test".into(),
        keys: [("test".to_owned(), zeroize::Zeroizing::new(vec![7u8; 32]))].into(),
    });
    let state = idbroker::build_state(config, Arc::new(SystemClock))
        .await
        .unwrap();
    let url = super::start(state.clone()).await;
    (url, state)
}

/// A fresh SQLite file's URL (removed first if a previous run left it).
pub fn sqlite_file(name: &str) -> (String, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("idbroker-{name}-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    (format!("sqlite://{}", path.display()), path)
}

/// A fresh PostgreSQL database (`IDBROKER_TEST_POSTGRES`, default
/// `postgres://postgres@127.0.0.1:5432/postgres`, is where it is created); `None` when no
/// PostgreSQL answers (the caller skips, or fails under CI).
pub async fn postgres_database(name: &str) -> Option<String> {
    use sqlx::Connection;
    let admin = std::env::var("IDBROKER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn =
        match tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&admin))
            .await
        {
            Ok(Ok(c)) => c,
            _ => return None,
        };
    let db = format!("idbroker_{name}_{}", std::process::id());
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some(format!("{base}/{db}"))
}

/// Is the AWS CLI here?
pub fn have_aws_cli() -> bool {
    Command::new("aws").arg("--version").output().is_ok()
}

/// `aws --endpoint-url URL ARGS... --output json` with `key` (no profile, no config file).
pub fn aws(url: &str, key: (&str, &str), args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("idbroker-aws-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    Command::new("aws")
        .arg("--endpoint-url")
        .arg(url)
        .args(args)
        .args(["--output", "json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_ACCESS_KEY_ID", key.0)
        .env("AWS_SECRET_ACCESS_KEY", key.1)
        .output()
        .unwrap()
}

/// The JSON an `aws` call printed (it must have succeeded).
pub fn ok(out: Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The error code an `aws` call failed with (`An error occurred (CODE) when calling ...`).
pub fn code(out: Output) -> String {
    assert!(
        !out.status.success(),
        "aws succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    err.split_once("An error occurred (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(c, _)| c.to_owned())
        .unwrap_or_else(|| panic!("no error code in: {err}"))
}

/// An aws-sdk-iam client for `url` with `key`.
pub fn iam_sdk(url: &str, key: (&str, &str)) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .endpoint_url(url)
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            key.0, key.1, None, None, "test",
        ))
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}
