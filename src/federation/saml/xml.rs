//! XML helpers of the SAML checks: a strict parser (no DTD, bounded), namespace-aware element
//! tests, the full text of an element, and the lexical pass that refuses declarations and drops
//! comments before anything else sees the document.

use std::borrow::Cow;

pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Parse with roxmltree: DTDs refused, at most 20,000 nodes (a 100,000-character assertion
/// has far fewer).
pub fn parse(text: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 20_000,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, options)
}

/// Is `n` the element `{ns}name`?
pub fn is(n: &roxmltree::Node<'_, '_>, ns: &str, name: &str) -> bool {
    n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(ns)
}

/// The element children of `n` named `{ns}name`.
pub fn children<'a, 'i>(
    n: &roxmltree::Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    n.children().filter(move |c| is(c, ns, name))
}

/// The first element child named `{ns}name`.
pub fn child<'a, 'i>(
    n: &roxmltree::Node<'a, 'i>,
    ns: &'static str,
    name: &'static str,
) -> Option<roxmltree::Node<'a, 'i>> {
    children(n, ns, name).next()
}

/// All the text inside `n`, in document order: every text node, however the value was split
/// (CDATA sections, or comments, which the lexical pass has removed already). A value is never
/// cut at the first text node.
pub fn full_text(n: &roxmltree::Node<'_, '_>) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect()
}

/// Why the lexical pass refused a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexError {
    /// `<!DOCTYPE`, `<!ENTITY` or any other declaration.
    Declaration,
    /// A comment, CDATA section or processing instruction that does not end.
    Unterminated,
    /// An XML declaration that names an encoding other than UTF-8.
    Encoding,
}

/// The text is read as UTF-8 by every reader here (roxmltree, and libxml2, which is told to
/// ignore the declaration: vendor/samael patch 3). A declaration that names another encoding
/// (`UTF-7`, `UTF-16` over bytes that are not, `ISO-2022-JP`, ...) would make a reader that
/// honours it see other markup than this pass sees: such a document is refused. The only
/// byte-order mark that can reach here is UTF-8's (the text is a Rust `str`), and it is allowed.
fn declaration_ok(text: &str) -> bool {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = t.strip_prefix("<?xml") else {
        return true;
    };
    // `<?xml-stylesheet ...?>` and the like are processing instructions, not the declaration.
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return !rest.starts_with("?>");
    }
    let Some(end) = rest.find("?>") else {
        return false;
    };
    let decl = rest.get(..end).unwrap_or_default();
    let mut found = decl.match_indices("encoding");
    let Some((at, _)) = found.next() else {
        return true;
    };
    if found.next().is_some() {
        return false;
    }
    let value = decl
        .get(at + "encoding".len()..)
        .unwrap_or_default()
        .trim_start()
        .strip_prefix('=')
        .map(str::trim_start)
        .and_then(|v| {
            let quote = v.chars().next().filter(|q| *q == '"' || *q == '\'')?;
            let body = v.get(1..)?;
            body.find(quote).and_then(|i| body.get(..i))
        });
    value.is_some_and(|v| v.eq_ignore_ascii_case("UTF-8"))
}

/// Refuse any markup declaration (`<!DOCTYPE`, `<!ENTITY`, ...) before a parser sees the text,
/// and drop every comment.
///
/// Dropping comments is neutral for the signature: idbroker accepts only same-document
/// references (`URI="#ID"`) with the comment-less canonicalisations, for which XML-DSig removes
/// comments from the signed content anyway. It makes a value split by a comment read as all of
/// its text (`admin@example.com<!---->.evil.com` is `admin@example.com.evil.com`, CVE-2017-11428)
/// and the signature check and the value reading see the same bytes.
///
/// Exact for well-formed XML: `<` cannot appear unescaped in attribute values or text, so every
/// `<` starts markup; CDATA sections and processing instructions are skipped whole, so a `<!--`
/// inside them is left alone.
pub fn strip_comments(text: &str) -> Result<Cow<'_, str>, LexError> {
    if !declaration_ok(text) {
        return Err(LexError::Encoding);
    }
    if !text.contains("<!") {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        let (before, at) = rest.split_at(i);
        out.push_str(before);
        if let Some(body) = at.strip_prefix("<!--") {
            let end = body.find("-->").ok_or(LexError::Unterminated)?;
            rest = body.get(end + 3..).unwrap_or_default();
        } else if at.starts_with("<![CDATA[") {
            let end = at.find("]]>").ok_or(LexError::Unterminated)? + 3;
            out.push_str(at.get(..end).unwrap_or_default());
            rest = at.get(end..).unwrap_or_default();
        } else if at.starts_with("<!") {
            return Err(LexError::Declaration);
        } else if at.starts_with("<?") {
            let end = at.find("?>").ok_or(LexError::Unterminated)? + 2;
            out.push_str(at.get(..end).unwrap_or_default());
            rest = at.get(end..).unwrap_or_default();
        } else {
            out.push('<');
            rest = at.get(1..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_utf8_declarations_pass() {
        for ok in [
            "<a/>",
            "<?xml version=\"1.0\"?><a/>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>",
            "<?xml version='1.0' encoding = 'utf-8' standalone='yes'?><a/>",
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>",
            "<?xml-stylesheet href=\"x\"?><a/>",
        ] {
            assert!(strip_comments(ok).is_ok(), "{ok}");
        }
        for bad in [
            "<?xml version=\"1.0\" encoding=\"UTF-7\"?><a/>",
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>",
            "\u{feff}<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" encoding=\"UTF-7\"?><a/>",
            "<?xml version=\"1.0\" encoding=UTF-8?><a/>",
            "<?xml version=\"1.0\" encoding=\"UTF-8",
            "<?xml?><a/>",
        ] {
            assert_eq!(strip_comments(bad), Err(LexError::Encoding), "{bad}");
        }
    }

    #[test]
    fn comments_go_declarations_are_refused() {
        assert_eq!(
            strip_comments("<a>admin@example.com<!---->.evil.com</a>").as_deref(),
            Ok("<a>admin@example.com.evil.com</a>")
        );
        assert_eq!(
            strip_comments("<a><![CDATA[x<!--y-->]]><?pi <!-- ?></a>").as_deref(),
            Ok("<a><![CDATA[x<!--y-->]]><?pi <!-- ?></a>")
        );
        assert_eq!(
            strip_comments("<!DOCTYPE a [<!ENTITY x \"y\">]><a/>"),
            Err(LexError::Declaration)
        );
        assert_eq!(strip_comments("<a><!-- x</a>"), Err(LexError::Unterminated));
        assert_eq!(strip_comments("<a>x</a>").as_deref(), Ok("<a>x</a>"));
    }

    #[test]
    fn full_text_reads_every_piece() {
        let d = parse("<a>x<![CDATA[y]]>z</a>").ok();
        let text = d.map(|d| full_text(&d.root_element())).unwrap_or_default();
        assert_eq!(text, "xyz");
    }
}
