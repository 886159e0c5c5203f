//! Configuration loading: the demo and reference files load; every mistake is reported with the
//! file, the key and the problem; environment overrides apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use idbroker::config::{Config, CpuScheduling, StoreConfig};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// When these configurations are loaded: 2026-11-28T12:00:00Z, inside the validity of the demo
/// SAML provider's certificate. The time is the caller's: loading reads no clock.
fn at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_867_200)
}

fn no_env(_: &str) -> Option<String> {
    None
}

const BASE: &str = r#"
account_id = "123456789012"
[[managed_policies]]
name = "P"
document = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}'
[[users]]
name = "u"
policies = ["arn:aws:iam::123456789012:policy/P"]
[[users.access_keys]]
id = "AKIAAAAAAAAAAAAAAAAA"
secret = { env = "U_SECRET" }
[[roles]]
name = "R"
path = "/team/"
trust_policy = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}'
"#;

fn env_with_secret(k: &str) -> Option<String> {
    (k == "U_SECRET").then(|| "0123456789abcdef0123456789abcdef01234567".to_owned())
}

fn load(text: &str) -> Result<Config, String> {
    Config::from_toml(text, Path::new("test.toml"), &env_with_secret, at())
        .map_err(|e| e.to_string())
}

#[test]
fn demo_config_loads_and_warns_about_clear_secrets() {
    let cfg =
        Config::load_with_env(&root().join("config/demo/idbroker.toml"), &no_env, at()).unwrap();
    assert_eq!(cfg.directory.account_id, "123456789012");
    assert_eq!(cfg.store, StoreConfig::Memory);
    assert!(cfg.warnings.iter().any(|w| w.contains("in clear")));
    let (user, key) = cfg.directory.access_key("AKIAIDBROKERDEMO0001").unwrap();
    assert_eq!(user.arn, "arn:aws:iam::123456789012:user/demo");
    assert!(key.active);
    // Group policies are inherited (developers: AssumeDemoRoles and ManageOwnMFA).
    assert_eq!(user.policies.len(), 2);
    let role = cfg
        .directory
        .role("arn:aws:iam::123456789012:role/demo/ReportsReader")
        .unwrap();
    assert_eq!(role.max_session_duration, 43200);
    assert!(role.role_id.starts_with("AROA") && role.role_id.len() == 20);
    assert!(user.user_id.starts_with("AIDA") && user.user_id.len() == 20);
    // Debug output never shows a secret.
    assert!(!format!("{key:?}").contains("idbrokerDemoSecret"));
}

#[test]
fn the_load_time_is_the_callers() {
    // The demo provider's certificate is valid from 2026-11-28T10:14:06Z: loaded at `at()` it
    // is in its validity period, loaded a day earlier it is not (a warning, not an error).
    let file = root().join("config/demo/idbroker.toml");
    let outside = |w: &String| w.contains("outside its validity period");
    let cfg = Config::load_with_env(&file, &no_env, at()).unwrap();
    assert!(!cfg.warnings.iter().any(outside), "{:?}", cfg.warnings);
    let day_before = at() - Duration::from_secs(86_400);
    let cfg = Config::load_with_env(&file, &no_env, day_before).unwrap();
    assert!(cfg.warnings.iter().any(outside), "{:?}", cfg.warnings);
}

#[test]
fn reference_config_loads_with_its_secret_from_the_environment() {
    let file = root().join("config/idbroker.toml");
    let err = Config::load_with_env(&file, &no_env, at())
        .unwrap_err()
        .to_string();
    assert!(err.contains("users[0].access_keys[0].secret"), "{err}");
    assert!(err.contains("IDBROKER_CI_BOT_SECRET"), "{err}");
    let env = |k: &str| (k == "IDBROKER_CI_BOT_SECRET").then(|| "x".repeat(40));
    let cfg = Config::load_with_env(&file, &env, at()).unwrap();
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    let (_, key) = cfg.directory.access_key("AKIAEXAMPLEREFCONF01").unwrap();
    assert!(!key.active);
}

#[test]
fn base_loads() {
    let cfg = load(BASE).unwrap();
    assert!(cfg
        .directory
        .role("arn:aws:iam::123456789012:role/team/R")
        .is_some());
    assert!(cfg.directory.role_by_name("R").is_some());
    assert!(cfg
        .directory
        .managed_policy("arn:aws:iam::123456789012:policy/P")
        .is_some());
}

