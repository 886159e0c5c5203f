//! Compiled string patterns: IAM wildcards (`*`, `?`) and policy variables (`${key}`).
//!
//! A pattern is compiled once when a policy is loaded. Matching a pattern without variables does
//! no allocation; a pattern with variables resolves them against the request context first.
//!
//! INVARIANT: a value substituted for a variable is always literal text. `${saml:sub}` resolving to
//! `a*` matches only the text `a*`, never `abc`: an identity provider (or a user who controls a
//! claim) must not be able to widen a policy by putting wildcards into an attribute. The escapes
//! `${*}`, `${?}` and `${$}` are the only way to write literal `*`, `?` and `$` inside a pattern.

use crate::context::{Context, Key};

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Literal text (already lower-cased when the pattern is case-insensitive).
    Lit(Box<str>),
    /// `*`: any run of characters, including none.
    Star,
    /// In an ARN, a `*` that is not the last character of its colon-separated part: any run of
    /// characters without a colon.
    SegStar,
    /// `?`: exactly one character.
    One,
    /// In an ARN, `?`: exactly one character that is not a colon.
    OneSeg,
    /// `${key}` or `${key, 'default'}`: the key is stored lower-cased. `slot` numbers the
    /// variables of one pattern, so each is looked up once per match.
    Var {
        key: Key,
        default: Option<Box<str>>,
        slot: usize,
    },
}

/// How a pattern source string is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syntax {
    /// `*` and `?` are wildcards (Action, Resource, StringLike, ArnLike); otherwise literal.
    pub wildcards: bool,
    /// `${...}` is a policy variable (only in Version 2012-10-17 documents).
    pub variables: bool,
    /// Compare case-insensitively: literals are lower-cased at compile time and the subject and
    /// substituted values at match time.
    pub ignore_case: bool,
    /// How wildcards treat the colons of an ARN.
    pub arn: ArnMode,
}

/// Wildcards in ARNs. In both modes a wildcard in the resource part (after the fifth colon,
/// which may itself hold colons) matches anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArnMode {
    /// Not an ARN: `*` matches anything.
    Off,
    /// The `Resource` element: a wildcard stays within its colon-separated part, except a `*`
    /// that ends its part, which "can expand to match beyond the colon boundaries" (IAM User
    /// Guide, IAM JSON policy elements: Resource, "Using wildcards in resource ARNs").
    Resource,
    /// `ArnLike`/`ArnEquals` conditions: "each of the six colon-delimited components of the ARN
    /// is checked separately" (IAM User Guide, Condition operators, ARN condition operators).
    Condition,
}

/// Fast paths for the shapes most patterns take.
#[derive(Debug, Clone)]
enum Shape {
    /// `*`
    Any,
    /// No wildcard, no variable.
    Exact(Box<str>),
    /// `literal*`
    Prefix(Box<str>),
    /// Anything else: walk the pieces.
    General,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pieces: Box<[Piece]>,
    shape: Shape,
    has_vars: bool,
    ignore_case: bool,
    /// Holds a `SegStar`: matched by [`glob_segmented`] rather than the greedy [`glob`].
    segmented: bool,
}

/// The outcome of matching a pattern that may contain variables.
pub(crate) type VarResult = Result<bool, Unresolved>;

/// A policy variable could not be resolved (the key is absent or multi-valued and the variable
/// has no default). The value that holds it matches nothing: see [`matched`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unresolved;

/// Whether a value matched, reading a value whose variable has no value as AWS does: "the value
/// is effectively null. There is no equal or like value" (IAM User Guide, "Policy variables with
/// no value"). So such a value matches nothing: a `StringEquals` or `Resource` entry holding it
/// does not match, and a negated use (`StringNotEquals`, `NotResource`) finds nothing to exclude.
#[inline]
pub(crate) fn matched(r: VarResult) -> bool {
    matches!(r, Ok(true))
}

