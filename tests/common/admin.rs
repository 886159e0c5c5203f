//! The admin API's side of the tests: the demo's security admin (config/demo/idbroker.toml),
//! a server on a ManualClock, credentials as `idbroker admin` reads them, calls through the
//! command's own client, what an answer said, and the command itself run as a process.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_sts::operation::assume_role::builders::AssumeRoleFluentBuilder;
use idbroker::cli::admin_client::{self, Answer, Endpoint, EnvCredentials};
use idbroker::clock::{Clock, ManualClock};
use idbroker::config::StoreConfig;
use serde_json::Value;

/// The demo security admin's development-only access key (may revoke and list any session).
pub const ADMIN_KEY: &str = "AKIAIDBROKERADMIN001";
/// Its secret.
pub const ADMIN_SECRET: &str = "idbrokerAdminSecretKeyDoNotUseAnywhere00";
/// The demo's example service (config/demo/idbroker.toml, development-only key): verifies
/// `example` requests and k8s tokens for the cluster `demo`.
pub const THINGS_KEY: &str = "AKIAIDBROKERTHINGS01";
/// Its secret.
pub const THINGS_SECRET: &str = "idbrokerDemoThingsSecretDoNotUseIt000000";
/// The demo role with every permission, assumable by the demo user.
pub const ADMIN_ROLE: &str = "arn:aws:iam::123456789012:role/demo/Admin";
/// The demo account.
pub const ACCOUNT: &str = "123456789012";

/// 2026-11-28T12:00:00Z.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_867_200)
}

/// The demo configuration served in-process on `store`, its clock a ManualClock.
pub struct Broker {
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub state: idbroker::state::AppState,
}

/// Start a [`Broker`] whose clock reads `at`, sealing with a fixed test key (so that replicas
/// on the same store open each other's sessions).
pub async fn broker(store: StoreConfig, at: SystemTime) -> Broker {
    let mut config = super::demo();
    config.store = store;
    config.sealing = Some(idbroker::config::SealingConfig {
        active_key_id: "test".into(),
        keys: [("test".to_owned(), zeroize::Zeroizing::new(vec![7u8; 32]))].into(),
    });
    let clock = Arc::new(ManualClock::new(at));
    let state = idbroker::build_state(config, clock.clone()).await.unwrap();
    let url = super::start(state.clone()).await;
    Broker { url, clock, state }
}

/// Another replica of `of`: the same configuration (sealing keys included) on `store` (the same
/// as `of`'s), its own process state (event hub, verifier, caches) and listener.
pub async fn replica(of: &Broker, store: StoreConfig) -> Broker {
    broker(store, of.now()).await
}

impl Broker {
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// `POST /admin/revoke` with `body`, signed by `who` at the broker's time.
    pub async fn revoke(&self, who: &Creds, body: Value) -> Answer {
        admin_client::revoke(&endpoint(&self.url), &who.env(), &body, self.now())
            .await
            .unwrap()
    }

    /// One page of `POST /admin/sessions` with `body`, signed by `who` at the broker's time.
    pub async fn list(&self, who: &Creds, body: &Value) -> Answer {
        admin_client::list_sessions(&endpoint(&self.url), &who.env(), body, self.now())
            .await
            .unwrap()
    }
}

/// Credentials to sign admin calls with.
#[derive(Clone, Debug)]
pub struct Creds {
    pub key: String,
    pub secret: String,
    pub token: Option<String>,
}

impl Creds {
    pub fn long_term(key: &str, secret: &str) -> Self {
        Creds {
            key: key.into(),
            secret: secret.into(),
            token: None,
        }
    }

    /// As the command reads them from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_SESSION_TOKEN.
    pub fn env(&self) -> EnvCredentials {
        EnvCredentials::from_env(|k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some(self.key.clone()),
            "AWS_SECRET_ACCESS_KEY" => Some(self.secret.clone()),
            "AWS_SESSION_TOKEN" => self.token.clone(),
            _ => None,
        })
        .unwrap()
    }
}

/// The demo security admin.
pub fn admin() -> Creds {
    Creds::long_term(ADMIN_KEY, ADMIN_SECRET)
}

/// The demo user (may neither revoke nor list).
pub fn demo_user() -> Creds {
    Creds::long_term(super::KEY, super::SECRET)
}

/// AssumeRole by the demo user on the server at `url` at time `at`, the call shaped by `with`
/// (a source identity, a session policy, a duration).
pub async fn assume(
    url: &str,
    at: SystemTime,
    role: &str,
    name: &str,
    with: impl FnOnce(AssumeRoleFluentBuilder) -> AssumeRoleFluentBuilder,
) -> Creds {
    let call = super::sdk_with_keys(url, super::KEY, super::SECRET, None, at)
        .assume_role()
        .role_arn(role)
        .role_session_name(name);
    let out = with(call).send().await.unwrap();
    let c = out.credentials().unwrap();
    Creds {
        key: c.access_key_id().into(),
        secret: c.secret_access_key().into(),
        token: Some(c.session_token().into()),
    }
}

/// AssumeRole of the demo reader role by the demo user at `at`, tried again every 100 ms while
/// it fails (the server's store reconnecting after an outage), for at most `patience`.
pub async fn assume_once_the_store_is_back(
    url: &str,
    at: SystemTime,
    name: &str,
    patience: Duration,
) -> Creds {
    let started = idbroker::clock::Stopwatch::start();
    loop {
        let out = super::sdk_with_keys(url, super::KEY, super::SECRET, None, at)
            .assume_role()
            .role_arn(super::READER)
            .role_session_name(name)
            .send()
            .await;
        match out {
            Ok(out) => {
                let c = out.credentials().unwrap();
                return Creds {
                    key: c.access_key_id().into(),
                    secret: c.secret_access_key().into(),
                    token: Some(c.session_token().into()),
                };
            }
            Err(e) => {
                assert!(started.elapsed() < patience, "no recovery: {e:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The server at `url`, signed for region eu-west-1, no CA bundle.
pub fn endpoint(url: &str) -> Endpoint {
    Endpoint {
        url: url.to_owned(),
        region: "eu-west-1".into(),
        ca_bundle: None,
    }
}

/// The document of a successful answer.
#[track_caller]
pub fn done(a: &Answer) -> &Value {
    match a {
        Answer::Done(v) => v,
        other => panic!("expected success, got {other:?}"),
    }
}

/// Status, code and message of a refusal.
#[track_caller]
pub fn refused(a: &Answer) -> (u16, &str, &str) {
    match a {
        Answer::Refused {
            status,
            code,
            message,
            ..
        } => (*status, code.as_str(), message.as_str()),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// `idbroker admin COMMAND ARGS`, with no AWS setting from this environment but `keys`.
pub fn command(name: &str, args: &[&str], keys: Option<(&str, &str)>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idbroker"));
    cmd.args(["admin", name]).args(args);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CA_BUNDLE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        cmd.env_remove(var);
    }
    if let Some((k, s)) = keys {
        cmd.env("AWS_ACCESS_KEY_ID", k)
            .env("AWS_SECRET_ACCESS_KEY", s);
    }
    cmd
}
