//! SAML 2.0 Web SSO responses, as AssumeRoleWithSAML receives them: checked against a trusted
//! provider, and turned into a [`VerifiedAssertion`] that nothing else can build.
//!
//! The checks, in order (each failure is a [`SamlError`]; `http::error` picks the STS code):
//!
//! 1. size (4..=100,000 base64 characters), base64, UTF-8;
//! 2. lexical pass ([`xml::strip_comments`]): any `<!DOCTYPE`/`<!ENTITY`/declaration is refused
//!    before a parser sees the text; comments are dropped, so a value split by a comment reads
//!    as all of its text and the signature check sees exactly the bytes the values come from.
//!    An EncryptedAssertion (`open_encrypted`): the Response's signature, when present, is
//!    checked first (profile + samael: it covers the ciphertext); the Assertion is decrypted
//!    with the SP keys and put in its place, and the rebuilt text goes through 2-7 like a plain
//!    response (the decrypted Assertion signed itself unless the Response signature verified);
//! 3. profile pass on the whole document (roxmltree, no DTD): root `samlp:Response` 2.0,
//!    exactly one `saml:Assertion` in the whole document (none hidden in Extensions, Advice,
//!    ds:Object, ...), no EncryptedAssertion left, no duplicate `ID`, and every `ds:Signature` an
//!    enveloped signature of the Response or of the Assertion, in its schema position (right
//!    after Issuer), with one `Reference URI="#<parent ID>"`, only the enveloped-signature and
//!    comment-less c14n transforms, and allowed algorithms (SHA-1 only when the provider opts
//!    in). At least one signature;
//! 4. samael + xmlsec (`reduce_xml_to_signed`): every signature must verify with a trusted
//!    certificate of the provider's metadata (never the one inside the message; expired ones
//!    only when the provider says so), and only the signed content is kept;
//! 5. every value is read from that signed content: Issuer (== the provider's entity id),
//!    Conditions (required, with an AudienceRestriction naming the SP entity id or
//!    `urn:amazon:webservices`), exactly one bearer SubjectConfirmation with Recipient == the
//!    ACS URL and a NotOnOrAfter, NameID (outer white space trimmed), attributes,
//!    SessionNotOnOrAfter; the Response's Destination (when present), Status (Success),
//!    InResponseTo and IssueInstant are checked too (they can only make a response fail);
//! 6. time, with the provider's skew: IssueInstant neither in the future nor older than the
//!    allowed age, NotBefore reached, NotOnOrAfter and SessionNotOnOrAfter not passed;
//! 7. replay ([`verify`]): the assertion ID is recorded in the session store until it expires;
//!    a second use fails on every replica.

mod config;
pub mod dev;
mod encrypted;
pub mod pool;
pub mod sp_metadata;
pub mod xml;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use idbroker_session::{SessionError, SessionStore};
use samael::crypto::{AllowedSignatureAlgorithm, Crypto, ReduceMode, VerificationKey};
// The unit tests below call samael's certificate-based entry point.
#[cfg(test)]
use samael::crypto::{CertificateDer, CryptoProvider};
use tracing::instrument;

pub use config::{
    parse_metadata, MetadataSource, ProviderKeys, RawRoleMapping, RawSamlProvider, RawSamlSp,
    RefreshOutcome, RoleMapping, SamlConfigError, SamlProvider, SamlSettings, SigningCert,
    AWS_ACS_URL, AWS_AUDIENCE, MAX_SIGNING_CERTS,
};
pub use encrypted::SpKeys;
use xml::{NS_ASSERTION, NS_DS, NS_PROTOCOL, NS_XSI};

/// Largest SAMLAssertion parameter, in characters (AWS's limit).
pub const MAX_ASSERTION_CHARS: usize = 100_000;

