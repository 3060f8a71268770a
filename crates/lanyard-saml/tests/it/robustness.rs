//! Never panic on input: thousands of deterministic mutations of a signed response (byte flips,
//! truncations, deletions, duplications, insertions of markup) must each end in a typed result,
//! and no mutation may yield another identity than the one that was signed.

use lanyard_saml::xml::Limits;
use lanyard_saml::{Options, verify_response};

use crate::common::*;

/// xorshift64*: deterministic, so a failure is reproducible from its iteration number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SNIPPETS: &[&[u8]] = &[
    b"<!---->",
    b"<![CDATA[x]]>",
    b"&amp;",
    b"&#0;",
    b"<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_x\" Version=\"2.0\">",
    b"</saml:Assertion>",
    b"<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>",
    b"\"",
    b"<",
    b">",
    b"xmlns=\"urn:x\" ",
    b"\xff\xfe",
    b"<?pi x?>",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(3) {
        let len = v.len();
        let at = rng.below(len);
        match rng.below(5) {
            0 => {
                if let Some(b) = v.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => v.truncate(at),
            2 => {
                let end = (at + rng.below(64)).min(len);
                v.drain(at..end);
            }
            3 => {
                let end = (at + rng.below(256)).min(len);
                let chunk = v[at..end].to_vec();
                let to = rng.below(v.len());
                v.splice(to..to, chunk);
            }
            _ => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
                v.splice(at..at, s.iter().copied());
            }
        }
    }
    v
}

#[test]
fn mutated_responses_never_panic_nor_change_identity() {
    let signed = Resp::default().signed();
    let (sp, idp) = (sp(), idp_with(&["idp"]));
    let mut o: Options<'_> = opts();
    o.limits = Limits::default();
    let mut rng = Rng(0x5eed_1a4e_a4d0_0001);
    let mut accepted = 0;
    for i in 0..3000 {
        let m = mutate(&mut rng, signed.as_bytes());
        match verify_response(&m, &sp, &idp, &o) {
            Ok(v) => {
                accepted += 1;
                assert_eq!(v.name_id.value, "alice@acme.example", "iteration {i}");
                assert_eq!(v.assertion_id, "_assert_1", "iteration {i}");
            }
            Err(e) => assert!(e.code().starts_with("saml."), "iteration {i}"),
        }
    }
    // Only mutations outside both digests (e.g. inside a KeyInfo certificate) can still pass.
    assert!(accepted < 300, "{accepted} mutated responses accepted");
}

#[test]
fn committed_fuzz_seeds_still_verify() {
    // fuzz/seeds/ holds responses minted by `examples/fuzz_seeds.rs`; the fuzzer starts from
    // them, so they must keep verifying (the fuzz target uses the same SP, IdP and instant).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    for (name, require_signed) in [
        ("signed_both.xml", true),
        ("signed_assertion.xml", true),
        ("signed_comment.xml", true),
        ("signed_advice.xml", true),
        ("signed_response.xml", false),
    ] {
        let xml = std::fs::read_to_string(dir.join(name)).unwrap();
        let mut o = opts();
        o.require_signed_assertions = require_signed;
        check_with(&xml, &o).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let unsigned = std::fs::read_to_string(dir.join("unsigned.xml")).unwrap();
    assert_eq!(code(check(&unsigned)), "saml.unsigned_assertion");
}
