//! The patched samael (vendor/samael/PATCHES.md): keys loaded once and SAML-profile references
//! taken from the document's ID table must give exactly what samael's generic path gives
//! (certificates loaded per signature, pre-digest text matched back to the document): the same
//! reduced document when it verifies, an error when it does not. Checked over the whole
//! tests/data/saml corpus and over responses built here to hit each rule of the fast
//! path (a reference outside the profile, text merged by canonicalisation, a signature that
//! envelops its own target, several references, key rollover).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use idbroker::clock::{Clock, SystemClock};
use idbroker::federation::saml::{
    self, dev, xml, InResponseTo, RawSamlProvider, RawSamlSp, SamlError, SamlSettings,
};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider, ReduceMode, VerificationKey};

/// The SAML corpus in the repository (tests/data/saml).
fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/saml")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn der_of_pem(pem: &[u8]) -> Vec<u8> {
    openssl::x509::X509::from_pem(pem)
        .unwrap()
        .to_der()
        .unwrap()
}

fn demo_cert() -> Vec<u8> {
    der_of_pem(&std::fs::read(root().join("certs/demo/saml-idp.crt")).unwrap())
}

fn demo_key_der() -> Vec<u8> {
    openssl::pkey::PKey::private_key_from_pem(
        &std::fs::read(root().join("certs/demo/saml-idp.key")).unwrap(),
    )
    .unwrap()
    .private_key_to_der()
    .unwrap()
}

/// A corpus certificate that signs nothing built here.
fn other_cert() -> Vec<u8> {
    der_of_pem(&std::fs::read(testdata().join("certs/cfe8bad39af67575.pem")).unwrap())
}

/// Both paths on the same input: samael's generic one (certificates) and the fast one (keys).
fn both(text: &str, certs: &[Vec<u8>], mode: ReduceMode) -> (Option<String>, Option<String>) {
    let ders: Vec<CertificateDer> = certs.iter().cloned().map(CertificateDer::from).collect();
    let keys: Vec<VerificationKey> = ders
        .iter()
        .map(|d| VerificationKey::from_certificate_der(d).unwrap())
        .collect();
    let generic = Crypto::reduce_xml_to_signed_with_allowed_algorithms(text, &ders, mode, None);
    let fast = Crypto::reduce_xml_to_signed_with_keys(text, &keys, mode, None);
    (generic.ok(), fast.ok())
}

fn same(text: &str, certs: &[Vec<u8>]) -> Option<String> {
    let mut out = None;
    for mode in [
        ReduceMode::ValidateAndMarkNoAncestors,
        ReduceMode::ValidateAndMark,
    ] {
        let (generic, fast) = both(text, certs, mode);
        assert_eq!(generic, fast, "{mode:?}: the two paths disagree on\n{text}");
        if mode == ReduceMode::ValidateAndMarkNoAncestors {
            out = fast;
        }
    }
    out
}

/// Every fixture, as given and with comments stripped (as idbroker's lexical pass does), with
/// every corpus certificate alone and with all of them (rollover lists): same verdict, same
/// reduced document.
#[test]
fn the_corpus_reduces_identically_through_both_paths() {
    let mut certs: Vec<Vec<u8>> = std::fs::read_dir(testdata().join("certs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pem"))
        .map(|p| der_of_pem(&std::fs::read(p).unwrap()))
        .collect();
    certs.sort();
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(testdata().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 30 && certs.len() >= 10);
    let mut verified = 0;
    for path in &fixtures {
        let raw = std::fs::read_to_string(path).unwrap();
        let stripped = xml::strip_comments(&raw).map(|s| s.into_owned());
        for text in std::iter::once(raw.clone()).chain(stripped) {
            for cert in &certs {
                verified += usize::from(same(&text, std::slice::from_ref(cert)).is_some());
            }
            same(&text, &certs);
        }
    }
    // Fixtures 1-5, 7, 12, 13, 15, 25-27, 29 ... verify with their certificate.
    assert!(verified >= 12, "only {verified} verified");
}

