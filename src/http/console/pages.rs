//! The console's pages: askama templates (`templates/console/`, HTML-escaped), and the values
//! they show.

use askama::Template;

use crate::console::PendingSignin;
use crate::directory::Directory;
use crate::http::error::ConsolePageError;

/// A template rendered (the development IdP's pages too).
pub(in crate::http) fn render(t: &impl Template) -> String {
    t.render().unwrap_or_else(|_| {
        // Rendering borrowed strings does not fail; should it, say so without detail.
        "<!doctype html><title>idbroker</title><p>This page could not be shown.</p>".into()
    })
}

/// A sign-in link.
#[derive(Debug)]
pub struct ProviderLink {
    /// `saml` or `oidc`.
    pub kind: &'static str,
    /// Short name (the link's id).
    pub name: String,
    /// Shown name.
    pub display: String,
    /// Where the link goes.
    pub href: String,
}

#[derive(Template)]
#[template(path = "console/signin.html")]
struct Signin<'a> {
    providers: Vec<ProviderLink>,
    request_id: &'a str,
}

pub fn signin(providers: Vec<ProviderLink>, request_id: &str) -> String {
    render(&Signin {
        providers,
        request_id,
    })
}

struct RoleView {
    arn: String,
    name: String,
    description: String,
    session_name: String,
    hours: String,
}

struct AccountView {
    id: String,
    roles: Vec<RoleView>,
}

#[derive(Template)]
#[template(path = "console/picker.html")]
struct Picker<'a> {
    subject: &'a str,
    provider: &'a str,
    csrf: &'a str,
    accounts: Vec<AccountView>,
    request_id: &'a str,
}

fn duration_text(secs: u64) -> String {
    match (secs / 3600, (secs % 3600) / 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The role picker: the options grouped by account, each with its name and description.
pub fn picker(p: &PendingSignin, dir: &Directory, request_id: &str) -> String {
    let mut accounts: Vec<AccountView> = Vec::new();
    for o in &p.options {
        // arn:aws:iam::ACCOUNT:role/PATH/NAME
        let account = o.role.split(':').nth(4).unwrap_or_default().to_owned();
        let role = dir.role(&o.role);
        let view = RoleView {
            arn: o.role.clone(),
            name: role.map_or_else(
                || o.role.rsplit('/').next().unwrap_or_default().to_owned(),
                |r| r.name.clone(),
            ),
            description: role.map(|r| r.description.clone()).unwrap_or_default(),
            session_name: o.name.clone(),
            hours: duration_text(o.secs),
        };
        match accounts.iter_mut().find(|a| a.id == account) {
            Some(a) => a.roles.push(view),
            None => accounts.push(AccountView {
                id: account,
                roles: vec![view],
            }),
        }
    }
    render(&Picker {
        subject: &p.via.subject,
        provider: &p.via.provider,
        csrf: &p.id,
        accounts,
        request_id,
    })
}

/// What the landing page shows.
#[derive(Debug)]
pub struct Landing<'a> {
    pub arn: &'a str,
    pub role_arn: &'a str,
    pub source_identity: Option<&'a str>,
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub token: &'a str,
    pub region: &'a str,
    pub expires: u64,
    pub now: u64,
    pub csrf: &'a str,
    pub request_id: &'a str,
}

#[derive(Template)]
#[template(path = "console/landing.html")]
struct LandingPage<'a> {
    arn: &'a str,
    role_arn: &'a str,
    source_identity: Option<&'a str>,
    access_key_id: &'a str,
    secret: &'a str,
    token: &'a str,
    region: &'a str,
    expires_iso: String,
    expires_epoch: u64,
    remaining: String,
    csrf: &'a str,
    request_id: &'a str,
}

pub fn landing(v: &Landing<'_>) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(v.expires);
    render(&LandingPage {
        arn: v.arn,
        role_arn: v.role_arn,
        source_identity: v.source_identity,
        access_key_id: v.access_key_id,
        secret: v.secret,
        token: v.token,
        region: v.region,
        expires_iso: crate::clock::iso8601(at),
        expires_epoch: v.expires,
        remaining: duration_text(v.expires.saturating_sub(v.now)),
        csrf: v.csrf,
        request_id: v.request_id,
    })
}

