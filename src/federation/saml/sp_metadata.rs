//! idbroker's own SP metadata (served at `GET /saml/metadata`): what an IdP administrator
//! imports to set idbroker up as a service provider.

use super::config::SamlSettings;

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `md:EntityDescriptor` of idbroker as an SP: entity id, the ACS URL (HTTP-POST), signed
/// assertions wanted. No encryption certificate: encrypted assertions are not supported.
pub fn sp_metadata(settings: &SamlSettings) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService index="1" isDefault="true" "#,
            r#"Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}"/>"#,
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
        ),
        entity = escape_attr(&settings.sp_entity_id),
        acs = escape_attr(&settings.acs_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_the_sp() {
        let md = sp_metadata(&SamlSettings::default());
        let doc = super::super::xml::parse(&md).ok();
        let root = doc.as_ref().map(|d| d.root_element());
        assert_eq!(
            root.and_then(|r| r.attribute("entityID")),
            Some("urn:amazon:webservices")
        );
        assert!(md.contains("Location=\"https://signin.aws.amazon.com/saml\""));
    }
}
