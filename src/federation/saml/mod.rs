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
//!
//! The parts: `assertion.rs`, the entry points [`check`] (1-6) and [`verify`] (7, the replay
//! record) and the [`VerifiedAssertion`] only they build; `profile.rs`, the lexical pass and
//! the profile pass (2, 3); `encrypted.rs`, an EncryptedAssertion opened (2); `signed.rs`, the
//! values read from the signed content (5); `validate.rs`, what those values must be (5, 6),
//! with [`InResponseTo`]; `datetime.rs`, times; `peek.rs`, what the console reads before
//! verifying ([`peek()`]); `error.rs`, [`SamlError`]; `sp_keys.rs`, the SP's private keys.
//! Beside them: `config.rs` (providers and settings), `metadata.rs` (an IdP's metadata fetched
//! and parsed), `xml.rs`, `pool.rs`,
//! `sp_metadata.rs`, `dev.rs`.

mod assertion;
mod config;
mod datetime;
pub mod dev;
mod encrypted;
mod error;
mod metadata;
mod peek;
pub mod pool;
mod profile;
mod signed;
mod sp_keys;
pub mod sp_metadata;
mod validate;
pub mod xml;

pub use assertion::{
    check, check_pooled, use_once, verify, Checked, VerifiedAssertion, MAX_ASSERTION_CHARS,
};
pub use config::{
    MetadataSource, ProviderKeys, RawRoleMapping, RawSamlProvider, RawSamlSp, RefreshOutcome,
    RoleMapping, SamlConfigError, SamlProvider, SamlSettings, AWS_ACS_URL, AWS_AUDIENCE,
};
pub use datetime::unix_now;
pub use error::{SamlError, SIGNATURE_DOES_NOT_VERIFY};
pub use metadata::{
    parse_metadata, IdpMetadata, SigningCert, HTTP_REDIRECT_BINDING, MAX_SIGNING_CERTS,
};
pub use peek::{peek, Unverified};
pub use sp_keys::SpKeys;
pub use validate::{InResponseTo, IssuedRequest};
