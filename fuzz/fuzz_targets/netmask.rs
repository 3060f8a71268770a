//! Network masks an administrator enters (`parse_mask`, `NetworkMasks::parse`) on arbitrary
//! text, and membership of arbitrary addresses.
//!
//! Invariants: a parsed mask is canonical (its display parses back to the same value and is
//! what a second parse displays), has no host bits, and `contains` agrees with a reference
//! computation on the address bits (and never holds an IPv4-mapped IPv6 address).
#![no_main]

use arbitrary::Arbitrary;
use ipnet::IpNet;
use lanyard_core::netmask::{NetworkMasks, parse_mask};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Arbitrary, Debug)]
struct Input {
    entries: Vec<String>,
    /// Masks written from numbers (so that valid ones are frequent).
    built: Vec<(bool, u128, u8)>,
    probes: Vec<(bool, u128)>,
}

fn bits(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

/// Reference membership: same family and the first `prefix` bits equal.
fn reference_contains(net: &IpNet, ip: IpAddr) -> bool {
    let (v6, addr) = bits(ip);
    let (nv6, naddr) = bits(net.addr());
    if v6 != nv6 {
        return false;
    }
    let width = if v6 { 128 } else { 32 };
    let p = u32::from(net.prefix_len());
    if p == 0 {
        return true;
    }
    let shift = width - p;
    (addr >> shift) == (naddr >> shift)
}

fn ip_of(v6: bool, n: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(n))
    } else {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    }
}

fuzz_target!(|input: Input| {
    let mut texts: Vec<String> = input.entries.clone();
    for (v6, n, p) in &input.built {
        texts.push(format!("{}/{}", ip_of(*v6, *n), p % 130));
    }
    let mut good = Vec::new();
    for t in &texts {
        let Ok(net) = parse_mask(t) else { continue };
        let shown = net.to_string();
        let again = parse_mask(&shown).expect("a parsed mask's display parses");
        assert_eq!(again, net, "{t} → {shown}");
        assert_eq!(again.to_string(), shown);
        assert_eq!(net.addr(), net.network(), "host bits set in {t}");
        if let IpAddr::V6(v6) = net.addr() {
            assert!(v6.to_ipv4_mapped().is_none() || net.prefix_len() == 0);
        }
        good.push(net);
    }
    let list = NetworkMasks::parse(&texts);
    if let Ok(list) = &list {
        assert_eq!(list.as_slice(), good.as_slice());
        let round = NetworkMasks::parse(&list.to_strings()).expect("stored form re-parses");
        assert_eq!(&round, list);
    }
    let masks = NetworkMasks::parse(
        &good
            .iter()
            .map(ToString::to_string)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .take(lanyard_core::netmask::MAX_NETWORK_MASKS)
            .collect::<Vec<_>>(),
    )
    .expect("distinct canonical masks form a list");
    for (v6, n) in &input.probes {
        let ip = ip_of(*v6, *n);
        let mapped = matches!(ip, IpAddr::V6(a) if a.to_ipv4_mapped().is_some());
        let want = !mapped && masks.as_slice().iter().any(|m| reference_contains(m, ip));
        assert_eq!(masks.contains(ip), want, "{ip} in {:?}", masks.as_slice());
    }
});
