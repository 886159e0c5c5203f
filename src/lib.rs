//! idbroker: a federated identity broker. SAML assertions and OpenID Connect tokens come in, IAM
//! trust policies decide which role the caller may take, and short-lived AWS-STS-compatible
//! credentials come out.
//!
//! This library holds what the `idbroker` binary runs, so that tests can run it in-process.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod dev_idp;
pub mod directory;
pub mod directory_service;
pub mod federation;
pub mod http;
pub mod iam;
pub mod iam_call;
pub mod key_source;
pub mod log_limit;
pub mod logging;
pub mod metrics;
pub mod mfa;
pub mod password;
pub mod password_signin;
pub mod reload;
pub mod revocation_hub;
pub mod scoped_key;
pub mod settings;
pub mod state;
pub mod sts;
pub mod telemetry;
pub mod throttle;
pub mod tls;
pub mod verification;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::config::{Config, StoreConfig};
use crate::state::AppState;

/// Routes of the server, for `App::configure`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::post().to(http::sts))
        .route("/", web::get().to(http::sts))
        .route("/healthz", web::get().to(http::ops::healthz))
        .route("/readyz", web::get().to(http::ops::readyz))
        // 404 unless server.metrics_token is set: /metrics has a listener of its own.
        .route("/metrics", web::get().to(http::ops::api_metrics))
        .route(
            "/workload/credentials",
            web::get().to(http::web_identity::workload_credentials),
        )
        .route("/saml/metadata", web::get().to(http::saml_metadata))
        .route("/admin/revoke", web::post().to(http::admin::revoke))
        .route("/admin/sessions", web::post().to(http::admin::sessions))
        .route("/verify", web::post().to(http::verify::verify))
        .route("/verify/key", web::post().to(http::verify_key::verify_key))
        .route("/verify/k8s", web::post().to(http::verify_k8s::verify_k8s))
        .route(
            "/verify/events",
            web::get().to(http::verify_events::verify_events),
        )
        .configure(http::console::routes)
        // DEVELOPMENT ONLY, 404 unless [dev_idp] is enabled.
        .configure(http::dev_idp::routes);
}

/// Routes of the metrics listener (`server.metrics_listen`): `/metrics`, nothing else.
pub fn metrics_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(http::ops::metrics));
}

/// The metrics listener on `addr`: one worker serving [`metrics_routes`], not handling signals
/// (the caller stops it with its handle once the API listener has stopped). The server (to be
/// spawned or awaited) and the address it is bound to.
pub fn metrics_server(
    state: AppState,
    addr: &str,
) -> std::io::Result<(actix_web::dev::Server, std::net::SocketAddr)> {
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(metrics_routes)
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?;
    let bound = server.addrs().first().copied().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "no address bound")
    })?;
    Ok((server.run(), bound))
}

/// Keep one SAML provider's metadata fresh: wake up every few seconds and refresh when the
/// provider says it is due (by the clock). A failure keeps the old keys; both are logged and
/// counted.
async fn refresh_saml_metadata(
    provider: Arc<federation::saml::SamlProvider>,
    fetcher: federation::fetch::HttpFetcher,
    clock: Arc<dyn clock::Clock>,
    metrics: Arc<metrics::Metrics>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(15));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if !provider.refresh_due(clock.now()) {
            continue;
        }
        let outcome = provider.refresh(&fetcher, clock.now()).await;
        metrics.saml_metadata_refresh(&provider.name, outcome.label());
        match &outcome {
            federation::saml::RefreshOutcome::Failed(e) => tracing::warn!(
                provider = %provider.name,
                error = %e,
                "SAML metadata refresh failed; keeping the previous keys"
            ),
            federation::saml::RefreshOutcome::Updated(true) => {
                tracing::info!(provider = %provider.name, "SAML metadata refreshed: new keys")
            }
            _ => {}
        }
    }
}

