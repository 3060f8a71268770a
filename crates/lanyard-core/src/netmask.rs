//! Network masks: a tenant's list of CIDR ranges (IPv4 and IPv6) that decide where its sign-in
//! sends people (see [`crate::access::routing`]). Pure: strings in, typed values or a refusal
//! naming the bad entry out.
//!
//! The parser is strict on purpose, because a mask that means something else than its author
//! thought opens or closes the wrong door:
//! - the address is canonical dotted-quad IPv4 or IPv6 without a zone ID (no octal, hex or short
//!   IPv4, no `%eth0`, no brackets);
//! - a prefix length is required (`/24`), decimal without leading zeros, within the family;
//! - **host bits set are refused**, not normalised (`10.1.2.3/8` is more likely a typo than a
//!   wish for `10.0.0.0/8`); the refusal names the network that was probably meant;
//! - IPv4-mapped IPv6 ranges (`::ffff:0:0/96` and inside it) are refused: write IPv4 ranges as
//!   IPv4, so one rule never has two spellings;
//! - an entry listed twice is refused; at most [`MAX_NETWORK_MASKS`] entries.
//!
//! Membership ([`NetworkMasks::contains`]) is exact: an IPv4-mapped IPv6 address never counts
//! as inside an IPv4 mask (the socket peer of a dual-stack listener is normalised to IPv4 before
//! it gets here, in `access::client_ip`; a forwarded header spelling one is refused there).

use crate::error::{Error, Result};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::IpAddr;

/// At most this many masks per tenant.
pub const MAX_NETWORK_MASKS: usize = 500;

/// A validated list of masks, kept in the order the administrator wrote them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkMasks(Vec<IpNet>);

