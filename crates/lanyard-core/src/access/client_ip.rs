//! Which address a request really came from.
//!
//! The socket peer is the client, unless the peer is a configured trusted proxy; then
//! `X-Forwarded-For` is walked right to left, skipping trusted hops, and the first untrusted
//! address is the client. Entries that are not plain IP addresses (zone IDs, octal or short IPv4,
//! ports, garbage) stop the walk at the last address we could trust, so a client can never pick
//! an address of its choosing (SECURITY.md 4.10). IPv4-mapped IPv6 is normalised to IPv4.

use ipnet::IpNet;
use std::net::IpAddr;

/// `::ffff:10.0.0.1` → `10.0.0.1`, so masks written for IPv4 match.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Parses one forwarded entry strictly: only canonical dotted-quad IPv4 or IPv6 without a zone.
pub fn parse_strict(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    // Rust's parser already refuses octal-looking (`010.0.0.1`), short (`10.1`) and zone-ID
    // (`fe80::1%eth0`) forms; bracketed or ported forms are refused as well.
    entry.parse::<IpAddr>().ok().map(normalize)
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// The client address for a request from `peer` carrying `forwarded_for` header values.
pub fn resolve(peer: IpAddr, forwarded_for: &[&str], proxies: &[IpNet]) -> IpAddr {
    let mut client = normalize(peer);
    if !trusted(client, proxies) {
        return client;
    }
    let hops: Vec<&str> = forwarded_for.iter().flat_map(|v| v.split(',')).collect();
    for hop in hops.iter().rev() {
        match parse_strict(hop) {
            Some(ip) => {
                client = ip;
                if !trusted(ip, proxies) {
                    return ip;
                }
            }
            None => return client,
        }
    }
    client
}

/// Whether `ip` lies in any of `masks` (the network-mask routing rules build on this).
pub fn in_any(ip: IpAddr, masks: &[IpNet]) -> bool {
    let ip = normalize(ip);
    masks.iter().any(|m| m.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn nets(v: &[&str]) -> Vec<IpNet> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    /// SECURITY.md N-XFF: a direct client cannot choose its address with X-Forwarded-For.
    #[test]
    fn untrusted_peer_is_the_client_whatever_it_sends() {
        assert_eq!(
            resolve(ip("203.0.113.5"), &["10.0.0.5"], &nets(&["127.0.0.1/32"])),
            ip("203.0.113.5")
        );
        assert_eq!(
            resolve(ip("203.0.113.5"), &["10.0.0.5"], &[]),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn trusted_proxy_chain_is_walked_right_to_left() {
        let proxies = nets(&["127.0.0.1/32", "10.1.0.0/16"]);
        // client-supplied spoof on the left, real client appended by our proxy on the right
        assert_eq!(
            resolve(ip("127.0.0.1"), &["10.0.0.5, 198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(ip("127.0.0.1"), &["198.51.100.7, 10.1.2.3"], &proxies),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(ip("127.0.0.1"), &["198.51.100.7", "10.1.2.3"], &proxies),
            ip("198.51.100.7")
        );
        assert_eq!(resolve(ip("127.0.0.1"), &[], &proxies), ip("127.0.0.1"));
    }

    /// SECURITY.md N-IPV6: odd spellings land on the right side of a mask or are refused.
    #[test]
    fn strict_parsing_and_normalisation() {
        assert_eq!(parse_strict("::ffff:10.0.0.5"), Some(ip("10.0.0.5")));
        for bad in [
            "010.0.0.5",
            "10.1",
            "fe80::1%eth0",
            "[::1]",
            "10.0.0.5:80",
            "unknown",
            "",
            "0x0a.0.0.1",
        ] {
            assert_eq!(parse_strict(bad), None, "{bad}");
        }
        let proxies = nets(&["127.0.0.1/32"]);
        // garbage stops the walk at the proxy itself: never at an attacker-chosen value
        assert_eq!(
            resolve(ip("127.0.0.1"), &["10.0.0.5, garbage"], &proxies),
            ip("127.0.0.1")
        );
        assert!(in_any(ip("::ffff:10.0.0.5"), &nets(&["10.0.0.0/8"])));
        assert!(in_any(ip("2001:db8::1"), &nets(&["2001:db8::/32"])));
        assert!(!in_any(ip("2001:db9::1"), &nets(&["2001:db8::/32"])));
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &["198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
    }
}
