//! ARNs: splitting into their six parts and segment-aware, case-sensitive wildcard matching.
//!
//! `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. A wildcard in one of the first five parts
//! stays inside that part (`arn:aws:s3:*:...` cannot swallow colons of other parts); the resource
//! part is everything after the fifth colon and may itself contain colons and slashes.

use crate::context::Context;
use crate::pattern::{Pattern, Piece, Syntax, VarResult};

/// A borrowed ARN split at its first five colons.
#[derive(Debug, Clone, Copy)]
pub struct SplitArn<'a> {
    parts: [&'a str; 6],
}

impl<'a> SplitArn<'a> {
    /// Split `text` if it has the ARN shape (`arn:` and five colons); `None` otherwise.
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut it = text.splitn(6, ':');
        let parts = [
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
        ];
        (parts[0] == "arn").then_some(SplitArn { parts })
    }

    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub fn partition(&self) -> &'a str {
        self.parts[1]
    }
    /// `iam`, `sts`, `s3`, ...
    pub fn service(&self) -> &'a str {
        self.parts[2]
    }
    /// The region (empty for global services).
    pub fn region(&self) -> &'a str {
        self.parts[3]
    }
    /// The account id (empty for S3 buckets).
    pub fn account(&self) -> &'a str {
        self.parts[4]
    }
    /// Everything after the fifth colon.
    pub fn resource(&self) -> &'a str {
        self.parts[5]
    }
    /// The offsets of the first five colons of an ARN-shaped text.
    pub(crate) fn colons(text: &str) -> Option<[usize; 5]> {
        if !text.starts_with("arn:") {
            return None;
        }
        let mut out = [0usize; 5];
        let mut found = text.match_indices(':').map(|(i, _)| i);
        for slot in out.iter_mut() {
            *slot = found.next()?;
        }
        Some(out)
    }

    /// Split with offsets from [`SplitArn::colons`] of the same text.
    pub(crate) fn from_colons(text: &'a str, c: [usize; 5]) -> Option<Self> {
        let [a, b, d, e, f] = c;
        Some(SplitArn {
            parts: [
                text.get(..a)?,
                text.get(a + 1..b)?,
                text.get(b + 1..d)?,
                text.get(d + 1..e)?,
                text.get(e + 1..f)?,
                text.get(f + 1..)?,
            ],
        })
    }

    fn parts(&self) -> &[&'a str; 6] {
        &self.parts
    }
}

/// A compiled ARN pattern (a Resource entry, or an `Arn*` condition value).
#[derive(Debug, Clone)]
pub(crate) struct ArnPattern {
    /// The pattern over the whole string, for subjects (or patterns) without the ARN shape.
    whole: Pattern,
    /// The six per-part patterns, when the pattern has the ARN shape.
    segments: Option<Box<[Pattern; 6]>>,
    /// Starts with `arn:` but has fewer than six parts: matches no ARN (a wildcard must not
    /// stretch across the missing part boundaries).
    short_arn: bool,
}

impl ArnPattern {
    pub(crate) fn compile(src: &str, syntax: Syntax) -> Self {
        let pieces = crate::pattern::tokenize(src, syntax);
        let split = split_segments(&pieces);
        let short_arn = split.is_none()
            && matches!(pieces.first(), Some(Piece::Lit(s)) if s.starts_with("arn:"));
        // When the first five parts are plain text, their five colons are fixed, so matching the
        // whole string is the same as matching part by part, and much cheaper
        // (`arn:aws:s3:::bucket/*` becomes one prefix comparison).
        let literal_head = split.as_ref().is_some_and(|segs| {
            segs.iter()
                .take(5)
                .all(|seg| seg.iter().all(|p| matches!(p, Piece::Lit(_))))
        });
        let segments = split
            .filter(|_| !literal_head)
            .map(|segs| Box::new(segs.map(|seg| Pattern::from_pieces(seg, syntax.ignore_case))));
        ArnPattern {
            whole: Pattern::from_pieces(pieces, syntax.ignore_case),
            segments,
            short_arn,
        }
    }

    pub(crate) fn is_any(&self) -> bool {
        self.whole.is_any()
    }