const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";

/// A signature template: one Reference to `#id` with these transforms.
fn template(id: &str, transforms: &[&str]) -> String {
    let list: String = transforms
        .iter()
        .map(|t| format!(r#"<ds:Transform Algorithm="{t}"/>"#))
        .collect();
    format!(
        concat!(
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>"#,
            r##"<ds:Reference URI="#{id}"><ds:Transforms>{list}</ds:Transforms>"##,
            r#"<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
            r#"<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"#,
            r#"<ds:SignatureValue></ds:SignatureValue></ds:Signature>"#
        ),
        id = id,
        list = list
    )
}

/// A pretty-printed Response whose Assertion is signed; `lang` goes on the Response,
/// `name_id` is the NameID's raw content, `after_signature` sits between the Assertion's
/// signature and its Subject.
struct Shape<'a> {
    transforms: &'a [&'a str],
    lang: &'a str,
    name_id: &'a str,
    after_signature: &'a str,
}

const PROFILE: Shape<'static> = Shape {
    transforms: &[ENVELOPED, EXC_C14N],
    lang: "",
    name_id: "alice@example.com",
    after_signature: "\n    ",
};

fn signed(shape: &Shape<'_>) -> String {
    try_signed(shape).unwrap()
}

/// xmlsec cannot sign every shape (e.g. c14n before the enveloped transform).
fn try_signed(shape: &Shape<'_>) -> Option<String> {
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2026-11-28T12:00:00Z"{lang}>
  <saml:Issuer>https://idp.example</saml:Issuer>
  <saml:Assertion ID="_a1" Version="2.0" IssueInstant="2026-11-28T12:00:00Z">
    <saml:Issuer>https://idp.example</saml:Issuer>
    {sig}{after}<saml:Subject>
      <saml:NameID>{name_id}</saml:NameID>
    </saml:Subject>
    <saml:AttributeStatement>
      <saml:Attribute Name="role"><saml:AttributeValue>admin</saml:AttributeValue></saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"#,
        lang = shape.lang,
        sig = template("_a1", shape.transforms),
        after = shape.after_signature,
        name_id = shape.name_id,
    );
    Crypto::sign_xml(xml, &demo_key_der()).ok()
}

#[test]
fn a_profile_reference_in_a_pretty_printed_response_reduces_identically() {
    let text = signed(&PROFILE);
    let out = same(&text, &[demo_cert()]).expect("verifies");
    assert!(
        out.contains("alice@example.com") && out.contains("admin"),
        "{out}"
    );
    assert!(!out.contains("samlp:Response"), "{out}");
}

/// Inclusive c14n makes the Assertion inherit the Response's xml:lang in its canonical form:
/// the generic matcher then refuses the reference. The fast path must not take such a
/// reference (it is outside the profile), so the answer stays a refusal.
#[test]
fn a_reference_outside_the_profile_takes_the_generic_path() {
    let inclusive = Shape {
        transforms: &[ENVELOPED, C14N],
        lang: r#" xml:lang="en""#,
        ..PROFILE
    };
    let text = signed(&inclusive);
    assert_eq!(
        both(&text, &[demo_cert()], ReduceMode::default()),
        (None, None)
    );
    // Without the inherited attribute both accept it, identically.
    let plain = Shape {
        transforms: &[ENVELOPED, C14N],
        ..PROFILE
    };
    assert!(same(&signed(&plain), &[demo_cert()]).is_some());
    // Transforms in the other order, or only one of them: the generic path decides.
    for transforms in [&[EXC_C14N, ENVELOPED][..], &[ENVELOPED][..]] {
        let other = Shape {
            transforms,
            ..PROFILE
        };
        if let Some(text) = try_signed(&other) {
            same(&text, &[demo_cert()]);
        }
    }
}

