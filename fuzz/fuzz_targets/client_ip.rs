//! The client address behind trusted proxies: `resolve_addr` on arbitrary `X-Forwarded-For`
//! and RFC 7239 `Forwarded` values, and `parse_strict` on each entry.
//!
//! Invariants: a direct (untrusted) peer is the client whatever it sends; a strictly parsed
//! entry is canonical (its display parses back the same) and never IPv4-mapped IPv6; a
//! resolved client is the peer or an address written in the header; and an address the
//! client could have forged (to the left of an untrusted hop) is never the answer.
#![no_main]

use arbitrary::Arbitrary;
use ipnet::IpNet;
use lanyard_core::access::client_ip::{ForwardedHeader, parse_strict, resolve_addr};
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;

#[derive(Arbitrary, Debug)]
struct Input {
    peer: ([u8; 4], bool),
    forwarded: bool,
    values: Vec<String>,
}

fuzz_target!(|input: Input| {
    let proxies: Vec<IpNet> = ["127.0.0.0/8", "10.1.0.0/16", "2001:db8:1::/48"]
        .iter()
        .map(|s| s.parse().expect("net"))
        .collect();
    let (octets, trusted_peer) = input.peer;
    let peer = if trusted_peer {
        IpAddr::from([127, octets[1], octets[2], octets[3]])
    } else {
        IpAddr::from(octets)
    };
    let header = if input.forwarded {
        ForwardedHeader::Forwarded
    } else {
        ForwardedHeader::XForwardedFor
    };
    let values: Vec<&str> = input.values.iter().map(String::as_str).collect();
    for v in &values {
        for entry in v.split(',') {
            if let Some(ip) = parse_strict(entry) {
                let shown = ip.to_string();
                assert_eq!(parse_strict(&shown), Some(ip));
                if let IpAddr::V6(a) = ip {
                    assert!(a.to_ipv4_mapped().is_none());
                }
            }
        }
    }
    let got = resolve_addr(peer, header, &values, &proxies);
    let is_trusted = |ip: IpAddr| proxies.iter().any(|n| n.contains(&ip));
    if !is_trusted(peer) {
        assert_eq!(got.ip, peer, "a direct client chose its address");
        assert!(got.certain);
        return;
    }
    if let (true, IpAddr::V4(v4)) = (got.ip != peer, got.ip) {
        let shown = v4.to_string();
        assert!(
            values.iter().any(|v| v.contains(&shown)),
            "{got:?} was not in the header"
        );
    }
    // XFF: walking right to left, the first untrusted entry is the client; nothing left of it
    // (which the client wrote) can be the answer.
    if !input.forwarded {
        let hops: Vec<Option<IpAddr>> = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(parse_strict)
            .collect();
        let mut want = (peer, true);
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if is_trusted(*ip) => want.0 = *ip,
                Some(ip) => {
                    want = (*ip, true);
                    break;
                }
                None => {
                    want.1 = false;
                    break;
                }
            }
        }
        assert_eq!((got.ip, got.certain), want);
    }
});
