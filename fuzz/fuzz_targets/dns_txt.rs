//! Domain verification's DNS client: `decode_txt` on arbitrary resolver answers (the resolver
//! is the operator's, but its answer crosses the network), and `encode_query` on arbitrary
//! names.
//!
//! Invariants: at most 64 TXT strings come back; an encoded query is a well-formed question
//! (header, labels of 1-63 bytes summing to at most 255, TXT/IN) for the name given; and the
//! answer built here for that name decodes to exactly the strings put in it.
#![no_main]

use arbitrary::Arbitrary;
use lanyard_core::domain::dns::{decode_txt, encode_query};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    id: u16,
    name: String,
    answer: Vec<u8>,
    strings: Vec<Vec<u8>>,
}

/// A response to `query` carrying one TXT record with `strings` (each cut to 255 bytes).
fn response(query: &[u8], strings: &[Vec<u8>]) -> Vec<u8> {
    let mut m = query.to_vec();
    if let Some(flags) = m.get_mut(2..4) {
        flags.copy_from_slice(&0x8180u16.to_be_bytes());
    }
    if let Some(an) = m.get_mut(6..8) {
        an.copy_from_slice(&1u16.to_be_bytes());
    }
    let mut rdata = Vec::new();
    for s in strings {
        let s = s.get(..255).unwrap_or(s);
        rdata.push(s.len() as u8);
        rdata.extend_from_slice(s);
    }
    m.extend_from_slice(&[0xc0, 12]); // the question's name
    m.extend_from_slice(&16u16.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&300u32.to_be_bytes());
    m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    m.extend_from_slice(&rdata);
    m
}

fuzz_target!(|input: Input| {
    if let Ok(list) = decode_txt(input.id, &input.name, &input.answer) {
        assert!(list.len() <= 64);
    }
    let Ok(q) = encode_query(input.id, &input.name) else {
        return;
    };
    assert_eq!(q.get(..2), Some(&input.id.to_be_bytes()[..]));
    let name = input.name.strip_suffix('.').unwrap_or(&input.name);
    let mut pos = 12;
    let mut labels = Vec::new();
    while let Some(&len) = q.get(pos) {
        if len == 0 {
            break;
        }
        assert!((1..=63).contains(&len));
        let label = q
            .get(pos + 1..pos + 1 + usize::from(len))
            .expect("label inside");
        labels.push(String::from_utf8(label.to_vec()).expect("ASCII label"));
        pos += 1 + usize::from(len);
    }
    assert!(pos - 12 < 255);
    assert_eq!(labels.join("."), name);
    assert_eq!(q.get(pos + 1..), Some(&[0, 16, 0, 1][..]));
    let strings: Vec<Vec<u8>> = input
        .strings
        .iter()
        .take(8)
        .map(|s| {
            s.iter()
                .copied()
                .filter(u8::is_ascii_graphic)
                .take(255)
                .collect()
        })
        .collect();
    if strings.iter().map(|s| s.len() + 1).sum::<usize>() > 60_000 || strings.is_empty() {
        return;
    }
    let decoded =
        decode_txt(input.id, name, &response(&q, &strings)).expect("a well-formed answer decodes");
    let joined: String = strings
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    assert_eq!(decoded, vec![joined]);
});
