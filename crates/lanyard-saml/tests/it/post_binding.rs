//! The `SAMLResponse` field of the HTTP-POST binding: standard base64 of the XML. A signed
//! response encoded the wrong way (by a misconfigured IdP or a proxy) is refused with a code that
//! names the mistake, never as generic bad base64, and compressed content is never inflated
//! beyond a short prefix.

use std::io::Write;

use base64::Engine as _;
use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use lanyard_saml::xml::Limits;
use lanyard_saml::{Error, decode_post_binding};

use crate::common::*;

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn url_safe(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Percent-encodes every byte outside the unreserved set (a second URL encoding).
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn decode(field: &str) -> Result<Vec<u8>, Error> {
    decode_post_binding(field, &Limits::default())
}

/// A signed response whose base64 contains `+` and `/` (so that alphabet mistakes show).
fn signed_xml() -> String {
    let r = Resp {
        assertion_extra: concat!(
            r#"<saml:AttributeStatement><saml:Attribute Name="note"><saml:AttributeValue>"#,
            "~~~~~~~~~~??????????\u{fb}\u{fb}\u{fb}\u{ff}\u{ff}\u{ff}",
            "</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"
        )
        .into(),
        ..Resp::default()
    };
    let xml = r.signed();
    let b = b64(xml.as_bytes());
    assert!(b.contains('+') && b.contains('/'), "fixture lacks + or /");
    xml
}

#[test]
fn plain_base64_decodes_and_verifies_with_line_breaks() {
    let xml = signed_xml();
    let b = b64(xml.as_bytes());
    assert_eq!(decode(&b).unwrap(), xml.as_bytes());
    let wrapped: String = b
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let bytes = decode(&wrapped).unwrap();
    let v = lanyard_saml::verify_response(&bytes, &sp(), &idp_with(&["idp"]), &opts()).unwrap();
    assert_eq!(v.name_id.value, "alice@acme.example");
    // A UTF-8 byte order mark before the XML is still XML (the parser decides).
    let with_bom = [b"\xef\xbb\xbf".as_slice(), xml.as_bytes()].concat();
    assert_eq!(decode(&b64(&with_bom)).unwrap(), with_bom);
}

#[test]
fn redirect_binding_deflate_posted_to_the_acs_raw_zlib_or_gzip() {
    // The Redirect binding's DEFLATE (RFC 1951), and the zlib (RFC 1950) and gzip (RFC 1952)
    // wrappings some proxies produce instead.
    let xml = signed_xml();
    for (compressed, kind) in [
        (raw_deflate(xml.as_bytes()), "raw DEFLATE"),
        (zlib(xml.as_bytes()), "zlib"),
        (gzip(xml.as_bytes()), "gzip"),
    ] {
        let err = decode(&b64(&compressed)).unwrap_err();
        assert_eq!(err, Error::DeflatedResponse(kind));
        assert_eq!(err.code(), "saml.deflated_response");
        assert!(err.help().contains("HTTP-Redirect"), "{}", err.help());
        assert!(err.help().contains("HTTP-POST"), "{}", err.help());
    }
}

#[test]
fn deflate_bomb_is_recognised_without_inflating_it() {
    // 64 MiB of XML-looking content in a few dozen KiB: identified from a short prefix; nothing
    // near the whole is ever inflated (this would take seconds and the memory otherwise).
    let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
    e.write_all(b"<samlp:Response>").unwrap();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..64 {
        e.write_all(&chunk).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 256 * 1024);
    let started = std::time::Instant::now();
    assert_eq!(
        decode(&b64(&bomb)).unwrap_err(),
        Error::DeflatedResponse("raw DEFLATE")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // Compressed data that is larger than the limit is refused by size before anything else.
    let small = Limits {
        max_bytes: 1024,
        ..Limits::default()
    };
    let big = raw_deflate(&[b"<r>".as_slice(), &vec![b'x'; 100_000]].concat());
    let noise: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    assert_eq!(
        decode_post_binding(&b64(&[big, noise].concat()), &small)
            .unwrap_err()
            .code(),
        "saml.too_large"
    );
}

#[test]
fn deflate_of_something_that_is_not_xml_is_not_called_deflate() {
    // Only content that inflates to XML is reported as compressed; other bytes stay the
    // parser's (malformed XML), whatever their first bytes happen to be.
    for junk in [
        raw_deflate(b"hello, not xml"),
        vec![0x78, 0x9c, 0xff, 0xff, 0xff],
        vec![0x1f, 0x8b, 0x00, 0x00],
        b"\x00\x01\x02\x03".to_vec(),
    ] {
        let out = decode(&b64(&junk)).unwrap();
        assert_eq!(out, junk);
        assert_eq!(
            lanyard_saml::verify_response(&out, &sp(), &idp_with(&["idp"]), &opts())
                .unwrap_err()
                .code(),
            "saml.malformed_xml"
        );
    }
}

#[test]
fn url_safe_base64_is_named() {
    let xml = signed_xml();
    let err = decode(&url_safe(xml.as_bytes())).unwrap_err();
    assert_eq!(err, Error::UrlSafeBase64);
    assert_eq!(err.code(), "saml.url_safe_base64");
    // With padding, and line-wrapped.
    let padded = base64::engine::general_purpose::URL_SAFE.encode(xml.as_bytes());
    assert_eq!(decode(&padded).unwrap_err(), Error::UrlSafeBase64);
    let wrapped: String = padded
        .as_bytes()
        .chunks(64)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    assert_eq!(decode(&wrapped).unwrap_err(), Error::UrlSafeBase64);
}

#[test]
fn double_base64_is_named() {
    let xml = signed_xml();
    let twice = b64(b64(xml.as_bytes()).as_bytes());
    let err = decode(&twice).unwrap_err();
    assert_eq!(err, Error::DoubleBase64);
    assert_eq!(err.code(), "saml.double_base64");
    // Base64 of base64 of DEFLATE: the outer mistake is the one named.
    let twice_deflated = b64(b64(&raw_deflate(xml.as_bytes())).as_bytes());
    assert_eq!(decode(&twice_deflated).unwrap_err(), Error::DoubleBase64);
}

#[test]
fn percent_encoding_left_after_form_decoding_is_named() {
    // The form decoder removed one layer; what remains still has %2B, %2F, %3D (or, for raw
    // XML, %3C).
    let xml = signed_xml();
    let once_more = percent_encode(&b64(xml.as_bytes()));
    assert!(once_more.contains("%2B") && once_more.contains("%2F"));
    let err = decode(&once_more).unwrap_err();
    assert_eq!(err, Error::PercentEncoded);
    assert_eq!(err.code(), "saml.percent_encoded");
    // Lower-case hex digits, and percent-encoded raw XML.
    assert_eq!(
        decode(&once_more.to_lowercase()).unwrap_err(),
        Error::PercentEncoded
    );
    assert_eq!(
        decode(&percent_encode(&xml)).unwrap_err(),
        Error::PercentEncoded
    );
    // A lone % is just not base64.
    assert_eq!(decode("PGEv%Pg==").unwrap_err().code(), "saml.bad_base64");
}

#[test]
fn plus_signs_turned_into_spaces_are_named() {
    // Posted without form encoding: the receiving form decoder turned each + into a space.
    let xml = signed_xml();
    let spaced = b64(xml.as_bytes()).replace('+', " ");
    let err = decode(&spaced).unwrap_err();
    assert_eq!(err, Error::PlusAsSpace);
    assert_eq!(err.code(), "saml.plus_as_space");
    // Also when every + was lost: the spaces are then the only clue.
    let xml = "<r>".to_string() + &"\u{fb}".repeat(30) + "</r>";
    let b = b64(xml.as_bytes());
    assert!(b.contains('+'), "{b}");
    assert_eq!(
        decode(&b.replace('+', " ")).unwrap_err(),
        Error::PlusAsSpace
    );
}

#[test]
fn xml_posted_without_base64_is_named() {
    let xml = signed_xml();
    for field in [
        xml.clone(),
        format!("  \r\n{xml}"),
        format!("\u{feff}{xml}"),
        format!("<?xml version=\"1.0\"?>{xml}"),
    ] {
        let err = decode(&field).unwrap_err();
        assert_eq!(err, Error::UnencodedXml);
        assert_eq!(err.code(), "saml.unencoded_xml");
    }
}

#[test]
fn every_misencoding_has_its_own_code_and_help() {
    let errors = [
        Error::DeflatedResponse("gzip"),
        Error::UrlSafeBase64,
        Error::DoubleBase64,
        Error::PercentEncoded,
        Error::PlusAsSpace,
        Error::UnencodedXml,
        Error::BadBase64("SAMLResponse"),
    ];
    let codes: std::collections::HashSet<_> = errors.iter().map(Error::code).collect();
    assert_eq!(codes.len(), errors.len());
    let helps: std::collections::HashSet<_> = errors.iter().map(Error::help).collect();
    assert_eq!(helps.len(), errors.len());
    for e in &errors {
        assert!(e.code().starts_with("saml."));
        assert!(e.help().ends_with('.'));
    }
}
