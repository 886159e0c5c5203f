//! DEVELOPMENT ONLY: the handlers of the development IdP (`crate::dev_idp`), under `/dev/idp/`.
//! Every route answers 404 unless `[dev_idp]` is enabled (the configuration then refused to
//! load unless it is a development one). Pages carry the console's security headers (strict
//! CSP, no framing, `no-store`) and a DEVELOPMENT ONLY banner; the token endpoint answers
//! OAuth's JSON.
//!
//! Routes: `GET /dev/idp` (the people), `GET /dev/idp/saml/sso` (an AuthnRequest: the people
//! page), `POST /dev/idp/saml/sso` (the choice: a page that posts the signed response to the
//! ACS), `GET /dev/idp/oidc/.well-known/openid-configuration`, `GET /dev/idp/oidc/jwks`,
//! `GET /dev/idp/oidc/authorize` (the people page), `POST /dev/idp/oidc/authorize` (the
//! choice: 302 to the console's callback with the code), `POST /dev/idp/oidc/token`, and the
//! page's stylesheet and script. `pages.rs`: the HTML.

mod pages;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::dev_idp::{AuthorizeParams, DevIdp, DevIdpError, TokenError, TokenRequest};
use crate::http::console::{form, html, query, request_id, secured};
use crate::state::AppState;

/// Longest token request body read.
const MAX_TOKEN_BODY: usize = 16 * 1024;

/// Routes of the development IdP, for `App::configure` (404 unless enabled).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dev/idp", web::get().to(index))
        .route("/dev/idp/saml/sso", web::get().to(saml_sso))
        .route("/dev/idp/saml/sso", web::post().to(saml_choose))
        .route(
            "/dev/idp/oidc/.well-known/openid-configuration",
            web::get().to(discovery),
        )
        .route("/dev/idp/oidc/jwks", web::get().to(jwks))
        .route("/dev/idp/oidc/authorize", web::get().to(authorize))
        .route("/dev/idp/oidc/authorize", web::post().to(oidc_choose))
        .route("/dev/idp/oidc/token", web::post().to(token))
        .route("/dev/idp/static/dev_idp.css", web::get().to(css))
        .route("/dev/idp/static/dev_idp.js", web::get().to(js));
}

/// The development IdP, when enabled.
fn dev_idp(state: &AppState) -> Option<&DevIdp> {
    state.config.dev_idp.as_deref()
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().finish()
}

fn page(state: &AppState, status: StatusCode, body: String) -> HttpResponse {
    html(status, state).body(body)
}

fn error_page(state: &AppState, e: &DevIdpError) -> HttpResponse {
    let status = match e {
        DevIdpError::NotServed(_) => StatusCode::NOT_FOUND,
        DevIdpError::BadRequest(_) | DevIdpError::Expired(_) => StatusCode::BAD_REQUEST,
        DevIdpError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    page(state, status, pages::error(&e.to_string(), &request_id()))
}

/// `GET /dev/idp`: who can be signed in, and where to start.
async fn index(state: web::Data<AppState>) -> HttpResponse {
    let Some(idp) = dev_idp(&state) else {
        return not_found();
    };
    page(&state, StatusCode::OK, pages::index(idp, &request_id()))
}

/// `GET /dev/idp/saml/sso?SAMLRequest=..&RelayState=..`: an AuthnRequest (HTTP-Redirect
/// binding) for idbroker's own ACS; the people page.
async fn saml_sso(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(idp) = dev_idp(&state) else {
        return not_found();
    };
    let Some(saml_request) = query(&req, "SAMLRequest") else {
        return error_page(
            &state,
            &DevIdpError::BadRequest(
                "There is no SAMLRequest: start from the console's sign-in page".into(),
            ),
        );
    };
    let relay = query(&req, "RelayState");
    match idp.saml_request(&saml_request, relay.as_deref(), state.clock.now()) {
        Ok((sealed, _)) => page(
            &state,
            StatusCode::OK,
            pages::saml_people(idp, &sealed, &request_id()),
        ),
        Err(e) => error_page(&state, &e),
    }
}

/// `POST /dev/idp/saml/sso` (`pending`, `person`): the signed response, posted to the ACS by
/// the page (a script, or the person's click).
async fn saml_choose(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let Some(idp) = dev_idp(&state) else {
        return not_found();
    };
    let (pending, person) = (
        form(&body, "pending").unwrap_or_default(),
        form(&body, "person").unwrap_or_default(),
    );
    match idp.saml_respond(&state.config.saml, &pending, &person, state.clock.now()) {
        Ok(signed) => page(
            &state,
            StatusCode::OK,
            pages::post_response(&signed, &request_id()),
        ),
        Err(e) => error_page(&state, &e),
    }
}

/// `GET /dev/idp/oidc/.well-known/openid-configuration`
async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    let Some(idp) = dev_idp(&state) else {
        return not_found();
    };
    match idp.discovery() {
        Ok(doc) => json(StatusCode::OK, doc.to_string()),
        Err(_) => not_found(),
    }
}