/// The answer to a signature that does not verify with any trusted key (and to an unknown
/// provider, which has none).
pub const SIGNATURE_DOES_NOT_VERIFY: &str =
    "the signature does not verify with the provider's certificates";

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const NAMEID_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const C14N: [&str; 2] = [
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
];
const SIG_SHA2: [&str; 6] = [
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];
const DIGEST_SHA2: [&str; 3] = [
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
const SIG_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const DIGEST_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
/// The SHA-2 algorithms, for samael's own check (a second line behind the profile pass).
const SAMAEL_SHA2: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// Why a SAML response was refused. Messages describe the input, never idbroker's insides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    /// Over 100,000 characters (or under 4).
    #[error("SAMLAssertion must be 4 to 100000 characters")]
    Size,
    /// Not base64, not UTF-8, not XML, not a SAML Response, or outside the profile idbroker
    /// accepts (declarations, several assertions, signatures in the wrong place, ...).
    #[error("Invalid SAML response: {0}")]
    Malformed(&'static str),
    /// No signature, a signature that does not verify with a trusted certificate, or one with
    /// an algorithm the provider does not allow.
    #[error("Invalid SAML response: {0}")]
    Signature(&'static str),
    /// Issuer, audience, recipient, destination, status or InResponseTo is not what this
    /// provider and this service expect.
    #[error("{0}")]
    Rejected(String),
    /// Not yet valid (NotBefore, IssueInstant in the future).
    #[error("{0}")]
    NotYetValid(&'static str),
    /// Expired (NotOnOrAfter, SessionNotOnOrAfter, IssueInstant too old).
    #[error("{0}")]
    Expired(&'static str),
    /// The assertion was used before.
    #[error("The SAML assertion has already been used")]
    Replayed,
    /// The session store did not answer: nothing is issued.
    #[error("the session store is unavailable")]
    StoreUnavailable,
    /// Every signature-check slot stayed busy, or the check did not finish, within the
    /// configured time (`saml.max_concurrent_checks`, `saml.check_timeout_ms`).
    #[error("the service is busy")]
    Overloaded,
}

/// A SAML assertion whose signature, issuer, audience, recipient, times and single use were
/// checked for one provider. Only [`verify`] builds one; its fields are private.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    provider_arn: String,
    issuer: String,
    subject: String,
    subject_type: String,
    name_qualifier: String,
    doc: String,
    audience: String,
    id: String,
    not_on_or_after: i64,
    session_not_on_or_after: Option<i64>,
    attributes: Vec<(String, Vec<String>)>,
}

impl VerifiedAssertion {
    /// The provider that vouched (its ARN).
    pub fn provider_arn(&self) -> &str {
        &self.provider_arn
    }
    /// Issuer (the IdP's entity id).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// NameID, white space around it removed.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// `persistent`, `transient`, ... or the full format URI.
    pub fn subject_type(&self) -> &str {
        &self.subject_type
    }
    /// AWS's NameQualifier for this provider.
    pub fn name_qualifier(&self) -> &str {
        &self.name_qualifier
    }
    /// `ACCOUNT/PROVIDER`, the `saml:doc` key.
    pub fn doc(&self) -> &str {
        &self.doc
    }
    /// The Recipient of the bearer confirmation (`saml:aud`, the result's Audience).
    pub fn audience(&self) -> &str {
        &self.audience
    }
    /// The assertion's ID.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// When the assertion stops being usable (seconds since the epoch).
    pub fn not_on_or_after(&self) -> i64 {
        self.not_on_or_after
    }
    /// The IdP's SessionNotOnOrAfter, if given (seconds since the epoch).
    pub fn session_not_on_or_after(&self) -> Option<i64> {
        self.session_not_on_or_after
    }
    /// Values of an attribute (by exact Name); empty when absent.
    pub fn attribute(&self, name: &str) -> &[String] {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default()
    }
    /// All attributes, in document order.
    pub fn attributes(&self) -> &[(String, Vec<String>)] {
        &self.attributes
    }
}

/// Recognises a request id as one this service sent (and that is still current).
pub type IssuedRequest = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What the SP expects of InResponseTo.
///
/// An empty `InResponseTo=""` (samlify and other IdPs write it on IdP-initiated responses, in
/// the Response and in the signed SubjectConfirmationData) names no request: it reads as
/// absent for [`InResponseTo::Unsolicited`] and [`InResponseTo::UnsolicitedOr`], as
/// python3-saml reads it. An SP-initiated flow ([`InResponseTo::OneOf`]) still needs the exact
/// request id.
#[derive(Clone)]
pub enum InResponseTo {
    /// IdP-initiated (AssumeRoleWithSAML): idbroker sent no request, so a response that answers
    /// one was meant for someone else and is refused.
    Unsolicited,
    /// SP-initiated: it must answer one of these request ids.
    OneOf(Vec<String>),
    /// The console's ACS: either unsolicited (IdP-initiated sign-in), or answering a request
    /// that the function recognises as one this service sent (SP-initiated sign-in).
    UnsolicitedOr(IssuedRequest),
}

impl std::fmt::Debug for InResponseTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InResponseTo::Unsolicited => f.write_str("Unsolicited"),
            InResponseTo::OneOf(ids) => f.debug_tuple("OneOf").field(ids).finish(),
            InResponseTo::UnsolicitedOr(_) => f.write_str("UnsolicitedOr(..)"),
        }
    }
}

impl InResponseTo {
    /// The Response's and the bearer confirmation's InResponseTo: unsolicited means neither
    /// is present (or present and empty); SP-initiated means at least one is, and each present
    /// one is a request id idbroker sent.
    fn check(&self, response: Option<&str>, confirmation: Option<&str>) -> Result<(), SamlError> {
        fn named(v: Option<&str>) -> Option<&str> {
            v.filter(|v| !v.is_empty())
        }
        let ok = match self {
            InResponseTo::Unsolicited => named(response).is_none() && named(confirmation).is_none(),
            InResponseTo::OneOf(ids) => {
                (response.is_some() || confirmation.is_some())
                    && [response, confirmation]
                        .into_iter()
                        .flatten()
                        .all(|v| ids.iter().any(|id| id == v))
            }
            InResponseTo::UnsolicitedOr(issued) => match (named(response), named(confirmation)) {
                (None, None) => true,
                (r, c) => [r, c].into_iter().flatten().all(|v| issued(v)),
            },
        };
        if ok {
            Ok(())
        } else {
            Err(SamlError::Rejected(
                "The SAML response answers a request this service did not send (InResponseTo)"
                    .into(),
            ))
        }
    }
}

/// [`crate::clock::epoch`] as signed seconds, the type of the assertion's times.
pub fn unix_now(t: SystemTime) -> i64 {
    i64::try_from(crate::clock::epoch(t)).unwrap_or(i64::MAX)
}

/// An `xs:dateTime` in UTC (`2026-11-28T12:00:00Z`, fractions allowed).
fn parse_time(s: &str) -> Result<i64, SamlError> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| SamlError::Malformed("a time is not an xs:dateTime in UTC"))
}

fn opt_time(n: &roxmltree::Node<'_, '_>, attr: &str) -> Result<Option<i64>, SamlError> {
    n.attribute(attr).map(parse_time).transpose()
}

/// A SAML response checked up to (not including) single use. The CPU part of the work; see
/// [`verify`] for the whole.
#[derive(Debug)]
pub struct Checked(VerifiedAssertion, i64);

