//! The canonical request, as AWS builds it for services other than S3.
//!
//! - URI: the path as received, dot segments and empty segments removed (when normalising), then
//!   URI-encoded once more, so an already-encoded `%20` is signed as `%2520` (AWS's "double
//!   encoding"; every SDK does it for every service but S3).
//! - Query: split on `&`, empty pieces dropped, each name and value form-decoded (`+` is a space,
//!   `%XX` a byte; a malformed escape stays literal) and re-encoded strictly (`A-Z a-z 0-9 - _ . ~`
//!   left alone), sorted by encoded name then encoded value. Decoding works on bytes, so two
//!   different byte strings never canonicalise alike (no lossy UTF-8 replacement).
//! - Headers: names lower-cased; each value trimmed, inner runs of ASCII white space (including an
//!   obs-fold line break) folded to one space; repeated headers joined with `,` in received order.
//! - Payload: the body's SHA-256 (hex), or the `X-Amz-Content-Sha256` value, or
//!   `UNSIGNED-PAYLOAD`.

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use crate::error::{incomplete, SigV4Error};

/// Characters AWS leaves alone: `A-Z a-z 0-9 - _ . ~`.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// As [`STRICT`], keeping `/` (path encoding).
const PATH: &AsciiSet = &STRICT.remove(b'/');

/// Lower-case hex SHA-256.
pub(crate) fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Strictly percent-encode bytes.
pub(crate) fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, STRICT).to_string()
}

/// Where canonical text goes: a `String` (the signer, which returns the canonical request) or a
/// running SHA-256 (the verifier, which needs only its hash and so builds no string at all).
pub(crate) trait Sink {
    fn put(&mut self, s: &str);
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, s: &str) {
        Digest::update(self, s.as_bytes());
    }
}

/// The canonical URI of a path as received.
pub(crate) fn canonical_uri(path: &str, normalize: bool) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    write_uri(&mut out, path, normalize);
    out
}

/// Write the canonical URI of a path as received. A rooted path without dot or empty segments
/// (the usual case) is encoded as it is, without a copy.
pub(crate) fn write_uri(out: &mut impl Sink, path: &str, normalize: bool) {
    let plain = path.starts_with('/') && !(normalize && has_dot_or_empty_segments(path));
    if plain {
        for chunk in percent_encode(path.as_bytes(), PATH) {
            out.put(chunk);
        }
        return;
    }
    let rooted = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let path = if normalize {
        remove_dot_segments(&rooted)
    } else {
        rooted
    };
    for chunk in percent_encode(path.as_bytes(), PATH) {
        out.put(chunk);
    }
}

/// Would [`remove_dot_segments`] change this rooted path?
fn has_dot_or_empty_segments(path: &str) -> bool {
    path.contains("//")
        || path.contains("/./")
        || path.contains("/../")
        || path.ends_with("/.")
        || path.ends_with("/..")
}

/// RFC 3986 5.2.4 as AWS applies it: `.` and empty segments dropped, `..` pops; a trailing slash
/// kept (also when the path ends in `/.` or `/..`).
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut result = format!("/{}", out.join("/"));
    if (path.ends_with('/') || path.ends_with("/.") || path.ends_with("/.."))
        && !result.ends_with('/')
    {
        result.push('/');
    }
    result
}

/// Form-decode one query component to bytes: `+` is a space, `%XX` a byte, a malformed escape
/// stays as it is.
fn form_decode(s: &str) -> Vec<u8> {
    let plus_as_space: Vec<u8> = s
        .bytes()
        .map(|b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space).collect()
}

/// A query parameter, decoded to bytes.
pub(crate) type QueryPair = (Vec<u8>, Vec<u8>);

/// The decoded parameters of a raw query string, in order.
pub(crate) fn query_pairs(query: &str) -> Vec<QueryPair> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// The values of the parameter `name`, in order.
pub(crate) fn query_values<'a>(pairs: &'a [QueryPair], name: &str) -> Vec<&'a [u8]> {
    pairs
        .iter()
        .filter(|(k, _)| k.as_slice() == name.as_bytes())
        .map(|(_, v)| v.as_slice())
        .collect()
}

/// The canonical query string of `pairs` plus `extra` (already decoded), leaving out the
/// parameters named in `skip`.
pub(crate) fn canonical_query(
    pairs: &[QueryPair],
    extra: &[(&str, &str)],
    skip: &[&str],
) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !skip.iter().any(|s| s.as_bytes() == k.as_slice()))
        .map(|(k, v)| (encode(k), encode(v)))
        .chain(
            extra
                .iter()
                .filter(|(k, _)| !skip.contains(k))
                .map(|(k, v)| (encode(k.as_bytes()), encode(v.as_bytes()))),
        )
        .collect();
    encoded.sort();
    let mut out = String::new();
    for (i, (k, v)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The values of header `name` (any case), in received order.
pub(crate) fn header_values<'a>(headers: &[(&'a str, &'a str)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
        .collect()
}

/// Trim, and fold inner runs of ASCII white space to one space.
pub(crate) fn fold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    write_folded(&mut out, value);
    out
}

