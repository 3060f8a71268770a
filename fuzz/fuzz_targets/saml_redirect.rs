//! The HTTP-Redirect binding (`SAMLRequest` / `SAMLResponse` query parameters): base64, raw
//! DEFLATE with an output limit (`inflate_redirect_message`), then the XML parser, on arbitrary
//! text; and on DEFLATE streams the fuzzer's bytes are compressed into (so inflation succeeds
//! and the limits and the parser behind it are reached).
//!
//! Invariants: output never exceeds the limit (no DEFLATE bomb gets through); what is inflated
//! from a stream made here is exactly the bytes compressed; the XML behind it parses within
//! the parser's limits or is refused with a typed error.
#![no_main]

use base64::Engine as _;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use lanyard_saml::authn_request::inflate_redirect_message;
use lanyard_saml::xml::{Limits, parse};
use libfuzzer_sys::fuzz_target;
use std::io::Write as _;

// The bytes are both the parameter as sent (when UTF-8) and the payload compressed here (the
// seeds are the XML fixtures); the first byte picks the output limit and line wrapping.
fuzz_target!(|data: &[u8]| {
    let Some((first, payload)) = data.split_first() else {
        return;
    };
    let max = if first & 0x80 != 0 {
        64 * 1024
    } else {
        usize::from(*first) * 97 + 1
    };
    let wrap = first & 0x40 != 0;
    if let Ok(out) = inflate_redirect_message(&String::from_utf8_lossy(payload), max) {
        assert!(out.len() <= max);
        let _ = parse(&out, &Limits::default());
    }
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(payload).expect("in memory");
    let deflated = enc.finish().expect("in memory");
    let mut b64 = base64::engine::general_purpose::STANDARD.encode(&deflated);
    if wrap {
        // IdPs and proxies wrap long base64 lines; whitespace is ignored.
        b64 = b64
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n");
    }
    match inflate_redirect_message(&b64, max) {
        Ok(out) => assert_eq!(out, payload),
        Err(e) => {
            assert!(payload.len() > max || b64.len() > max * 2, "{e:?}");
            assert_eq!(e.code(), "saml.too_large");
        }
    }
});