impl Checked {
    /// The assertion ID.
    pub fn id(&self) -> &str {
        &self.0.id
    }
    /// The NameID. (No reference to the inner [`VerifiedAssertion`] is handed out: it is a
    /// proof of single use, which a `Checked` is not yet.)
    pub fn subject(&self) -> &str {
        &self.0.subject
    }
}

/// Check a base64 SAML response for `provider`, at `now`, and record its assertion ID in
/// `store` until it expires. The only way to a [`VerifiedAssertion`].
///
/// The check ([`check`]) runs on `sp.checks`: off the async workers, bounded in number and
/// time; past the bound the answer is [`SamlError::Overloaded`].
#[instrument(skip_all, fields(provider = %provider.arn))]
pub async fn verify(
    provider: &Arc<SamlProvider>,
    sp: &Arc<SamlSettings>,
    encoded: &str,
    in_response_to: InResponseTo,
    store: &dyn SessionStore,
    now: SystemTime,
) -> Result<VerifiedAssertion, SamlError> {
    let (p, settings, text) = (provider.clone(), sp.clone(), encoded.to_owned());
    let Checked(assertion, until) = sp
        .checks
        .run(move || check(&p, &settings, &text, in_response_to, now))
        .await
        .map_err(|_| SamlError::Overloaded)??;
    let replay_id = format!("{}#{}", provider.arn, assertion.id);
    let now_s = u64::try_from(unix_now(now)).unwrap_or(0);
    let until = u64::try_from(until).unwrap_or(0);
    match store.use_once("saml", &replay_id, until, now_s).await {
        Ok(()) => Ok(assertion),
        Err(SessionError::Replay) => Err(SamlError::Replayed),
        Err(SessionError::Expired) => Err(SamlError::Expired("The SAML assertion has expired")),
        Err(_) => Err(SamlError::StoreUnavailable),
    }
}

/// What the console's ACS reads from a response before verifying it: the Issuer (to choose the
/// provider whose keys verify it) and the top-level and nested status codes (to tell a person
/// that their IdP reported an error). Nothing read here grants anything: [`verify`] then
/// checks the signature with that provider's keys and the Issuer against its entity id.
#[derive(Debug, Default)]
pub struct Unverified {
    /// The Response's Issuer, else the first Assertion's.
    pub issuer: Option<String>,
    /// StatusCode values, outermost first.
    pub status: Vec<String>,
}

/// Read [`Unverified`] from a base64 response; `None` when it is not XML at all.
pub fn peek(encoded: &str) -> Option<Unverified> {
    if !(4..=MAX_ASSERTION_CHARS).contains(&encoded.len()) {
        return None;
    }
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = data_encoding::BASE64.decode(compact.as_bytes()).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let text = strip(text).ok()?;
    let doc = xml::parse(&text).ok()?;
    let root = doc.root_element();
    let issuer_of = |n: roxmltree::Node<'_, '_>| {
        n.children()
            .find(|c| xml::is(c, NS_ASSERTION, "Issuer"))
            .map(|c| xml::full_text(&c).trim().to_owned())
    };
    let issuer = issuer_of(root).or_else(|| {
        root.children()
            .find(|c| xml::is(c, NS_ASSERTION, "Assertion"))
            .and_then(issuer_of)
    });
    let mut status = Vec::new();
    let mut code = root
        .children()
        .find(|c| xml::is(c, NS_PROTOCOL, "Status"))
        .and_then(|s| s.children().find(|c| xml::is(c, NS_PROTOCOL, "StatusCode")));
    while let Some(c) = code {
        if status.len() == 3 {
            break;
        }
        status.push(c.attribute("Value").unwrap_or_default().to_owned());
        code = c.children().find(|c| xml::is(c, NS_PROTOCOL, "StatusCode"));
    }
    Some(Unverified { issuer, status })
}

impl Unverified {
    /// The provider whose entity id is the Issuer: the keys to verify with.
    pub fn provider<'s>(&self, sp: &'s SamlSettings) -> Option<&'s Arc<SamlProvider>> {
        let issuer = self.issuer.as_deref()?;
        sp.providers().find(|p| p.keys().entity_id == issuer)
    }

    /// A status other than Success, shortened for people (`Responder/AuthnFailed`).
    pub fn failed_status(&self) -> Option<String> {
        match self.status.first() {
            Some(s) if s != STATUS_SUCCESS => Some(
                self.status
                    .iter()
                    .map(|v| {
                        let short = v.rsplit(':').next().unwrap_or_default();
                        short
                            .chars()
                            .filter(char::is_ascii_alphanumeric)
                            .take(64)
                            .collect::<String>()
                    })
                    .collect::<Vec<_>>()
                    .join("/"),
            ),
            _ => None,
        }
    }
}

