//! What a new virtual MFA device is handed, as CreateVirtualMFADevice answers it: a random seed
//! (40 bytes: 64 Base32 characters, as AWS's seeds), its Base32 text (`Base32StringSeed`), and a
//! QR code PNG (`QRCodePNG`) of `otpauth://totp/NAME@ACCOUNT?secret=SEED`, the URI AWS documents
//! for it ("AccountName is the user name if set (otherwise, the account ID)": a new device has
//! no user yet). Each holds the seed: every buffer is zeroized when dropped, and none is ever
//! logged.

use zeroize::Zeroizing;

/// Bytes of a new seed.
pub const SEED_BYTES: usize = 40;
/// Pixels per QR module in the PNG.
const SCALE: usize = 6;
/// Modules of white around the code (the QR standard's quiet zone).
const QUIET: usize = 4;

/// A device's seed and what it is handed as.
pub struct NewDevice {
    /// The raw seed (HMAC key).
    pub seed: Zeroizing<Vec<u8>>,
    /// Its Base32 text (RFC 4648, no padding).
    pub base32: Zeroizing<String>,
    /// The QR code PNG of the `otpauth://` URI.
    pub qr_png: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for NewDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDevice").finish_non_exhaustive()
    }
}

/// Provisioning failed (no randomness, a URI too long for a QR code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProvisionError(String);

/// A new device named `name` in the account `account` (its alias or id): a fresh random seed.
pub fn new_device(name: &str, account: &str) -> Result<NewDevice, ProvisionError> {
    let mut seed = Zeroizing::new(vec![0u8; SEED_BYTES]);
    aws_lc_rs::rand::fill(seed.as_mut_slice())
        .map_err(|_| ProvisionError("no randomness for a seed".into()))?;
    for_seed(seed, name, account)
}

/// What a device with `seed` is handed (tests give their own seed).
pub fn for_seed(
    seed: Zeroizing<Vec<u8>>,
    name: &str,
    account: &str,
) -> Result<NewDevice, ProvisionError> {
    let base32 = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&seed));
    let uri = otpauth_uri(name, account, &base32);
    let qr_png = qr_png(&uri)?;
    Ok(NewDevice {
        seed,
        base32,
        qr_png,
    })
}

/// `otpauth://totp/NAME@ACCOUNT?secret=BASE32` (the name and account percent-encoded).
pub fn otpauth_uri(name: &str, account: &str, base32: &str) -> Zeroizing<String> {
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    Zeroizing::new(format!(
        "otpauth://totp/{}@{}?secret={base32}",
        enc(name),
        enc(account)
    ))
}

/// `text` as a QR code (error correction M), black on white, [`SCALE`] pixels per module and a
/// quiet zone of [`QUIET`] modules, as a 1-bit grayscale PNG.
pub fn qr_png(text: &str) -> Result<Zeroizing<Vec<u8>>, ProvisionError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ProvisionError(format!("QR code: {e}")))?;
    let modules = code.width();
    let dark: Zeroizing<Vec<bool>> = Zeroizing::new(
        code.to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect(),
    );
    drop(code);
    let side = (modules + 2 * QUIET) * SCALE;
    let row_bytes = side.div_ceil(8);
    // 1-bit grayscale: a set bit is white.
    let mut pixels = Zeroizing::new(vec![0xffu8; row_bytes * side]);
    for y in 0..side {
        for x in 0..side {
            let (mx, my) = (
                (x / SCALE).wrapping_sub(QUIET),
                (y / SCALE).wrapping_sub(QUIET),
            );
            let is_dark = mx < modules
                && my < modules
                && dark.get(my * modules + mx).copied().unwrap_or(false);
            if is_dark {
                if let Some(b) = pixels.get_mut(y * row_bytes + x / 8) {
                    *b &= !(0x80u8 >> (x % 8));
                }
            }
        }
    }
    let side32 = u32::try_from(side).map_err(|_| ProvisionError("QR code too large".into()))?;
    let mut out = Zeroizing::new(Vec::new());
    {
        let mut enc = png::Encoder::new(&mut *out, side32, side32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        let mut w = enc
            .write_header()
            .map_err(|e| ProvisionError(format!("PNG: {e}")))?;
        w.write_image_data(&pixels)
            .map_err(|e| ProvisionError(format!("PNG: {e}")))?;
        w.finish()
            .map_err(|e| ProvisionError(format!("PNG: {e}")))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_device_has_a_fresh_64_character_seed() {
        let a = new_device("alice", "123456789012").unwrap();
        let b = new_device("alice", "123456789012").unwrap();
        assert_eq!(a.seed.len(), SEED_BYTES);
        assert_eq!(a.base32.len(), 64);
        assert!(a
            .base32
            .bytes()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c)));
        assert_ne!(a.seed, b.seed);
        assert_eq!(
            data_encoding::BASE32_NOPAD
                .decode(a.base32.as_bytes())
                .unwrap(),
            *a.seed
        );
        assert_eq!(format!("{a:?}"), "NewDevice { .. }");
    }

    #[test]
    fn the_uri_names_the_device_and_account() {
        assert_eq!(
            otpauth_uri("bob+work@x", "123456789012", "JBSWY3DP").as_str(),
            "otpauth://totp/bob%2Bwork%40x@123456789012?secret=JBSWY3DP"
        );
    }

    /// The PNG, decoded, has exactly the QR code's modules where they belong.
    #[test]
    fn the_png_is_the_qr_code() {
        let uri = otpauth_uri("alice", "123456789012", &"A".repeat(64));
        let png_bytes = qr_png(&uri).unwrap();
        assert_eq!(png_bytes.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]));
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes.to_vec()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
            .unwrap();
        let n = code.width();
        let side = (n + 2 * QUIET) * SCALE;
        assert_eq!((info.width as usize, info.height as usize), (side, side));
        let white = |x: usize, y: usize| buf[y * info.line_size + x / 8] & (0x80 >> (x % 8)) != 0;
        let colors = code.to_colors();
        for my in 0..n + 2 * QUIET {
            for mx in 0..n + 2 * QUIET {
                // The centre pixel of each module.
                let (x, y) = (mx * SCALE + SCALE / 2, my * SCALE + SCALE / 2);
                let inside = (QUIET..QUIET + n).contains(&mx) && (QUIET..QUIET + n).contains(&my);
                let dark = inside && colors[(my - QUIET) * n + (mx - QUIET)] == qrcode::Color::Dark;
                assert_eq!(!white(x, y), dark, "module ({mx}, {my})");
            }
        }
    }
}
