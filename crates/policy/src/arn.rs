//! ARNs: splitting into their six parts and segment-aware, case-sensitive wildcard matching.
//!
//! `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. A wildcard in one of the first five parts
//! stays inside that part (`arn:aws:s3:*:...` cannot swallow colons of other parts); the resource
//! part is everything after the fifth colon and may itself contain colons and slashes.

use crate::context::Context;
#[cfg(test)]
use crate::pattern::ArnMode;
use crate::pattern::{Pattern, Syntax, VarResult};

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
}

/// A compiled ARN pattern (a Resource entry, or an `Arn*` condition value): case-sensitive, with
/// wildcards bound to their colon-separated part unless a `*` ends its part.
#[derive(Debug, Clone)]
pub(crate) struct ArnPattern(Pattern);

impl ArnPattern {
    /// `syntax.arn` says whether this is a Resource entry or an `Arn*` condition value.
    pub(crate) fn compile(src: &str, syntax: Syntax) -> Self {
        ArnPattern(Pattern::compile(src, syntax))
    }

    pub(crate) fn is_any(&self) -> bool {
        self.0.is_any()
    }

    pub(crate) fn has_vars(&self) -> bool {
        self.0.has_vars()
    }

    pub(crate) fn matches(&self, subject: &str, ctx: &Context) -> VarResult {
        self.0.matches(subject, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: Syntax = Syntax {
        wildcards: true,
        variables: true,
        ignore_case: false,
        arn: ArnMode::Resource,
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
        // A star that ends its part may reach across colons (AWS: "If the * wildcard is the last
        // character of a resource ARN segment, it can expand to match beyond the colon
        // boundaries"); one inside a part may not.
        assert!(m(
            "arn:aws:ec2:us-*:instance/*",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
        ));
        assert!(m(
            "arn:aws:sqs:us-east-1:*:queue1",
            "arn:aws:sqs:us-east-1:123456789012:x:queue1"
        ));
        assert!(!m(
            "arn:aws:sqs:us-*-1:123456789012:queue1",
            "arn:aws:sqs:us-east-1:999999999999:us-x-1:123456789012:queue1"
        ));
        assert!(m(
            "arn:aws:sqs:us-*-1:123456789012:queue1",
            "arn:aws:sqs:us-east-1:123456789012:queue1"
        ));
        assert!(!m("arn:aws:sqs:us-?ast-1:*", "arn:aws:sqs:us:ast-1:1"));
        // Condition operators match part by part: no star crosses a colon before the resource.
        let cond = ArnPattern::compile(
            "arn:aws:someservice:*:111122223333:finance/*",
            Syntax {
                arn: ArnMode::Condition,
                ..SYN
            },
        );
        let ctx = Context::new();
        assert_eq!(
            cond.matches(
                "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/x",
                &ctx
            ),
            Ok(false)
        );
        assert_eq!(
            cond.matches(
                "arn:aws:someservice:us-east-2:111122223333:finance/a:b",
                &ctx
            ),
            Ok(true)
        );
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
