//! ARN patterns: segment-aware, case-sensitive wildcard matching of ARNs.
//!
//! A wildcard in one of the first five parts of `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`
//! stays inside that part (`arn:aws:s3:*:...` cannot swallow colons of other parts); the resource
//! part is everything after the fifth colon and may itself contain colons and slashes.

use crate::context::Context;
use crate::pattern::{Pattern, Syntax, VarResult};

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
    use crate::pattern::ArnMode;

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
}
