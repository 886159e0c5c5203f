//! ARNs: splitting into their six parts.
//!
//! `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`: the resource part is everything after the
//! fifth colon and may itself contain colons and slashes. Matching ARNs against patterns is
//! `arn_pattern`'s job.

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

#[cfg(test)]
mod tests {
    use super::*;

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
