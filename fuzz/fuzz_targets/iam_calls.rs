//! The IAM Query API's use cases (`idbroker::iam`) from untrusted bytes: the bytes are a form
//! body (`Action=...&RoleName=...`), decoded as the server decodes it; the named call (or one
//! picked by the first byte) runs on a small directory. Whatever the bytes: no panic, and a
//! write the call accepts leaves a directory that builds (the server would refuse it otherwise,
//! but a call that accepts what the directory refuses is a bug worth seeing).
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use idbroker::directory::{Directory, DirectoryDoc};
use idbroker::iam::{self, Context, Effect, IamError, Input};
use idbroker::settings::SecretRef;
use libfuzzer_sys::fuzz_target;

const ACTIONS: &[&str] = &[
    "CreateRole", "GetRole", "UpdateRole", "DeleteRole", "ListRoles", "UpdateAssumeRolePolicy",
    "TagRole", "UntagRole", "PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy",
    "DetachRolePolicy", "CreatePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion",
    "DeletePolicyVersion", "DeletePolicy", "ListPolicies", "CreateUser", "UpdateUser",
    "DeleteUser", "CreateGroup", "UpdateGroup", "AddUserToGroup", "RemoveUserFromGroup",
    "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "PutUserPermissionsBoundary",
    "CreateAccountAlias", "GetAccountAuthorizationDetails", "CreateVirtualMFADevice",
    "EnableMFADevice", "ResyncMFADevice", "DeactivateMFADevice", "DeleteVirtualMFADevice",
    "ListMFADevices", "ListVirtualMFADevices", "CreateLoginProfile", "GetLoginProfile",
    "UpdateLoginProfile", "DeleteLoginProfile", "ChangePassword", "UpdateAccountPasswordPolicy",
    "GetAccountPasswordPolicy", "DeleteAccountPasswordPolicy",
];

/// A well-formed sealed text (`KEY_ID:NONCE:CIPHERTEXT`, base64), which no key opens.
const SEALED: &str = "k:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Seeds "sealed" as [`SEALED`] and "opened" as RFC 6238's test seed: the codes of the fuzzer's
/// bytes are checked against a real seed, without the sealing keys.
/// argon2id at the least parameters idbroker accepts (passwords are hashed for real: the
/// directory refuses anything else).
static PASSWORDS: std::sync::LazyLock<idbroker::password::Hasher> = std::sync::LazyLock::new(|| {
    idbroker::password::Hasher::new(&idbroker::password::RawPasswords {
        memory_kib: idbroker::password::MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 1,
    })
    .expect("hasher")
});

struct Vault;

impl iam::SeedVault for Vault {
    fn seal(&self, _serial: &str, _seed: &[u8]) -> Result<SecretRef, IamError> {
        Ok(SecretRef { sealed: Some(SEALED.into()), ..SecretRef::default() })
    }
    fn open(&self, _serial: &str, _sealed: &SecretRef) -> Result<zeroize::Zeroizing<Vec<u8>>, IamError> {
        Ok(zeroize::Zeroizing::new(b"12345678901234567890".to_vec()))
    }
}

fn doc() -> &'static DirectoryDoc {
    static DOC: OnceLock<DirectoryDoc> = OnceLock::new();
    DOC.get_or_init(|| {
        toml::from_str(
            r#"
account_id = "123456789012"
[[managed_policies]]
name = "P"
document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
[[groups]]
name = "g"
policies = ["arn:aws:iam::123456789012:policy/P"]
[[users]]
name = "u"
groups = ["g"]
[[users.access_keys]]
id = "AKIAAAAAAAAAAAAAAAA1"
secret = { sealed = "x" }
[[roles]]
name = "r"
trust_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'
policies = ["arn:aws:iam::123456789012:policy/P"]
[[mfa_devices]]
name = "u"
seed = { sealed = "k:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAA" }
user = "u"
[[mfa_devices]]
name = "spare"
seed = { sealed = "k:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAA" }
"#,
        )
        .unwrap_or_default()
    })
}

fuzz_target!(|data: &[u8]| {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(data.get(1..).unwrap_or_default())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs.dedup_by(|later, first| later.0 == first.0);
    let picked = ACTIONS[usize::from(data.first().copied().unwrap_or(0)) % ACTIONS.len()];
    let input = Input::new(&pairs);
    let Some(call) = iam::call(input.get("Action").unwrap_or(picked)) else {
        return;
    };
    let seal = |id: &str, _: &str| -> Result<SecretRef, IamError> {
        Ok(SecretRef { sealed: Some(format!("k:{id}")), ..SecretRef::default() })
    };
    let ctx = Context {
        now: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        caller_user: Some("u"),
        seal: &seal,
        seeds: &Vault,
        passwords: &*PASSWORDS,
        loopback_providers: false,
    };
    let _ = iam::resource(&call, &input, doc(), &ctx);
    match call.effect {
        Effect::Read => {
            let _ = iam::read(&call, &input, doc(), &ctx);
        }
        Effect::Write => {
            let mut copy = doc().clone();
            if iam::write(&call, &input, &mut copy, &ctx).is_ok() {
                let built = Directory::build(&copy, &mut |_, _, _| {
                    Ok(zeroize::Zeroizing::new("secretsecretsecretsecret".into()))
                });
                assert!(built.is_ok(), "{} left a directory that does not build: {built:?}", call.action);
            }
        }
    }
});
