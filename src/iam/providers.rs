//! SAML identity providers as IAM keeps them: a name and a metadata document
//! (`arn:aws:iam::ACCOUNT:saml-provider/NAME`, the directory's `[[saml_metadata]]`). The metadata
//! is validated as a configured provider's is (`SamlProvider::from_document`: signing
//! certificates, RSA size, digest algorithms); once the directory version holding it is in force,
//! AssumeRoleWithSAML accepts assertions signed by it for roles whose trust policy names it.
//! OpenID Connect providers stay in the configuration for now.

use super::common::{self, invalid};
use super::entities::created;
use super::{Call, Context, DirectoryDoc, Effect, IamError, Input, Node, Output};
use crate::directory::RawSamlMetadata;
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
        "ListSAMLProviders" => None,
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
