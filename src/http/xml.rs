//! STS response documents (Query protocol, namespace 2011-06-15).

use std::fmt::Write as _;

/// Escape text for an XML element.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A result body being written: `<Name>value</Name>` elements, nested with `open`/`close`.
#[derive(Debug, Default)]
pub struct Body(String);

impl Body {
    /// A new, empty body.
    pub fn new() -> Self {
        Body::default()
    }

    /// `<name>text</name>` (escaped).
    pub fn field(&mut self, name: &str, text: &str) -> &mut Self {
        let _ = write!(self.0, "<{name}>{}</{name}>", escape(text));
        self
    }

    /// `<name>`
    pub fn open(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.0, "<{name}>");
        self
    }

    /// `</name>`
    pub fn close(&mut self, name: &str) -> &mut Self {
        let _ = write!(self.0, "</{name}>");
        self
    }

    /// The whole response document for `action`.
    pub fn response(&self, action: &str, request_id: &str) -> String {
        format!(
            "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result>{}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
            self.0,
            escape(request_id)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document() {
        let mut b = Body::new();
        b.field("Arn", "arn:x&y")
            .open("Inner")
            .field("A", "<1>")
            .close("Inner");
        assert_eq!(
            b.response("GetCallerIdentity", "rid"),
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:x&amp;y</Arn><Inner><A>&lt;1&gt;</A></Inner></GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        );
    }
}
