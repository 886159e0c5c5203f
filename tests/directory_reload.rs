//! The directory reloaded without a restart (`idbroker::reload`, what SIGHUP and a changed
//! configuration file run): the new version is in force for STS at once, a downstream verifier
//! that knows only idbroker's URL hears of it (`policies` on its event stream) and decides with
//! the new policies within a second; a bad file is refused and the directory in force stays.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::admin::{assume, Creds, THINGS_KEY, THINGS_SECRET};
use common::READER;
use idbroker::clock::{Clock, ManualClock, Stopwatch, SystemClock};
use idbroker::config::Config;
use idbroker::reload::{reload_directory, Reloaded};
use idbroker_sigv4::{sign, Payload, RequestParts, SigningParams};
use idbroker_verify::{Decision, RemoteConfig, RequestFacts, Verifier, VerifierOptions};

/// The demo's ReportsReader inline policy on the example service, as written in the demo file.
const READ_ONLY: &str = r#""Action": ["example:ListThings", "example:GetThing"]"#;
const READ_WRITE: &str =
    r#""Action": ["example:ListThings", "example:GetThing", "example:PutThing"]"#;

/// A copy of the demo configuration beside it (its paths are relative to its directory),
/// removed when dropped.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn demo(name: &str) -> ConfigFile {
        let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml");
        let path = demo.with_file_name(format!(".{name}-{}.toml", std::process::id()));
        // The demo's directory from its file (no [directory] url): the file is what reloads.
        let text = std::fs::read_to_string(&demo).unwrap();
        assert!(text.contains("url = \"sqlite::memory:\""));
        std::fs::write(&path, text.replacen("url = \"sqlite::memory:\"", "", 1)).unwrap();
        ConfigFile(path)
    }

    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.0).unwrap();
        assert!(text.contains(from), "{from} not in the file");
        std::fs::write(&self.0, text.replacen(from, to, 1)).unwrap();
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// May `c` put a thing, as a verifier of the example service decides at `now`?
async fn may_put(v: &Verifier, c: &Creds, now: std::time::SystemTime) -> Decision {
    let headers = [("host", "things.example.com")];
    let parts = RequestParts {
        method: "PUT",
        path: "/things/1",
        query: "",
        headers: &headers,
        payload: Payload::Bytes(b""),
    };
    let mut p = SigningParams::new(
        &c.key,
        &c.secret,
        "us-east-1",
        "example",
        idbroker_session::unix_seconds(now),
    );
    p.security_token = c.token.as_deref();
    let signed = sign(&parts, &p).unwrap();
    let all = signed.headers_after(&headers);
    let caller = v
        .verify(
            &RequestParts {
                headers: &all,
                ..parts
            },
            now,
        )
        .await
        .unwrap();
    v.authorize(
        &caller,
        "example:PutThing",
        "arn:aws:example:us-east-1:123456789012:thing/1",
        &RequestFacts::at(now),
    )
}

#[actix_web::test]
async fn a_reloaded_directory_reaches_sts_and_verifiers_and_a_bad_file_is_refused() {
    let file = ConfigFile::demo("reload-test");
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let config = Config::load_with_env(file.path(), &|_| None, clock.now()).unwrap();
    let state = idbroker::build_state(config, clock.clone()).await.unwrap();
    let url = common::start(state.clone()).await;
    let mut rc = RemoteConfig::new(&url, THINGS_KEY, THINGS_SECRET);
    let c = clock.clone();
    rc.clock = Arc::new(move || c.now());
    let mut options = VerifierOptions::new("example");
    // Only the stream can explain a change seen sooner than an hour.
    options.cache_ttl = Duration::from_secs(3600);
    let v = Verifier::remote(rc, options).unwrap();
    let started = Stopwatch::start();
    while !v.revocation_feed_up() {
        assert!(started.elapsed() < Duration::from_secs(10), "no stream");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let alice = assume(&url, clock.now(), READER, "alice", |c| c).await;
    assert_eq!(
        may_put(&v, &alice, clock.now()).await,
        Decision::ImplicitDeny
    );
    let before = state.directory().version().to_owned();

    // ReportsReader may now put things.
    file.edit(READ_ONLY, READ_WRITE);
    let changed = reload_directory(&state, file.path(), &|_| None, clock.now()).unwrap();
    let Reloaded::Changed(after) = changed else {
        panic!("{changed:?}")
    };
    assert_ne!(after, before);
    assert_eq!(state.directory().version(), after);
    let reloaded = Stopwatch::start();
    loop {
        if may_put(&v, &alice, clock.now()).await == Decision::Allow {
            break;
        }
        assert!(
            reloaded.elapsed() < Duration::from_secs(5),
            "the verifier never heard of the new policies"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = reloaded.elapsed();
    println!("the verifier decided with the new policies {took:?} after the reload");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // The same file again: unchanged.
    assert_eq!(
        reload_directory(&state, file.path(), &|_| None, clock.now()).unwrap(),
        Reloaded::Unchanged
    );

    // A bad file: refused, the directory in force stays (STS still answers with it).
    file.edit(READ_WRITE, r#""Action": 42"#);
    let refused = reload_directory(&state, file.path(), &|_| None, clock.now()).unwrap_err();
    assert!(refused.contains("MalformedPolicyDocument"), "{refused}");
    assert_eq!(state.directory().version(), after);
    assume(&url, clock.now(), READER, "bob", |c| c).await;
    assert_eq!(may_put(&v, &alice, clock.now()).await, Decision::Allow);
}
