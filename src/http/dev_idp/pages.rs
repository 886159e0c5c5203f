//! The development IdP's pages: askama templates (`templates/dev_idp/`, HTML-escaped, on the
//! console's base with the DEVELOPMENT ONLY banner).

use askama::Template;

use crate::dev_idp::{DevIdp, Person, SignedResponse};
use crate::http::console::pages::render;

/// What the people page asks for.
struct Choice<'a> {
    /// Where the form posts.
    action: &'static str,
    /// The sealed request.
    pending: &'a str,
    /// What the person is signing in to.
    intro: &'static str,
}

#[derive(Template)]
#[template(path = "dev_idp/people.html")]
struct People<'a> {
    people: &'a [Person],
    choice: Option<Choice<'a>>,
    /// Show each person's SAML roles.
    roles: bool,
    saml: bool,
    oidc: bool,
    request_id: &'a str,
}

fn people<'a>(
    idp: &'a DevIdp,
    choice: Option<Choice<'a>>,
    roles: bool,
    request_id: &'a str,
) -> String {
    render(&People {
        people: &idp.people,
        choice,
        roles,
        saml: idp.saml.is_some(),
        oidc: idp.oidc.is_some(),
        request_id,
    })
}

/// `GET /dev/idp`: the people, no form.
pub fn index(idp: &DevIdp, request_id: &str) -> String {
    people(idp, None, idp.saml.is_some(), request_id)
}

/// The people page of an AuthnRequest: one button each, with their email, groups and roles.
pub fn saml_people(idp: &DevIdp, pending: &str, request_id: &str) -> String {
    let choice = Choice {
        action: "/dev/idp/saml/sso",
        pending,
        intro: "idbroker's console asked the demo SAML IdP (DemoIdP) to sign someone in. The SAML response names the person's email, groups and roles.",
    };
    people(idp, Some(choice), true, request_id)
}

/// The people page of an OIDC authorization request.
pub fn oidc_people(idp: &DevIdp, pending: &str, request_id: &str) -> String {
    let choice = Choice {
        action: "/dev/idp/oidc/authorize",
        pending,
        intro: "idbroker's console asked the demo OpenID Connect provider to sign someone in. The ID token names the person (sub demo-NAME), their verified email and groups.",
    };
    people(idp, Some(choice), false, request_id)
}

#[derive(Template)]
#[template(path = "dev_idp/post.html")]
struct Post<'a> {
    acs: &'a str,
    response: &'a str,
    relay: Option<&'a str>,
    request_id: &'a str,
}

/// The page that posts a signed response to the ACS (its script submits the form; without
/// it, the person's click does).
pub fn post_response(r: &SignedResponse, request_id: &str) -> String {
    render(&Post {
        acs: &r.acs_url,
        response: &r.saml_response,
        relay: r.relay_state.as_deref(),
        request_id,
    })
}

#[derive(Template)]
#[template(path = "dev_idp/error.html")]
struct ErrorPage<'a> {
    detail: &'a str,
    request_id: &'a str,
}

/// Why the development IdP did not go on.
pub fn error(detail: &str, request_id: &str) -> String {
    render(&ErrorPage { detail, request_id })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pages_escape_and_carry_the_banner() {
        let html = error("<script>alert(1)</script>", "rid\"><x>");
        assert!(html.contains("DEVELOPMENT ONLY"));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("rid\"><x>"));
        let signed = SignedResponse {
            acs_url: "http://127.0.0.1:8080/saml/acs".into(),
            saml_response: "PHg+\"<".into(),
            relay_state: Some("\"><script>".into()),
        };
        let html = post_response(&signed, "r");
        assert!(
            html.contains(r#"action="http://127.0.0.1:8080/saml/acs""#),
            "{html}"
        );
        assert!(
            !html.contains("\"><script>") && !html.contains("PHg+\"<"),
            "{html}"
        );
        assert!(html.contains(r#"<script src="/dev/idp/static/dev_idp.js"></script>"#));
    }
}
