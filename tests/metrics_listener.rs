//! Issue 13, item 7: `/metrics` is not public on the API listener. By default it is served on a
//! listener of its own (`server.metrics_listen`, loopback); with `server.metrics_token` set, the
//! API listener serves it too, to requests that present the token, and the metrics listener asks
//! for it as well. In-process, on loopback (the process itself: tests/server_process.rs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::Arc;

use idbroker::clock::{Clock, ManualClock, SystemClock};
use idbroker::config::{Config, DEFAULT_METRICS_LISTEN};

mod common;
use common::{get, raw_http, start};

const TOKEN: &str = "metrics-token-for-tests-only-0001";

fn demo_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/demo/idbroker.toml")
}

/// The demo configuration with `server_keys` added to its `[server]` table.
fn config_with(server_keys: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
    let text = std::fs::read_to_string(demo_file()).unwrap();
    assert!(text.contains("[server]\n"));
    let text = text.replacen("[server]\n", &format!("[server]\n{server_keys}\n"), 1);
    Config::from_toml(&text, &demo_file(), env, SystemClock.now()).map_err(|e| e.to_string())
}

/// The API listener and the metrics listener of `config`: their URLs.
async fn serve(config: Config) -> (String, String) {
    let state = idbroker::build_state(config, Arc::new(ManualClock::new(SystemClock.now())))
        .await
        .unwrap();
    let (metrics, bound) = idbroker::metrics_server(state.clone(), "127.0.0.1:0").unwrap();
    actix_web::rt::spawn(metrics);
    (start(state).await, format!("http://{bound}"))
}

async fn get_with(url: &str, path: &str, authorization: &str) -> String {
    raw_http(
        url,
        format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await
}

fn is_metrics(answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("idbroker_session_store_errors_total"),
        "{answer}"
    );
}

fn is_unauthorized(answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{answer}"
    );
    assert!(!answer.contains("idbroker_"), "{answer}");
}

#[actix_web::test]
async fn by_default_metrics_are_not_on_the_api_listener() {
    let config = config_with("", &|_| None).unwrap();
    assert_eq!(
        config.metrics.listen.as_deref(),
        Some(DEFAULT_METRICS_LISTEN)
    );
    assert!(config.metrics.token.is_none());
    let (api, metrics) = serve(config).await;
    let answer = get(&api, "/metrics").await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(!answer.contains("idbroker_"), "{answer}");
    // Whatever the client presents.
    let answer = get_with(&api, "/metrics", &format!("Bearer {TOKEN}")).await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    is_metrics(&get(&metrics, "/metrics").await);
    // The metrics listener serves nothing else.
    for path in ["/", "/healthz", "/verify", "/admin/revoke"] {
        let answer = get(&metrics, path).await;
        assert!(answer.starts_with("HTTP/1.1 404"), "{path}: {answer}");
    }
}

#[actix_web::test]
async fn with_a_token_metrics_are_behind_it_everywhere() {
    let config = config_with("metrics_token = { env = \"METRICS_TOKEN\" }", &|k| {
        (k == "METRICS_TOKEN").then(|| TOKEN.to_owned())
    })
    .unwrap();
    // The token alone: no listener of its own unless asked for.
    assert_eq!(config.metrics.listen, None);
    assert!(!format!("{:?}", config.metrics).contains(TOKEN));
    let (api, metrics) = serve(config).await;
    for url in [&api, &metrics] {
        is_unauthorized(&get(url, "/metrics").await);
        for wrong in [
            format!("Bearer {TOKEN}x"),
            format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
            "Bearer ".to_owned(),
            format!("Basic {TOKEN}"),
            TOKEN.to_owned(),
        ] {
            is_unauthorized(&get_with(url, "/metrics", &wrong).await);
        }
        is_metrics(&get_with(url, "/metrics", &format!("Bearer {TOKEN}")).await);
        is_metrics(&get_with(url, "/metrics", &format!("bearer {TOKEN}")).await);
    }
}

#[test]
fn metrics_keys_are_validated() {
    let none = |_: &str| None;
    // Both: a listener of its own, behind the token.
    let c = config_with(
        &format!("metrics_listen = \"127.0.0.1:9999\"\nmetrics_token = {{ value = \"{TOKEN}\" }}"),
        &none,
    )
    .unwrap();
    assert_eq!(c.metrics.listen.as_deref(), Some("127.0.0.1:9999"));
    assert!(c.metrics.token.as_ref().unwrap().matches(TOKEN));
    assert!(!c.metrics.token.as_ref().unwrap().matches("another"));
    // The environment overrides the file.
    let c = config_with("metrics_listen = \"127.0.0.1:9999\"", &|k| {
        (k == "IDBROKER_METRICS_LISTEN").then(|| "127.0.0.1:9111".to_owned())
    })
    .unwrap();
    assert_eq!(c.metrics.listen.as_deref(), Some("127.0.0.1:9111"));
    // "" turns the listener off (with no token, /metrics is served nowhere: warned).
    let c = config_with("metrics_listen = \"\"", &none).unwrap();
    assert_eq!(c.metrics.listen, None);
    assert!(
        c.warnings.iter().any(|w| w.contains("served nowhere")),
        "{:?}",
        c.warnings
    );
    // Not loopback and no token: allowed, warned; but not beside the demo's development IdP,
    // which runs on loopback addresses only.
    let e = config_with("metrics_listen = \"0.0.0.0:9464\"", &none).unwrap_err();
    assert!(
        e.contains("server.metrics_listen") && e.contains("loopback"),
        "{e}"
    );
    let text = std::fs::read_to_string(demo_file())
        .unwrap()
        .replacen("[dev_idp]\nenabled = true", "[dev_idp]\nenabled = false", 1)
        .replacen(
            "[server]\n",
            "[server]\nmetrics_listen = \"0.0.0.0:9464\"\n",
            1,
        );
    let c = Config::from_toml(&text, &demo_file(), &none, SystemClock.now()).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("server.metrics_listen") && w.contains("not a loopback")),
        "{:?}",
        c.warnings
    );
    // The defaults warn about nothing metrics-related.
    let c = config_with("", &none).unwrap();
    assert!(!c.warnings.iter().any(|w| w.contains("metrics")));
    // Refused: not an address, the API's own address, a short or spaced token.
    for (keys, key) in [
        ("metrics_listen = \"localhost\"", "server.metrics_listen"),
        (
            "metrics_listen = \"127.0.0.1:8080\"",
            "server.metrics_listen",
        ),
        (
            "metrics_token = { value = \"short\" }",
            "server.metrics_token",
        ),
        (
            "metrics_token = { value = \"a token with spaces in it\" }",
            "server.metrics_token",
        ),
    ] {
        let err = config_with(keys, &none).unwrap_err();
        assert!(err.contains(key), "{keys}: {err}");
    }
}
