//! A received HTTP request as the verifier reads it, whatever the framework: method, path,
//! query, and the headers, each value as text.

use crate::{Payload, RequestParts};

/// What the verifier is given for a header value that is not visible ASCII: it contains NUL,
/// which no header value received over HTTP can, so it never matches what a client signed, and
/// a signed header carrying such a value (alone or beside signed ones) does not verify.
const UNREADABLE_VALUE: &str = "\0(not visible ASCII)";

/// The parts of a received request ([`ReceivedRequest::parts`] → [`RequestParts`]), its headers
/// collected once. Used by idbroker's own handlers and by the actix middleware
/// (`actix::received`), so that both read a request the same way.
#[derive(Debug, Clone)]
pub struct ReceivedRequest<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: Vec<(&'a str, &'a str)>,
}

impl<'a> ReceivedRequest<'a> {
    /// The request with `method`, `path` (as received, still percent-encoded), `query` (without
    /// `?`) and `headers` in the order received: (name, value as text, `None` when the value is
    /// not visible ASCII). A value that is not visible ASCII is kept, as a text no HTTP header
    /// value can hold (NUL): dropping it would hide an unsigned value added to a signed header,
    /// reading it lossily would let it pass for what was signed.
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Self {
        ReceivedRequest {
            method,
            path,
            query,
            headers: headers
                .into_iter()
                .map(|(name, value)| (name, value.unwrap_or(UNREADABLE_VALUE)))
                .collect(),
        }
    }

    /// The request's parts for the signature checks, with its body as `payload`.
    pub fn parts<'s>(&'s self, payload: Payload<'s>) -> RequestParts<'s> {
        RequestParts {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: &self.headers,
            payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_values_are_kept_as_text_no_header_holds() {
        let r = ReceivedRequest::new(
            "GET",
            "/a%20b",
            "x=1",
            [
                ("Host", Some("example.com")),
                ("X-Note", None),
                ("X-Note", Some("café?")),
            ],
        );
        let p = r.parts(Payload::Unsigned);
        assert_eq!((p.method, p.path, p.query), ("GET", "/a%20b", "x=1"));
        assert_eq!(
            p.headers,
            &[
                ("Host", "example.com"),
                ("X-Note", UNREADABLE_VALUE),
                ("X-Note", "café?"),
            ]
        );
        assert!(UNREADABLE_VALUE.contains('\0'));
    }
}
