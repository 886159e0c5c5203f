//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the session store answers),
//! `/metrics` (on the metrics listener; on the API listener only behind `server.metrics_token`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::state::AppState;

/// `GET /healthz`
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// `GET /readyz`: 503 while the session store does not answer, while it refuses writes (a
/// small write with a 10 s TTL: Redis out of memory, a read-only replica), and while it may
/// evict keys (Redis `maxmemory-policy` other than `noeviction`, unless
/// `store.allow_evicting_policy`): a policy changed on a running Redis, or a failover to a
/// server configured otherwise, takes the replica out of rotation. Anyone can call it, so an
/// answer is reused for [`crate::state::READINESS_TTL`] (shared by the workers).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let now = state.clock.now();
    let answer = match state.readiness.fresh(now) {
        Some(answer) => answer,
        None => {
            let answer = check_ready(&state).await;
            state.readiness.remember(now, answer.clone());
            answer
        }
    };
    match answer {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n"),
        Err(why) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body(why),
    }
}

/// The store's readiness, asked now.
async fn check_ready(state: &AppState) -> Result<(), String> {
    if state.store.ping().await.is_err() {
        return Err("session store unavailable\n".into());
    }
    if state.store.probe_write().await.is_err() {
        return Err(
            "session store refuses writes (out of memory, or a read-only replica): no session can be issued\n"
                .into(),
        );
    }
    if !state.config.store_options.allow_evicting_policy {
        match state.store.evicting_policies().await {
            Ok(p) if p.is_empty() => {}
            Ok(p) => return Err(format!("{}\n", crate::state::eviction_refusal(&p))),
            Err(_) => return Err("session store unavailable\n".into()),
        }
    }
    Ok(())
}

/// `GET /metrics` on the metrics listener (`server.metrics_listen`): Prometheus text format;
/// with `server.metrics_token` set, only to requests that present it
/// (`Authorization: Bearer TOKEN`), 401 otherwise.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(token) = &state.config.metrics.token {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim_ascii());
        if !presented.is_some_and(|t| token.matches(t)) {
            return HttpResponse::Unauthorized()
                .insert_header((
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"idbroker metrics\"",
                ))
                .content_type("text/plain")
                .body("a bearer token (server.metrics_token) is required\n");
        }
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render())
}

/// `GET /metrics` on the API listener: 404 (the metrics listener serves it), unless
/// `server.metrics_token` is set: then as [`metrics`], behind the token.
pub async fn api_metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.config.metrics.token.is_none() {
        return HttpResponse::NotFound().finish();
    }
    metrics(req, state).await
}