    pub(crate) fn has_vars(&self) -> bool {
        self.whole.has_vars()
    }

    pub(crate) fn matches(&self, subject: &str, ctx: &Context) -> VarResult {
        if self.whole.is_any() {
            return Ok(true);
        }
        self.matches_split(subject, SplitArn::parse(subject).as_ref(), ctx)
    }

    /// As [`ArnPattern::matches`], with the subject already split.
    pub(crate) fn matches_split(
        &self,
        subject: &str,
        split: Option<&SplitArn<'_>>,
        ctx: &Context,
    ) -> VarResult {
        if self.whole.is_any() {
            return Ok(true);
        }
        match (&self.segments, split) {
            (Some(segments), Some(arn)) => {
                // Part 0 is "arn" on both sides by construction. The most selective parts first:
                // service, resource, then partition, region, account.
                for i in [2usize, 5, 1, 3, 4] {
                    let (Some(pattern), Some(part)) = (segments.get(i), arn.parts().get(i)) else {
                        return Ok(false);
                    };
                    if !pattern.matches(part, ctx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            (None, Some(_)) if self.short_arn => Ok(false),
            _ => self.whole.matches(subject, ctx),
        }
    }
}

/// Split pieces into six ARN parts at the first five colons found in literal text.
fn split_segments(pieces: &[Piece]) -> Option<[Vec<Piece>; 6]> {
    let mut segs: [Vec<Piece>; 6] = Default::default();
    let mut idx = 0usize;
    for piece in pieces {
        match piece {
            Piece::Lit(text) if idx < 5 => {
                let mut rest: &str = text;
                while idx < 5 {
                    let Some((head, tail)) = rest.split_once(':') else {
                        break;
                    };
                    if !head.is_empty() {
                        segs.get_mut(idx)?.push(Piece::Lit(head.into()));
                    }
                    idx += 1;
                    rest = tail;
                }
                if !rest.is_empty() {
                    segs.get_mut(idx)?.push(Piece::Lit(rest.into()));
                }
            }
            other => segs.get_mut(idx)?.push(other.clone()),
        }
    }
    let first_is_arn = matches!(segs[0].as_slice(), [Piece::Lit(s)] if &**s == "arn");
    (idx == 5 && first_is_arn).then_some(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: Syntax = Syntax {
        wildcards: true,
        variables: true,
        ignore_case: false,
    };

    fn m(p: &str, s: &str) -> bool {
        ArnPattern::compile(p, SYN)
            .matches(s, &Context::new())
            .unwrap_or(false)
    }

    #[test]
    fn segment_aware() {
        assert!(m("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c"));
        assert!(!m("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/a"));
        assert!(m(
            "arn:aws:ec2:*:*:instance/*",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
        ));
        // A star inside the region part does not reach into the account part.
        assert!(!m(
            "arn:aws:ec2:us-*:instance/*",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
        ));
        assert!(m(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::123456789012:role/path/R"
        ));
        assert!(!m(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::123456789012:user/R"
        ));
        assert!(m("*", "anything"));
        assert!(m("arn:aws:s3:::*", "arn:aws:s3:::x"));
        assert!(!m("arn:aws:s3:::*", "arn:aws:s3:us-east-1::x"));
    }

    #[test]
    fn variables_with_colons_split_correctly() {
        let mut ctx = Context::new();
        ctx.insert("saml:sub", "alice");
        let p = ArnPattern::compile("arn:aws:s3:::home/${saml:sub}/*", SYN);
        assert_eq!(p.matches("arn:aws:s3:::home/alice/x", &ctx), Ok(true));
        assert_eq!(p.matches("arn:aws:s3:::home/bob/x", &ctx), Ok(false));
    }

    #[test]
    fn split() {
        let a = SplitArn::parse("arn:aws:sts::123:assumed-role/R/s").expect("arn");
        assert_eq!(a.service(), "sts");
        assert_eq!(a.account(), "123");
        assert_eq!(a.resource(), "assumed-role/R/s");
        assert!(SplitArn::parse("arn:aws:s3").is_none());
        assert!(SplitArn::parse("nar:aws:s3:::x").is_none());
    }
}
