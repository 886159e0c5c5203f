//! `GET /saml/metadata`: idbroker's SAML service-provider metadata, for IdP administrators.

use actix_web::{web, HttpResponse};

use crate::federation;
use crate::state::AppState;

/// `GET /saml/metadata`: idbroker's SAML SP metadata.
pub async fn saml_metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(federation::saml::sp_metadata::sp_metadata(
            &state.config.saml,
            state.config.console.sign_authn_requests,
        ))
}
