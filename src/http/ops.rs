//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the session store answers).

use actix_web::{web, HttpResponse};

use crate::state::AppState;

/// `GET /healthz`
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// `GET /readyz`: 503 while the session store does not answer.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n"),
        Err(_) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("session store unavailable\n"),
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render())
}