/// Text on both sides of the removed signature, or a value split by CDATA, becomes one text
/// node in the canonical form: the generic matcher fails closed, and so must the fast path.
#[test]
fn text_merged_by_canonicalisation_fails_closed_on_both_paths() {
    let text = signed_with_tail();
    assert_eq!(
        both(&text, &[demo_cert()], ReduceMode::default()),
        (None, None)
    );

    let cdata = Shape {
        name_id: "alice@example.com<![CDATA[.evil.com]]>",
        ..PROFILE
    };
    let text = signed(&cdata);
    assert_eq!(
        both(&text, &[demo_cert()], ReduceMode::default()),
        (None, None)
    );
    // White space alone around the signature merges into white space: accepted, identically.
    assert!(same(&signed(&PROFILE), &[demo_cert()]).is_some());
}

/// The Assertion's Issuer followed by text, the signature, then more text.
fn signed_with_tail() -> String {
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2026-11-28T12:00:00Z"><saml:Assertion ID="_a1" Version="2.0" IssueInstant="2026-11-28T12:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer>tail{sig}more<saml:Subject><saml:NameID>alice@example.com</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"#,
        sig = template("_a1", &[ENVELOPED, EXC_C14N]),
    );
    Crypto::sign_xml(xml, &demo_key_der()).unwrap()
}

/// A signature whose reference points inside itself (a ds:Object): the enveloped transform
/// removes everything, nothing is signed, both paths refuse.
#[test]
fn a_signature_enveloping_its_own_target_signs_nothing() {
    let sig = template("_obj", &[ENVELOPED, EXC_C14N]).replace(
        "</ds:Signature>",
        r#"<ds:Object><saml:Assertion ID="_obj" Version="2.0"><saml:Issuer>https://evil.example</saml:Issuer></saml:Assertion></ds:Object></ds:Signature>"#,
    );
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0">{sig}</samlp:Response>"#
    );
    let text = Crypto::sign_xml(xml, &demo_key_der()).unwrap();
    assert_eq!(
        both(&text, &[demo_cert()], ReduceMode::default()),
        (None, None)
    );
}

/// Two references in one SignedInfo (outside the profile): the generic path decides.
#[test]
fn several_references_take_the_generic_path() {
    let one = template("_a1", &[ENVELOPED, EXC_C14N]);
    let reference = one
        .split("<ds:Reference")
        .nth(1)
        .and_then(|r| r.split("</ds:SignedInfo>").next())
        .unwrap()
        .replace("#_a1", "#_s1");
    let sig = one.replace(
        "</ds:SignedInfo>",
        &format!("<ds:Reference{reference}</ds:SignedInfo>"),
    );
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0"><saml:Assertion ID="_a1" Version="2.0"><saml:Issuer>https://idp.example</saml:Issuer>{sig}<saml:Subject ID="_s1"><saml:NameID>alice@example.com</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"#
    );
    let text = Crypto::sign_xml(xml, &demo_key_der()).unwrap();
    same(&text, &[demo_cert()]);
}

/// Rollover: the key list holds an unrelated key first; the second verifies.
#[test]
fn with_several_keys_the_second_may_verify() {
    let text = signed(&PROFILE);
    let out = same(&text, &[other_cert(), demo_cert()]);
    assert!(out.is_some());
    assert_eq!(
        both(&text, &[other_cert()], ReduceMode::default()),
        (None, None)
    );
}

