//! `application/x-www-form-urlencoded` bodies read field by field, for the sign-in POSTs whose
//! one big field (a SAML response: ≈ 10 KB of base64, its `+`, `/` and `=` percent-encoded)
//! dominates the request. The same rules as the URL standard's parser (and `form_urlencoded`,
//! which serde's `Form` uses): pairs split on `&`, empty pairs skipped, name and value split at
//! the first `=`, `+` is a space, `%XX` a byte, any other `%` kept, bytes that are not UTF-8
//! replaced (U+FFFD). What differs is the speed: the text between escapes is copied in slices,
//! not byte by byte through iterators (≈ 4 % of a SAML sign-in's CPU before).

/// The values of the fields `names` in `body`, in that order (`None` when absent), or `None`
/// when one of them appears twice: a repeated field is refused rather than guessed at, as
/// serde's `Form` refused it.
pub fn fields<const N: usize>(body: &[u8], names: [&str; N]) -> Option<[Option<String>; N]> {
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    for pair in body.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let mut halves = pair.splitn(2, |&b| b == b'=');
        let name = decode(halves.next().unwrap_or_default());
        let value = halves.next().unwrap_or_default();
        let Some(slot) = names
            .iter()
            .position(|n| n.as_bytes() == name.as_slice())
            .and_then(|i| found.get_mut(i))
        else {
            continue;
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(match String::from_utf8(decode(value)) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        });
    }
    Some(found)
}

/// One name or value: `+` → space, `%XX` → the byte, anything else as it is.
fn decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(p) = rest.iter().position(|&b| b == b'%' || b == b'+') {
        let (before, from) = rest.split_at(p);
        out.extend_from_slice(before);
        rest = match from {
            [b'+', tail @ ..] => {
                out.push(b' ');
                tail
            }
            [_, tail @ ..] => {
                if let [hi, lo, after @ ..] = tail
                    && let (Some(hi), Some(lo)) = (hex(*hi), hex(*lo))
                {
                    out.push(hi << 4 | lo);
                    after
                } else {
                    out.push(b'%');
                    tail
                }
            }
            [] => break,
        };
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `form_urlencoded` (the URL standard's parser) makes of `body`, the last value of
    /// each name winning — the reference this module must agree with.
    fn reference(body: &[u8], name: &str) -> Option<String> {
        url::form_urlencoded::parse(body)
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .last()
    }

    #[test]
    fn agrees_with_the_url_standards_parser() {
        let cases: &[&[u8]] = &[
            b"SAMLResponse=PHNhbWw%2BPC9zYW1sPg%3D%3D&RelayState=%2Ft%2Fa%2Fapp",
            b"SAMLResponse=a+b%20c&RelayState=",
            b"RelayState&SAMLResponse=x",
            b"&&SAMLResponse=x&&",
            b"SAMLResponse=%zz%4%%41%",
            b"SAMLResponse=%E6%97%A5%E6%9C%AC&RelayState=%FF%FE",
            b"SAML%52esponse=renamed&Relay+State=spaced",
            b"SAMLResponse==leading=equals",
            b"",
            b"=",
            b"%",
            "SAMLResponse=日本語&RelayState=é".as_bytes(),
        ];
        for body in cases {
            let got = fields(body, ["SAMLResponse", "RelayState"]).unwrap();
            assert_eq!(
                got[0],
                reference(body, "SAMLResponse"),
                "{:?}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(got[1], reference(body, "RelayState"), "{body:?}");
        }
        // Every two-byte and three-byte combination of the characters that matter.
        let alphabet = b"%+=&aF9z\xff";
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let body = [b'k', b'=', *a, *b, *c];
                    let got = fields(&body, ["k"]);
                    if let Some([got]) = got {
                        assert_eq!(got, reference(&body, "k"), "{body:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_repeated_field_is_refused_and_other_fields_are_ignored() {
        assert!(fields(b"SAMLResponse=a&SAMLResponse=b", ["SAMLResponse"]).is_none());
        // Encoded differently, still the same name.
        assert!(fields(b"SAMLResponse=a&SAML%52esponse=b", ["SAMLResponse"]).is_none());
        assert_eq!(
            fields(b"other=1&other=2&SAMLResponse=a", ["SAMLResponse"]),
            Some([Some("a".to_owned())])
        );
    }
}
