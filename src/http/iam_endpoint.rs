//! The IAM Query API (`POST /` with `Version=2010-05-08`, signed for the service `iam`): read
//! the call, authenticate, run its use case (`crate::iam_call`), render IAM's XML, audit.

use actix_web::{HttpRequest, HttpResponse};

use crate::http::audit::{Asked, Outcome, Who};
use crate::http::call::{facts, Call};
use crate::http::error::ApiError;
use crate::http::query::Params;
use crate::http::xml::escape;
use crate::iam::{IamError, Input, Node, Output, NAMESPACE};
use crate::state::AppState;

/// The SigV4 service IAM calls are signed for.
pub const SERVICE: &str = "iam";

fn render_node(out: &mut String, name: &str, node: &Node) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match node {
        Node::Text(t) => out.push_str(&escape(t)),
        Node::Struct(fields) => {
            for (n, v) in fields {
                render_node(out, n, v);
            }
        }
        Node::List(items) => {
            for item in items {
                render_node(out, "member", item);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// The whole answer document of `action`.
pub fn render(action: &str, output: &Output, request_id: &str) -> String {
    let mut doc = format!("<{action}Response xmlns=\"{NAMESPACE}\">");
    if !output.fields.is_empty() {
        doc.push_str(&format!("<{action}Result>"));
        for (name, node) in &output.fields {
            render_node(&mut doc, name, node);
        }
        doc.push_str(&format!("</{action}Result>"));
    }
    doc.push_str("<ResponseMetadata><RequestId>");
    doc.push_str(&escape(request_id));
    doc.push_str(&format!(
        "</RequestId></ResponseMetadata></{action}Response>"
    ));
    doc
}

/// An IAM call (the STS endpoint hands over every request with IAM's version).
pub(crate) async fn iam(
    req: &HttpRequest,
    body: &[u8],
    params: &Params,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let mut call = Call::start(req);
    let known = params.get("Action").and_then(crate::iam_call::known);
    let label = known.map_or("Other", |c| c.action);
    tracing::Span::current().record("action", label);
    let mut decided = None;
    let result = async {
        let action = params
            .get("Action")
            .ok_or_else(|| ApiError::new("MissingAction", 400, "Missing Action"))?;
        let iam_call = known.ok_or_else(|| {
            ApiError::from(IamError::InvalidAction(format!(
                "Could not find operation {action} for version {}",
                crate::iam::VERSION
            )))
        })?;
        let now = state.clock.now();
        let directory = state.directory();
        let caller =
            crate::http::auth::authenticate_for(SERVICE, req, body, state, &directory, now).await?;
        let admitted = crate::http::throttle::by_principal(state, &caller, "IAM", now).await;
        let done = match admitted {
            Err(throttled) => Err(ApiError::from(throttled)),
            Ok(()) => crate::iam_call::run(
                &state.directory_service,
                state.store.as_ref(),
                &state.passwords,
                &directory,
                &caller,
                iam_call,
                Input::new(params.pairs()),
                &facts(req, state, now),
                &mut decided,
            )
            .await
            .map_err(ApiError::from),
        };
        call.audit.who = Who::Signed(caller);
        let output = done?;
        Ok::<_, ApiError>(
            HttpResponse::Ok()
                .content_type("text/xml")
                .insert_header(("x-amzn-RequestId", call.request_id.clone()))
                // CreateAccessKey answers a secret: no answer of IAM's is kept by a cache.
                .insert_header(("Cache-Control", "no-store"))
                .body(render(iam_call.action, &output, &call.request_id)),
        )
    }
    .await;
    call.audit.asked = Asked::Iam {
        resource: decided.map(|d| d.resource),
        parameters: params
            .pairs()
            .iter()
            .filter(|(k, _)| k != "Action" && k != "Version" && !secret_parameter(k))
            .cloned()
            .collect(),
    };
    call.end(state, req, label, Outcome::of(&result), None);
    result.map_err(|e| e.with_request_id(&call.request_id))
}

/// Parameters never written to the audit record (passwords and MFA codes of later calls).
fn secret_parameter(name: &str) -> bool {
    matches!(
        name,
        "Password" | "OldPassword" | "NewPassword" | "AuthenticationCode1" | "AuthenticationCode2"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_iam_documents() {
        let out = Output::empty()
            .field(
                "Role",
                Node::Struct(vec![
                    ("RoleName", Node::text("a<b")),
                    ("Tags", Node::List(vec![Node::text("x")])),
                ]),
            )
            .field("IsTruncated", Node::bool(false));
        assert_eq!(
            render("GetRole", &out, "r-1"),
            "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetRoleResult><Role><RoleName>a&lt;b</RoleName><Tags><member>x</member></Tags></Role><IsTruncated>false</IsTruncated></GetRoleResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetRoleResponse>"
        );
        assert_eq!(
            render("DeleteRole", &Output::empty(), "r-2"),
            "<DeleteRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></DeleteRoleResponse>"
        );
    }
}
