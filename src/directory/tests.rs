//! `Directory::build` over several accounts.

use super::*;

const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#;

fn account(id: &str, key: &str) -> DirectoryDoc {
    toml::from_str(&format!(
        r#"
account_id = "{id}"
[[managed_policies]]
name = "Admin"
document = '{ADMIN}'
[[users]]
name = "alice"
policies = ["arn:aws:iam::{id}:policy/Admin"]
[[users.access_keys]]
id = "{key}"
secret = {{ value = "secretsecretsecretsecret" }}
"#
    ))
    .unwrap()
}

fn build(doc: &DirectoryDoc) -> Result<Directory, DirectoryError> {
    Directory::build(doc, &mut |r, _, _| {
        Ok(Zeroizing::new(r.value.clone().unwrap_or_default()))
    })
}

fn problem(r: Result<Directory, DirectoryError>) -> (String, String) {
    match r {
        Err(DirectoryError::Invalid { key, problem }) => (key, problem),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn accounts_keep_their_own_names_and_keys() {
    let mut doc = account("111111111111", "AKIAAAAAAAAAAAAAAAA1");
    doc.accounts
        .push(account("222222222222", "AKIAAAAAAAAAAAAAAAA2"));
    let d = build(&doc).unwrap();
    // The same user name in each account, told apart by ARN and key.
    let (a, _) = d.access_key("AKIAAAAAAAAAAAAAAAA1").unwrap();
    let (b, _) = d.access_key("AKIAAAAAAAAAAAAAAAA2").unwrap();
    assert_eq!(a.arn, "arn:aws:iam::111111111111:user/alice");
    assert_eq!(b.arn, "arn:aws:iam::222222222222:user/alice");
    assert_eq!(b.account, "222222222222");
    assert_eq!(d.user("alice").unwrap().account, "111111111111");
    assert_eq!(d.user_by_arn(&b.arn).unwrap().account, "222222222222");
    assert_eq!(Directory::account_of(&b.arn), "222222222222");
    assert_eq!(d.counts(), (2, 0, 2));
}

#[test]
fn accounts_are_refused_when_repeated_nested_or_sharing_a_key() {
    let mut doc = account("111111111111", "AKIAAAAAAAAAAAAAAAA1");
    doc.accounts
        .push(account("111111111111", "AKIAAAAAAAAAAAAAAAA2"));
    let (key, why) = problem(build(&doc));
    assert_eq!(key, "accounts[0].account_id");
    assert!(why.contains("defined twice"), "{why}");

    let mut doc = account("111111111111", "AKIAAAAAAAAAAAAAAAA1");
    let mut nested = account("222222222222", "AKIAAAAAAAAAAAAAAAA2");
    nested
        .accounts
        .push(account("333333333333", "AKIAAAAAAAAAAAAAAAA3"));
    doc.accounts.push(nested);
    assert_eq!(problem(build(&doc)).0, "accounts[0].accounts");

    let mut doc = account("111111111111", "AKIAAAAAAAAAAAAAAAA1");
    doc.accounts
        .push(account("222222222222", "AKIAAAAAAAAAAAAAAAA1"));
    let (key, why) = problem(build(&doc));
    assert!(
        key.starts_with("accounts[0].users[0].access_keys[0]"),
        "{key}"
    );
    assert!(why.contains("used twice"), "{why}");
}

#[test]
fn a_managed_policy_of_another_account_cannot_be_attached() {
    let mut doc = account("111111111111", "AKIAAAAAAAAAAAAAAAA1");
    let mut other = account("222222222222", "AKIAAAAAAAAAAAAAAAA2");
    other.users[0].policies = vec!["arn:aws:iam::111111111111:policy/Admin".into()];
    doc.accounts.push(other);
    let (key, why) = problem(build(&doc));
    assert_eq!(key, "accounts[0].users[0].policies[0]");
    assert!(why.contains("no managed policy"), "{why}");
}