impl NetworkMasks {
    /// Validates `entries` (each as [`parse_mask`]), refusing duplicates and overlong lists.
    pub fn parse(entries: &[String]) -> Result<Self> {
        if entries.len() > MAX_NETWORK_MASKS {
            return Err(Error::NetworkMasksTooMany {
                count: entries.len(),
            });
        }
        let mut out: Vec<IpNet> = Vec::with_capacity(entries.len());
        for e in entries {
            let net = parse_mask(e)?;
            if out.contains(&net) {
                return Err(mask_error(e, "it is listed twice"));
            }
            out.push(net);
        }
        Ok(Self(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[IpNet] {
        &self.0
    }

    /// The canonical strings, as stored and shown.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// Whether `ip` lies inside any mask. An IPv4-mapped IPv6 address is inside nothing.
    pub fn contains(&self, ip: IpAddr) -> bool {
        if let IpAddr::V6(v6) = ip
            && v6.to_ipv4_mapped().is_some()
        {
            return false;
        }
        self.0.iter().any(|m| m.contains(&ip))
    }
}

/// Stored form: a JSON array of canonical strings. A stored list is re-validated on read; a row
/// that no longer parses fails loudly rather than routing by half a list.
impl TryFrom<String> for NetworkMasks {
    type Error = Error;

    fn try_from(json: String) -> Result<Self> {
        let entries: Vec<String> = serde_json::from_str(&json)
            .map_err(|e| Error::Internal(format!("stored network masks are not a list: {e}")))?;
        Self::parse(&entries)
    }
}

fn mask_error(entry: &str, reason: &str) -> Error {
    let mut shown: String = entry.chars().take(64).collect();
    if shown.len() < entry.len() {
        shown.push('…');
    }
    Error::NetworkMaskInvalid {
        entry: shown,
        reason: reason.to_owned(),
    }
}

/// Parses one CIDR range strictly (see the module documentation for the rules).
pub fn parse_mask(entry: &str) -> Result<IpNet> {
    let Some((addr, prefix)) = entry.split_once('/') else {
        return Err(mask_error(
            entry,
            "it needs a prefix length, e.g. `192.0.2.0/24` or `2001:db8::/32`",
        ));
    };
    let addr: IpAddr = addr.parse().map_err(|_| {
        mask_error(
            entry,
            "the address is not a plain IPv4 (four decimal numbers) or IPv6 address",
        )
    })?;
    let prefix_ok = !prefix.is_empty()
        && prefix.len() <= 3
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && (prefix == "0" || !prefix.starts_with('0'));
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|_| prefix_ok)
        .ok_or_else(|| mask_error(entry, "the prefix length is not a decimal number"))?;
    let net = match addr {
        IpAddr::V4(a) => Ipv4Net::new(a, prefix)
            .map(IpNet::V4)
            .map_err(|_| mask_error(entry, "an IPv4 prefix length is at most 32"))?,
        IpAddr::V6(a) => {
            if a.to_ipv4_mapped().is_some() {
                return Err(mask_error(
                    entry,
                    "IPv4-mapped IPv6 ranges are not accepted; write the IPv4 range instead",
                ));
            }
            Ipv6Net::new(a, prefix)
                .map(IpNet::V6)
                .map_err(|_| mask_error(entry, "an IPv6 prefix length is at most 128"))?
        }
    };
    if net.addr() != net.network() {
        return Err(mask_error(
            entry,
            &format!(
                "host bits are set; did you mean `{}/{}`?",
                net.network(),
                net.prefix_len()
            ),
        ));
    }
    if let IpNet::V6(v6) = net
        && v6.prefix_len() <= 96
        && v6.contains(&std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0))
        && v6.prefix_len() > 0
    {
        return Err(mask_error(
            entry,
            "it covers IPv4-mapped IPv6 addresses; write the IPv4 range instead",
        ));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn accepts_canonical_ranges_of_both_families() {
        for (given, canonical) in [
            ("64.233.187.0/24", "64.233.187.0/24"),
            ("2001:db8::/32", "2001:db8::/32"),
            ("2001:DB8:0:0::/64", "2001:db8::/64"),
            ("192.0.2.7/32", "192.0.2.7/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("::/0", "::/0"),
        ] {
            assert_eq!(parse_mask(given).unwrap().to_string(), canonical, "{given}");
        }
    }

    /// SECURITY.md N-IPV6 / octal: every odd spelling is refused with the entry named.
    #[test]
    fn refuses_odd_spellings_naming_the_entry() {
        for bad in [
            "10.0.0.0",
            "010.0.0.0/8",
            "10.0/16",
            "10/8",
            "0x0a.0.0.0/8",
            "10.0.0.0/08",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "10.0.0.0/33",
            "2001:db8::/129",
            "fe80::%eth0/64",
            "[2001:db8::]/32",
            " 10.0.0.0/8",
            "10.0.0.0/8 ",
            "10.0.0.0/8/8",
            "::ffff:10.0.0.0/104",
            "::ffff:0:0/96",
            "::/80",
            "",
            "garbage",
        ] {
            let e = parse_mask(bad).unwrap_err();
            assert_eq!(e.code(), "tenant.network_mask_invalid", "{bad}");
            assert!(e.to_string().contains(&format!("`{bad}`")), "{bad}: {e}");
        }
    }

    #[test]
    fn host_bits_are_refused_with_the_probable_network() {
        let e = parse_mask("10.1.2.3/8").unwrap_err();
        assert!(e.to_string().contains("did you mean `10.0.0.0/8`"), "{e}");
        let e = parse_mask("2001:db8::1/32").unwrap_err();
        assert!(e.to_string().contains("`2001:db8::/32`"), "{e}");
    }

    #[test]
    fn list_limits_and_duplicates() {
        let many: Vec<String> = (0..=MAX_NETWORK_MASKS)
            .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
            .collect();
        assert_eq!(
            NetworkMasks::parse(&many).unwrap_err().code(),
            "tenant.network_masks_too_many"
        );
        assert!(NetworkMasks::parse(&many[..MAX_NETWORK_MASKS]).is_ok());
        let dup = vec!["10.0.0.0/8".to_owned(), "10.0.0.0/8".to_owned()];
        assert!(
            NetworkMasks::parse(&dup)
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
        let long = format!("{}/8", "1".repeat(500));
        let e = NetworkMasks::parse(&[long]).unwrap_err();
        assert!(e.to_string().len() < 300, "the entry is shortened: {e}");
    }

    #[test]
    fn membership_is_exact_per_family() {
        let m = NetworkMasks::parse(&["10.0.0.0/8".into(), "2001:db8::/32".into()]).unwrap();
        assert!(m.contains(ip("10.2.3.4")));
        assert!(!m.contains(ip("11.0.0.1")));
        assert!(m.contains(ip("2001:db8::1")));
        assert!(!m.contains(ip("2001:db9::1")));
        assert!(
            !m.contains(ip("::ffff:10.2.3.4")),
            "IPv4-mapped IPv6 is never inside an IPv4 mask"
        );
        assert!(
            !m.contains(ip("::10.2.3.4")),
            "IPv4-compatible IPv6 is not IPv4"
        );
        assert!(!NetworkMasks::default().contains(ip("10.2.3.4")));
    }

    #[test]
    fn stored_form_round_trips() {
        let m = NetworkMasks::parse(&["10.0.0.0/8".into(), "2001:db8::/32".into()]).unwrap();
        let json = serde_json::to_string(&m.to_strings()).unwrap();
        assert_eq!(NetworkMasks::try_from(json).unwrap(), m);
        assert!(NetworkMasks::try_from("nope".to_owned()).is_err());
    }
}
