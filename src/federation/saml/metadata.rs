//! An IdP's SAML metadata: fetched (bounded, at load) and parsed strictly into the signing
//! certificates and SSO endpoint a provider is built from.

use std::time::Duration;

use openssl::x509::X509;
use samael::crypto::{CertificateDer, VerificationKey};

use super::xml::{self, NS_DS, NS_MD};

/// AWS's limit of signing certificates per provider (key rollover).
pub const MAX_SIGNING_CERTS: usize = 10;

impl SigningCert {
    /// The certificate, DER.
    pub fn der(&self) -> &CertificateDer {
        &self.der
    }
}

/// A signing certificate from the IdP's metadata, parsed once at load.
#[derive(Debug, Clone)]
pub struct SigningCert {
    pub(super) der: CertificateDer,
    /// Its public key, loaded into xmlsec once (never per response).
    pub(super) key: VerificationKey,
    pub(super) not_before: i64,
    pub(super) not_after: i64,
    /// The certificate subject, for messages.
    pub subject: String,
}

/// Time allowed for one metadata fetch.
pub(super) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Fetch metadata at config load, which is synchronous and may run inside or outside an async
/// runtime: the fetch runs on its own thread with its own single-threaded runtime.
pub(super) fn fetch_blocking(url: &str) -> Result<String, String> {
    let url = url.to_owned();
    let work = std::thread::spawn(move || -> Result<String, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        rt.block_on(async {
            let fetcher = crate::federation::fetch::HttpFetcher::new()?;
            let got = crate::federation::fetch::Fetcher::get(&fetcher, &url, FETCH_TIMEOUT).await?;
            String::from_utf8(got.body).map_err(|_| "the metadata is not UTF-8".to_owned())
        })
    });
    work.join()
        .map_err(|_| "the metadata fetch failed".to_owned())?
        .map_err(|e| format!("fetching the metadata: {e}"))
}

/// The IdP's entity id and signing certificates from its metadata. Refuses DTDs, metadata
/// without an IDPSSODescriptor, and metadata without a signing certificate: samael would skip
/// signature checks for such a provider and accept anything.
pub fn parse_metadata(text: &str, min_rsa_bits: u32) -> Result<IdpMetadata, String> {
    let doc = xml::parse(text).map_err(|e| format!("not valid metadata XML: {e}"))?;
    let entities: Vec<roxmltree::Node<'_, '_>> = doc
        .descendants()
        .filter(|n| xml::is(n, NS_MD, "EntityDescriptor"))
        .filter(|n| n.children().any(|c| xml::is(&c, NS_MD, "IDPSSODescriptor")))
        .collect();
    let [entity] = entities.as_slice() else {
        return Err(format!(
            "expected exactly one EntityDescriptor with an IDPSSODescriptor, found {}",
            entities.len()
        ));
    };
    let entity_id = entity
        .attribute("entityID")
        .filter(|e| !e.is_empty())
        .ok_or("EntityDescriptor has no entityID")?
        .to_owned();
    let mut certs = Vec::new();
    let mut sso_redirect_url = None;
    for idp in entity
        .children()
        .filter(|c| xml::is(c, NS_MD, "IDPSSODescriptor"))
    {
        if sso_redirect_url.is_none() {
            sso_redirect_url = idp
                .children()
                .filter(|c| xml::is(c, NS_MD, "SingleSignOnService"))
                .find(|c| c.attribute("Binding") == Some(HTTP_REDIRECT_BINDING))
                .and_then(|c| c.attribute("Location"))
                .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
                .map(str::to_owned);
        }
        for kd in idp
            .children()
            .filter(|c| xml::is(c, NS_MD, "KeyDescriptor"))
        {
            // `use` absent means both signing and encryption.
            if !matches!(kd.attribute("use"), None | Some("signing")) {
                continue;
            }
            for c in kd
                .descendants()
                .filter(|c| xml::is(c, NS_DS, "X509Certificate"))
            {
                certs.push(parse_cert(&xml::full_text(&c), min_rsa_bits)?);
            }
        }
    }
    if certs.is_empty() {
        return Err("the IdP metadata has no signing certificate (KeyDescriptor use=\"signing\" or without use, with an X509Certificate); such a provider would verify nothing".into());
    }
    if certs.len() > MAX_SIGNING_CERTS {
        return Err(format!(
            "{} signing certificates: at most {MAX_SIGNING_CERTS}",
            certs.len()
        ));
    }
    Ok(IdpMetadata {
        entity_id,
        certs,
        sso_redirect_url,
    })
}

/// The HTTP-Redirect binding (SP-initiated sign-in sends its AuthnRequest over it).
pub const HTTP_REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// What idbroker reads from an IdP's metadata.
#[derive(Debug)]
pub struct IdpMetadata {
    /// The entityID.
    pub entity_id: String,
    /// Signing certificates.
    pub certs: Vec<SigningCert>,
    /// The SingleSignOnService location for the HTTP-Redirect binding, if published.
    pub sso_redirect_url: Option<String>,
}

fn parse_cert(b64: &str, min_rsa_bits: u32) -> Result<SigningCert, String> {
    let clean: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = data_encoding::BASE64
        .decode(clean.as_bytes())
        .map_err(|_| "an X509Certificate is not base64")?;
    let cert = X509::from_der(&der).map_err(|_| "an X509Certificate is not a DER certificate")?;
    let key = cert
        .public_key()
        .map_err(|_| "a certificate's public key cannot be read")?;
    let usable = match key.id() {
        openssl::pkey::Id::RSA => key.bits() >= min_rsa_bits,
        openssl::pkey::Id::EC => true,
        _ => false,
    };
    let subject = cert
        .subject_name()
        .entries()
        .filter_map(|e| e.data().to_string().ok())
        .collect::<Vec<_>>()
        .join(",");
    if !usable {
        return Err(format!(
            "certificate {subject:?}: the key must be RSA ({min_rsa_bits} bits or more) or ECDSA"
        ));
    }
    let der = CertificateDer::from(der);
    idbroker_xmlsec_quiet::silence_xmlsec();
    let verification_key = VerificationKey::from_certificate_der(&der)
        .map_err(|_| format!("certificate {subject:?}: its key cannot be loaded into xmlsec"))?;
    Ok(SigningCert {
        key: verification_key,
        der,
        not_before: asn1_unix(cert.not_before()),
        not_after: asn1_unix(cert.not_after()),
        subject,
    })
}

/// An ASN.1 time as seconds since the epoch.
fn asn1_unix(t: &openssl::asn1::Asn1TimeRef) -> i64 {
    openssl::asn1::Asn1Time::from_unix(0)
        .ok()
        .and_then(|epoch| epoch.diff(t).ok())
        .map(|d| i64::from(d.days) * 86_400 + i64::from(d.secs))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_without_signing_cert_is_refused() {
        let md = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp">
          <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
          </md:IDPSSODescriptor></md:EntityDescriptor>"#;
        let e = parse_metadata(md, 2048).err().unwrap_or_default();
        assert!(e.contains("no signing certificate"), "{e}");
        let dtd = format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{md}");
        assert!(parse_metadata(&dtd, 2048).is_err());
    }
}
