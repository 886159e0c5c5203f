//! SAML identity providers as IAM keeps them: a name and a metadata document
//! (`arn:aws:iam::ACCOUNT:saml-provider/NAME`, the directory's `[[saml_metadata]]`). The metadata
//! is validated as a configured provider's is (`SamlProvider::from_document`: signing
//! certificates, RSA size, digest algorithms); once the directory version holding it is in force,
//! AssumeRoleWithSAML accepts assertions signed by it for roles whose trust policy names it.
//! OpenID Connect providers likewise (`arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`, the
//! directory's `[[openid_connect_providers]]`): an issuer URL and client IDs, validated as a
//! configured provider's; AssumeRoleWithWebIdentity finds its keys by discovery at the issuer.
//! Thumbprints are recorded as IAM records them, not used.

use super::common::{self, invalid};
use super::entities::created;
use super::{Call, Context, Effect, IamError, Input, Node, Output};
use crate::directory::DirectoryDoc;
use crate::directory::{RawOpenIdConnectProvider, RawSamlMetadata};
use crate::federation::saml::SamlProvider;

/// The calls of this family.
pub(super) const CALLS: &[Call] = &[
    Call {
        action: "CreateSAMLProvider",
        effect: Effect::Write,
    },
    Call {
        action: "GetSAMLProvider",
        effect: Effect::Read,
    },
    Call {
        action: "UpdateSAMLProvider",
        effect: Effect::Write,
    },
    Call {
        action: "DeleteSAMLProvider",
        effect: Effect::Write,
    },
    Call {
        action: "ListSAMLProviders",
        effect: Effect::Read,
    },
    Call {
        action: "CreateOpenIDConnectProvider",
        effect: Effect::Write,
    },
    Call {
        action: "GetOpenIDConnectProvider",
        effect: Effect::Read,
    },
    Call {
        action: "DeleteOpenIDConnectProvider",
        effect: Effect::Write,
    },
    Call {
        action: "ListOpenIDConnectProviders",
        effect: Effect::Read,
    },
    Call {
        action: "AddClientIDToOpenIDConnectProvider",
        effect: Effect::Write,
    },
    Call {
        action: "RemoveClientIDFromOpenIDConnectProvider",
        effect: Effect::Write,
    },
    Call {
        action: "UpdateOpenIDConnectProviderThumbprint",
        effect: Effect::Write,
    },
];

/// IAM's bounds on a metadata document.
const METADATA_MIN: usize = 1000;
const METADATA_MAX: usize = 10_000_000;

fn provider_arn(doc: &DirectoryDoc, name: &str) -> String {
    format!("arn:aws:iam::{}:saml-provider/{name}", doc.account_id)
}

/// The resource a call of this family is authorized on.
pub(super) fn resource(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<String> {
    match call.action {
        "CreateSAMLProvider" => Some(provider_arn(doc, input.get("Name")?)),
        "CreateOpenIDConnectProvider" => Some(oidc_arn(doc, host_path(input.get("Url")?)?)),
        "ListSAMLProviders" | "ListOpenIDConnectProviders" => None,
        a if a.contains("OpenIDConnect") => {
            input.get("OpenIDConnectProviderArn").map(str::to_owned)
        }
        _ => input.get("SAMLProviderArn").map(str::to_owned),
    }
}

/// The provider `SAMLProviderArn` names, in `doc`.
fn index(input: &Input<'_>, doc: &DirectoryDoc) -> Result<usize, IamError> {
    let arn = input.required("SAMLProviderArn", "sAMLProviderArn")?;
    if !(20..=2048).contains(&arn.len()) {
        return Err(invalid(
            arn,
            "sAMLProviderArn",
            "Member must have length greater than or equal to 20",
        ));
    }
    doc.saml_metadata
        .iter()
        .position(|p| provider_arn(doc, &p.name) == arn)
        .ok_or_else(|| IamError::NoSuchEntity(format!("Manifest not found for arn {arn}")))
}

/// The metadata parameter, within IAM's bounds and valid as a provider's metadata.
fn metadata<'a>(
    input: &Input<'a>,
    name: &str,
    doc: &DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<&'a str, IamError> {
    let text = input.required("SAMLMetadataDocument", "sAMLMetadataDocument")?;
    if !(METADATA_MIN..=METADATA_MAX).contains(&text.len()) {
        return Err(invalid(
            "[...]",
            "sAMLMetadataDocument",
            "Member must have length greater than or equal to 1000",
        ));
    }
    SamlProvider::from_document(name, &doc.account_id, text, ctx.now)
        .map_err(|why| IamError::InvalidInput(format!("Could not parse metadata: {why}")))?;
    Ok(text)
}