#[test]
fn every_mistake_names_file_key_and_problem() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "account_id = \"123\"\n",
            "account_id",
            "twelve digits",
        ),
        ("unknown_key = 1\naccount_id = \"123456789012\"\n", "line 1", "unknown field"),
        (
            &BASE.replace("\"Action\":\"sts:AssumeRole\"", "\"Action\":\"AssumeRole\""),
            "roles[0].trust_policy",
            "MalformedPolicyDocument: Actions/Conditions must be prefaced by a vendor",
        ),
        (
            &BASE.replace("policies = [\"arn:aws:iam::123456789012:policy/P\"]", "policies = [\"arn:aws:iam::123456789012:policy/Q\"]"),
            "users[0].policies[0]",
            "no managed policy arn:aws:iam::123456789012:policy/Q",
        ),
        (
            &BASE.replace("AKIAAAAAAAAAAAAAAAAA", "ASIAAAAAAAAAAAAAAAAA"),
            "users[0].access_keys[0].id",
            "AKIA",
        ),
        (
            &BASE.replace("U_SECRET", "NOT_SET"),
            "users[0].access_keys[0].secret",
            "NOT_SET is not set",
        ),
        (
            &format!("{BASE}max_session_duration = 60\n"),
            "roles[0].max_session_duration",
            "3600..43200",
        ),
        (
            &format!("{BASE}\n[store]\nkind = \"redis\"\n"),
            "store.url",
            "needs url or nodes",
        ),
        (
            &format!("{BASE}\n[sealing]\nactive_key_id = \"k\"\nkeys = {{ k = {{ value = \"c2hvcnQ=\" }} }}\n"),
            "sealing.keys.k",
            "32 bytes",
        ),
        (
            &format!("{BASE}\n[server]\nlisten = \"nowhere\"\n"),
            "server.listen",
            "invalid socket address",
        ),
        (
            &BASE.replace(
                "document = '",
                "document = '{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:x\",\"Resource\":\"*\"}}' #",
            ),
            "managed_policies[0].document",
            "Policy document must be version 2012-10-17 or greater.",
        ),
    ];
    for (text, key, problem) in cases {
        let err = load(text).expect_err(key);
        assert!(err.starts_with("test.toml: "), "{err}");
        assert!(err.contains(key), "expected key {key} in {err}");
        assert!(err.contains(problem), "expected {problem:?} in {err}");
    }
}

#[test]
fn environment_overrides() {
    let env = |k: &str| match k {
        "IDBROKER_STORE_URL" => Some("redis://127.0.0.1:6379/3".to_owned()),
        "IDBROKER_LISTEN" => Some("0.0.0.0:9999".to_owned()),
        other => env_with_secret(other),
    };
    let cfg = Config::from_toml(BASE, Path::new("t.toml"), &env, at()).unwrap();
    assert_eq!(
        cfg.store,
        StoreConfig::Redis {
            url: "redis://127.0.0.1:6379/3".into(),
            prefix: "idbroker:".into()
        }
    );
    assert_eq!(cfg.listen, "0.0.0.0:9999");
}

/// `server.cpu_scheduling`: batch by default; the file and `IDBROKER_CPU_SCHEDULING` set it; a
/// value that is neither `batch` nor `normal` is refused, from either place.
#[test]
fn cpu_scheduling_from_file_and_environment() {
    let path = Path::new("t.toml");
    let cfg = Config::from_toml(BASE, path, &env_with_secret, at()).unwrap();
    assert_eq!(cfg.cpu_scheduling, CpuScheduling::Batch);
    let normal = format!("{BASE}\n[server]\ncpu_scheduling = \"normal\"\n");
    let cfg = Config::from_toml(&normal, path, &env_with_secret, at()).unwrap();
    assert_eq!(cfg.cpu_scheduling, CpuScheduling::Normal);
    let env = |k: &str| match k {
        "IDBROKER_CPU_SCHEDULING" => Some("batch".to_owned()),
        other => env_with_secret(other),
    };
    let cfg = Config::from_toml(&normal, path, &env, at()).unwrap();
    assert_eq!(cfg.cpu_scheduling, CpuScheduling::Batch);
    let bad = format!("{BASE}\n[server]\ncpu_scheduling = \"fifo\"\n");
    assert!(Config::from_toml(&bad, path, &env_with_secret, at()).is_err());
    let env = |k: &str| match k {
        "IDBROKER_CPU_SCHEDULING" => Some("realtime".to_owned()),
        other => env_with_secret(other),
    };
    let err = Config::from_toml(BASE, path, &env, at())
        .unwrap_err()
        .to_string();
    assert!(err.contains("server.cpu_scheduling"), "{err}");
    assert!(err.contains("realtime"), "{err}");
}