/// Everything [`verify`] checks except single use (benchmarks and fuzzing call this).
#[instrument(skip_all, fields(provider = %provider.arn))]
pub fn check(
    provider: &SamlProvider,
    sp: &SamlSettings,
    encoded: &str,
    in_response_to: InResponseTo,
    now: SystemTime,
) -> Result<Checked, SamlError> {
    idbroker_xmlsec_quiet::silence_xmlsec();
    if !(4..=MAX_ASSERTION_CHARS).contains(&encoded.len()) {
        return Err(SamlError::Size);
    }
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = data_encoding::BASE64
        .decode(compact.as_bytes())
        .map_err(|_| SamlError::Malformed("SAMLAssertion is not base64"))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| SamlError::Malformed("the response is not UTF-8"))?;
    let text = strip(text)?;
    let now_s = unix_now(now);
    // One snapshot of the provider's keys for the whole check (a refresh may swap them).
    let keys = provider.keys();
    let trusted: Vec<VerificationKey> = keys
        .certs
        .iter()
        .filter(|c| provider.accept_expired_certs || (c.not_before <= now_s && now_s < c.not_after))
        .map(|c| c.key.clone())
        .collect();
    if trusted.is_empty() {
        return Err(SamlError::Signature(
            "no signing certificate of the provider is valid now",
        ));
    }
    let algorithms = (!provider.allow_sha1).then_some(&SAMAEL_SHA2[..]);
    let opened = open_encrypted(provider, sp, &text, &trusted, algorithms)?;
    let (text, preverified) = match &opened {
        // The decrypted text goes through the lexical pass too (no DOCTYPE in the plaintext).
        Some((spliced, verified)) => (strip(spliced)?, *verified),
        None => (text, false),
    };
    let outer = profile(provider, &text, preverified)?;
    let reduced: Cow<'_, str> = if outer.response_signed || outer.assertion_signed {
        Cow::Owned(
            Crypto::reduce_xml_to_signed_with_keys(
                &text,
                &trusted,
                ReduceMode::ValidateAndMarkNoAncestors,
                algorithms,
            )
            .map_err(|_| SamlError::Signature(SIGNATURE_DOES_NOT_VERIFY))?,
        )
    } else {
        // Only after decryption, when the Response's signature (over the ciphertext) was
        // verified and the text rebuilt from samael's signed content: all of it is signed.
        text.clone()
    };
    let signed = read_signed(&reduced, &outer)?;
    let until = validate(provider, &keys, sp, &outer, &signed, in_response_to, now_s)?;
    Ok(Checked(
        VerifiedAssertion {
            provider_arn: provider.arn.clone(),
            issuer: signed.issuer,
            subject: signed.name_id,
            subject_type: signed.subject_type,
            name_qualifier: keys.name_qualifier.clone(),
            doc: provider.doc.clone(),
            audience: sp.acs_url.clone(),
            id: signed.id,
            not_on_or_after: until - provider.skew,
            session_not_on_or_after: signed.session_not_on_or_after,
            attributes: signed.attributes,
        },
        until,
    ))
}

/// What the profile pass learned from the whole (not yet verified) document. Used only to
/// refuse: nothing here reaches a [`VerifiedAssertion`].
#[derive(Debug)]
struct Outer {
    response_signed: bool,
    assertion_signed: bool,
    assertion_id: String,
    destination: Option<String>,
    in_response_to: Option<String>,
    issue_instant: i64,
    issuer: Option<String>,
    status: Option<String>,
}

/// The lexical pass: declarations refused, comments dropped.
fn strip(text: &str) -> Result<Cow<'_, str>, SamlError> {
    xml::strip_comments(text).map_err(|e| match e {
        xml::LexError::Declaration => {
            SamlError::Malformed("DOCTYPE and entity declarations are not allowed")
        }
        xml::LexError::Unterminated => SamlError::Malformed("the response is not well-formed XML"),
        xml::LexError::Encoding => SamlError::Malformed(
            "the response must be UTF-8 (its XML declaration names another encoding)",
        ),
    })
}

/// When the response carries an EncryptedAssertion: the Response with the decrypted Assertion
/// in its place, and whether the Response's signature was verified before decryption. That
/// signature covers the ciphertext, not the plaintext: it is checked here (profile and samael),
/// the text is rebuilt from samael's signed content, and the signature element is dropped from
/// it. Without a Response signature the decrypted Assertion must carry its own, checked by the
/// ordinary path afterwards.
#[instrument(skip_all)]
fn open_encrypted(
    provider: &SamlProvider,
    sp: &SamlSettings,
    text: &str,
    trusted: &[VerificationKey],
    algorithms: Option<&[AllowedSignatureAlgorithm]>,
) -> Result<Option<(String, bool)>, SamlError> {
    if !text.contains("EncryptedAssertion") {
        return Ok(None);
    }
    let doc = xml::parse(text)
        .map_err(|_| SamlError::Malformed("the response is not well-formed XML"))?;
    if encrypted::find(&doc)?.is_none() {
        return Ok(None);
    }
    let root = doc.root_element();
    let root_id = root.attribute("ID");
    let mut response_signed = false;
    for sig in doc.descendants().filter(|n| xml::is(n, NS_DS, "Signature")) {
        response_signed |= signature_element_ok(provider, &sig, &root, None, response_signed)?;
    }
    let unsigned = || SamlError::Signature("the assertion is not covered by a valid signature");
    let base = if response_signed {
        Crypto::reduce_xml_to_signed_with_keys(
            text,
            trusted,
            ReduceMode::ValidateAndMarkNoAncestors,
            algorithms,
        )
        .map_err(|_| SamlError::Signature(SIGNATURE_DOES_NOT_VERIFY))?
    } else {
        text.to_owned()
    };
    let bdoc = xml::parse(&base).map_err(|_| unsigned())?;
    let broot = bdoc.root_element();
    if !xml::is(&broot, NS_PROTOCOL, "Response") || broot.attribute("ID") != root_id {
        return Err(unsigned());
    }
    let ea = encrypted::find(&bdoc)?.ok_or_else(unsigned)?;
    let plain = encrypted::open(
        &ea,
        &sp.sp_keys,
        provider,
        response_signed,
        trusted,
        algorithms,
    )?;
    let mut edits = vec![(ea.range(), plain.as_str())];
    for sig in xml::children(&broot, NS_DS, "Signature") {
        edits.push((sig.range(), ""));
    }
    Ok(Some((encrypted::splice(&base, edits), response_signed)))
}

