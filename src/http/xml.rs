//! STS response documents (Query protocol, namespace 2011-06-15).

/// Escape text for an XML element.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// Append `text` to `out`, escaped. Most values (ARNs, keys, tokens, times) need no escaping and
/// are copied in one piece.
fn escape_into(out: &mut String, text: &str) {
    let mut done = 0;
    for (i, c) in text.match_indices(['&', '<', '>', '"', '\'']) {
        out.push_str(text.get(done..i).unwrap_or_default());
        out.push_str(match c {
            "&" => "&amp;",
            "<" => "&lt;",
            ">" => "&gt;",
            "\"" => "&quot;",
            _ => "&apos;",
        });
        done = i + c.len();
    }
    out.push_str(text.get(done..).unwrap_or_default());
}

/// A result body being written: `<Name>value</Name>` elements, nested with `open`/`close`.
#[derive(Debug, Default)]
pub struct Body(String);

impl Body {
    /// A new, empty body.
    pub fn new() -> Self {
        Body(String::with_capacity(1024))
    }

    /// `<name>text</name>` (escaped).
    pub fn field(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        escape_into(&mut self.0, text);
        self.close(name)
    }

    /// `<name>`
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
        self
    }

    /// `</name>`
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
        self
    }

    /// The whole response document for `action`.
    pub fn response(&self, action: &str, request_id: &str) -> String {
        let mut doc = String::with_capacity(self.0.len() + 2 * action.len() + 200);
        doc.push('<');
        doc.push_str(action);
        doc.push_str("Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><");
        doc.push_str(action);
        doc.push_str("Result>");
        doc.push_str(&self.0);
        doc.push_str("</");
        doc.push_str(action);
        doc.push_str("Result><ResponseMetadata><RequestId>");
        escape_into(&mut doc, request_id);
        doc.push_str("</RequestId></ResponseMetadata></");
        doc.push_str(action);
        doc.push_str("Response>");
        doc
    }
}

/// Write the `<Credentials>` element of `creds` into `b`.
pub fn credentials(b: &mut Body, creds: &crate::sts::Credentials) {
    b.open("Credentials")
        .field("AccessKeyId", creds.access_key_id())
        .field("SecretAccessKey", creds.secret_access_key())
        .field("SessionToken", creds.session_token())
        .field("Expiration", &crate::clock::iso8601(creds.expiration()))
        .close("Credentials");
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

    #[test]
    fn escaping() {
        assert_eq!(escape(""), "");
        assert_eq!(escape("plain"), "plain");
        assert_eq!(
            escape("a&b<c>d\"e'f&"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&amp;"
        );
        assert_eq!(escape("é<ü>"), "é&lt;ü&gt;");
    }
}