/// Build the shared state from a validated configuration: connect the session store, load the
/// sealing keys (an ephemeral key when none is configured, with a warning).
pub async fn build_state(config: Config, clock: Arc<dyn clock::Clock>) -> Result<AppState, String> {
    let store: Arc<dyn idbroker_session::SessionStore> = match &config.store {
        StoreConfig::Memory => {
            tracing::warn!(
                "session store: in-memory. Sessions live in this process only and are forgotten on restart; configure [store] kind = \"redis\" for anything shared"
            );
            Arc::new(idbroker_session::MemoryStore::new())
        }
        StoreConfig::Redis { url, prefix } => {
            idbroker_session::connect(&idbroker_session::SessionStoreConfig::Redis {
                url: url.clone(),
                options: idbroker_session::RedisOptions {
                    prefix: prefix.clone(),
                    timeout: config.store_options.timeout,
                    min_replicas: config.store_options.min_replicas,
                },
            })
            .await
            .map_err(|e| format!("session store (store.url): {e}"))?
        }
        StoreConfig::RedisCluster { nodes, prefix } => {
            idbroker_session::connect(&idbroker_session::SessionStoreConfig::RedisCluster {
                nodes: nodes.clone(),
                options: idbroker_session::RedisOptions {
                    prefix: prefix.clone(),
                    timeout: config.store_options.timeout,
                    min_replicas: config.store_options.min_replicas,
                },
            })
            .await
            .map_err(|e| format!("session store (store.nodes): {e}"))?
        }
    };
    state::check_eviction(store.as_ref(), config.store_options.allow_evicting_policy).await?;
    let keys = match &config.sealing {
        Some(s) => s.keys()?,
        None => {
            tracing::warn!("no [sealing] keys configured: using a random key; sessions do not survive a restart");
            idbroker_session::seal::SealingKeys::ephemeral().map_err(|e| format!("sealing: {e}"))?
        }
    };
    let metrics = Arc::new(metrics::Metrics::new());
    let observer: federation::fetch::FetchObserver = {
        let m = metrics.clone();
        Arc::new(move |provider: &str, outcome: &str| m.jwks_fetch(provider, outcome))
    };
    let oidc = Arc::new(
        federation::oidc::OidcFederation::new(&config.oidc_providers, Some(observer))
            .map_err(|e| format!("oidc_providers: {e}"))?,
    );
    let fetcher = federation::fetch::HttpFetcher::new().map_err(|e| format!("saml: {e}"))?;
    for provider in config.saml.providers() {
        if matches!(
            provider.source,
            federation::saml::MetadataSource::Url { .. }
        ) {
            tokio::spawn(refresh_saml_metadata(
                Arc::clone(provider),
                fetcher.clone(),
                Arc::clone(&clock),
                Arc::clone(&metrics),
            ));
        }
    }
    let keys = Arc::new(keys);
    // POST /verify serves several services: each call names the one the forwarded request must
    // be signed for (and the calling service must be allowed to verify for it).
    let mut verify_options = idbroker_verify::VerifierOptions::service_per_call()
        .with_sts_hosts(config.sts_hosts.iter().cloned());
    verify_options.skew = idbroker_verify::Skew::from_secs(config.sigv4_skew.as_secs());
    let config = Arc::new(config);
    let live_directory = Arc::new(directory::live::LiveDirectory::new(
        config.directory.clone(),
    ));
    // One subscription to the store's revocation feed for the whole process, on this (the main)
    // runtime: every worker's /verify/events streams and verifier read it.
    let revocations = Arc::new(revocation_hub::RevocationHub::new(Arc::clone(&metrics)));
    tokio::spawn(Arc::clone(&revocations).follow(Arc::clone(&store)));
    // The directory in force: the file's, or the database's (followed from now on).
    let directory_service = Arc::new(
        directory_service::DirectoryService::start(
            &config,
            Arc::clone(&keys),
            Arc::clone(&live_directory),
            Arc::clone(&revocations),
            Arc::clone(&clock),
            Arc::clone(&oidc),
        )
        .await?,
    );
    tokio::spawn(Arc::clone(&directory_service).follow());
    let key_source = Arc::new(key_source::ServerKeySource::new(
        Arc::clone(&store),
        Arc::clone(&keys),
        Arc::clone(&live_directory),
        Arc::clone(&revocations),
    ));
    let verifier = Arc::new(idbroker_verify::Verifier::new(
        Arc::clone(&key_source) as Arc<dyn idbroker_verify::KeySource>,
        verify_options,
    ));
    if config.console.ephemeral_key {
        tracing::warn!("console.cookie_key is not set: using a random key; console sessions end at restart and replicas do not share them");
    }
    let console_logins =
        Arc::new(console::oidc_login::OidcLogins::new().map_err(|e| format!("console: {e}"))?);
    let passwords = Arc::new(password_signin::PasswordGate::new(Arc::clone(
        &config.passwords,
    )));
    Ok(AppState {
        directory_service,
        console_logins,
        passwords,
        readiness: Arc::default(),
        local_buckets: Arc::default(),
        revocations,
        verifier,
        key_source,
        live_directory,
        tls: config.tls.is_some(),
        oidc,
        config,
        store,
        keys,
        clock,
        metrics,
    })
}