#[test]
fn store_options_from_file_and_environment() {
    let path = Path::new("t.toml");
    let cfg = Config::from_toml(BASE, path, &env_with_secret, at()).unwrap();
    assert_eq!(
        cfg.store_options.timeout,
        std::time::Duration::from_millis(500)
    );
    assert_eq!(cfg.store_options.min_replicas, 0);
    assert!(!cfg.store_options.allow_evicting_policy);
    let text = format!(
        "{BASE}\n[store]\ntimeout_ms = 1500\nmin_replicas = 1\nallow_evicting_policy = true\n"
    );
    let cfg = Config::from_toml(&text, path, &env_with_secret, at()).unwrap();
    assert_eq!(
        cfg.store_options.timeout,
        std::time::Duration::from_millis(1500)
    );
    assert_eq!(cfg.store_options.min_replicas, 1);
    assert!(cfg.store_options.allow_evicting_policy);
    let env = |k: &str| match k {
        "IDBROKER_STORE_TIMEOUT_MS" => Some("250".to_owned()),
        "IDBROKER_STORE_MIN_REPLICAS" => Some("2".to_owned()),
        "IDBROKER_STORE_ALLOW_EVICTING_POLICY" => Some("false".to_owned()),
        other => env_with_secret(other),
    };
    let cfg = Config::from_toml(&text, path, &env, at()).unwrap();
    assert_eq!(
        cfg.store_options.timeout,
        std::time::Duration::from_millis(250)
    );
    assert_eq!(cfg.store_options.min_replicas, 2);
    assert!(!cfg.store_options.allow_evicting_policy);
    for bad in ["timeout_ms = 0", "timeout_ms = 600000", "min_replicas = 99"] {
        let text = format!("{BASE}\n[store]\n{bad}\n");
        let err = Config::from_toml(&text, path, &env_with_secret, at())
            .unwrap_err()
            .to_string();
        assert!(err.contains("store."), "{bad}: {err}");
    }
    let env = |k: &str| match k {
        "IDBROKER_STORE_ALLOW_EVICTING_POLICY" => Some("yes".to_owned()),
        other => env_with_secret(other),
    };
    let err = Config::from_toml(BASE, path, &env, at())
        .unwrap_err()
        .to_string();
    assert!(err.contains("store.allow_evicting_policy"), "{err}");
}

#[test]
fn the_store_url_from_the_environment_wins_over_a_memory_store_in_the_file() {
    // Regression: IDBROKER_STORE_URL used to be ignored when the file said kind = "memory"
    // (the demo config does), so a benchmark meant for Redis ran on the in-memory store.
    let text = format!("{BASE}\n[store]\nkind = \"memory\"\n");
    let env = |k: &str| match k {
        "IDBROKER_STORE_URL" => Some("redis://127.0.0.1:6379/4".to_owned()),
        other => env_with_secret(other),
    };
    let cfg = Config::from_toml(&text, Path::new("t.toml"), &env, at()).unwrap();
    assert_eq!(
        cfg.store,
        StoreConfig::Redis {
            url: "redis://127.0.0.1:6379/4".into(),
            prefix: "idbroker:".into()
        }
    );
    // In the file alone, a URL beside kind = "memory" is a mistake, not something to ignore.
    let text = format!("{BASE}\n[store]\nkind = \"memory\"\nurl = \"redis://127.0.0.1:6379\"\n");
    let err = Config::from_toml(&text, Path::new("t.toml"), &env_with_secret, at())
        .unwrap_err()
        .to_string();
    assert!(err.contains("store.kind"), "{err}");
}

#[test]
fn check_config_command_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_idbroker");
    let ok = std::process::Command::new(bin)
        .args(["check-config", "config/demo/idbroker.toml"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(ok.status.success());
    let bad = std::process::Command::new(bin)
        .args(["check-config", "config/idbroker.toml"])
        .env_remove("IDBROKER_CI_BOT_SECRET")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("config/idbroker.toml: users[0].access_keys[0].secret"),
        "{stderr}"
    );
}
