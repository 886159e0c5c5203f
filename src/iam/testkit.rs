//! Running calls in tests: through the public entry points (`call`, `read`, `write`,
//! `resource`), on a small directory, checking that every successful write leaves a directory
//! that builds and every refused one leaves it as it was.

use std::time::{Duration, SystemTime};

use super::{call, read, resource, write, Context, Effect, IamError, Node, Output};
use crate::directory::{Directory, DirectoryDoc, RawGroup, RawManagedPolicy, RawRole, RawUser};

pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
pub(crate) const ALLOW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
/// Its creation date as IAM writes it.
pub(crate) const NOW: &str = "2026-05-28T00:00:00Z";

/// The call's time ([`NOW`]).
pub(crate) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_779_926_400)
}

/// A directory with one role `R`, user `u`, group `g`, managed policy `P` (path `/`).
pub(crate) fn doc() -> DirectoryDoc {
    DirectoryDoc {
        account_id: ACCOUNT.into(),
        managed_policies: vec![RawManagedPolicy {
            name: "P".into(),
            path: "/".into(),
            document: ALLOW.into(),
            description: String::new(),
            default_version: "v1".into(),
            other_versions: Default::default(),
            created: None,
            tags: Default::default(),
        }],
        groups: vec![RawGroup {
            name: "g".into(),
            path: "/".into(),
            policies: Vec::new(),
            inline_policies: Default::default(),
            created: None,
        }],
        users: vec![RawUser {
            name: "u".into(),
            path: "/".into(),
            groups: vec!["g".into()],
            policies: Vec::new(),
            inline_policies: Default::default(),
            permissions_boundary: None,
            access_keys: Vec::new(),
            login_profile: None,
            created: None,
            tags: Default::default(),
        }],
        roles: vec![RawRole {
            name: "R".into(),
            path: "/".into(),
            description: String::new(),
            trust_policy: TRUST.into(),
            policies: Vec::new(),
            inline_policies: Default::default(),
            permissions_boundary: None,
            max_session_duration: 3600,
            created: None,
            tags: Default::default(),
        }],
        ..Default::default()
    }
}

/// `arn:aws:iam::ACCOUNT:policy/NAME`
pub(crate) fn policy(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
}

fn params(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    v.sort();
    v
}

fn ctx_run<T>(f: impl FnOnce(&Context<'_>) -> T) -> T {
    let seal = |_: &str, _: &str| Err(IamError::ServiceFailure("no sealing here".into()));
    let ctx = Context {
        now: now(),
        caller_user: None,
        seal: &seal,
        seeds: &*crate::iam::users::testkit::SEEDS,
        passwords: &*crate::iam::users::testkit::PASSWORDS,
        loopback_providers: false,
    };
    f(&ctx)
}

/// Run `action` on `doc`: a write is applied to `doc` only when it succeeds, and then the
/// directory must still build; a refused write must leave the copy it edited unchanged.
pub(crate) fn run(
    doc: &mut DirectoryDoc,
    action: &str,
    p: &[(&str, &str)],
) -> Result<Output, IamError> {
    let c = call(action).unwrap_or_else(|| panic!("no call {action}"));
    let pairs = params(p);
    let input = super::Input::new(&pairs);
    ctx_run(|ctx| match c.effect {
        Effect::Read => read(&c, &input, doc, ctx),
        Effect::Write => {
            let mut copy = doc.clone();
            let out = write(&c, &input, &mut copy, ctx);
            match &out {
                Ok(_) => {
                    if let Err(e) = Directory::build(&copy, &mut |_, _, _| {
                        Ok(zeroize::Zeroizing::new("x".repeat(40)))
                    }) {
                        panic!("{action} left a directory that does not build: {e}");
                    }
                    *doc = copy;
                }
                Err(_) => assert_eq!(&copy, doc, "{action} refused but changed the directory"),
            }
            out
        }
    })
}

/// The resource `action` is authorized on.
pub(crate) fn resource_of(doc: &DirectoryDoc, action: &str, p: &[(&str, &str)]) -> String {
    let c = call(action).unwrap_or_else(|| panic!("no call {action}"));
    let pairs = params(p);
    let input = super::Input::new(&pairs);
    ctx_run(|ctx| resource(&c, &input, doc, ctx))
}

/// The error's code.
pub(crate) fn code(r: Result<Output, IamError>) -> (&'static str, String) {
    match r {
        Ok(out) => panic!("expected an error, got {out:?}"),
        Err(e) => (e.code(), e.message()),
    }
}

/// The node at `path` (field names; list items as their index), if there is one.
pub(crate) fn find<'o>(out: &'o Output, path: &[&str]) -> Option<&'o Node> {
    let (first, rest) = path.split_first()?;
    let mut node = out
        .fields
        .iter()
        .find(|(k, _)| k == first)
        .map(|(_, v)| v)?;
    for p in rest {
        node = match node {
            Node::Struct(f) => f.iter().find(|(k, _)| k == p).map(|(_, v)| v)?,
            Node::List(items) => items.get(p.parse::<usize>().ok()?)?,
            Node::Text(_) => return None,
        };
    }
    Some(node)
}

/// The node at `path`.
pub(crate) fn at<'o>(out: &'o Output, path: &[&str]) -> &'o Node {
    find(out, path).unwrap_or_else(|| panic!("no {path:?} in {out:?}"))
}

/// Does the node at `path` exist?
pub(crate) fn has(out: &Output, path: &[&str]) -> bool {
    find(out, path).is_some()
}

/// The text at `path`.
pub(crate) fn text(out: &Output, path: &[&str]) -> String {
    match at(out, path) {
        Node::Text(t) => t.clone(),
        other => panic!("not a text: {other:?}"),
    }
}

/// The number of items of the list at `path`.
pub(crate) fn len(out: &Output, path: &[&str]) -> usize {
    match at(out, path) {
        Node::List(items) => items.len(),
        other => panic!("not a list: {other:?}"),
    }
}