pub(crate) fn tokenize(src: &str, syntax: Syntax) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = src;
    // Literal colons seen so far: from five on, we are in an ARN's resource part.
    let mut colons = 0usize;
    while let Some(c) = rest.chars().next() {
        if syntax.variables && rest.starts_with("${") {
            if let Some(end) = rest.find('}') {
                let inner = rest.get(2..end).unwrap_or_default();
                rest = rest.get(end + 1..).unwrap_or_default();
                match inner {
                    "*" => lit.push('*'),
                    "?" => lit.push('?'),
                    "$" => lit.push('$'),
                    _ => {
                        flush(&mut pieces, &mut lit, syntax);
                        pieces.push(parse_var(inner));
                    }
                }
                continue;
            }
        }
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
        match c {
            '*' if syntax.wildcards => {
                flush(&mut pieces, &mut lit, syntax);
                let ends_part = rest.is_empty() || rest.starts_with(':');
                let bound = match syntax.arn {
                    ArnMode::Off => false,
                    _ if colons >= 5 => false,
                    ArnMode::Resource => !ends_part,
                    ArnMode::Condition => true,
                };
                let star = if bound { Piece::SegStar } else { Piece::Star };
                // Consecutive stars are one star, the widest of them.
                match (pieces.last_mut(), star) {
                    (Some(last @ Piece::SegStar), Piece::Star) => *last = Piece::Star,
                    (Some(Piece::Star | Piece::SegStar), _) => {}
                    (_, star) => pieces.push(star),
                }
            }
            '?' if syntax.wildcards => {
                flush(&mut pieces, &mut lit, syntax);
                pieces.push(if syntax.arn != ArnMode::Off && colons < 5 {
                    Piece::OneSeg
                } else {
                    Piece::One
                });
            }
            _ => {
                if c == ':' {
                    colons += 1;
                }
                lit.push(c);
            }
        }
    }
    flush(&mut pieces, &mut lit, syntax);
    pieces
}

fn flush(pieces: &mut Vec<Piece>, lit: &mut String, syntax: Syntax) {
    if lit.is_empty() {
        return;
    }
    let text = std::mem::take(lit);
    let text = if syntax.ignore_case {
        text.to_lowercase()
    } else {
        text
    };
    pieces.push(Piece::Lit(text.into_boxed_str()));
}

/// `aws:username` or `aws:PrincipalTag/team, 'default'`.
fn parse_var(inner: &str) -> Piece {
    let (key, default) = match inner.split_once(',') {
        Some((key, dflt)) => {
            let dflt = dflt.trim();
            let dflt = dflt
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .unwrap_or(dflt);
            (key, Some(dflt.into()))
        }
        None => (inner, None),
    };
    Piece::Var {
        key: Key::new(key.trim()),
        default,
        slot: 0,
    }
}

impl Pattern {
    pub(crate) fn compile(src: &str, syntax: Syntax) -> Self {
        Self::from_pieces(tokenize(src, syntax), syntax.ignore_case)
    }

    pub(crate) fn from_pieces(mut pieces: Vec<Piece>, ignore_case: bool) -> Self {
        let mut next_slot = 0usize;
        for piece in pieces.iter_mut() {
            if let Piece::Var { slot, .. } = piece {
                *slot = next_slot;
                next_slot += 1;
            }
        }
        let has_vars = pieces.iter().any(|p| matches!(p, Piece::Var { .. }));
        let segmented = pieces.iter().any(|p| matches!(p, Piece::SegStar));
        let shape = match pieces.as_slice() {
            [Piece::Star] => Shape::Any,
            [] => Shape::Exact("".into()),
            [Piece::Lit(s)] => Shape::Exact(s.clone()),
            [Piece::Lit(s), Piece::Star] => Shape::Prefix(s.clone()),
            _ => Shape::General,
        };
        Pattern {
            pieces: pieces.into_boxed_slice(),
            shape,
            has_vars,
            ignore_case,
            segmented,
        }
    }

    pub(crate) fn has_vars(&self) -> bool {
        self.has_vars
    }

    pub(crate) fn is_any(&self) -> bool {
        matches!(self.shape, Shape::Any)
    }

    /// Match a subject that is already lower-cased when the pattern ignores case.
    #[inline]
    pub(crate) fn matches(&self, subject: &str, ctx: &Context) -> VarResult {
        match &self.shape {
            Shape::Any => Ok(true),
            Shape::Exact(s) => Ok(bytes_eq(subject.as_bytes(), s.as_bytes())),
            Shape::Prefix(p) => Ok(subject
                .as_bytes()
                .get(..p.len())
                .is_some_and(|head| bytes_eq(head, p.as_bytes()))),
            Shape::General if !self.has_vars => Ok(self.walk(subject, None)),
            Shape::General => {
                // Resolve every variable first, whether or not matching reaches it, so that an
                // unresolvable one always says so (the caller reads it as AWS's "effectively
                // null"), never a plain mismatch that depends on where the walk stopped.
                let mut resolved: [&str; MAX_SLOTS] = [""; MAX_SLOTS];
                for piece in self.pieces.iter() {
                    if let Piece::Var { key, default, slot } = piece {
                        let value = ctx.single(key).or(default.as_deref()).ok_or(Unresolved)?;
                        if let Some(cell) = resolved.get_mut(*slot) {
                            *cell = value;
                        }
                    }
                }
                Ok(self.walk(
                    subject,
                    Some(Vars {
                        ctx,
                        resolved: &resolved,
                        ignore_case: self.ignore_case,
                    }),
                ))
            }
        }
    }