/// A `ds:Signature` element: enveloped in the Response (`root`) or the Assertion, right after
/// Issuer, at most one per element (`seen` = the element already has one), its SignedInfo in
/// the profile. Returns whether it signs the Response.
fn signature_element_ok(
    provider: &SamlProvider,
    sig: &roxmltree::Node<'_, '_>,
    root: &roxmltree::Node<'_, '_>,
    assertion: Option<&roxmltree::Node<'_, '_>>,
    seen: bool,
) -> Result<bool, SamlError> {
    let parent = sig
        .parent_element()
        .ok_or(SamlError::Malformed("a signature has no parent"))?;
    let is_response = parent == *root;
    if !is_response && Some(&parent) != assertion {
        return Err(SamlError::Signature(
            "a signature signs neither the Response nor the Assertion",
        ));
    }
    let before: Vec<_> = sig
        .prev_siblings()
        .skip(1)
        .filter(|n| n.is_element())
        .collect();
    let position_ok = match before.as_slice() {
        [] => is_response,
        [only] => xml::is(only, NS_ASSERTION, "Issuer"),
        _ => false,
    };
    if !position_ok {
        return Err(SamlError::Signature(
            "a signature is not where the schema puts it",
        ));
    }
    if seen {
        return Err(SamlError::Signature("an element carries two signatures"));
    }
    // SignedInfo, SignatureValue, KeyInfo: nothing else. A ds:Object (with a Manifest that
    // references any URI) is outside what the signature value covers; it is refused here,
    // before xmlsec sees it (xmlsec is also set to ignore manifests: vendor/samael patch 3).
    if sig.children().filter(|n| n.is_element()).any(|n| {
        !(xml::is(&n, NS_DS, "SignedInfo")
            || xml::is(&n, NS_DS, "SignatureValue")
            || xml::is(&n, NS_DS, "KeyInfo"))
    }) {
        return Err(SamlError::Signature(
            "a signature holds an element other than SignedInfo, SignatureValue and KeyInfo",
        ));
    }
    let parent_id = parent
        .attribute("ID")
        .ok_or(SamlError::Signature("the signed element has no ID"))?;
    signed_info_ok(provider, sig, parent_id)?;
    Ok(is_response)
}

/// `preverified`: the text was rebuilt after decryption from a Response whose signature was
/// verified (see [`open_encrypted`]); an unsigned Assertion is then acceptable.
fn profile(provider: &SamlProvider, text: &str, preverified: bool) -> Result<Outer, SamlError> {
    let doc = xml::parse(text)
        .map_err(|_| SamlError::Malformed("the response is not well-formed XML"))?;
    let root = doc.root_element();
    if !xml::is(&root, NS_PROTOCOL, "Response") {
        return Err(SamlError::Malformed(
            "the root element is not a SAML 2.0 Response",
        ));
    }
    if root.attribute("Version") != Some("2.0") {
        return Err(SamlError::Malformed("the Response is not SAML version 2.0"));
    }
    let mut ids = std::collections::HashSet::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        if let Some(id) = n.attribute("ID") {
            if !ids.insert(id) {
                return Err(SamlError::Malformed("duplicate ID attributes"));
            }
        }
        if xml::is(&n, NS_ASSERTION, "EncryptedAssertion")
            || xml::is(&n, NS_ASSERTION, "EncryptedID")
            || xml::is(&n, NS_ASSERTION, "EncryptedAttribute")
        {
            // One EncryptedAssertion, a child of the Response, is opened before this pass;
            // anything encrypted left (nested, EncryptedID, EncryptedAttribute) is refused.
            return Err(SamlError::Malformed(
                "only one EncryptedAssertion, a child of the Response, is supported (no EncryptedID or EncryptedAttribute)",
            ));
        }
    }
    let assertions: Vec<_> = doc
        .descendants()
        .filter(|n| xml::is(n, NS_ASSERTION, "Assertion"))
        .collect();
    let [assertion] = assertions.as_slice() else {
        return Err(SamlError::Malformed(
            "the Response must contain exactly one Assertion",
        ));
    };
    if assertion.parent_element() != Some(root) {
        return Err(SamlError::Malformed(
            "the Assertion must be a child of the Response",
        ));
    }
    let assertion_id = assertion
        .attribute("ID")
        .ok_or(SamlError::Malformed("the Assertion has no ID"))?;

    let mut response_signed = false;
    let mut assertion_signed = false;
    for sig in doc.descendants().filter(|n| xml::is(n, NS_DS, "Signature")) {
        let on_response = sig.parent_element() == Some(root);
        let seen = if on_response {
            response_signed
        } else {
            assertion_signed
        };
        signature_element_ok(provider, &sig, &root, Some(assertion), seen)?;
        if on_response {
            response_signed = true;
        } else {
            assertion_signed = true;
        }
    }
    if !response_signed && !assertion_signed && !preverified {
        return Err(SamlError::Signature(
            "neither the Response nor the Assertion is signed",
        ));
    }
    let status = xml::child(&root, NS_PROTOCOL, "Status")
        .and_then(|s| xml::child(&s, NS_PROTOCOL, "StatusCode"))
        .and_then(|c| c.attribute("Value"))
        .map(str::to_owned);
    Ok(Outer {
        response_signed,
        assertion_signed,
        assertion_id: assertion_id.to_owned(),
        destination: root.attribute("Destination").map(str::to_owned),
        in_response_to: root.attribute("InResponseTo").map(str::to_owned),
        issue_instant: parse_time(
            root.attribute("IssueInstant")
                .ok_or(SamlError::Malformed("the Response has no IssueInstant"))?,
        )?,
        issuer: xml::child(&root, NS_ASSERTION, "Issuer")
            .map(|i| xml::full_text(&i).trim().to_owned()),
        status,
    })
}

