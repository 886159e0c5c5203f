//! A profile's keys written into the AWS shared credentials file, changing nothing else: the
//! file is read as botocore's `configparser` reads it (sections `[NAME]` matched exactly, keys
//! case-insensitively with the whitespace around them ignored, `#` and `;` comment lines,
//! indented continuation lines), and only the lines of the keys written change. A key present in
//! the section (every occurrence, in every `[NAME]` section) keeps its line up to the value,
//! which is replaced (its continuation lines go); a missing key is added after the section's
//! last line (after a `# idbroker login` comment when that line leaves a value open that the
//! added keys, indented like the section's keys, would continue); a missing section is added at
//! the end of the file. Every other byte stays as it
//! was, line endings included (added lines end like the file's first line).

use std::path::{Path, PathBuf};

use super::error::LoginError;
use super::private_file;

/// The three keys of temporary credentials, in the order they are added.
pub const KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// The largest credentials file read.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The shared credentials file: `AWS_SHARED_CREDENTIALS_FILE` (a leading `~` is the home
/// directory) when set, else `$HOME/.aws/credentials`.
pub fn credentials_path(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, LoginError> {
    let var = |k: &str| env(k).filter(|v| !v.is_empty());
    let home = || {
        var("HOME").map(PathBuf::from).ok_or_else(|| {
            LoginError::Local("HOME is not set: set it or AWS_SHARED_CREDENTIALS_FILE".into())
        })
    };
    match var("AWS_SHARED_CREDENTIALS_FILE") {
        Some(f) if f == "~" => home(),
        Some(f) => match f.strip_prefix("~/") {
            Some(rest) => Ok(home()?.join(rest)),
            None => Ok(PathBuf::from(f)),
        },
        None => Ok(home()?.join(".aws").join("credentials")),
    }
}

/// Write `values` (key, value) into section `[profile]` of the file at `path`, creating the file
/// (mode `0600`) and its directory (`0700`) when missing. The file is replaced atomically and is
/// `0600` afterwards.
pub fn write_profile(
    path: &Path,
    profile: &str,
    values: &[(&str, &str)],
) -> Result<(), LoginError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_file::create_dir(dir)?;
    }
    let old = private_file::read(path, MAX_FILE_BYTES)?.unwrap_or_default();
    private_file::write(path, &edit(&old, profile, values))
}

/// What configparser makes of a line.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// `[name]`.
    Header { name: Vec<u8> },
    /// `name = value` (or `:`); `name` lowercased, `value_at` where the value starts.
    Key { name: Vec<u8>, value_at: usize },
    /// An indented line continuing the value of the key on line `of`.
    Continuation { of: usize },
    /// An empty line inside the value of the key on line `of`, if a continuation follows.
    BlankInValue { of: usize },
    /// Empty, a comment, or something configparser refuses.
    Other,
}

#[derive(Debug)]
struct Line<'a> {
    /// Without its line ending.
    text: &'a [u8],
    /// `\r\n`, `\n`, or empty for a last line without one.
    eol: &'a [u8],
    kind: Kind,
    /// The header line of the section it is in.
    section: Option<usize>,
    /// Its leading whitespace, in bytes.
    indent: usize,
    /// After it: the indentation a line must exceed to continue the open key's value, and
    /// whether a key is open (configparser's `indent_level` and `optname`).
    level: usize,
    open: bool,
}

impl Line<'_> {
    /// Its leading whitespace.
    fn leading(&self) -> &[u8] {
        self.text.get(..self.indent).unwrap_or_default()
    }
}

/// Python's `str.isspace` over ASCII.
fn space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| !space(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|&c| !space(c)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or_default()
}

/// The file's lines, classified as `configparser.RawConfigParser._read` does.
fn parse(file: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let (mut section, mut key, mut indent_level) = (None, None::<usize>, 0usize);
    let mut rest = file;
    while !rest.is_empty() {
        let (whole, after) = match rest.iter().position(|&c| c == b'\n') {
            Some(i) => rest.split_at(i + 1),
            None => (rest, &[][..]),
        };
        rest = after;
        let eol_len = match whole {
            [.., b'\r', b'\n'] => 2,
            [.., b'\n'] => 1,
            _ => 0,
        };
        let (text, eol) = whole.split_at(whole.len() - eol_len);
        let stripped = trim(text);
        let indent = text.iter().position(|&c| !space(c)).unwrap_or(text.len());
        let i = lines.len();
        let kind = if stripped.starts_with(b"#") || stripped.starts_with(b";") {
            indent_level = usize::MAX;
            Kind::Other
        } else if stripped.is_empty() {
            match key {
                Some(of) if section.is_some() => Kind::BlankInValue { of },
                _ => {
                    indent_level = usize::MAX;
                    Kind::Other
                }
            }
        } else if let (Some(of), Some(_)) = (key, section) {
            if indent > indent_level {
                Kind::Continuation { of }
            } else {
                indent_level = indent;
                classify(text, stripped, i, &mut section, &mut key)
            }
        } else {
            indent_level = indent;
            classify(text, stripped, i, &mut section, &mut key)
        };
        lines.push(Line {
            text,
            eol,
            kind,
            section,
            indent,
            level: indent_level,
            open: key.is_some() && section.is_some(),
        });
    }
    lines
}