fn write_folded(out: &mut impl Sink, value: &str) {
    for (i, word) in value.split_ascii_whitespace().enumerate() {
        if i > 0 {
            out.put(" ");
        }
        out.put(word);
    }
}

/// The canonical headers block and the signed-headers line: `name:value\n` for each signed
/// header, then an empty line, then `name;name`. Every signed header must be present.
pub(crate) fn canonical_headers(
    headers: &[(&str, &str)],
    signed_headers: &[String],
) -> Result<String, SigV4Error> {
    let mut block = String::new();
    write_headers(&mut block, headers, signed_headers)?;
    Ok(block)
}

/// Write [`canonical_headers`]' block, without building it.
pub(crate) fn write_headers(
    out: &mut impl Sink,
    headers: &[(&str, &str)],
    signed_headers: &[String],
) -> Result<(), SigV4Error> {
    for name in signed_headers {
        let mut values = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .peekable();
        if values.peek().is_none() {
            // INVARIANT: names in signed_headers passed `valid_header_name`, so they are safe to
            // show.
            return Err(incomplete(format!(
                "The header {name} is listed in SignedHeaders but is not in the request"
            )));
        }
        out.put(name);
        out.put(":");
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.put(",");
            }
            write_folded(out, v);
        }
        out.put("\n");
    }
    out.put("\n");
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.put(";");
        }
        out.put(name);
    }
    Ok(())
}

/// A lower-case HTTP header name (RFC 9110 token characters).
pub(crate) fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
        })
}

/// The canonical request.
pub(crate) fn assemble(
    method: &str,
    uri: &str,
    query: &str,
    headers_block: &str,
    payload_hash: &str,
) -> String {
    format!("{method}\n{uri}\n{query}\n{headers_block}\n{payload_hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(canonical_uri("", true), "/");
        assert_eq!(canonical_uri("/", true), "/");
        assert_eq!(canonical_uri("/", false), "/");
        assert_eq!(canonical_uri("//example//", true), "/example/");
        assert_eq!(canonical_uri("//example//", false), "//example//");
        assert_eq!(canonical_uri("/example1/example2/../..", true), "/");
        assert_eq!(canonical_uri("/example/..", false), "/example/..");
        assert_eq!(canonical_uri("/foo/bar/.", true), "/foo/bar/");
        assert_eq!(canonical_uri("/foo/bar/..", true), "/foo/");
        assert_eq!(canonical_uri("/./example", true), "/example");
        assert_eq!(canonical_uri("/../../x", true), "/x");
        assert_eq!(canonical_uri("/.../x", true), "/.../x");
        assert_eq!(canonical_uri("/a%20b", true), "/a%2520b");
        assert_eq!(canonical_uri("/a b", true), "/a%20b");
        assert_eq!(canonical_uri("/ሴ", true), "/%E1%88%B4");
        assert_eq!(canonical_uri("/-_.~!*'()", true), "/-_.~%21%2A%27%28%29");
        assert_eq!(canonical_uri("relative", true), "/relative");
    }

    #[test]
    fn queries() {
        let q = |s: &str| canonical_query(&query_pairs(s), &[], &[]);
        assert_eq!(q(""), "");
        assert_eq!(q("b=2&a=1"), "a=1&b=2");
        assert_eq!(q("a=2&a=1&a="), "a=&a=1&a=2");
        assert_eq!(q("a&b="), "a=&b=");
        assert_eq!(q("&&a=1&&"), "a=1");
        assert_eq!(q("a=x+y"), "a=x%20y");
        assert_eq!(q("a=x%2By"), "a=x%2By");
        assert_eq!(q("a=%7e%2f"), "a=~%2F");
        assert_eq!(q("a=%zz%4"), "a=%25zz%254");
        // Invalid UTF-8 stays distinct (no lossy replacement).
        assert_eq!(q("a=%FF"), "a=%FF");
        assert_ne!(q("a=%FF"), q("a=%FE"));
        // Sorted by encoded name, then value; upper case before lower.
        assert_eq!(q("b=1&B=1&a%20=1&a=1"), "B=1&a=1&a%20=1&b=1");
        assert_eq!(
            canonical_query(
                &query_pairs("X-Amz-Signature=s&z=1"),
                &[("a", "b c")],
                &["X-Amz-Signature"]
            ),
            "a=b%20c&z=1"
        );
    }

    #[test]
    fn headers() {
        assert_eq!(fold("  a   b \t c  "), "a b c");
        assert_eq!(fold("value1\n  value2"), "value1 value2");
        let h = [("Host", "h"), ("X-A", " 1 "), ("x-a", "2"), ("X-B", "")];
        let signed: Vec<String> = ["host", "x-a", "x-b"].map(String::from).to_vec();
        assert_eq!(
            canonical_headers(&h, &signed).unwrap(),
            "host:h\nx-a:1,2\nx-b:\n\nhost;x-a;x-b"
        );
        let missing: Vec<String> = ["host", "x-c"].map(String::from).to_vec();
        assert!(canonical_headers(&h, &missing).is_err());
        assert!(valid_header_name("x-amz-date"));
        assert!(!valid_header_name("X-Amz-Date"));
        assert!(!valid_header_name(""));
        assert!(!valid_header_name("a b"));
        assert!(!valid_header_name("a:b"));
    }
}