#[derive(Template)]
#[template(path = "console/signed_out.html")]
struct SignedOut<'a> {
    reason: &'a str,
    issuer: Option<&'a str>,
    request_id: &'a str,
}

pub fn signed_out(reason: &str, issuer: Option<&str>, request_id: &str) -> String {
    render(&SignedOut {
        reason,
        issuer,
        request_id,
    })
}

#[derive(Template)]
#[template(path = "console/device.html")]
struct DeviceEntry<'a> {
    code: &'a str,
    csrf: &'a str,
    request_id: &'a str,
}

/// The device flow's code entry page.
pub fn device_entry(code: &str, csrf: &str, request_id: &str) -> String {
    render(&DeviceEntry {
        code,
        csrf,
        request_id,
    })
}

#[derive(Template)]
#[template(path = "console/device_go.html")]
struct DeviceGo<'a> {
    code: &'a str,
    provider: &'a str,
    href: &'a str,
    request_id: &'a str,
}

/// The device flow's code accepted: on to the provider's sign-in.
pub fn device_go(code: &str, provider: &str, href: &str, request_id: &str) -> String {
    render(&DeviceGo {
        code,
        provider,
        href,
        request_id,
    })
}

#[derive(Template)]
#[template(path = "console/device_done.html")]
struct DeviceDone<'a> {
    code: &'a str,
    request_id: &'a str,
}

/// The device flow's last page: the device is signed in.
pub fn device_done(code: &str, request_id: &str) -> String {
    render(&DeviceDone { code, request_id })
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    code: &'a str,
    title: &'a str,
    detail: &'a str,
    advice: &'a str,
    request_id: &'a str,
}

pub fn error(p: &ConsolePageError, request_id: &str) -> String {
    render(&ErrorPage {
        code: p.code,
        title: p.title,
        detail: &p.detail,
        advice: p.advice,
        request_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        let p = ConsolePageError {
            status: 400,
            code: "bad_request",
            title: "t",
            detail: "<script>alert(1)</script>".into(),
            advice: "a",
        };
        let html = error(&p, "rid\"><x>");
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&#60;script&#62;"));
        assert!(!html.contains("rid\"><x>"));
        assert!(html.contains(r#"data-code="bad_request""#));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration_text(3600), "1 h");
        assert_eq!(duration_text(5400), "1 h 30 min");
        assert_eq!(duration_text(900), "15 min");
    }
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage<'a> {
    account: &'a str,
    user: &'a str,
    csrf: &'a str,
    message: Option<&'a str>,
    request_id: &'a str,
}

/// The IAM user sign-in form, with what was typed (never the password) and why it came back.
pub fn password(
    account: &str,
    user: &str,
    csrf: &str,
    message: Option<&str>,
    request_id: &str,
) -> String {
    render(&PasswordPage {
        account,
        user,
        csrf,
        message,
        request_id,
    })
}

#[derive(Template)]
#[template(path = "console/password_mfa.html")]
struct PasswordMfa<'a> {
    account: &'a str,
    user: &'a str,
    csrf: &'a str,
    message: Option<&'a str>,
    request_id: &'a str,
}

/// The MFA code form of an IAM user's sign-in.
pub fn password_mfa(
    account: &str,
    user: &str,
    csrf: &str,
    message: Option<&str>,
    request_id: &str,
) -> String {
    render(&PasswordMfa {
        account,
        user,
        csrf,
        message,
        request_id,
    })
}

#[derive(Template)]
#[template(path = "console/password_change.html")]
struct PasswordChange<'a> {
    user: &'a str,
    reason: &'a str,
    rules: &'a str,
    csrf: &'a str,
    message: Option<&'a str>,
    request_id: &'a str,
}

/// The new-password form of an IAM user's sign-in.
pub fn password_change(
    user: &str,
    reason: &str,
    rules: &str,
    csrf: &str,
    message: Option<&str>,
    request_id: &str,
) -> String {
    render(&PasswordChange {
        user,
        reason,
        rules,
        csrf,
        message,
        request_id,
    })
}
