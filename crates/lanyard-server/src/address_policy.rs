//! Which addresses outbound requests (to identity providers) may connect to. Pure: an address in,
//! a verdict out; [`crate::fetch`] applies it to every address a host resolves to, before it
//! connects (and pins the connection to the checked addresses).
//!
//! Three tiers, in this order:
//! 1. **Never**, whatever the settings: link-local (`169.254.0.0/16`, `fe80::/10`, where cloud
//!    instance metadata services answer), the well-known metadata addresses outside link-local
//!    (AWS `fd00:ec2::254`, Alibaba `100.100.100.200`, Azure's host endpoint `168.63.129.16`),
//!    unspecified, broadcast and multicast. IPv6 forms that carry an IPv4 address (IPv4-mapped,
//!    IPv4-compatible, SIIT, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002::/16`,
//!    Teredo `2001::/32`) are judged by the IPv4 address they carry too.
//! 2. **Public** unicast addresses: allowed.
//! 3. Loopback, private, shared (CGNAT), unique-local and other special ranges: allowed only
//!    inside the operator's `outbound_allow_networks` (on-premises IdPs; loopback for labs).

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// The ranges the deprecated `allow_private_metadata_urls = true` stands for: loopback and
/// private ranges (never link-local or metadata addresses, which tier 1 refuses anyway).
pub const LEGACY_PRIVATE_NETWORKS: [&str; 6] = [
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
];

/// Why an address is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressRefusal {
    /// Tier 1: never contacted.
    Never { ip: IpAddr, rule: &'static str },
    /// Tier 3 outside the allow-list.
    NotAllowed { ip: IpAddr, rule: &'static str },
}

impl std::fmt::Display for AddressRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Never { ip, rule } => write!(f, "{rule} {ip} is never fetched"),
            Self::NotAllowed { ip, rule } => {
                write!(f, "{ip} is {rule}; add it to outbound_allow_networks")
            }
        }
    }
}

/// The outbound-request settings of the server.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// Non-public networks requests may reach anyway (tier 3).
    pub allow_networks: Vec<IpNet>,
    /// Time limit of each request (connect and answer).
    pub timeout: Duration,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            allow_networks: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The IPv4 address an IPv6 address carries (and routes to, or tunnels to), if any.
pub fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let o = v6.octets();
    let last32 = || Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        // IPv4-mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(last32()),
        // SIIT IPv4-translated ::ffff:0:a.b.c.d (RFC 2765)
        [0, 0, 0, 0, 0xffff, 0, _, _] => Some(last32()),
        // IPv4-compatible ::a.b.c.d (deprecated, RFC 4291 §2.5.5.1); not :: and ::1
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => Some(last32()),
        // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052)
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last32()),
        // NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215): any suffix form, the last 32 bits
        // under /96 (the most common), so judged by them
        [0x64, 0xff9b, 1, ..] => Some(last32()),
        // 6to4 2002:AABB:CCDD::/48 (RFC 3056)
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))),
        // Teredo 2001:0::/32 (RFC 4380): the client's address, inverted, in the last 32 bits
        [0x2001, 0, ..] => Some(Ipv4Addr::from(!u32::from(last32()))),
        _ => None,
    }
}

/// The Teredo server address (bits 32-63), which a Teredo address also routes through.
fn teredo_server(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    match v6.segments() {
        [0x2001, 0, hi, lo, ..] => Some(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))),
        _ => None,
    }
}

fn never_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [169, 254, 169, 254] => "link-local address (cloud instance metadata)",
        [169, 254, 170, 2] => "link-local address (AWS ECS task metadata)",
        [169, 254, ..] => "link-local address",
        [100, 100, 100, 200] => "cloud metadata address (Alibaba Cloud)",
        [168, 63, 129, 16] => "cloud host address (Azure WireServer)",
        [0, ..] => "unspecified (\"this host\") address",
        [255, 255, 255, 255] => "broadcast address",
        [224..=239, ..] => "multicast address",
        _ => return None,
    })
}

fn never_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match s {
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254] => "cloud metadata address (AWS IPv6)",
        [a, ..] if (a & 0xffc0) == 0xfe80 => "link-local address",
        [a, ..] if (a & 0xff00) == 0xff00 => "multicast address",
        [0, 0, 0, 0, 0, 0, 0, 0] => "unspecified address",
        _ => return None,
    })
}

/// Why a non-public IPv4 address is not public, or None when it is public.
fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [127, ..] => "a loopback address",
        [10, ..] | [192, 168, ..] => "a private address",
        [172, b, ..] if (16..=31).contains(&b) => "a private address",
        [100, b, ..] if (b & 0xc0) == 64 => "a shared (carrier-grade NAT) address",
        [192, 0, 0, _] => "an IETF protocol assignment address",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "a documentation address",
        [198, 18 | 19, ..] => "a benchmarking address",
        [192, 88, 99, _] => "a deprecated 6to4 relay address",
        [240..=255, ..] => "a reserved address",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(match s {
        [0, 0, 0, 0, 0, 0, 0, 1] => "a loopback address",
        [a, ..] if (a & 0xfe00) == 0xfc00 => "a unique local (private) address",
        [a, ..] if (a & 0xffc0) == 0xfec0 => "a site-local (private) address",
        [0x2001, 0x0db8, ..] => "a documentation address",
        [0x0100, 0, 0, 0, ..] => "a discard-only address",
        [0x2001, b, ..] if b < 0x200 => "an IETF protocol assignment address",
        [0, ..] => "a reserved address",
        _ => return None,
    })
}

