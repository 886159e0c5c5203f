//! Shared by the corpus tests: where the test data is, and a reader for the suites' HTTP text.
#![allow(dead_code)]

use std::path::PathBuf;

use idbroker_sigv4::{Payload, RequestParts};

/// The suites' credentials and time (2015-08-30T12:36:00Z).
pub const AKID: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const SUITE_TIME: u64 = 1_440_938_160;

/// The repository's test corpora (tests/data), two levels above this crate.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

pub fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// How a suite writes a header value continued on the next line (obs-fold).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Continuation {
    /// The 2015 suite: each continuation line is another value of the same header (its .creq
    /// joins them with ',').
    SeparateValue,
    /// aws-c-auth: the value keeps the line break; canonicalisation folds it to one space.
    SameValue,
}

/// An HTTP request read from a suite file, owning its parts.
#[derive(Clone, Debug)]
pub struct Http {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Http {
    pub fn parse(text: &str, continuation: Continuation) -> Http {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let first = lines.next().expect("request line");
        let (method, rest) = first.split_once(' ').expect("method");
        let target = rest.strip_suffix(" HTTP/1.1").expect("HTTP/1.1");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with(' ') || line.starts_with('\t') {
                let last = headers.last_mut().expect("continuation after a header");
                match continuation {
                    Continuation::SeparateValue => {
                        let name = last.0.clone();
                        headers.push((name, line.trim().to_owned()));
                    }
                    Continuation::SameValue => {
                        last.1.push('\n');
                        last.1.push_str(line);
                    }
                }
                continue;
            }
            let (n, v) = line.split_once(':').expect("header line");
            // HTTP parsers drop the optional white space around a field value.
            headers.push((n.to_owned(), v.trim_matches([' ', '\t']).to_owned()));
        }
        Http {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn header_refs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    pub fn parts<'a>(&'a self, headers: &'a [(&'a str, &'a str)]) -> RequestParts<'a> {
        RequestParts {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers,
            payload: Payload::Bytes(&self.body),
        }
    }

    /// Headers as a sorted multiset of (lower-case name, value with white space folded).
    pub fn normalized_headers(&self) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.to_ascii_lowercase(),
                    v.split_ascii_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
            .collect();
        h.sort();
        h
    }
}

/// `2015-08-30T12:36:00Z` -> seconds since the epoch.
pub fn iso8601(ts: &str) -> u64 {
    let compact: String = ts.chars().filter(|c| *c != '-' && *c != ':').collect();
    idbroker_sigv4::parse_amz_date(&compact).unwrap_or_else(|| panic!("timestamp {ts}"))
}