/// A line that is not a continuation: a section header, a key, or something else.
fn classify(
    text: &[u8],
    stripped: &[u8],
    i: usize,
    section: &mut Option<usize>,
    key: &mut Option<usize>,
) -> Kind {
    // `\[(?P<header>.+)\]`, matched at the start: the name runs to the last `]`.
    if let (Some(b'['), Some(close)) = (stripped.first(), stripped.iter().rposition(|&c| c == b']'))
    {
        if close >= 2 {
            *section = Some(i);
            *key = None;
            return Kind::Header {
                name: stripped.get(1..close).unwrap_or_default().to_vec(),
            };
        }
    }
    // `(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$`, in a section only.
    let delimiter = text.iter().position(|&c| c == b'=' || c == b':');
    match (delimiter, section.is_some()) {
        (Some(d), true) => {
            let name = trim(text.get(..d).unwrap_or_default()).to_ascii_lowercase();
            let value_at = text
                .iter()
                .skip(d + 1)
                .position(|&c| !space(c))
                .map_or(text.len(), |p| d + 1 + p);
            *key = Some(i);
            Kind::Key { name, value_at }
        }
        // configparser refuses the line (or the file); the key before it stays current.
        _ => Kind::Other,
    }
}

/// `file` with `values` written into section `[section]` (see the module's documentation).
pub fn edit(file: &[u8], section: &str, values: &[(&str, &str)]) -> Vec<u8> {
    let lines = parse(file);
    let eol: &[u8] = match lines.first() {
        Some(l) if l.eol == b"\r\n" => b"\r\n",
        _ => b"\n",
    };
    let ours = |i: usize| matches!(lines.get(i), Some(Line { kind: Kind::Header { name }, .. }) if name == section.as_bytes());
    let value_of = |name: &[u8]| {
        values
            .iter()
            .find(|(k, _)| k.as_bytes() == name)
            .map(|(_, v)| *v)
    };
    // The keys replaced, and the last continuation line of each.
    let mut replaced = vec![false; lines.len()];
    let mut last_continuation = vec![None; lines.len()];
    let mut found = vec![false; values.len()];
    for (i, line) in lines.iter().enumerate() {
        match &line.kind {
            Kind::Key { name, .. } if line.section.is_some_and(ours) => {
                if let Some(at) = values.iter().position(|(k, _)| k.as_bytes() == name) {
                    if let Some(r) = replaced.get_mut(i) {
                        *r = true;
                    }
                    if let Some(f) = found.get_mut(at) {
                        *f = true;
                    }
                }
            }
            Kind::Continuation { of } => {
                if let Some(slot) = last_continuation.get_mut(*of) {
                    *slot = Some(i);
                }
            }
            _ => {}
        }
    }
    let is_replaced = |i: usize| replaced.get(i).copied().unwrap_or(false);
    let dropped = |i: usize, kind: &Kind| match kind {
        Kind::Continuation { of } => is_replaced(*of),
        Kind::BlankInValue { of } => {
            is_replaced(*of)
                && last_continuation
                    .get(*of)
                    .copied()
                    .flatten()
                    .is_some_and(|last| i < last)
        }
        _ => false,
    };
    let missing: Vec<(&str, &str)> = values
        .iter()
        .zip(&found)
        .filter(|(_, f)| !**f)
        .map(|(kv, _)| *kv)
        .collect();
    // Where the missing keys go: after the last line of the last `[section]`, indented like its
    // keys (so that configparser reads them as keys, not as continuations).
    let last_header = (0..lines.len()).rev().find(|&i| ours(i));
    let anchor = last_header.map(|h| {
        // Blank lines and comments at the end of the section stay after the added keys; a line
        // configparser refuses is content (keys added above it, indented, would make it their
        // continuation).
        let content = |l: &&Line| match l.kind {
            Kind::BlankInValue { .. } => false,
            Kind::Other => {
                let t = trim(l.text);
                !(t.is_empty() || t.starts_with(b"#") || t.starts_with(b";"))
            }
            _ => true,
        };
        let mut at = h;
        let mut indent = lines.get(h).map_or(&[][..], Line::leading);
        for (i, l) in lines.iter().enumerate().skip(h) {
            if l.section != Some(h) {
                break;
            }
            if content(&l) {
                at = i;
            }
            if matches!(l.kind, Kind::Key { .. }) {
                indent = l.leading();
            }
        }
        // Indented deeper than the level in force after the anchor, with a key open, the keys
        // would continue its value: a comment first closes it (configparser ends a value at a
        // comment line).
        let close = lines
            .get(at)
            .is_some_and(|l| l.open && indent.len() > l.level);
        // The first line after them that is not blank, indented deeper than they are, would
        // continue the last one's value (a header of the next section, say): a comment after
        // them closes it.
        let next = lines.iter().skip(at + 1).find(|l| !trim(l.text).is_empty());
        let close_after = next.is_some_and(|l| {
            let t = trim(l.text);
            !(t.starts_with(b"#") || t.starts_with(b";")) && l.indent > indent.len()
        });
        (at, indent, close, close_after)
    });
    let add = |out: &mut Vec<u8>, indent: &[u8], keys: &[(&str, &str)]| {
        for (k, v) in keys {
            out.extend_from_slice(indent);
            out.extend_from_slice(format!("{k} = {v}").as_bytes());
            out.extend_from_slice(eol);
        }
    };
    let end_line = |out: &mut Vec<u8>| {
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(eol);
        }
    };
    let mut out = Vec::with_capacity(file.len() + 512);
    for (i, line) in lines.iter().enumerate() {
        if is_replaced(i) {
            if let Kind::Key { name, value_at } = &line.kind {
                out.extend_from_slice(line.text.get(..*value_at).unwrap_or(line.text));
                out.extend_from_slice(value_of(name).unwrap_or_default().as_bytes());
                out.extend_from_slice(line.eol);
            }
        } else if !dropped(i, &line.kind) {
            out.extend_from_slice(line.text);
            out.extend_from_slice(line.eol);
        }
        if let Some((at, indent, close, close_after)) = anchor {
            if at == i && !missing.is_empty() {
                end_line(&mut out);
                if close {
                    out.extend_from_slice(b"# idbroker login");
                    out.extend_from_slice(eol);
                }
                add(&mut out, indent, &missing);
                if close_after {
                    out.extend_from_slice(b"# end of idbroker login");
                    out.extend_from_slice(eol);
                }
            }
        }
    }
    if anchor.is_none() {
        end_line(&mut out);
        let ends_blank = trim(out.rsplit(|&c| c == b'\n').nth(1).unwrap_or_default()).is_empty();
        if !out.is_empty() && !ends_blank {
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(format!("[{section}]").as_bytes());
        out.extend_from_slice(eol);
        add(&mut out, b"", values);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::login::command::fake_env;

    const NEW: [(&str, &str); 3] = [
        ("aws_access_key_id", "ASIANEW"),
        ("aws_secret_access_key", "SECRETNEW"),
        ("aws_session_token", "TOKENNEW"),
    ];

    fn edited(file: &str, section: &str) -> String {
        String::from_utf8(edit(file.as_bytes(), section, &NEW)).unwrap()
    }

    #[test]
    fn new_file() {
        assert_eq!(
            edited("", "dev"),
            "[dev]\naws_access_key_id = ASIANEW\naws_secret_access_key = SECRETNEW\naws_session_token = TOKENNEW\n"
        );
    }

    #[test]
    fn keys_replaced_in_place_and_the_rest_kept() {
        let file = "\
# my credentials; keep this comment
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = defaultsecret

[dev]
  AWS_Access_Key_ID\t=  ASIAOLD   
region=eu-west-1
; a comment inside
aws_secret_access_key:old
output = json

# prod below
[prod]
aws_access_key_id = AKIAPROD
aws_session_token = prodtoken
";
        // Only the section's two keys' values change, and the missing one is added after its
        // last line.
        let expected = file
            .replace("=  ASIAOLD   \n", "=  ASIANEW\n")
            .replace("key:old\n", "key:SECRETNEW\n")
            .replace("json\n", "json\naws_session_token = TOKENNEW\n");
        assert_eq!(edited(file, "dev"), expected);
        // Written again: only the values change.
        assert_eq!(edited(&expected, "dev"), expected);
    }

    #[test]
    fn keys_are_not_added_above_an_indented_line_they_would_swallow() {
        // Found by fuzz/fuzz_targets/cli_login.rs: a section without keys, then an indented line
        // configparser cannot read. Keys added above it would make it their value's
        // continuation (and a second edit would drop it); they go after it.
        let file = "[dev]\n  not a key\n";
        let once = edited(file, "dev");
        assert_eq!(
            once,
            "[dev]\n  not a key\naws_access_key_id = ASIANEW\naws_secret_access_key = SECRETNEW\naws_session_token = TOKENNEW\n"
        );
        assert_eq!(edited(&once, "dev"), once);
    }

    #[test]
    fn keys_added_after_a_continuation_are_not_its_continuation() {
        // Found by fuzz/fuzz_targets/cli_login.rs: the section's key is indented by one space,
        // then a line at column 0 that configparser refuses (the indentation level in force
        // drops to 0), then a continuation of the key. Keys added after it, indented like the
        // section's key, would continue its value too: editing twice added them twice.
        let file = "[work]\n k = v\nnot a key\n more\n";
        let once = edited(file, "work");
        assert_eq!(edited(&once, "work"), once);
        let parsed = parse(once.as_bytes());
        for key in [
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
        ] {
            assert!(
                parsed
                    .iter()
                    .any(|l| matches!(&l.kind, Kind::Key { name, .. } if name == key.as_bytes())),
                "{key} is not read as a key: {once:?}"
            );
        }
        // The fuzzer's own input.
        let input = data_encoding::BASE64
            .decode(b"AYsr4JxfZQAgClt3b3JrXfNjb2RlnowNoIkKDYyajHNpX3QHBwcHBwcHXQpiAAAAZQUKIFtvAAAAAAAAAD1vAG93CmIAAGByLmtuCg2Ma2xrbF0mZEoA+v8B")
            .unwrap();
        let once = edit(input.get(1..).unwrap(), "work", &NEW);
        assert_eq!(edit(&once, "work", &NEW), once);
    }

    #[test]
    fn a_deeper_line_after_the_added_keys_is_not_their_continuation() {
        // Found by fuzz/fuzz_targets/cli_login.rs: after the section's last line, a line of
        // another section indented deeper than the added keys. Without a comment between, it
        // became the last added key's continuation, and a second edit dropped it.
        let file = "[work]\n  not a key\n      [other]\nx = y\n";
        let once = edited(file, "work");
        assert_eq!(edited(&once, "work"), once);
        assert!(once.contains("      [other]\nx = y\n"), "{once:?}");
        let parsed = parse(once.as_bytes());
        assert!(parsed
            .iter()
            .any(|l| matches!(&l.kind, Kind::Header { name } if name == b"other")));
        // The fuzzer's own input (its first byte chose the edit).
        let input = data_encoding::BASE64
            .decode(
                b"IgtLCwtbPWCgHlUKH1v//wagHl0KH/8Mu/8GxTAfCQuLCwsLCwsAAF0LCwsAAF3FCh9BHlugIDxbXcUK\
              HyBbd29ya13vu78LAACoOgofHlugIMUwHwsLCwoAAAAAAAAA//////////////////////////8KAg0K\
              CgMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwoMDA0MAizQCgwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM\
              DAwMDAwfW1IGBlJdxQofej0KH3o9Bv///////////////wwMDAwMDAwMDAwMDAwMDAwcHBwMDAwMDAwM\
              DAwMDAwMDAwMDAwMDDo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6Ojo6\
              OjoMDAwMDAwMDAwMDAz08/Pz8/Pz7gwMDAwMDAwMDAwMDAwMDAz/////////////////////////////\
              //////+/////////////////////////////////AAAAAAz//wAAAAAMAAAAAB8=",
            )
            .unwrap();
        let once = edit(input.get(1..).unwrap(), "work", &NEW);
        assert_eq!(edit(&once, "work", &NEW), once);
    }

    #[test]
    fn crlf_lines_stay_crlf() {
        let file = "[other]\r\nx = 1\r\n\r\n[dev]\r\naws_session_token = old\r\n";
        assert_eq!(
            edited(file, "dev"),
            "[other]\r\nx = 1\r\n\r\n[dev]\r\naws_session_token = TOKENNEW\r\naws_access_key_id = ASIANEW\r\naws_secret_access_key = SECRETNEW\r\n"
        );
        assert_eq!(
            edited("[other]\r\nx = 1\r\n", "dev"),
            "[other]\r\nx = 1\r\n\r\n[dev]\r\naws_access_key_id = ASIANEW\r\naws_secret_access_key = SECRETNEW\r\naws_session_token = TOKENNEW\r\n"
        );
    }

    #[test]
    fn a_last_section_without_a_final_newline() {
        assert_eq!(
            edited("[dev]\nregion = x", "dev"),
            "[dev]\nregion = x\naws_access_key_id = ASIANEW\naws_secret_access_key = SECRETNEW\naws_session_token = TOKENNEW\n"
        );
        assert_eq!(
            edited("[dev]\naws_session_token = x", "dev"),
            "[dev]\naws_session_token = TOKENNEW\naws_access_key_id = ASIANEW\naws_secret_access_key = SECRETNEW\n"
        );
        assert_eq!(
            edited("[a]\nx = 1", "dev"),
            "[a]\nx = 1\n\n[dev]\naws_access_key_id = ASIANEW\naws_secret_access_key = SECRETNEW\naws_session_token = TOKENNEW\n"
        );
        assert_eq!(
            edited("[a]\nx = 1\n\n", "dev"),
            "[a]\nx = 1\n\n[dev]\naws_access_key_id = ASIANEW\naws_secret_access_key = SECRETNEW\naws_session_token = TOKENNEW\n"
        );
    }

    #[test]
    fn lookalikes_elsewhere_are_left_alone() {
        // `[profile dev]` is the config file's spelling: in the credentials file it is a profile
        // named "profile dev". Keys of other sections, commented keys and continuation lines
        // that look like keys are not the section's keys.
        let file = "\
[profile dev]
aws_access_key_id = CONFIGSTYLE
[devel]
aws_access_key_id = DEVEL
[dev]
note = first line
  aws_access_key_id = part of note
# aws_secret_access_key = commented
";
        let expected = file.replace(
            "part of note\n",
            "part of note\naws_access_key_id = ASIANEW\naws_secret_access_key = SECRETNEW\naws_session_token = TOKENNEW\n",
        );
        assert_eq!(edited(file, "dev"), expected);
    }

    #[test]
    fn continuation_lines_of_a_replaced_value_go() {
        let file = "[dev]\naws_session_token = part1\n  part2\n\n  part3\nnext = kept\n\n[x]\n";
        assert_eq!(
            edited(file, "dev"),
            "[dev]\naws_session_token = TOKENNEW\nnext = kept\naws_access_key_id = ASIANEW\naws_secret_access_key = SECRETNEW\n\n[x]\n"
        );
    }

    #[test]
    fn indented_sections_get_indented_keys_and_other_bytes_survive() {
        // A key added at a smaller indent would turn the next indented header into a
        // continuation line.
        let file = b"  [dev]\n  region = x\n  [next]\n  k = v\n# caf\xe9\n";
        let out = edit(file, "dev", &NEW);
        assert_eq!(
            out,
            b"  [dev]\n  region = x\n  aws_access_key_id = ASIANEW\n  aws_secret_access_key = SECRETNEW\n  aws_session_token = TOKENNEW\n  [next]\n  k = v\n# caf\xe9\n"
        );
        let reparsed = parse(&out);
        assert!(reparsed.iter().any(|l| l.kind
            == Kind::Header {
                name: b"next".to_vec()
            }));
    }

    #[test]
    fn duplicates_are_all_written() {
        let file = "[dev]\naws_access_key_id = a\naws_access_key_id = b\n[dev]\naws_secret_access_key = c\n";
        assert_eq!(
            edited(file, "dev"),
            "[dev]\naws_access_key_id = ASIANEW\naws_access_key_id = ASIANEW\n[dev]\naws_secret_access_key = SECRETNEW\naws_session_token = TOKENNEW\n"
        );
    }

    #[test]
    fn written_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = private_file::scratch("profile");
        let path = dir.join(".aws/credentials");
        write_profile(&path, "dev", &NEW).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(".aws")), 0o700);
        assert_eq!(mode(&path), 0o600);
        std::fs::write(&path, "[other]\nx = 1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_profile(&path, "dev", &NEW).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .starts_with("[other]\nx = 1\n\n[dev]\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn where_the_file_is() {
        assert_eq!(
            credentials_path(&fake_env(&[("HOME", "/home/a")])).unwrap(),
            PathBuf::from("/home/a/.aws/credentials")
        );
        assert_eq!(
            credentials_path(&fake_env(&[
                ("HOME", "/home/a"),
                ("AWS_SHARED_CREDENTIALS_FILE", "~/c")
            ]))
            .unwrap(),
            PathBuf::from("/home/a/c")
        );
        assert_eq!(
            credentials_path(&fake_env(&[("AWS_SHARED_CREDENTIALS_FILE", "/etc/c")])).unwrap(),
            PathBuf::from("/etc/c")
        );
        assert!(credentials_path(&fake_env(&[])).is_err());
    }
}