impl OutboundPolicy {
    /// An allow-list of CIDRs (bare addresses count as /32 or /128).
    pub fn parse_networks(list: &[String]) -> Result<Vec<IpNet>, String> {
        let mut out = Vec::new();
        for p in list {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let net = p
                .parse::<IpNet>()
                .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!("outbound_allow_networks: `{p}` is not an IP address or CIDR")
                })?;
            out.push(net.trunc());
        }
        Ok(out)
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        self.allow_networks.iter().any(|n| n.contains(&ip))
    }

    /// Whether a request may connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), AddressRefusal> {
        match ip {
            IpAddr::V4(v4) => self.check_v4(v4, ip),
            IpAddr::V6(v6) => {
                if let Some(rule) = never_v6(v6) {
                    return Err(AddressRefusal::Never { ip, rule });
                }
                let embedded = [embedded_ipv4(v6), teredo_server(v6)];
                for v4 in embedded.into_iter().flatten() {
                    if let Some(rule) = never_v4(v4) {
                        return Err(AddressRefusal::Never { ip, rule });
                    }
                }
                let routes_to_v4 = v6.to_ipv4_mapped().is_some()
                    || matches!(
                        v6.segments(),
                        [0, 0, 0, 0, 0xffff, 0, _, _] | [0x64, 0xff9b, ..]
                    )
                    || matches!(v6.segments(), [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1);
                if routes_to_v4 && let Some(v4) = embedded_ipv4(v6) {
                    // The packets go to the IPv4 address: judge it alone (an IPv6 entry such
                    // as `::/0` does not open the IPv4 networks behind these forms).
                    return self.check_v4(v4, ip);
                }
                if let Some(rule) = special_v6(v6) {
                    return if self.allowed(ip) {
                        Ok(())
                    } else {
                        Err(AddressRefusal::NotAllowed { ip, rule })
                    };
                }
                // 6to4 and Teredo tunnel to a public relay; whom they reach is the embedded
                // IPv4 address, which must then be public (or allowed) too.
                if let Some(v4) = embedded_ipv4(v6)
                    && special_v4(v4).is_some()
                    && !self.allowed(ip)
                {
                    return Err(AddressRefusal::NotAllowed {
                        ip,
                        rule: "a tunnel (6to4/Teredo) address to a non-public IPv4 address",
                    });
                }
                Ok(())
            }
        }
    }

    fn check_v4(&self, v4: Ipv4Addr, shown: IpAddr) -> Result<(), AddressRefusal> {
        if let Some(rule) = never_v4(v4) {
            return Err(AddressRefusal::Never { ip: shown, rule });
        }
        match special_v4(v4) {
            Some(_) if self.allowed(IpAddr::V4(v4)) => Ok(()),
            Some(rule) => Err(AddressRefusal::NotAllowed { ip: shown, rule }),
            None => Ok(()),
        }
    }

    /// The IP address a URL names literally (after the URL parser's normalisation of decimal,
    /// octal, hex and short IPv4 forms), if it names one.
    pub fn literal_ip(url: &url::Url) -> Option<IpAddr> {
        match url.host()? {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> OutboundPolicy {
        OutboundPolicy {
            allow_networks: OutboundPolicy::parse_networks(
                &allow.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            )
            .unwrap(),
            ..OutboundPolicy::default()
        }
    }

    fn everything() -> OutboundPolicy {
        policy(&["0.0.0.0/0", "::/0"])
    }

    /// Every spelling of the cloud metadata address in a URL (SSRF to 169.254.169.254 through
    /// an encoding the checks did not expect) ends at the same refusal, even with an allow-list
    /// covering everything.
    #[test]
    fn every_encoding_of_the_metadata_address_is_never_fetched() {
        let urls = [
            "http://169.254.169.254/latest/meta-data/",
            "http://2852039166/",
            "http://0251.0376.0251.0376/",
            "http://0xa9.0xfe.0xa9.0xfe/",
            "http://0xa9fea9fe/",
            "http://025177524776/",
            "http://169.254.43518/",
            "http://169.16689662/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[::ffff:0:a9fe:a9fe]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b::169.254.169.254]/",
            "http://[64:ff9b:1::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[::169.254.169.254]/",
            "http://[::a9fe:a9fe]/",
            // Teredo: the client address inverted (169.254.169.254 -> 86.1.86.1)
            "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",
            "http://[fe80::1]/",
            "http://[fe80::a9fe:a9fe]/",
            "http://[febf::1]/",
            "http://[fd00:ec2::254]/",
            "http://100.100.100.200/",
            "http://168.63.129.16/",
            "http://169.254.170.2/v2/credentials",
            "http://0.0.0.0/",
            "http://0/",
            "http://[::]/",
        ];
        for allow in [
            policy(&[]),
            policy(&["169.254.0.0/16", "fe80::/10"]),
            everything(),
        ] {
            for u in urls {
                let url = url::Url::parse(u).unwrap();
                let ip = OutboundPolicy::literal_ip(&url).unwrap_or_else(|| panic!("{u}"));
                let verdict = allow.check(ip);
                assert!(
                    matches!(verdict, Err(AddressRefusal::Never { .. })),
                    "{u} ({ip}) with {:?}: {verdict:?}",
                    allow.allow_networks
                );
            }
        }
    }

    /// An IPv6 zone ID on a link-local address is not a way around the rule: the URL parser
    /// refuses it, and the address without its zone is link-local.
    #[test]
    fn link_local_with_zone_ids_is_refused() {
        for u in ["http://[fe80::1%25eth0]/", "http://[fe80::1%eth0]/"] {
            assert!(url::Url::parse(u).is_err(), "{u} must not parse");
        }
        let sock: std::net::SocketAddrV6 = "[fe80::a9fe:a9fe%2]:80".parse().unwrap();
        assert!(matches!(
            everything().check(IpAddr::V6(*sock.ip())),
            Err(AddressRefusal::Never { .. })
        ));
    }

    #[test]
    fn the_message_names_the_rule() {
        let e = policy(&[])
            .check("169.254.169.254".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "link-local address (cloud instance metadata) 169.254.169.254 is never fetched"
        );
        let e = policy(&[]).check("10.0.0.5".parse().unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "10.0.0.5 is a private address; add it to outbound_allow_networks"
        );
    }

    /// Internal targets (SSRF into the private network) need an explicit allow-list entry, in
    /// every IPv6 form that reaches them too.
    #[test]
    fn internal_addresses_need_the_allow_list() {
        let internal = [
            "127.0.0.1",
            "127.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "fd00::1",
            "fc00::1",
            "fec0::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
            "2002:0a00:0001::1",
            "2001:db8::1",
        ];
        let none = policy(&[]);
        for ip in internal {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(
                matches!(none.check(ip), Err(AddressRefusal::NotAllowed { .. })),
                "{ip}: {:?}",
                none.check(ip)
            );
            assert_eq!(
                everything().check(ip),
                Ok(()),
                "{ip} with 0.0.0.0/0 and ::/0"
            );
        }
        let lab = policy(&["127.0.0.0/8", "::1"]);
        for ip in ["127.0.0.1", "::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1"] {
            assert_eq!(lab.check(ip.parse().unwrap()), Ok(()), "{ip}");
        }
        for ip in ["10.0.0.1", "192.168.0.1", "fd00::1"] {
            assert!(lab.check(ip.parse().unwrap()).is_err(), "{ip}");
        }
        // An IPv6-only allow-list does not open IPv4 networks through mapped/NAT64 forms.
        let v6_only = policy(&["::/0"]);
        for ip in ["::ffff:10.0.0.1", "64:ff9b::a00:1", "::ffff:127.0.0.1"] {
            assert!(
                matches!(
                    v6_only.check(ip.parse().unwrap()),
                    Err(AddressRefusal::NotAllowed { .. })
                ),
                "{ip}"
            );
        }
        let onprem = policy(&["10.20.0.0/16"]);
        assert_eq!(onprem.check("10.20.3.4".parse().unwrap()), Ok(()));
        assert!(onprem.check("10.21.3.4".parse().unwrap()).is_err());
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(policy(&[]).check(ip.parse().unwrap()), Ok(()), "{ip}");
        }
    }

    #[test]
    fn the_allow_list_is_parsed_strictly() {
        assert!(OutboundPolicy::parse_networks(&["10.0.0.0/33".into()]).is_err());
        assert!(OutboundPolicy::parse_networks(&["intranet".into()]).is_err());
        let n = OutboundPolicy::parse_networks(&["10.1.2.3/8".into(), "::1".into(), " ".into()])
            .unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].to_string(), "10.0.0.0/8");
    }

    #[test]
    fn the_legacy_switch_never_covers_link_local() {
        let legacy = policy(&LEGACY_PRIVATE_NETWORKS);
        assert_eq!(legacy.check("127.0.0.1".parse().unwrap()), Ok(()));
        assert_eq!(legacy.check("10.9.9.9".parse().unwrap()), Ok(()));
        assert!(legacy.check("169.254.169.254".parse().unwrap()).is_err());
        assert!(legacy.check("fd00:ec2::254".parse().unwrap()).is_err());
        assert!(legacy.check("100.100.100.200".parse().unwrap()).is_err());
    }
}