fn alg<'a>(n: Option<roxmltree::Node<'a, '_>>) -> Option<&'a str> {
    n.and_then(|n| n.attribute("Algorithm"))
}

/// One Reference to the parent (`#ID`), enveloped signature, comment-less c14n, allowed
/// algorithms: nothing else (no XPath, XPointer, XSLT, detached or foreign references).
fn signed_info_ok(
    provider: &SamlProvider,
    sig: &roxmltree::Node<'_, '_>,
    parent_id: &str,
) -> Result<(), SamlError> {
    let bad = SamlError::Signature("the signature is outside the SAML signature profile");
    let si = xml::child(sig, NS_DS, "SignedInfo").ok_or(bad.clone())?;
    let c14n = alg(xml::child(&si, NS_DS, "CanonicalizationMethod"));
    if !c14n.is_some_and(|a| C14N.contains(&a)) {
        return Err(bad);
    }
    let method = alg(xml::child(&si, NS_DS, "SignatureMethod")).unwrap_or_default();
    let sha1_ok = provider.allow_sha1 && method == SIG_SHA1;
    if !(SIG_SHA2.contains(&method) || sha1_ok) {
        return Err(SamlError::Signature(
            "the signature algorithm is not allowed for this provider",
        ));
    }
    let refs: Vec<_> = xml::children(&si, NS_DS, "Reference").collect();
    let [reference] = refs.as_slice() else {
        return Err(bad);
    };
    if reference.attribute("URI").and_then(|u| u.strip_prefix('#')) != Some(parent_id) {
        return Err(bad);
    }
    let mut enveloped = false;
    if let Some(transforms) = xml::child(reference, NS_DS, "Transforms") {
        for t in transforms.children().filter(|n| n.is_element()) {
            if !xml::is(&t, NS_DS, "Transform") {
                return Err(bad);
            }
            match t.attribute("Algorithm") {
                Some(ENVELOPED) => enveloped = true,
                Some(a) if C14N.contains(&a) => {}
                _ => return Err(bad),
            }
            // Only exc-c14n's InclusiveNamespaces may sit inside a transform.
            if t.children()
                .filter(|n| n.is_element())
                .any(|n| n.tag_name().name() != "InclusiveNamespaces")
            {
                return Err(bad);
            }
        }
    }
    if !enveloped {
        return Err(bad);
    }
    let digest = alg(xml::child(reference, NS_DS, "DigestMethod")).unwrap_or_default();
    if !(DIGEST_SHA2.contains(&digest) || (provider.allow_sha1 && digest == DIGEST_SHA1)) {
        return Err(SamlError::Signature(
            "the digest algorithm is not allowed for this provider",
        ));
    }
    Ok(())
}

/// The values of the signed assertion.
#[derive(Debug)]
struct Signed {
    id: String,
    issuer: String,
    issue_instant: i64,
    name_id: String,
    subject_type: String,
    bearer: Vec<Bearer>,
    not_before: Option<i64>,
    not_on_or_after: Option<i64>,
    audiences: Option<Vec<Vec<String>>>,
    session_not_on_or_after: Option<i64>,
    attributes: Vec<(String, Vec<String>)>,
}

#[derive(Debug)]
struct Bearer {
    recipient: Option<String>,
    not_before: Option<i64>,
    not_on_or_after: Option<i64>,
    in_response_to: Option<String>,
}