/// The same through idbroker's verifier: a provider whose metadata lists an unrelated
/// certificate first and the demo IdP's second accepts the demo response; one that lists only
/// the unrelated certificate refuses it as a bad signature.
#[test]
fn a_provider_with_two_certificates_verifies_with_the_second() {
    let now = SystemClock.now();
    let build = |certs: &[Vec<u8>], tag: &str| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("saml_fast_path");
        std::fs::create_dir_all(&dir).unwrap();
        let kds: String = certs
            .iter()
            .map(|c| {
                format!(
                    r#"<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                    data_encoding::BASE64.encode(c)
                )
            })
            .collect();
        let md = dir.join(format!("{tag}.{}.metadata.xml", std::process::id()));
        std::fs::write(
            &md,
            format!(
                r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{kds}</md:IDPSSODescriptor></md:EntityDescriptor>"#,
                dev::DEMO_ENTITY_ID
            ),
        )
        .unwrap();
        let sp: RawSamlSp = toml::from_str(
            "sp_entity_id = \"https://sp.example/\"\nacs_url = \"https://sp.example/acs\"",
        )
        .unwrap();
        let provider: RawSamlProvider = toml::from_str(&format!(
            "name = {:?}\nmetadata_file = {:?}\nexpired_certs = \"accept\"\nmin_rsa_key_bits = 1024",
            dev::DEMO_PROVIDER_NAME,
            md.display().to_string()
        ))
        .unwrap();
        SamlSettings::build(&sp, &[provider], "123456789012", &dir, now, &mut Vec::new())
            .map_err(|e| panic!("{}: {}", e.key, e.problem))
            .unwrap()
    };
    let arn = format!(
        "arn:aws:iam::123456789012:saml-provider/{}",
        dev::DEMO_PROVIDER_NAME
    );
    let rollover = build(&[other_cert(), demo_cert()], "rollover");
    let provider = rollover.provider(&arn).unwrap();
    let b64 = dev::demo_response(
        &rollover,
        provider,
        &std::fs::read(root().join("certs/demo/saml-idp.key")).unwrap(),
        &std::fs::read(root().join("certs/demo/saml-idp.crt")).unwrap(),
        "arn:aws:iam::123456789012:role/demo/SamlDeveloper",
        "alice@example.com",
        now,
    )
    .unwrap();
    let at = now + Duration::from_secs(1);
    let checked = saml::check(provider, &rollover, &b64, InResponseTo::Unsolicited, at).unwrap();
    assert_eq!(checked.subject(), "alice@example.com");

    let stranger = build(&[other_cert()], "stranger");
    let provider = stranger.provider(&arn).unwrap();
    assert!(matches!(
        saml::check(provider, &stranger, &b64, InResponseTo::Unsolicited, at),
        Err(SamlError::Signature(_))
    ));
}

/// libxml2 registers `xml:id` values even when they are not NCNames, and xmlsec reads
/// `#name` as `xpointer(id('name'))`, where `id('a b')` means the elements with IDs `a` and
/// `b`, not the one whose xml:id is "a b". Such a reference must not be mapped through the ID
/// table: it takes the generic path (same result either way).
#[test]
fn a_non_ncname_xml_id_takes_the_generic_path() {
    let sig = template("a b", &[ENVELOPED, EXC_C14N]);
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0"><saml:Issuer ID="a">https://idp.example</saml:Issuer><saml:Assertion xml:id="a b" Version="2.0"><saml:Issuer>https://evil.example</saml:Issuer>{sig}<saml:Subject><saml:NameID>mallory@example.com</saml:NameID></saml:Subject></saml:Assertion><samlp:Status ID="b"/></samlp:Response>"#
    );
    let text = Crypto::sign_xml(xml, &demo_key_der()).expect("xmlsec signs the id('a b') set");
    same(&text, &[demo_cert()]);
}

/// An `xml:id` shaped like an XPointer expression, which xmlsec evaluates as one
/// (`id('x')|//*|id('y')`): the generic path decides.
#[test]
fn an_expression_shaped_xml_id_takes_the_generic_path() {
    let sig = template("x')|//*|id('y", &[ENVELOPED, EXC_C14N]).replace("'", "&apos;");
    let xml = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0"><saml:Assertion xml:id="x&apos;)|//*|id(&apos;y" Version="2.0"><saml:Issuer>https://idp.example</saml:Issuer>{sig}<saml:Subject><saml:NameID>alice@example.com</saml:NameID></saml:Subject></saml:Assertion><Unsigned>evil</Unsigned></samlp:Response>"#
    );
    let text = Crypto::sign_xml(xml, &demo_key_der()).expect("xmlsec signs the expression");
    same(&text, &[demo_cert()]);
}
