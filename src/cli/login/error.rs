//! `LoginError`: why `idbroker login` or `idbroker credentials` stopped, in words for the person
//! at the terminal (every text from the server shown through [`shown`]).

use std::borrow::Cow;

/// Why signing in or getting credentials failed. The command prints it and exits 1.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Bad arguments or local setup (no HOME, a bad profile name, an unreadable file, ...).
    #[error("{0}")]
    Local(String),
    /// The server could not be reached, or answered something that is not the protocol.
    #[error("{0}")]
    Unreachable(String),
    /// The server refused: its `error` and `error_description` (shown, not trusted).
    #[error("{}{}{}", shown(.error), if .description.is_empty() { "" } else { ": " }, shown(.description))]
    Refused {
        /// HTTP status.
        status: u16,
        /// The OAuth-style error code (`invalid_grant`, `access_denied`, ...).
        error: String,
        /// The server's description.
        description: String,
    },
    /// The sign-in did not finish: denied, expired, timed out, no role to choose.
    #[error("{0}")]
    SignIn(String),
}

impl LoginError {
    /// A local problem described by `what: e` (a file and its IO error, say).
    pub fn local(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Self {
        LoginError::Local(format!("{what}: {e}"))
    }
}

/// Text from the server (or a file) as it may be shown on a terminal: control characters (an
/// escape sequence, a newline that would fake a line of ours) escaped, at most 1,000 characters.
pub fn shown(text: &str) -> Cow<'_, str> {
    const MAX: usize = 1000;
    if text.chars().count() <= MAX && !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    for c in text.chars().take(MAX) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().count() > MAX {
        out.push('…');
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        assert_eq!(shown("plain words"), "plain words");
        assert_eq!(shown("a\u{1b}[2Jb\nc"), "a\\u{1b}[2Jb\\nc");
        let e = LoginError::Refused {
            status: 400,
            error: "invalid_grant".into(),
            description: "bad\rcode".into(),
        };
        assert_eq!(e.to_string(), "invalid_grant: bad\\rcode");
        assert_eq!(shown(&"x".repeat(2000)).chars().count(), 1001);
        let bare = LoginError::Refused {
            status: 400,
            error: "invalid_grant".into(),
            description: String::new(),
        };
        assert_eq!(bare.to_string(), "invalid_grant");
    }
}