/// Run a reading call of this family (`None`: not one of its reading calls).
pub(super) fn read(
    call: &Call,
    input: &Input<'_>,
    doc: &DirectoryDoc,
    _ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "GetSAMLProvider" => get(input, doc),
        "ListSAMLProviders" => Ok(list(doc)),
        "GetOpenIDConnectProvider" => oidc_get(input, doc),
        "ListOpenIDConnectProviders" => Ok(oidc_list(doc)),
        _ => return None,
    })
}

/// Run a writing call of this family on `doc` (`None`: not one of its writing calls).
pub(super) fn write(
    call: &Call,
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Option<Result<Output, IamError>> {
    Some(match call.action {
        "CreateSAMLProvider" => create(input, doc, ctx),
        "UpdateSAMLProvider" => update(input, doc, ctx),
        "DeleteSAMLProvider" => index(input, doc).map(|i| {
            doc.saml_metadata.remove(i);
            Output::empty()
        }),
        "CreateOpenIDConnectProvider" => oidc_create(input, doc, ctx),
        "DeleteOpenIDConnectProvider" => oidc_index(input, doc).map(|i| {
            doc.openid_connect_providers.remove(i);
            Output::empty()
        }),
        "AddClientIDToOpenIDConnectProvider" => oidc_client_id(input, doc, true),
        "RemoveClientIDFromOpenIDConnectProvider" => oidc_client_id(input, doc, false),
        "UpdateOpenIDConnectProviderThumbprint" => oidc_index(input, doc).and_then(|i| {
            let prints = thumbprints(input)?;
            if let Some(p) = doc.openid_connect_providers.get_mut(i) {
                p.thumbprints = prints;
            }
            Ok(Output::empty())
        }),
        _ => return None,
    })
}

fn create(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let name = input.required("Name", "name")?;
    let ok = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !ok {
        return Err(invalid(
            name,
            "name",
            "Member must satisfy regular expression pattern: [\\w._-]+",
        ));
    }
    if doc
        .saml_metadata
        .iter()
        .any(|p| common::same_name(&p.name, name))
    {
        return Err(IamError::EntityAlreadyExists(format!(
            "SAMLProvider {name} already exists."
        )));
    }
    let text = metadata(input, name, doc, ctx)?;
    let tags = common::tags(input)?;
    let arn = provider_arn(doc, name);
    doc.saml_metadata.push(RawSamlMetadata {
        name: name.to_owned(),
        metadata: text.to_owned(),
        created: Some(super::timestamp(ctx.now)),
        tags: tags.into_iter().collect(),
    });
    let p = doc.saml_metadata.last();
    Ok(Output::empty()
        .field("SAMLProviderArn", Node::text(arn))
        .field(
            "Tags",
            common::tags_node(p.iter().flat_map(|p| p.tags.iter())),
        ))
}

fn update(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let i = index(input, doc)?;
    let name = doc
        .saml_metadata
        .get(i)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let text = metadata(input, &name, doc, ctx)?.to_owned();
    let arn = provider_arn(doc, &name);
    if let Some(p) = doc.saml_metadata.get_mut(i) {
        p.metadata = text;
    }
    Ok(Output::empty().field("SAMLProviderArn", Node::text(arn)))
}

fn get(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let i = index(input, doc)?;
    let Some(p) = doc.saml_metadata.get(i) else {
        return Err(IamError::ServiceFailure("provider vanished".into()));
    };
    Ok(Output::empty()
        .field("SAMLMetadataDocument", Node::text(&p.metadata))
        .field("CreateDate", Node::text(created(&p.created)))
        .field("Tags", common::tags_node(p.tags.iter())))
}

fn list(doc: &DirectoryDoc) -> Output {
    Output::empty().field(
        "SAMLProviderList",
        Node::List(
            doc.saml_metadata
                .iter()
                .map(|p| {
                    Node::Struct(vec![
                        ("Arn", Node::text(provider_arn(doc, &p.name))),
                        ("CreateDate", Node::text(created(&p.created))),
                    ])
                })
                .collect(),
        ),
    )
}

/// `HOST/PATH` of an issuer URL (`None`: not an `http(s)://` URL).
fn host_path(url: &str) -> Option<&str> {
    url.strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .map(|r| r.trim_end_matches('/'))
        .filter(|r| !r.is_empty())
}

fn oidc_arn(doc: &DirectoryDoc, host_path: &str) -> String {
    format!("arn:aws:iam::{}:oidc-provider/{host_path}", doc.account_id)
}

/// The provider `OpenIDConnectProviderArn` names, in `doc`.
fn oidc_index(input: &Input<'_>, doc: &DirectoryDoc) -> Result<usize, IamError> {
    let arn = input.required("OpenIDConnectProviderArn", "openIDConnectProviderArn")?;
    doc.openid_connect_providers
        .iter()
        .position(|p| host_path(&p.url).is_some_and(|hp| oidc_arn(doc, hp) == arn))
        .ok_or_else(|| {
            IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}"))
        })
}