/// `GET /dev/idp/oidc/jwks`: the demo JWKS.
async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let Some(idp) = dev_idp(&state) else {
        return not_found();
    };
    match idp.jwks() {
        Ok(doc) => json(StatusCode::OK, doc.to_owned()),
        Err(_) => not_found(),
    }
}

/// `GET /dev/idp/oidc/authorize?response_type=code&client_id=..&redirect_uri=..&...`: the
/// request checked whole, then the people page (errors are pages: nothing is redirected).
async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(idp) = dev_idp(&state) else {
        return not_found();
    };
    let q = |name| query(&req, name);
    let values = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ]
    .map(q);
    let [response_type, client_id, redirect_uri, scope, st, nonce, challenge, method] =
        values.each_ref().map(Option::as_deref);
    let params = AuthorizeParams {
        response_type,
        client_id,
        redirect_uri,
        scope,
        state: st,
        nonce,
        code_challenge: challenge,
        code_challenge_method: method,
    };
    match idp.authorize(&params, state.clock.now()) {
        Ok(sealed) => page(
            &state,
            StatusCode::OK,
            pages::oidc_people(idp, &sealed, &request_id()),
        ),
        Err(e) => error_page(&state, &e),
    }
}

/// `POST /dev/idp/oidc/authorize` (`pending`, `person`): 302 to the redirect URI with the code
/// and the state.
async fn oidc_choose(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let Some(idp) = dev_idp(&state) else {
        return not_found();
    };
    let (pending, person) = (
        form(&body, "pending").unwrap_or_default(),
        form(&body, "person").unwrap_or_default(),
    );
    match idp.choose(&pending, &person, state.clock.now()) {
        Ok(to) => secured(HttpResponse::Found(), &state)
            .insert_header((header::LOCATION, to))
            .finish(),
        Err(e) => error_page(&state, &e),
    }
}

fn json(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 section 2.3.1),
/// decoded; `Err` for a header that is there but not that.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, TokenError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = TokenError::InvalidClient;
    let text = value.to_str().map_err(|_| bad.clone())?;
    let encoded = text
        .strip_prefix("Basic ")
        .filter(|e| e.len() <= 2048)
        .ok_or_else(|| bad.clone())?;
    let decoded = data_encoding::BASE64
        .decode(encoded.trim().as_bytes())
        .map_err(|_| bad.clone())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad.clone())?;
    let (id, secret) = decoded.split_once(':').ok_or(bad)?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

/// `POST /dev/idp/oidc/token`: the code exchanged for an ID token (JSON), or OAuth's error.
async fn token(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let Some(idp) = dev_idp(&state) else {
        return not_found();
    };
    let result = async {
        if body.len() > MAX_TOKEN_BODY {
            return Err(TokenError::InvalidRequest("the request is too large"));
        }
        let basic = basic_credentials(&req)?;
        let f = |name| form(&body, name);
        let values = [
            "grant_type",
            "code",
            "code_verifier",
            "redirect_uri",
            "client_id",
            "client_secret",
        ]
        .map(f);
        let [grant_type, code, code_verifier, redirect_uri, client_id, client_secret] =
            values.each_ref().map(Option::as_deref);
        let r = TokenRequest {
            grant_type,
            code,
            code_verifier,
            redirect_uri,
            client_id,
            client_secret,
            basic: basic.as_ref().map(|(i, s)| (i.as_str(), s.as_str())),
        };
        idp.token(&r, state.store.as_ref(), state.clock.now()).await
    }
    .await;
    match result {
        Ok(answer) => json(
            StatusCode::OK,
            serde_json::to_string(&answer).unwrap_or_default(),
        ),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let doc = serde_json::json!({"error": e.code(), "error_description": e.description()});
            let mut resp = json(status, doc.to_string());
            if e == TokenError::InvalidClient {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"idbroker-dev-idp\""),
                );
            }
            resp
        }
    }
}

async fn css(state: web::Data<AppState>) -> HttpResponse {
    if dev_idp(&state).is_none() {
        return not_found();
    }
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("static/dev_idp.css"))
}

async fn js(state: web::Data<AppState>) -> HttpResponse {
    if dev_idp(&state).is_none() {
        return not_found();
    }
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(include_str!("static/dev_idp.js"))
}
