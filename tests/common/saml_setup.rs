//! The SAML test setup shared by saml_hostile.rs and console_saml.rs: the provider, roles and
//! configuration that tests/saml/mint.py's responses are minted for.

use idbroker::config::Config;

use super::{mint_saml, Minted};

/// Responses minted for this setup's issuer, audience, ACS, role and provider (`None`: skip).
pub fn mint(tag: &str) -> Option<Minted> {
    mint_saml(tag, [ISSUER, "urn:amazon:webservices", ACS, ROLE, PROVIDER])
}

pub const ACCOUNT: &str = "123456789012";
pub const PROVIDER: &str = "arn:aws:iam::123456789012:saml-provider/TestIdP";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/demo/SamlUser";
pub const MAPPED: &str = "arn:aws:iam::123456789012:role/demo/Mapped";
pub const LOCKED: &str = "arn:aws:iam::123456789012:role/demo/Locked";
pub const ISSUER: &str = "https://idp.test/metadata";
pub const ACS: &str = "https://signin.aws.amazon.com/saml";

/// The configuration for `m`'s responses; `extra` is more top-level tables (`[store]`,
/// `[console]`).
pub fn config(m: &Minted, extra: &str) -> Config {
    let metadata = m.dir.join("metadata.xml");
    let trust = |condition: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{PROVIDER}"}},"Action":["sts:AssumeRoleWithSAML","sts:TagSession","sts:SetSourceIdentity"],"Condition":{{"StringEquals":{{"SAML:aud":"{ACS}"{condition}}}}}}}]}}"#
        )
    };
    let toml = format!(
        r#"
account_id = "{ACCOUNT}"
{extra}
[saml]
acs_url = "{ACS}"
sp_private_key_file = ["{sp_key}"]
sp_certificate_file = "{sp_cert}"

[[saml_providers]]
name = "TestIdP"
metadata_file = "{metadata}"
role_mappings = [{{ attribute = "urn:oid:0.9.2342.19200300.100.1.3", value = "*@example.com", role = "{MAPPED}" }},
                 {{ attribute = "urn:oid:0.9.2342.19200300.100.1.3", value = "*", role = "{LOCKED}" }}]

[[roles]]
name = "SamlUser"
path = "/demo/"
description = "Runs the reports"
max_session_duration = 7200
trust_policy = '{trust}'

[[roles]]
name = "Mapped"
path = "/demo/"
trust_policy = '{mapped}'

[[roles]]
name = "Locked"
path = "/demo/"
trust_policy = '{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}}}'
"#,
        metadata = metadata.display(),
        sp_key = m.dir.join("sp_key.pem").display(),
        sp_cert = m.dir.join("sp_cert.pem").display(),
        trust = trust(""),
        mapped = trust(&format!(r#","saml:iss":"{ISSUER}""#)),
    );
    Config::from_toml(&toml, &m.dir.join("idbroker.toml"), &|_| None, m.now).unwrap()
}
