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
/// assertions wanted, the encryption certificate when SP keys are configured, and, when the
/// console signs its AuthnRequests (`signs_requests`), the same certificate for signing with
/// `AuthnRequestsSigned="true"`, so the IdP can check them.
pub fn sp_metadata(settings: &SamlSettings, signs_requests: bool) -> String {
    let signing = match (&settings.sp_certificate, signs_requests) {
        (Some(der), true) => format!(
            concat!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
                r#"<ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#,
                r#"</md:KeyDescriptor>"#
            ),
            data_encoding::BASE64.encode(der)
        ),
        _ => String::new(),
    };
    let signed = if signing.is_empty() { "false" } else { "true" };
    let encryption = settings
        .sp_certificate
        .as_ref()
        .map(|der| {
            format!(
                concat!(
                    r#"<md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">"#,
                    r#"<ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#,
                    r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>"#,
                    r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/>"#,
                    r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>"#,
                    r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>"#,
                    r#"<md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#,
                    r#"</md:KeyDescriptor>"#
                ),
                data_encoding::BASE64.encode(der)
            )
        })
        .unwrap_or_default();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="{signed}" WantAssertionsSigned="true" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            "{signing}{encryption}",
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService index="1" isDefault="true" "#,
            r#"Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}"/>"#,
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
        ),
        entity = escape_attr(&settings.sp_entity_id),
        signed = signed,
        signing = signing,
        encryption = encryption,
        acs = escape_attr(&settings.acs_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_the_sp() {
        let md = sp_metadata(&SamlSettings::default(), false);
        assert!(md.contains(r#"AuthnRequestsSigned="false""#));
        let doc = super::super::xml::parse(&md).ok();
        let root = doc.as_ref().map(|d| d.root_element());
        assert_eq!(
            root.and_then(|r| r.attribute("entityID")),
            Some("urn:amazon:webservices")
        );
        assert!(md.contains("Location=\"https://signin.aws.amazon.com/saml\""));
    }
}