/// Read the assertion out of samael's reduced document (signed content only).
fn read_signed(reduced: &str, outer: &Outer) -> Result<Signed, SamlError> {
    let unsigned = SamlError::Signature("the assertion is not covered by a valid signature");
    let doc = xml::parse(reduced).map_err(|_| unsigned.clone())?;
    let root = doc.root_element();
    let assertion = if xml::is(&root, NS_ASSERTION, "Assertion") {
        if outer.response_signed {
            return Err(unsigned);
        }
        root
    } else if xml::is(&root, NS_PROTOCOL, "Response") {
        let list: Vec<_> = xml::children(&root, NS_ASSERTION, "Assertion").collect();
        let [a] = list.as_slice() else {
            return Err(unsigned);
        };
        *a
    } else {
        return Err(unsigned);
    };
    let id = assertion.attribute("ID").unwrap_or_default();
    if id != outer.assertion_id {
        return Err(unsigned);
    }
    if assertion.attribute("Version") != Some("2.0") {
        return Err(SamlError::Malformed(
            "the Assertion is not SAML version 2.0",
        ));
    }
    let issuer = xml::child(&assertion, NS_ASSERTION, "Issuer")
        .map(|i| xml::full_text(&i).trim().to_owned())
        .ok_or(SamlError::Malformed("the Assertion has no Issuer"))?;
    let issue_instant = parse_time(
        assertion
            .attribute("IssueInstant")
            .ok_or(SamlError::Malformed("the Assertion has no IssueInstant"))?,
    )?;
    let subject = xml::child(&assertion, NS_ASSERTION, "Subject")
        .ok_or(SamlError::Malformed("the Assertion has no Subject"))?;
    let name_id = xml::child(&subject, NS_ASSERTION, "NameID")
        .ok_or(SamlError::Malformed("the Subject has no NameID"))?;
    if name_id.children().any(|n| n.is_element()) {
        return Err(SamlError::Malformed("the NameID holds elements"));
    }
    let name_id_text = xml::full_text(&name_id).trim().to_owned();
    if name_id_text.is_empty() {
        return Err(SamlError::Malformed("the NameID is empty"));
    }
    let format = name_id.attribute("Format").unwrap_or(NAMEID_UNSPECIFIED);
    let subject_type = format
        .strip_prefix(NAMEID_PREFIX)
        .unwrap_or(format)
        .to_owned();
    let mut bearer = Vec::new();
    for sc in xml::children(&subject, NS_ASSERTION, "SubjectConfirmation") {
        if sc.attribute("Method") != Some(BEARER) {
            continue;
        }
        let data = xml::child(&sc, NS_ASSERTION, "SubjectConfirmationData");
        bearer.push(Bearer {
            recipient: data
                .and_then(|d| d.attribute("Recipient"))
                .map(str::to_owned),
            not_before: data
                .map(|d| opt_time(&d, "NotBefore"))
                .transpose()?
                .flatten(),
            not_on_or_after: data
                .map(|d| opt_time(&d, "NotOnOrAfter"))
                .transpose()?
                .flatten(),
            in_response_to: data
                .and_then(|d| d.attribute("InResponseTo"))
                .map(str::to_owned),
        });
    }
    let conditions: Vec<_> = xml::children(&assertion, NS_ASSERTION, "Conditions").collect();
    let (not_before, not_on_or_after, audiences) = match conditions.as_slice() {
        [] => (None, None, None),
        [c] => (
            opt_time(c, "NotBefore")?,
            opt_time(c, "NotOnOrAfter")?,
            Some(
                xml::children(c, NS_ASSERTION, "AudienceRestriction")
                    .map(|r| {
                        xml::children(&r, NS_ASSERTION, "Audience")
                            .map(|a| xml::full_text(&a).trim().to_owned())
                            .collect()
                    })
                    .collect(),
            ),
        ),
        _ => return Err(SamlError::Malformed("the Assertion has several Conditions")),
    };
    let mut session_not_on_or_after: Option<i64> = None;
    for s in xml::children(&assertion, NS_ASSERTION, "AuthnStatement") {
        if let Some(t) = opt_time(&s, "SessionNotOnOrAfter")? {
            session_not_on_or_after = Some(session_not_on_or_after.map_or(t, |o| o.min(t)));
        }
    }
    let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
    for st in xml::children(&assertion, NS_ASSERTION, "AttributeStatement") {
        for a in xml::children(&st, NS_ASSERTION, "Attribute") {
            let name = a.attribute("Name").unwrap_or_default().to_owned();
            let values: Vec<String> = xml::children(&a, NS_ASSERTION, "AttributeValue")
                .filter(|v| v.attribute((NS_XSI, "nil")) != Some("true"))
                .map(|v| xml::full_text(&v).trim().to_owned())
                .collect();
            match attributes.iter_mut().find(|(n, _)| *n == name) {
                Some((_, list)) => list.extend(values),
                None => attributes.push((name, values)),
            }
        }
    }
    Ok(Signed {
        id: id.to_owned(),
        issuer,
        issue_instant,
        name_id: name_id_text,
        subject_type,
        bearer,
        not_before,
        not_on_or_after,
        audiences,
        session_not_on_or_after,
        attributes,
    })
}

