//! The HTTP-POST binding's `SAMLResponse` field: base64 in, XML bytes out, with the usual
//! encoding mistakes of IdPs and proxies each refused under its own code.

use crate::error::{Error, Result};
use crate::xml::{self, Limits};

/// Decodes the `SAMLResponse` form field of the HTTP-POST binding (standard base64 of the XML,
/// XML whitespace tolerated), refusing anything that would decode to more than `limits.max_bytes`.
///
/// The usual encoding mistakes of IdPs and proxies are refused each with its own error rather than
/// reported as bad base64 or malformed XML: DEFLATE-compressed content (raw, zlib or gzip: the
/// HTTP-Redirect binding's encoding; only a short prefix is ever inflated, to recognise it),
/// URL-safe base64, base64 applied twice, percent-encoding left over from a second URL encoding,
/// `+` turned into spaces by a missing form encoding, and raw XML sent without base64.
pub fn decode_post_binding(field: &str, limits: &Limits) -> Result<Vec<u8>> {
    let max_encoded = limits.max_bytes.saturating_mul(4) / 3 + 4;
    let (spaces, percent) = scan(field.as_bytes());
    let significant = field.len() - spaces;
    if significant > max_encoded {
        return Err(Error::TooLarge {
            size: significant / 4 * 3,
            limit: limits.max_bytes,
        });
    }
    let trimmed = field.trim_start_matches(|c: char| c == '\u{feff}' || c.is_ascii_whitespace());
    if trimmed.starts_with('<') {
        return Err(Error::UnencodedXml);
    }
    if percent && has_percent_escape(field) {
        return Err(Error::PercentEncoded);
    }
    let decoded = if spaces == 0 {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(field)
            .map_err(|_| Error::BadBase64("SAMLResponse"))
    } else {
        xml::decode_base64_ws(field, "SAMLResponse")
    };
    let bytes = match decoded {
        Ok(b) => b,
        Err(e) => return Err(misencoding_of_undecodable(field).unwrap_or(e)),
    };
    if bytes.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    if !looks_like_xml(&bytes) {
        if let Some(e) = misencoding_of_decoded(&bytes) {
            return Err(e);
        }
        // `+` lost to spaces can still decode (to garbage) when the count happens to fit.
        if field.contains(' ') && decodes_to_xml(&field.replace(' ', "+")) {
            return Err(Error::PlusAsSpace);
        }
    }
    Ok(bytes)
}

/// Bytes inflated at most to recognise compressed content (never the whole message).
const SNIFF_BYTES: u64 = 512;

/// `<` after an optional UTF-8 byte order mark and XML whitespace.
fn looks_like_xml(bytes: &[u8]) -> bool {
    let rest = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    rest.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .is_some_and(|b| *b == b'<')
}

/// One pass over a posted field: how many of its bytes are ASCII whitespace, and whether it has
/// a `%` at all. In 64-byte blocks folded without an early exit, which the compiler turns into
/// vector compares: separate byte-by-byte scans (whitespace, `%XX`, whitespace again before
/// base64) cost more than the base64 decoding of a 10 KB response itself.
fn scan(field: &[u8]) -> (usize, bool) {
    let mut spaces = 0usize;
    let mut percent = false;
    for block in field.chunks(64) {
        let (s, p) = block.iter().fold((0u8, false), |(s, p), &b| {
            (s + u8::from(b.is_ascii_whitespace()), p | (b == b'%'))
        });
        spaces += usize::from(s);
        percent |= p;
    }
    (spaces, percent)
}

fn has_percent_escape(field: &str) -> bool {
    field
        .as_bytes()
        .windows(3)
        .any(|w| matches!(w, [b'%', a, b] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit()))
}

/// Standard base64 (XML whitespace ignored) whose content is XML.
fn decodes_to_xml(text: &str) -> bool {
    xml::decode_base64_ws(text, "SAMLResponse").is_ok_and(|b| looks_like_xml(&b))
}

/// Why a field that is not standard base64 did not decode, when it is a known mistake.
fn misencoding_of_undecodable(field: &str) -> Option<Error> {
    use base64::Engine as _;
    if field.contains(' ') {
        let restored = field.replace(' ', "+");
        if let Ok(b) = xml::decode_base64_ws(&restored, "SAMLResponse")
            && (looks_like_xml(&b) || misencoding_of_decoded(&b).is_some())
        {
            return Some(Error::PlusAsSpace);
        }
    }
    if field.contains(['-', '_']) {
        let compact: String = field.chars().filter(|c| !xml::is_xml_space(*c)).collect();
        let unpadded = compact.trim_end_matches('=');
        if base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(unpadded)
            .is_ok()
        {
            return Some(Error::UrlSafeBase64);
        }
    }
    None
}

/// Decoded bytes that are not XML but a known wrong encoding of it.
fn misencoding_of_decoded(bytes: &[u8]) -> Option<Error> {
    if let Some(kind) = deflate_kind(bytes) {
        return Some(Error::DeflatedResponse(kind));
    }
    // Base64 of base64: the decoded bytes are themselves base64 text of XML (or of DEFLATE).
    let text = std::str::from_utf8(bytes).ok()?;
    let inner = xml::decode_base64_ws(text, "SAMLResponse").ok()?;
    (looks_like_xml(&inner) || deflate_kind(&inner).is_some()).then_some(Error::DoubleBase64)
}

/// Recognises gzip, zlib and raw DEFLATE streams by inflating at most [`SNIFF_BYTES`] of them:
/// the content must start like XML.
fn deflate_kind(bytes: &[u8]) -> Option<&'static str> {
    use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
    use std::io::Read;
    fn sniff(reader: impl Read) -> bool {
        let mut out = Vec::new();
        // A stream cut short by the cap reads fine; one that is not DEFLATE fails or is empty.
        let _ = reader.take(SNIFF_BYTES).read_to_end(&mut out);
        looks_like_xml(&out)
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return sniff(GzDecoder::new(bytes)).then_some("gzip");
    }
    if let [cmf, flg, ..] = bytes
        && cmf & 0x0f == 8
        && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
        && sniff(ZlibDecoder::new(bytes))
    {
        return Some("zlib");
    }
    sniff(DeflateDecoder::new(bytes)).then_some("raw DEFLATE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_counts_whitespace_and_finds_percent_across_blocks() {
        let mut field = vec![b'A'; 200];
        for i in [0, 63, 64, 127, 128, 199] {
            field[i] = b' ';
        }
        field[10] = b'\t';
        field[20] = b'\x0c';
        assert_eq!(scan(&field), (8, false));
        field[130] = b'%';
        assert_eq!(scan(&field), (8, true));
        assert_eq!(scan(b""), (0, false));
        assert_eq!(scan(b"%"), (0, true));
        // The count is the one the size limit is checked against: non-whitespace bytes.
        let text = "PD94 bWwg\r\ndmVy%c2lvbj0iMS4wIj8+\n";
        let (spaces, percent) = scan(text.as_bytes());
        assert_eq!(
            text.len() - spaces,
            text.bytes().filter(|b| !b.is_ascii_whitespace()).count()
        );
        assert!(percent);
    }
}
