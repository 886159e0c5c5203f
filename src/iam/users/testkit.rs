//! What the families' tests share: a small directory, a context, running a call through the
//! public entry points, and checking that the edited directory still builds.

use std::time::{Duration, SystemTime};

use crate::directory::{
    Directory, DirectoryDoc, RawAccessKey, RawGroup, RawManagedPolicy, RawUser,
};
use crate::iam::{call, read, resource, write, Context, Effect, IamError, Input, Node, Output};
use crate::settings::SecretRef;

pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const POLICY_DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

/// A sealer that writes `test:ID` and never the secret.
pub(crate) fn seal(id: &str, _secret: &str) -> Result<SecretRef, IamError> {
    Ok(SecretRef {
        sealed: Some(format!("test:{id}")),
        ..Default::default()
    })
}

/// The sealing keys of the tests' MFA seeds.
pub(crate) static SEEDS: std::sync::LazyLock<idbroker_session::SealingKeys> =
    std::sync::LazyLock::new(|| idbroker_session::SealingKeys::new("test", &[7u8; 32]).unwrap());

/// The tests' password hasher: argon2id with the least parameters `[passwords]` allows.
pub(crate) static PASSWORDS: std::sync::LazyLock<crate::password::Hasher> =
    std::sync::LazyLock::new(|| {
        crate::password::Hasher::new(&crate::password::RawPasswords {
            memory_kib: crate::password::MIN_MEMORY_KIB,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        })
        .unwrap()
    });

/// 2026-12-06T15:04:05Z
pub(crate) fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_569_445)
}

pub(crate) fn ctx(caller: Option<&'static str>) -> Context<'static> {
    Context {
        now: now(),
        caller_user: caller,
        seal: &seal,
        seeds: &*SEEDS,
        passwords: &*PASSWORDS,
        loopback_providers: false,
    }
}

pub(crate) fn user(name: &str) -> RawUser {
    RawUser {
        name: name.into(),
        path: "/".into(),
        groups: vec![],
        policies: vec![],
        inline_policies: Default::default(),
        permissions_boundary: None,
        access_keys: vec![],
        login_profile: None,
        created: None,
        tags: Default::default(),
    }
}

pub(crate) fn group(name: &str) -> RawGroup {
    RawGroup {
        name: name.into(),
        path: "/".into(),
        policies: vec![],
        inline_policies: Default::default(),
        created: None,
    }
}

pub(crate) fn key(id: &str) -> RawAccessKey {
    RawAccessKey {
        id: id.into(),
        secret: SecretRef {
            sealed: Some(format!("test:{id}")),
            ..Default::default()
        },
        status: "Active".into(),
        created: None,
    }
}

/// Account 123456789012: managed policy `/Boundary`, group `devs` (path /eng/), users `alice`
/// (in devs, one key) and `bob` (path /ops/).
pub(crate) fn doc() -> DirectoryDoc {
    let mut alice = user("alice");
    alice.groups = vec!["devs".into()];
    alice.access_keys = vec![key("AKIAAAAAAAAAAAAAAAA1")];
    let mut bob = user("bob");
    bob.path = "/ops/".into();
    let mut devs = group("devs");
    devs.path = "/eng/".into();
    DirectoryDoc {
        account_id: ACCOUNT.into(),
        account_alias: None,
        managed_policies: vec![RawManagedPolicy {
            name: "Boundary".into(),
            path: "/".into(),
            document: POLICY_DOC.into(),
            description: String::new(),
            default_version: "v1".into(),
            other_versions: Default::default(),
            created: None,
            tags: Default::default(),
        }],
        groups: vec![devs],
        users: vec![alice, bob],
        roles: vec![],
        accounts: vec![],
        saml_metadata: vec![],
        openid_connect_providers: vec![],
        mfa_devices: vec![],
        password_policy: None,
    }
}

pub(crate) fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    v.sort();
    v
}

/// Run `action` (read or write, as the table says) as `caller`; a write is checked to leave a
/// directory that builds.
pub(crate) fn run_as(
    doc: &mut DirectoryDoc,
    caller: Option<&'static str>,
    action: &str,
    params: &[(&str, &str)],
) -> Result<Output, IamError> {
    let c = call(action).unwrap_or_else(|| panic!("no call {action}"));
    let p = pairs(params);
    let input = Input::new(&p);
    let ctx = ctx(caller);
    match c.effect {
        Effect::Read => read(&c, &input, doc, &ctx),
        Effect::Write => {
            let out = write(&c, &input, doc, &ctx);
            if out.is_ok() {
                builds(doc);
            }
            out
        }
    }
}

/// [`run_as`] with no calling user.
pub(crate) fn run(
    doc: &mut DirectoryDoc,
    action: &str,
    params: &[(&str, &str)],
) -> Result<Output, IamError> {
    run_as(doc, None, action, params)
}

/// The resource `action` is authorized on.
pub(crate) fn resource_of(
    doc: &DirectoryDoc,
    caller: Option<&'static str>,
    action: &str,
    params: &[(&str, &str)],
) -> String {
    let c = call(action).unwrap_or_else(|| panic!("no call {action}"));
    let p = pairs(params);
    resource(&c, &Input::new(&p), doc, &ctx(caller))
}

pub(crate) fn builds(doc: &DirectoryDoc) {
    if let Err(e) = Directory::build(doc, &mut |_, _, _| {
        Ok(zeroize::Zeroizing::new("x".repeat(40)))
    }) {
        panic!("the edited directory does not build: {e}");
    }
}

/// The error's code and message.
pub(crate) fn err(r: Result<Output, IamError>) -> (&'static str, String) {
    match r {
        Ok(o) => panic!("expected an error, got {o:?}"),
        Err(e) => (e.code(), e.message()),
    }
}

/// A field of an answer.
pub(crate) fn field<'o>(out: &'o Output, name: &str) -> &'o Node {
    out.fields
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no field {name} in {out:?}"))
}

/// A field of a structure.
pub(crate) fn get<'n>(node: &'n Node, name: &str) -> &'n Node {
    match node {
        Node::Struct(fields) => fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no field {name} in {node:?}")),
        _ => panic!("not a structure: {node:?}"),
    }
}

/// Does a structure have this field?
pub(crate) fn has(node: &Node, name: &str) -> bool {
    matches!(node, Node::Struct(fields) if fields.iter().any(|(n, _)| *n == name))
}

/// Text.
pub(crate) fn text(node: &Node) -> &str {
    match node {
        Node::Text(t) => t,
        _ => panic!("not text: {node:?}"),
    }
}

/// A list's items.
pub(crate) fn items(node: &Node) -> &[Node] {
    match node {
        Node::List(l) => l,
        _ => panic!("not a list: {node:?}"),
    }
}

/// The text of `name` in each item of a list.
pub(crate) fn names(node: &Node, name: &str) -> Vec<String> {
    items(node)
        .iter()
        .map(|i| text(get(i, name)).to_owned())
        .collect()
}