    fn walk(&self, subject: &str, vars: Option<Vars<'_>>) -> bool {
        if self.segmented {
            glob_segmented(&self.pieces, subject, vars)
        } else {
            glob(&self.pieces, subject, vars)
        }
    }

    /// Match a subject given in its original case; lower-cases it first if the pattern ignores case.
    pub(crate) fn matches_any_case(&self, subject: &str, ctx: &Context) -> VarResult {
        if self.ignore_case {
            self.matches(&subject.to_lowercase(), ctx)
        } else {
            self.matches(subject, ctx)
        }
    }
}

/// Byte equality. Most strings compared here (actions, ARN parts) are short, and an inlined loop
/// beats a call into the C library's `memcmp` for them; longer ones go to `memcmp`.
#[inline]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// Variables resolved up front per pattern; a pattern with more variables than this looks the
/// rest up as it meets them.
const MAX_SLOTS: usize = 8;

/// How variables are resolved while matching.
#[derive(Clone, Copy)]
pub(crate) struct Vars<'a> {
    ctx: &'a Context,
    resolved: &'a [&'a str; MAX_SLOTS],
    ignore_case: bool,
}

/// The length in bytes of the prefix of `rest` that `piece` matches, if it matches.
fn piece_len(piece: &Piece, rest: &str, vars: Option<Vars<'_>>) -> Option<usize> {
    match piece {
        Piece::Lit(s) => rest
            .as_bytes()
            .get(..s.len())
            .is_some_and(|head| bytes_eq(head, s.as_bytes()))
            .then_some(s.len()),
        Piece::One => rest.chars().next().map(char::len_utf8),
        Piece::OneSeg => rest
            .chars()
            .next()
            .filter(|c| *c != ':')
            .map(char::len_utf8),
        // Stars are handled by the matchers themselves.
        Piece::Star | Piece::SegStar => Some(0),
        Piece::Var { key, default, slot } => {
            let vars = vars?;
            let value = match vars.resolved.get(*slot) {
                Some(v) => *v,
                None => vars.ctx.single(key).or(default.as_deref())?,
            };
            if vars.ignore_case {
                prefix_len_lowercased(rest, value)
            } else {
                rest.starts_with(value).then_some(value.len())
            }
        }
    }
}

/// `rest` starts with the lower-cased form of `value`: the length of that prefix of `rest`.
fn prefix_len_lowercased(rest: &str, value: &str) -> Option<usize> {
    let mut it = rest.char_indices();
    for want in value.chars().flat_map(char::to_lowercase) {
        let (_, got) = it.next()?;
        if got != want {
            return None;
        }
    }
    Some(it.next().map_or(rest.len(), |(i, _)| i))
}