/// `ThumbprintList.member.N`: at most 5 of 40 hex digits.
fn thumbprints(input: &Input<'_>) -> Result<Vec<String>, IamError> {
    let list: Vec<String> = input
        .members("ThumbprintList", None)
        .into_iter()
        .map(|(_, v)| v.to_owned())
        .collect();
    if list.len() > 5 {
        return Err(IamError::LimitExceeded(
            "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5".into(),
        ));
    }
    if let Some(bad) = list
        .iter()
        .find(|t| t.len() != 40 || !t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(invalid(
            bad,
            "thumbprintList.member",
            "Member must have length greater than or equal to 40",
        ));
    }
    Ok(list)
}

fn oidc_create(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    ctx: &Context<'_>,
) -> Result<Output, IamError> {
    let url = input.required("Url", "url")?;
    crate::federation::oidc::check_url(url, ctx.loopback_providers)
        .map_err(|why| IamError::Validation(format!("Invalid URL: {why}")))?;
    let hp = host_path(url)
        .filter(|_| url.len() <= 255 && !url.contains(['?', '#']))
        .ok_or_else(|| {
            invalid(
                url,
                "url",
                "Member must have length less than or equal to 255",
            )
        })?;
    let arn = oidc_arn(doc, hp);
    if doc
        .openid_connect_providers
        .iter()
        .any(|p| host_path(&p.url).is_some_and(|o| o.eq_ignore_ascii_case(hp)))
    {
        return Err(IamError::EntityAlreadyExists(format!(
            "Provider with url {url} already exists."
        )));
    }
    let client_ids: Vec<String> = input
        .members("ClientIDList", None)
        .into_iter()
        .map(|(_, v)| v.to_owned())
        .collect();
    if client_ids.is_empty() {
        return Err(IamError::Validation(
            "A client ID (audience) is required: ClientIDList.member.1".into(),
        ));
    }
    if client_ids.len() > 100 || client_ids.iter().any(|c| c.is_empty() || c.len() > 255) {
        return Err(IamError::LimitExceeded(
            "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100 (1..255 characters each)".into(),
        ));
    }
    let provider = RawOpenIdConnectProvider {
        url: url.trim_end_matches('/').to_owned(),
        client_ids,
        thumbprints: thumbprints(input)?,
        created: Some(super::timestamp(ctx.now)),
        tags: common::tags(input)?.into_iter().collect(),
    };
    let tags = common::tags_node(provider.tags.iter());
    doc.openid_connect_providers.push(provider);
    Ok(Output::empty()
        .field("OpenIDConnectProviderArn", Node::text(arn))
        .field("Tags", tags))
}

fn oidc_client_id(
    input: &Input<'_>,
    doc: &mut DirectoryDoc,
    add: bool,
) -> Result<Output, IamError> {
    let i = oidc_index(input, doc)?;
    let id = input.required("ClientID", "clientID")?;
    if id.is_empty() || id.len() > 255 {
        return Err(invalid(
            id,
            "clientID",
            "Member must have length less than or equal to 255",
        ));
    }
    let Some(p) = doc.openid_connect_providers.get_mut(i) else {
        return Err(IamError::ServiceFailure("provider vanished".into()));
    };
    if add {
        if !p.client_ids.iter().any(|c| c == id) {
            if p.client_ids.len() >= 100 {
                return Err(IamError::LimitExceeded(
                    "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100".into(),
                ));
            }
            p.client_ids.push(id.to_owned());
        }
    } else {
        p.client_ids.retain(|c| c != id);
        if p.client_ids.is_empty() {
            // A provider without an audience would accept no token: AWS allows it; the
            // directory does not (nothing could use it), so the last one stays.
            return Err(IamError::InvalidInput(
                "The last client ID of a provider cannot be removed: delete the provider instead."
                    .into(),
            ));
        }
    }
    Ok(Output::empty())
}

fn oidc_get(input: &Input<'_>, doc: &DirectoryDoc) -> Result<Output, IamError> {
    let i = oidc_index(input, doc)?;
    let Some(p) = doc.openid_connect_providers.get(i) else {
        return Err(IamError::ServiceFailure("provider vanished".into()));
    };
    Ok(Output::empty()
        .field("Url", Node::text(host_path(&p.url).unwrap_or_default()))
        .field(
            "ClientIDList",
            Node::List(p.client_ids.iter().map(Node::text).collect()),
        )
        .field(
            "ThumbprintList",
            Node::List(p.thumbprints.iter().map(Node::text).collect()),
        )
        .field("CreateDate", Node::text(created(&p.created)))
        .field("Tags", common::tags_node(p.tags.iter())))
}

fn oidc_list(doc: &DirectoryDoc) -> Output {
    Output::empty().field(
        "OpenIDConnectProviderList",
        Node::List(
            doc.openid_connect_providers
                .iter()
                .filter_map(|p| host_path(&p.url))
                .map(|hp| Node::Struct(vec![("Arn", Node::text(oidc_arn(doc, hp)))]))
                .collect(),
        ),
    )
}
