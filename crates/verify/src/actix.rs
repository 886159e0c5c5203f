//! actix-web integration (feature `actix`).
//!
//! ```ignore
//! App::new()
//!     .app_data(web::Data::from(verifier))            // Arc<Verifier>
//!     .wrap(actix_web::middleware::from_fn(idbroker_verify::actix::require_sigv4))
//!     .route("/orders", web::get().to(list))          // handlers take `VerifiedCaller`
//! ```
//!
//! [`require_sigv4`] reads the body (up to the `PayloadConfig` limit, 256 KiB by default) so the
//! signature can cover it, puts it back for the handler, verifies the request and stores the
//! [`VerifiedCaller`] in the request extensions; anything unsigned or invalid is answered with an
//! AWS-style XML error and never reaches the handler. Handlers extract `VerifiedCaller` and call
//! [`Verifier::require`] with [`facts`]; [`VerifyError`] is an actix `ResponseError`.

use std::future::{ready, Ready};
use std::time::SystemTime;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::{ReceivedRequest, RequestFacts, VerifiedCaller, Verifier, VerifyError};

impl ResponseError for VerifyError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::FORBIDDEN)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        HttpResponse::build(self.status_code())
            .content_type("text/xml")
            .body(self.to_xml())
    }
}

/// The parts of `req` as the verifier reads them: its headers collected (each value as text, or
/// one no header value can hold when it is not visible ASCII: [`ReceivedRequest::new`]),
/// method, path and query. [`ReceivedRequest::parts`] adds the body.
pub fn received(req: &HttpRequest) -> ReceivedRequest<'_> {
    ReceivedRequest::new(
        req.method().as_str(),
        req.uri().path(),
        req.query_string(),
        req.headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().ok())),
    )
}

/// Middleware (for `actix_web::middleware::from_fn`): verify the request with the
/// `web::Data<Verifier>` of the app, or answer the error. A missing `Data<Verifier>` is a
/// server misconfiguration: every request is refused (`ServiceUnavailable`).
pub async fn require_sigv4(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(verifier) = req.app_data::<Data<Verifier>>().cloned() else {
        let resp = VerifyError::ServiceUnavailable.error_response();
        return Ok(req.into_response(resp));
    };
    let body = match req.extract::<Bytes>().await {
        Ok(b) => b,
        Err(e) => return Ok(req.into_response(e.error_response())),
    };
    req.set_payload(Payload::from(body.clone()));
    let result = {
        let received = received(req.request());
        let parts = received.parts(crate::Payload::Bytes(&body));
        verifier.verify(&parts, crate::time::wall_clock()).await
    };
    match result {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        Err(e) => {
            tracing::info!(code = e.code(), "request refused");
            Ok(req.into_response(e.error_response()))
        }
    }
}

impl FromRequest for VerifiedCaller {
    type Error = VerifyError;
    type Future = Ready<Result<Self, VerifyError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<VerifiedCaller>()
                .cloned()
                .ok_or(VerifyError::MissingAuthenticationToken),
        )
    }
}

/// The request facts of an actix request at `now`: the peer address (`aws:SourceIp`; behind a
/// proxy, set it yourself from a header you trust) and whether it came over TLS.
pub fn facts(req: &HttpRequest, now: SystemTime) -> RequestFacts<'static> {
    RequestFacts {
        now,
        source_ip: req.peer_addr().map(|a| a.ip()),
        secure_transport: req.connection_info().scheme() == "https",
        extra: &[],
    }
}