/// Addressing, status and time checks; returns until when the assertion ID must be remembered.
fn validate(
    provider: &SamlProvider,
    keys: &ProviderKeys,
    sp: &SamlSettings,
    outer: &Outer,
    s: &Signed,
    in_response_to: InResponseTo,
    now: i64,
) -> Result<i64, SamlError> {
    let skew = provider.skew;
    if s.issuer != keys.entity_id {
        return Err(SamlError::Rejected(
            "The SAML assertion's Issuer is not the provider's entity id".into(),
        ));
    }
    if outer.issuer.as_deref().is_some_and(|i| i != keys.entity_id) {
        return Err(SamlError::Rejected(
            "The SAML response's Issuer is not the provider's entity id".into(),
        ));
    }
    let [bearer] = s.bearer.as_slice() else {
        return Err(SamlError::Rejected(
            "The SAML assertion must have exactly one bearer SubjectConfirmation".into(),
        ));
    };
    let Some(confirmation_end) = bearer.not_on_or_after else {
        return Err(SamlError::Rejected(
            "The SAML assertion's SubjectConfirmationData has no NotOnOrAfter".into(),
        ));
    };

    // Time first: an assertion that is stale or early says so, whatever else is wrong.
    for issued in [outer.issue_instant, s.issue_instant] {
        if issued > now + skew {
            return Err(SamlError::NotYetValid(
                "The SAML assertion is issued in the future",
            ));
        }
        if issued + provider.max_age + skew <= now {
            return Err(SamlError::Expired("The SAML assertion is too old"));
        }
    }
    for nb in [s.not_before, bearer.not_before].into_iter().flatten() {
        if nb > now + skew {
            return Err(SamlError::NotYetValid(
                "The SAML assertion is not yet valid",
            ));
        }
    }
    let end = s
        .not_on_or_after
        .map_or(confirmation_end, |c| c.min(confirmation_end));
    if end + skew <= now {
        return Err(SamlError::Expired("The SAML assertion has expired"));
    }
    if s.session_not_on_or_after.is_some_and(|t| t <= now) {
        return Err(SamlError::Expired(
            "The SAML session has expired (SessionNotOnOrAfter)",
        ));
    }

    // Addressing and status.
    if outer.status.as_deref() != Some(STATUS_SUCCESS) {
        return Err(SamlError::Rejected(
            "The SAML response's status is not Success".into(),
        ));
    }
    if outer
        .destination
        .as_deref()
        .is_some_and(|d| d != sp.acs_url)
    {
        return Err(SamlError::Rejected(
            "The SAML response's Destination is not this service's ACS URL".into(),
        ));
    }
    in_response_to.check(
        outer.in_response_to.as_deref(),
        bearer.in_response_to.as_deref(),
    )?;
    let Some(audiences) = &s.audiences else {
        return Err(SamlError::Rejected(
            "The SAML assertion has no Conditions".into(),
        ));
    };
    if audiences.is_empty()
        || !audiences
            .iter()
            .all(|r| r.iter().any(|a| sp.audience_ok(a)))
    {
        return Err(SamlError::Rejected(
            "The SAML assertion's audience does not include this service".into(),
        ));
    }
    if bearer.recipient.as_deref() != Some(sp.acs_url.as_str()) {
        return Err(SamlError::Rejected(
            "The SAML assertion's Recipient is not this service's ACS URL".into(),
        ));
    }
    Ok(end + skew)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of the SAML corpus in the repository (tests/data/saml); a missing one fails the test.
    fn testdata(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/saml")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn fixture(name: &str) -> String {
        testdata(&format!("fixtures/{name}"))
    }

    fn outer(assertion_id: &str) -> Outer {
        Outer {
            response_signed: true,
            assertion_signed: false,
            assertion_id: assertion_id.into(),
            destination: None,
            in_response_to: None,
            issue_instant: 0,
            issuer: None,
            status: None,
        }
    }

    /// CVE-2017-11428 (ruby-saml fixture 29, signature valid): the NameID split by a comment
    /// reads as all of its text, from the content samael verified.
    #[test]
    fn a_comment_never_truncates_a_signed_name_id() {
        let xml = fixture("29_comment_response_node_text_attack2.xml");
        let text = xml::strip_comments(&xml).unwrap_or_default();
        let pem = testdata("certs/4b68c453c7d994aa.pem");
        let der = openssl::x509::X509::from_pem(pem.as_bytes())
            .and_then(|c| c.to_der())
            .unwrap_or_default();
        let reduced = Crypto::reduce_xml_to_signed(
            &text,
            &[CertificateDer::from(der)],
            ReduceMode::ValidateAndMarkNoAncestors,
        );
        assert!(reduced.is_ok(), "the fixture's signature verifies");
        let doc = xml::parse(&text).ok();
        let id = doc
            .as_ref()
            .and_then(|d| {
                d.descendants()
                    .find(|n| xml::is(n, NS_ASSERTION, "Assertion"))
            })
            .and_then(|a| a.attribute("ID"))
            .unwrap_or_default()
            .to_owned();
        let signed = read_signed(&reduced.unwrap_or_default(), &outer(&id));
        assert_eq!(
            signed.map(|s| s.name_id).ok().as_deref(),
            Some("test@onelogin.com")
        );
    }

    /// python3-saml fixture 31 (parse only): comments in NameID and an attribute value.
    #[test]
    fn comments_in_values_read_as_all_of_their_text() {
        let xml = fixture("31_comment_response_node_text_attack.xml");
        let text = xml::strip_comments(&xml).unwrap_or_default();
        let doc = xml::parse(&text).ok();
        let id = doc
            .as_ref()
            .and_then(|d| {
                d.descendants()
                    .find(|n| xml::is(n, NS_ASSERTION, "Assertion"))
            })
            .and_then(|a| a.attribute("ID"))
            .unwrap_or_default()
            .to_owned();
        let mut o = outer(&id);
        o.response_signed = false;
        let signed = read_signed(&text, &o);
        let signed = signed.ok();
        assert_eq!(
            signed.as_ref().map(|s| s.name_id.as_str()),
            Some("support@onelogin.com")
        );
        let all: Vec<&str> = signed
            .iter()
            .flat_map(|s| {
                s.attributes
                    .iter()
                    .flat_map(|(_, v)| v.iter().map(String::as_str))
            })
            .collect();
        assert!(all.iter().all(|v| !v.contains("<!--")), "{all:?}");
    }

    #[test]
    fn in_response_to_policies() {
        let ids = || InResponseTo::OneOf(vec!["req-1".to_owned()]);
        assert!(InResponseTo::Unsolicited.check(None, None).is_ok());
        assert!(InResponseTo::Unsolicited.check(Some("x"), None).is_err());
        assert!(InResponseTo::Unsolicited.check(None, Some("x")).is_err());
        assert!(ids().check(Some("req-1"), None).is_ok());
        assert!(ids().check(Some("req-1"), Some("req-2")).is_err());
        assert!(ids().check(None, None).is_err());
    }

    /// samlify writes `InResponseTo=""` on IdP-initiated responses: empty names no request.
    #[test]
    fn an_empty_in_response_to_is_unsolicited_but_answers_no_request() {
        assert!(InResponseTo::Unsolicited.check(Some(""), Some("")).is_ok());
        assert!(InResponseTo::Unsolicited.check(Some(""), None).is_ok());
        assert!(InResponseTo::Unsolicited
            .check(Some(""), Some("x"))
            .is_err());
        let never: IssuedRequest = Arc::new(|_: &str| false);
        let console = InResponseTo::UnsolicitedOr(never);
        assert!(console.check(Some(""), Some("")).is_ok());
        assert!(console.check(None, Some("req-9")).is_err());
        // SP-initiated: an empty value is not the request id.
        let sp = InResponseTo::OneOf(vec!["req-1".to_owned()]);
        assert!(sp.check(Some(""), Some("")).is_err());
        assert!(sp.check(Some("req-1"), Some("")).is_err());
    }
}
