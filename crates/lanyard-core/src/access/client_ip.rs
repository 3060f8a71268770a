//! Which address a request really came from.
//!
//! The socket peer is the client, unless the peer is a configured trusted proxy; then the
//! forwarding header the proxies write (`X-Forwarded-For`, or RFC 7239 `Forwarded` when so
//! configured: never both, since a client could send the one our proxy does not touch) is walked
//! right to left, skipping trusted hops, and the first untrusted address is the client. Entries
//! that are not plain IP addresses (zone IDs, octal or short IPv4, IPv4-mapped IPv6, garbage,
//! `unknown`, obfuscated `Forwarded` identifiers) stop the walk at the last address we could
//! trust, and mark the result uncertain: an uncertain address is logged but never counts as
//! inside a network mask (SECURITY.md 4.10). The socket peer itself is normalised from
//! IPv4-mapped IPv6 to IPv4 (that is how a dual-stack listener reports IPv4 clients).

use ipnet::IpNet;
use std::net::IpAddr;

/// `::ffff:10.0.0.1` → `10.0.0.1`, for the socket peer of a dual-stack listener.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Which forwarding header the trusted proxies write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …`
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`
    Forwarded,
}

impl ForwardedHeader {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "x-forwarded-for" => Some(Self::XForwardedFor),
            "forwarded" => Some(Self::Forwarded),
            _ => None,
        }
    }

    pub fn header_name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// The resolved client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// `false` when the forwarding chain held an entry we could not read: `ip` is then the last
    /// trusted hop, good for the audit log, never for a network-mask decision.
    pub certain: bool,
}

/// Parses one forwarded entry strictly: only canonical dotted-quad IPv4 or IPv6 without a zone,
/// and not IPv4-mapped IPv6 (an odd spelling in a header is refused, never normalised).
pub fn parse_strict(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    // Rust's parser already refuses octal-looking (`010.0.0.1`), short (`10.1`) and zone-ID
    // (`fe80::1%eth0`) forms; bracketed or ported forms are refused as well.
    match entry.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => None,
        ip => Some(ip),
    }
}

/// One RFC 7239 node (`for=` value): `192.0.2.1`, `192.0.2.1:8080`, `"[2001:db8::1]"`,
/// `"[2001:db8::1]:4711"`. `unknown` and obfuscated identifiers (`_hidden`) are `None`.
fn parse_forwarded_node(value: &str) -> Option<IpAddr> {
    let v = value.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    if let Some(rest) = v.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !port_ok || !addr.contains(':') {
            return None;
        }
        return parse_strict(addr);
    }
    let addr = match v.split_once(':') {
        Some((a, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => a,
        Some(_) => return None,
        None => v,
    };
    match parse_strict(addr)? {
        ip @ IpAddr::V4(_) => Some(ip),
        IpAddr::V6(_) => None,
    }
}

/// The hops of `Forwarded` header values, left to right (`None` for an unreadable element).
fn forwarded_hops(values: &[&str]) -> Vec<Option<IpAddr>> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|element| {
            let mut found = None;
            for pair in element.split(';') {
                if let Some((k, val)) = pair.split_once('=')
                    && k.trim().eq_ignore_ascii_case("for")
                {
                    if found.is_some() {
                        return None;
                    }
                    found = Some(parse_forwarded_node(val));
                }
            }
            found.flatten()
        })
        .collect()
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// The client address for a request from `peer` carrying the forwarding header `values`.
pub fn resolve_addr(
    peer: IpAddr,
    header: ForwardedHeader,
    values: &[&str],
    proxies: &[IpNet],
) -> ClientAddr {
    let mut client = normalize(peer);
    if !trusted(client, proxies) {
        return ClientAddr {
            ip: client,
            certain: true,
        };
    }
    let hops: Vec<Option<IpAddr>> = match header {
        ForwardedHeader::XForwardedFor => values
            .iter()
            .flat_map(|v| v.split(','))
            .map(parse_strict)
            .collect(),
        ForwardedHeader::Forwarded => forwarded_hops(values),
    };
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) => {
                client = *ip;
                if !trusted(*ip, proxies) {
                    return ClientAddr {
                        ip: *ip,
                        certain: true,
                    };
                }
            }
            None => {
                return ClientAddr {
                    ip: client,
                    certain: false,
                };
            }
        }
    }
    ClientAddr {
        ip: client,
        certain: true,
    }
}

/// The client address for a request from `peer` carrying `X-Forwarded-For` values.
pub fn resolve(peer: IpAddr, forwarded_for: &[&str], proxies: &[IpNet]) -> IpAddr {
    resolve_addr(peer, ForwardedHeader::XForwardedFor, forwarded_for, proxies).ip
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
        for bad in [
            "::ffff:10.0.0.5",
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
        let odd = resolve_addr(
            ip("127.0.0.1"),
            ForwardedHeader::XForwardedFor,
            &["::ffff:10.0.0.5"],
            &proxies,
        );
        assert_eq!(
            odd,
            ClientAddr {
                ip: ip("127.0.0.1"),
                certain: false
            },
            "a mapped address in a header is refused, never normalised"
        );
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &["198.51.100.7"], &proxies),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn forwarded_header_is_read_only_when_configured() {
        let proxies = nets(&["127.0.0.1/32"]);
        let fwd = |values: &[&str]| {
            resolve_addr(
                ip("127.0.0.1"),
                ForwardedHeader::Forwarded,
                values,
                &proxies,
            )
        };
        let sure = |s: &str| ClientAddr {
            ip: ip(s),
            certain: true,
        };
        assert_eq!(
            fwd(&["for=192.0.2.60;proto=http;by=203.0.113.43"]),
            sure("192.0.2.60")
        );
        assert_eq!(
            fwd(&["for=\"[2001:db8:cafe::17]:4711\""]),
            sure("2001:db8:cafe::17")
        );
        assert_eq!(
            fwd(&["for=10.9.9.9, For=192.0.2.1:8080"]),
            sure("192.0.2.1")
        );
        assert_eq!(
            fwd(&["for=198.51.100.1", "for=127.0.0.1"]),
            sure("198.51.100.1")
        );
        for odd in [
            "for=unknown",
            "for=_hidden",
            "for=\"[::ffff:10.0.0.1]\"",
            "for=2001:db8::1",
            "for=\"[fe80::1%eth0]\"",
            "proto=https",
            "for=10.0.0.1;for=10.0.0.2",
            "for=010.0.0.1",
        ] {
            assert!(!fwd(&[odd]).certain, "{odd}");
        }
        // A trusted proxy that writes Forwarded: an X-Forwarded-For the client sent is ignored.
        assert_eq!(
            resolve_addr(ip("127.0.0.1"), ForwardedHeader::Forwarded, &[], &proxies),
            sure("127.0.0.1")
        );
        // A direct client's header is never read.
        assert_eq!(
            resolve_addr(
                ip("203.0.113.9"),
                ForwardedHeader::Forwarded,
                &["for=10.0.0.1"],
                &proxies
            ),
            sure("203.0.113.9")
        );
    }
}
