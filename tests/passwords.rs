//! Console passwords through the IAM API (issue 20), driven by the unmodified AWS CLI against a
//! directory in a SQLite file: the account password policy, login profiles, a user's own
//! ChangePassword (allowed by AllowUsersToChangePassword, the old password checked, reuse
//! refused), and what the database keeps (argon2id hashes only, the policy surviving a
//! restart); then two replicas over PostgreSQL: a password changed on one signs in on the other.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::iam::{aws, code, ok, server, sqlite_file, DEMO_USER, IAM_ADMIN};

const FIRST: &str = "First-Password-1";
const SECOND: &str = "Second-Password-2";

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    actix_web::rt::task::spawn_blocking(f).await.unwrap()
}

#[actix_web::test]
async fn the_aws_cli_sets_the_policy_and_passwords_and_only_hashes_are_kept() {
    if !common::iam::have_aws_cli() {
        return common::skip_or_fail("the AWS CLI is not installed (pip install awscli)");
    }
    let (db, path) = sqlite_file("passwords");
    let (url, _state) = server(Some(&db)).await;
    let u = url.clone();
    blocking(move || {
        let url = u.as_str();
        assert_eq!(
            code(aws(url, IAM_ADMIN, &["iam", "get-account-password-policy"])),
            "NoSuchEntity"
        );
        // AWS's default rules apply without a policy: three classes of eight characters.
        assert_eq!(
            code(aws(
                url,
                IAM_ADMIN,
                &[
                    "iam",
                    "create-login-profile",
                    "--user-name",
                    "demo",
                    "--password",
                    "alllowercase",
                ],
            )),
            "PasswordPolicyViolation"
        );
        ok(aws(
            url,
            IAM_ADMIN,
            &[
                "iam",
                "update-account-password-policy",
                "--minimum-password-length",
                "14",
                "--require-numbers",
                "--require-uppercase-characters",
                "--allow-users-to-change-password",
                "--password-reuse-prevention",
                "3",
                "--max-password-age",
                "90",
            ],
        ));
        let p = ok(aws(url, IAM_ADMIN, &["iam", "get-account-password-policy"]));
        let p = &p["PasswordPolicy"];
        assert_eq!(p["MinimumPasswordLength"], 14);
        assert_eq!(p["RequireNumbers"], true);
        assert_eq!(p["RequireSymbols"], false);
        assert_eq!(p["AllowUsersToChangePassword"], true);
        assert_eq!(p["ExpirePasswords"], true);
        assert_eq!(p["MaxPasswordAge"], 90);
        assert_eq!(p["PasswordReusePrevention"], 3);
        assert_eq!(p["HardExpiry"], false);

        assert_eq!(
            code(aws(
                url,
                IAM_ADMIN,
                &[
                    "iam",
                    "create-login-profile",
                    "--user-name",
                    "demo",
                    "--password",
                    "Short-1",
                ],
            )),
            "PasswordPolicyViolation"
        );
        let lp = ok(aws(
            url,
            IAM_ADMIN,
            &[
                "iam",
                "create-login-profile",
                "--user-name",
                "demo",
                "--password",
                FIRST,
                "--password-reset-required",
            ],
        ));
        assert_eq!(lp["LoginProfile"]["UserName"], "demo");
        assert_eq!(lp["LoginProfile"]["PasswordResetRequired"], true);
        assert_eq!(
            code(aws(
                url,
                IAM_ADMIN,
                &[
                    "iam",
                    "create-login-profile",
                    "--user-name",
                    "demo",
                    "--password",
                    FIRST,
                ],
            )),
            "EntityAlreadyExists"
        );

        // The demo user has no IAM permission: AllowUsersToChangePassword lets him change his
        // own password, and nothing else.
        assert_eq!(
            code(aws(
                url,
                DEMO_USER,
                &["iam", "get-login-profile", "--user-name", "demo"],
            )),
            "AccessDenied"
        );
        assert_eq!(
            code(aws(
                url,
                DEMO_USER,
                &[
                    "iam",
                    "change-password",
                    "--old-password",
                    "Not-The-Password-9",
                    "--new-password",
                    SECOND,
                ],
            )),
            "AccessDenied"
        );
        ok(aws(
            url,
            DEMO_USER,
            &[
                "iam",
                "change-password",
                "--old-password",
                FIRST,
                "--new-password",
                SECOND,
            ],
        ));
        assert_eq!(
            code(aws(
                url,
                DEMO_USER,
                &[
                    "iam",
                    "change-password",
                    "--old-password",
                    SECOND,
                    "--new-password",
                    FIRST,
                ],
            )),
            "PasswordPolicyViolation",
            "one of the last 3"
        );
        // The administrator's key is no user's own password to change.
        assert_eq!(
            ok(aws(
                url,
                IAM_ADMIN,
                &["iam", "get-login-profile", "--user-name", "demo"],
            ))["LoginProfile"]["PasswordResetRequired"],
            false,
            "a change lifts the reset"
        );
        ok(aws(
            url,
            IAM_ADMIN,
            &[
                "iam",
                "update-login-profile",
                "--user-name",
                "demo",
                "--password-reset-required",
            ],
        ));
    })
    .await;

    // What the file keeps: no password in clear, argon2id hashes of both.
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        bytes.extend(std::fs::read(format!("{}{suffix}", path.display())).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(FIRST) && !text.contains(SECOND));
    assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"));

    // A restart on the same file: the policy and the profile are still there.
    let (url2, _state2) = server(Some(&db)).await;
    blocking(move || {
        let p = ok(aws(
            &url2,
            IAM_ADMIN,
            &["iam", "get-account-password-policy"],
        ));
        assert_eq!(p["PasswordPolicy"]["MinimumPasswordLength"], 14);
        let lp = ok(aws(
            &url2,
            IAM_ADMIN,
            &["iam", "get-login-profile", "--user-name", "demo"],
        ));
        assert_eq!(lp["LoginProfile"]["PasswordResetRequired"], true);
        ok(aws(
            &url2,
            IAM_ADMIN,
            &["iam", "delete-login-profile", "--user-name", "demo"],
        ));
        assert_eq!(
            code(aws(
                &url2,
                IAM_ADMIN,
                &["iam", "get-login-profile", "--user-name", "demo"],
            )),
            "NoSuchEntity"
        );
        ok(aws(
            &url2,
            IAM_ADMIN,
            &["iam", "delete-account-password-policy"],
        ));
        assert_eq!(
            code(aws(
                &url2,
                IAM_ADMIN,
                &["iam", "delete-account-password-policy"],
            )),
            "NoSuchEntity"
        );
    })
    .await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[actix_web::test]
async fn a_password_changed_on_one_replica_is_the_one_on_the_other() {
    let Some(db) = common::iam::postgres_database("passwords_replicas").await else {
        return common::skip_or_fail("PostgreSQL does not answer on 127.0.0.1:5432");
    };
    let (a, _sa) = server(Some(&db)).await;
    let (b, _sb) = server(Some(&db)).await;
    let admin_a = common::iam::iam_sdk(&a, IAM_ADMIN);
    admin_a
        .update_account_password_policy()
        .allow_users_to_change_password(true)
        .send()
        .await
        .unwrap();
    admin_a
        .create_login_profile()
        .user_name("demo")
        .password(FIRST)
        .send()
        .await
        .unwrap();
    // B has A's policy and profile once it has polled the database.
    let admin_b = common::iam::iam_sdk(&b, IAM_ADMIN);
    let mut synced = false;
    for _ in 0..50 {
        if admin_b
            .get_login_profile()
            .user_name("demo")
            .send()
            .await
            .is_ok()
        {
            synced = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(synced, "replica B never saw A's changes");
    // The change is made on B, read back on A once A has polled the database.
    common::iam::iam_sdk(&b, DEMO_USER)
        .change_password()
        .old_password(FIRST)
        .new_password(SECOND)
        .send()
        .await
        .unwrap();
    // On A, SECOND is the old password only once A has polled B's change: until then A
    // refuses it (AccessDenied), then accepts it.
    let mut seen = false;
    for _ in 0..50 {
        let r = common::iam::iam_sdk(&a, DEMO_USER)
            .change_password()
            .old_password(SECOND)
            .new_password("Third-Password-3")
            .send()
            .await;
        match r {
            Ok(_) => {
                seen = true;
                break;
            }
            Err(e) => {
                use aws_sdk_iam::error::ProvideErrorMetadata as _;
                assert_eq!(e.code(), Some("AccessDenied"), "{e:?}");
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "replica A never saw B's change");
}