/// Wildcard match for patterns holding colon-bound stars (`SegStar`). Greedy backtracking to the
/// last star is wrong when stars differ in what they may absorb, so this tracks the set of text
/// positions reachable after each piece (a bitset): O(pieces * len) time, no recursion, and no
/// allocation for subjects under 1 KiB.
pub(crate) fn glob_segmented(pieces: &[Piece], text: &str, vars: Option<Vars<'_>>) -> bool {
    const INLINE_WORDS: usize = 16;
    let n = text.len();
    let words = n / 64 + 1;
    let mut inline_a = [0u64; INLINE_WORDS];
    let mut inline_b = [0u64; INLINE_WORDS];
    let mut heap_a;
    let mut heap_b;
    let (mut cur, mut next): (&mut [u64], &mut [u64]) = if words <= INLINE_WORDS {
        (
            inline_a.get_mut(..words).unwrap_or_default(),
            inline_b.get_mut(..words).unwrap_or_default(),
        )
    } else {
        heap_a = vec![0u64; words];
        heap_b = vec![0u64; words];
        (&mut heap_a, &mut heap_b)
    };
    let set = |bits: &mut [u64], i: usize| {
        if let Some(w) = bits.get_mut(i / 64) {
            *w |= 1u64 << (i % 64);
        }
    };
    let get = |bits: &[u64], i: usize| {
        bits.get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    };
    let bytes = text.as_bytes();
    set(cur, 0);
    for piece in pieces {
        next.iter_mut().for_each(|w| *w = 0);
        match piece {
            Piece::Star => {
                let first = cur
                    .iter()
                    .enumerate()
                    .find(|(_, w)| **w != 0)
                    .map(|(i, w)| i * 64 + w.trailing_zeros() as usize);
                if let Some(first) = first {
                    for q in first..=n {
                        set(next, q);
                    }
                }
            }
            Piece::SegStar => {
                let mut open = false;
                for q in 0..=n {
                    open |= get(cur, q);
                    if open {
                        set(next, q);
                    }
                    if bytes.get(q) == Some(&b':') {
                        open = false;
                    }
                }
            }
            other => {
                for (wi, word) in cur.iter().enumerate() {
                    let mut w = *word;
                    while w != 0 {
                        let p = wi * 64 + w.trailing_zeros() as usize;
                        w &= w - 1;
                        let Some(rest) = text.get(p..) else { continue };
                        if let Some(len) = piece_len(other, rest, vars) {
                            set(next, p + len);
                        }
                    }
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
        if cur.iter().all(|w| *w == 0) {
            return false;
        }
    }
    get(cur, n)
}

/// Wildcard match of `text` against pieces; variables are read from `vars` as literal text.
/// Every star here may absorb anything (see [`glob_segmented`] for the others).
///
/// Iterative, with backtracking to the most recent star only: O(len(pattern) * len(text)) in the
/// worst case, no recursion, no allocation.
pub(crate) fn glob(pieces: &[Piece], text: &str, vars: Option<Vars<'_>>) -> bool {
    let mut pi = 0usize;
    let mut ti = 0usize;
    // (index of the piece after the last star, text index that star is currently absorbing up to)
    let mut star: Option<(usize, usize)> = None;
    loop {
        let rest = text.get(ti..).unwrap_or_default();
        match pieces.get(pi) {
            // A trailing star matches whatever is left.
            Some(Piece::Star) if pi + 1 == pieces.len() => return true,
            Some(Piece::Star) => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some(piece) => {
                if let Some(len) = piece_len(piece, rest, vars) {
                    ti += len;
                    pi += 1;
                    continue;
                }
            }
            None if rest.is_empty() => return true,
            None => {}
        }
        // Mismatch: let the last star absorb one more character and retry.
        match star {
            Some((after_star, absorbed)) => {
                let Some(c) = text.get(absorbed..).and_then(|r| r.chars().next()) else {
                    return false;
                };
                let next = absorbed + c.len_utf8();
                star = Some((after_star, next));
                pi = after_star;
                ti = next;
            }
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WILD: Syntax = Syntax {
        wildcards: true,
        variables: true,
        ignore_case: false,
        arn: ArnMode::Off,
    };

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::compile(pattern, WILD)
            .matches(text, &Context::new())
            .unwrap_or(false)
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("s3:Get*", "s3:GetObject"));
        assert!(!m("s3:Get*", "s3:PutObject"));
        assert!(m("s3:*Object", "s3:GetObject"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("a*b*c", "abcbc"));
        assert!(!m("a*b*c", "abcb"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a?c", "aéc"));
        assert!(m("**a", "xa"));
        assert!(!m("abc", "abcd"));
        assert!(m("*ab", "aab"));
    }

    #[test]
    fn escapes_and_variables() {
        let mut ctx = Context::new();
        ctx.insert("aws:username", "al*ce");
        let p = Pattern::compile("home/${aws:username}/*", WILD);
        assert_eq!(p.matches("home/al*ce/x", &ctx), Ok(true));
        // The substituted value is literal: its '*' is no wildcard.
        assert_eq!(p.matches("home/alXXce/x", &ctx), Ok(false));
        let p = Pattern::compile("a${*}b${?}${$}", WILD);
        assert_eq!(p.matches("a*b?$", &ctx), Ok(true));
        assert_eq!(p.matches("aXb?$", &ctx), Ok(false));
        let p = Pattern::compile("${aws:PrincipalTag/team, 'none'}", WILD);
        assert_eq!(p.matches("none", &ctx), Ok(true));
        let p = Pattern::compile("${aws:PrincipalTag/team}", WILD);
        assert_eq!(p.matches("none", &ctx), Err(Unresolved));
    }

    #[test]
    fn variables_off_are_literal() {
        let syntax = Syntax {
            variables: false,
            ..WILD
        };
        let p = Pattern::compile("${aws:username}", syntax);
        assert_eq!(p.matches("${aws:username}", &Context::new()), Ok(true));
    }
}
