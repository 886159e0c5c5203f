//! `idbroker directory import|export|diff|apply` as a process, on SQLite and PostgreSQL: the demo
//! and reference configurations' directories go in, come out (secrets sealed) and go in again
//! with no change; a changed file is planned and applied; a database that changed meanwhile is
//! not overwritten.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A configuration naming `url` and a fixed sealing key, in a fresh directory.
fn config_for(url: &str, name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("idbroker-dircli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("idbroker.toml");
    std::fs::write(
        &file,
        format!(
            "account_id = \"123456789012\"\n[directory]\nurl = \"{url}\"\n[sealing]\nactive_key_id = \"k\"\nkeys.k = {{ value = \"{}\" }}\n",
            data_encoding::BASE64.encode(&[9u8; 32])
        ),
    )
    .unwrap();
    (file, dir)
}

fn idbroker(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idbroker"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn round_trip(url: &str, reference_url: &str, name: &str) {
    let (config, dir) = config_for(url, name);
    let config = config.to_str().unwrap().to_owned();
    let demo = root().join("config/demo/idbroker.toml");
    let demo = demo.to_str().unwrap();

    // Export of an empty database: refused, clearly.
    let empty = idbroker(&["directory", "export", "--config", &config], &[]);
    assert!(!empty.status.success(), "{}", text(&empty));
    assert!(
        String::from_utf8_lossy(&empty.stderr).contains("holds no directory"),
        "{}",
        text(&empty)
    );

    let imported = idbroker(&["directory", "import", "--config", &config, demo], &[]);
    assert!(imported.status.success(), "{}", text(&imported));
    // A second import would overwrite: refused.
    let again = idbroker(&["directory", "import", "--config", &config, demo], &[]);
    assert!(!again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds a directory"),
        "{}",
        text(&again)
    );

    // The demo file against what was imported: no change (its secrets are the stored ones).
    let diff = idbroker(&["directory", "diff", "--config", &config, demo], &[]);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));
    assert!(String::from_utf8_lossy(&diff.stdout).contains("No changes."));

    // Export: sealed secrets only; read back in, no change either.
    let export = idbroker(&["directory", "export", "--config", &config], &[]);
    assert!(export.status.success(), "{}", text(&export));
    let exported = String::from_utf8(export.stdout.clone()).unwrap();
    assert!(exported.contains("sealed = \"k:"), "{exported}");
    assert!(
        !exported.contains("idbrokerDemoSecretKey"),
        "a secret in clear: {exported}"
    );
    let export_file = dir.join("export.toml");
    std::fs::write(&export_file, &exported).unwrap();
    let diff = idbroker(
        &[
            "directory",
            "diff",
            "--config",
            &config,
            export_file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));

    // A changed file: planned (exit 2), applied, then no change.
    let changed = dir.join("changed.toml");
    let edited = std::fs::read_to_string(demo).unwrap().replacen(
        "description = \"Read the quarterly reports\"",
        "description = \"Read all reports\"",
        1,
    );
    let edited = edited.replacen(
        "[[groups]]\nname = \"developers\"",
        "[[groups]]\nname = \"builders\"\n\n[[groups]]\nname = \"developers\"",
        1,
    );
    std::fs::write(&changed, edited).unwrap();
    let plan = idbroker(
        &[
            "directory",
            "diff",
            "--config",
            &config,
            changed.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    let out = String::from_utf8_lossy(&plan.stdout);
    assert!(out.contains("+ group /builders"), "{out}");
    assert!(out.contains("~ role /demo/ReportsReader"), "{out}");
    let apply = idbroker(
        &[
            "directory",
            "apply",
            "--config",
            &config,
            changed.to_str().unwrap(),
        ],
        &[],
    );
    assert!(apply.status.success(), "{}", text(&apply));
    let diff = idbroker(
        &[
            "directory",
            "diff",
            "--config",
            &config,
            changed.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));

    // An invalid file is refused whole, nothing written.
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&changed).unwrap().replacen(
            "arn:aws:iam::123456789012:policy/AssumeDemoRoles\"",
            "arn:aws:iam::123456789012:policy/Missing\"",
            1,
        ),
    )
    .unwrap();
    let refused = idbroker(
        &[
            "directory",
            "apply",
            "--config",
            &config,
            bad.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no managed policy"),
        "{}",
        text(&refused)
    );

    // The reference configuration's directory (its secret from the environment) round-trips too.
    let (config2, dir2) = config_for(reference_url, &format!("{name}ref"));
    let _ = dir2;
    let reference = root().join("config/idbroker.toml");
    let env = [(
        "IDBROKER_CI_BOT_SECRET",
        "referenceSecretForTheCiBot0000000000000",
    )];
    let imported = idbroker(
        &[
            "directory",
            "import",
            "--config",
            config2.to_str().unwrap(),
            reference.to_str().unwrap(),
        ],
        &env,
    );
    assert!(imported.status.success(), "{}", text(&imported));
    let diff = idbroker(
        &[
            "directory",
            "diff",
            "--config",
            config2.to_str().unwrap(),
            reference.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));
    let other = [(
        "IDBROKER_CI_BOT_SECRET",
        "anotherSecretForTheCiBot00000000000000",
    )];
    let diff = idbroker(
        &[
            "directory",
            "diff",
            "--config",
            config2.to_str().unwrap(),
            reference.to_str().unwrap(),
        ],
        &other,
    );
    assert_eq!(
        diff.status.code(),
        Some(2),
        "a new secret is a change: {}",
        text(&diff)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn import_export_diff_apply_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("idbroker-dircli-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = |n: &str| {
        format!(
            "sqlite://{}",
            Path::new(&dir).join(format!("{n}.db")).display()
        )
    };
    round_trip(&db("sqlite"), &db("reference"), "sqlite");
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_web::test]
async fn import_export_diff_apply_on_postgresql() {
    let (Some(a), Some(b)) = (
        common::iam::postgres_database("dircli").await,
        common::iam::postgres_database("dircliref").await,
    ) else {
        return common::skip_or_fail(
            "no PostgreSQL answers on 127.0.0.1:5432 (IDBROKER_TEST_POSTGRES)",
        );
    };
    actix_web::rt::task::spawn_blocking(move || round_trip(&a, &b, "dircli"))
        .await
        .unwrap();
}

#[test]
fn a_sqlite_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("idbroker-dircli-mode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("d.db");
    let (config, _) = config_for(&format!("sqlite://{}", db.display()), "mode");
    let demo = root().join("config/demo/idbroker.toml");
    let out = idbroker(
        &[
            "directory",
            "import",
            "--config",
            config.to_str().unwrap(),
            demo.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file's other accounts and identity providers go into the database and come out again
/// (`[[accounts]]` was once left out of what a file is read for).
#[test]
fn other_accounts_and_providers_round_trip() {
    let dir = std::env::temp_dir().join(format!("idbroker-dircli-accts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("a.db");
    let (config, _) = config_for(&format!("sqlite://{}", db.display()), "accts");
    let metadata =
        std::fs::read_to_string(root().join("certs/demo/saml-idp-metadata.xml")).unwrap();
    let file = dir.join("accounts.toml");
    std::fs::write(
        &file,
        format!(
            "account_id = \"123456789012\"\n[[saml_metadata]]\nname = \"Corp\"\nmetadata = '''{metadata}'''\n[[openid_connect_providers]]\nurl = \"https://issuer.example.com\"\nclient_ids = [\"sts.amazonaws.com\"]\n[[accounts]]\naccount_id = \"222233334444\"\naccount_alias = \"team-b\"\n[[accounts.roles]]\nname = \"Deployer\"\ntrust_policy = '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"AWS\":\"arn:aws:iam::123456789012:root\"}},\"Action\":\"sts:AssumeRole\"}}]}}'\n"
        ),
    )
    .unwrap();
    let out = idbroker(
        &[
            "directory",
            "import",
            "--config",
            config.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let export = idbroker(
        &["directory", "export", "--config", config.to_str().unwrap()],
        &[],
    );
    let exported = String::from_utf8(export.stdout).unwrap();
    assert!(
        exported.contains("account_id = \"222233334444\""),
        "{exported}"
    );
    assert!(exported.contains("name = \"Deployer\""), "{exported}");
    assert!(exported.contains("name = \"Corp\""), "{exported}");
    assert!(
        exported.contains("https://issuer.example.com"),
        "{exported}"
    );
    let diff = idbroker(
        &[
            "directory",
            "diff",
            "--config",
            config.to_str().unwrap(),
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));
    let _ = std::fs::remove_dir_all(&dir);
}
