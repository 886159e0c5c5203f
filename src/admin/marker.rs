//! The listing's page marker: where the previous page ended, opaque to clients (they pass back
//! what they were given), read strictly and bounded in length.

use idbroker_session::{AccessKeyId, AccessKeyKind, ListPosition};

use crate::sts::StsError;

/// The longest marker read. A marker this API writes is 56 characters at most.
pub(super) const MAX_MARKER_CHARS: usize = 128;

/// The marker of `position`: base64url (no padding) of `EXPIRY:ACCESS_KEY_ID`.
pub(super) fn encode(position: &ListPosition) -> String {
    let text = format!("{}:{}", position.expires_at, position.access_key_id);
    data_encoding::BASE64URL_NOPAD.encode(text.as_bytes())
}

/// The position a marker names; anything this API did not write is a validation error.
pub(super) fn decode(marker: &str) -> Result<ListPosition, StsError> {
    let invalid = || StsError::Validation("Marker is not a marker this API returned".into());
    if marker.is_empty() || marker.len() > MAX_MARKER_CHARS {
        return Err(invalid());
    }
    let bytes = data_encoding::BASE64URL_NOPAD
        .decode(marker.as_bytes())
        .map_err(|_| invalid())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
    let (expiry, id) = text.split_once(':').ok_or_else(invalid)?;
    if expiry.is_empty() || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let expires_at = expiry.parse::<u64>().map_err(|_| invalid())?;
    let access_key_id = AccessKeyId::parse(id)
        .ok()
        .filter(|k| k.kind() == AccessKeyKind::Temporary)
        .ok_or_else(invalid)?;
    Ok(ListPosition {
        expires_at,
        access_key_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_are_read_strictly() {
        let p = ListPosition {
            expires_at: u64::MAX,
            access_key_id: AccessKeyId::parse("ASIAAAAAAAAAAAAAAAAA").unwrap(),
        };
        let m = encode(&p);
        assert!(m.len() <= 56, "{m}");
        assert_eq!(decode(&m).unwrap(), p);
        let b64 = |s: &str| data_encoding::BASE64URL_NOPAD.encode(s.as_bytes());
        for bad in [
            String::new(),
            "!!!".into(),
            "A".repeat(MAX_MARKER_CHARS + 1),
            b64("1795867200"),
            b64("x:ASIAAAAAAAAAAAAAAAAA"),
            b64("+1:ASIAAAAAAAAAAAAAAAAA"),
            b64("99999999999999999999:ASIAAAAAAAAAAAAAAAAA"),
            b64("1:AKIAAAAAAAAAAAAAAAAA"),
            b64("1:ASIAAAAAAAAAAAAAAAAA:x"),
        ] {
            assert!(
                matches!(decode(&bad), Err(StsError::Validation(_))),
                "{bad}"
            );
        }
    }
}
