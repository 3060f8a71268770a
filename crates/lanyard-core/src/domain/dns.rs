//! A minimal DNS client for the one question domain verification asks: the TXT records of a
//! name, from the configured resolver (UDP; TCP when the answer is truncated).
//!
//! Why not a resolver library: this is one record type from one configured server, and the
//! encoding and decoding below are a few pure, bounds-checked functions with their own tests,
//! where a full resolver would add a large dependency tree to every build on these machines.
//! The answer is trusted no more than the resolver is (no DNSSEC): the operator chooses it.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TYPE_TXT: u16 = 16;
const TYPE_CNAME: u16 = 5;
const CLASS_IN: u16 = 1;
/// At most this many TXT strings are kept (a domain has a handful).
const MAX_RECORDS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("`{0}` is not a name that can be looked up")]
    BadName(String),
    #[error("the resolver did not answer in time")]
    Timeout,
    #[error("cannot reach the resolver: {0}")]
    Io(String),
    #[error("the resolver's answer is malformed ({0})")]
    Malformed(&'static str),
    #[error("the resolver answered with error code {0}")]
    Rcode(u16),
    /// The UDP answer was cut short; ask again over TCP.
    #[error("the answer was truncated")]
    Truncated,
}

/// The query message for `name`'s TXT records, with message ID `id` (recursion desired).
pub fn encode_query(id: u16, name: &str) -> Result<Vec<u8>, DnsError> {
    let mut m = Vec::with_capacity(12 + name.len() + 6);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    m.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    m.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return Err(DnsError::BadName(name.to_owned()));
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(DnsError::BadName(name.to_owned()));
        }
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&TYPE_TXT.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(m)
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, DnsError> {
        let b = *self.msg.get(self.pos).ok_or(DnsError::Malformed("short"))?;
        self.pos += 1;
        Ok(b)
    }
    fn u16(&mut self) -> Result<u16, DnsError> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DnsError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DnsError::Malformed("length"))?;
        let b = self
            .msg
            .get(self.pos..end)
            .ok_or(DnsError::Malformed("short"))?;
        self.pos = end;
        Ok(b)
    }
    /// A (possibly compressed) name, lowercased, without the trailing dot.
    fn name(&mut self) -> Result<String, DnsError> {
        let mut out = String::new();
        let mut pos = self.pos;
        let mut jumped = false;
        let mut jumps = 0;
        loop {
            let len = *self.msg.get(pos).ok_or(DnsError::Malformed("name"))?;
            match len & 0xC0 {
                0x00 => {
                    pos += 1;
                    if len == 0 {
                        break;
                    }
                    let label = self
                        .msg
                        .get(pos..pos + usize::from(len))
                        .ok_or(DnsError::Malformed("label"))?;
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
                    if out.len() > 255 {
                        return Err(DnsError::Malformed("name too long"));
                    }
                    pos += usize::from(len);
                }
                0xC0 => {
                    let low = *self
                        .msg
                        .get(pos + 1)
                        .ok_or(DnsError::Malformed("pointer"))?;
                    if !jumped {
                        self.pos = pos + 2;
                    }
                    jumped = true;
                    jumps += 1;
                    if jumps > 32 {
                        return Err(DnsError::Malformed("pointer loop"));
                    }
                    pos = (usize::from(len & 0x3F) << 8) | usize::from(low);
                }
                _ => return Err(DnsError::Malformed("label type")),
            }
        }
        if !jumped {
            self.pos = pos;
        }
        Ok(out)
    }
}

/// The TXT strings for `name` in a response to query `id` (each record's character-strings
/// joined). Follows CNAMEs inside the answer; NXDOMAIN is no records.
pub fn decode_txt(id: u16, name: &str, msg: &[u8]) -> Result<Vec<String>, DnsError> {
    let mut r = Reader { msg, pos: 0 };
    if r.u16()? != id {
        return Err(DnsError::Malformed("message ID"));
    }
    let flags = r.u16()?;
    if flags & 0x8000 == 0 {
        return Err(DnsError::Malformed("not a response"));
    }
    if flags & 0x0200 != 0 {
        return Err(DnsError::Truncated);
    }
    let rcode = flags & 0x000F;
    let qd = r.u16()?;
    let an = r.u16()?;
    r.u16()?;
    r.u16()?;
    if rcode == 3 {
        return Ok(Vec::new());
    }
    if rcode != 0 {
        return Err(DnsError::Rcode(rcode));
    }
    let want = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if qd != 1 {
        return Err(DnsError::Malformed("question count"));
    }
    let qname = r.name()?;
    let (qtype, qclass) = (r.u16()?, r.u16()?);
    if qname != want || qtype != TYPE_TXT || qclass != CLASS_IN {
        return Err(DnsError::Malformed("question does not match"));
    }
    let mut owners = vec![want];
    let mut out = Vec::new();
    for _ in 0..an {
        let owner = r.name()?;
        let (rtype, class) = (r.u16()?, r.u16()?);
        r.u16()?;
        r.u16()?; // TTL
        let len = usize::from(r.u16()?);
        let start = r.pos;
        let rdata = r.bytes(len)?;
        if class != CLASS_IN || !owners.contains(&owner) {
            continue;
        }
        match rtype {
            TYPE_CNAME => {
                let mut inner = Reader { msg, pos: start };
                let target = inner.name()?;
                if owners.len() < 8 && !owners.contains(&target) {
                    owners.push(target);
                }
            }
            TYPE_TXT => {
                let mut t = Reader { msg: rdata, pos: 0 };
                let mut value = Vec::new();
                while t.pos < rdata.len() {
                    let n = usize::from(t.u8()?);
                    value.extend_from_slice(t.bytes(n)?);
                }
                if out.len() < MAX_RECORDS {
                    out.push(String::from_utf8_lossy(&value).into_owned());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Asks `resolver` for the TXT records of `name` (UDP, then TCP if truncated).
pub async fn txt_lookup(
    resolver: SocketAddr,
    name: &str,
    timeout: Duration,
) -> Result<Vec<String>, DnsError> {
    let id = u16::from_be_bytes(crate::secret::random_bytes::<2>());
    let query = encode_query(id, name)?;
    let io = |e: std::io::Error| DnsError::Io(e.to_string());
    let udp = async {
        let bind: SocketAddr = if resolver.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = tokio::net::UdpSocket::bind(bind).await.map_err(io)?;
        sock.connect(resolver).await.map_err(io)?;
        sock.send(&query).await.map_err(io)?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = sock.recv(&mut buf).await.map_err(io)?;
            // A datagram for another query (or a forgery with the wrong ID) is not the answer.
            match decode_txt(id, name, buf.get(..n).unwrap_or_default()) {
                Err(DnsError::Malformed("message ID")) => continue,
                other => return other,
            }
        }
    };
    match tokio::time::timeout(timeout, udp).await {
        Err(_) => Err(DnsError::Timeout),
        Ok(Err(DnsError::Truncated)) => {
            let tcp = async {
                let mut s = tokio::net::TcpStream::connect(resolver).await.map_err(io)?;
                let len = u16::try_from(query.len()).map_err(|_| DnsError::Malformed("query"))?;
                let mut framed = len.to_be_bytes().to_vec();
                framed.extend_from_slice(&query);
                s.write_all(&framed).await.map_err(io)?;
                let n = usize::from(s.read_u16().await.map_err(io)?);
                let mut buf = vec![0u8; n];
                s.read_exact(&mut buf).await.map_err(io)?;
                decode_txt(id, name, &buf)
            };
            tokio::time::timeout(timeout, tcp)
                .await
                .map_err(|_| DnsError::Timeout)?
        }
        Ok(other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response to `query` carrying `answers` (owner name as a pointer to the question).
    fn response(query: &[u8], flags: u16, answers: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut m = query.to_vec();
        m[2..4].copy_from_slice(&flags.to_be_bytes());
        m[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
        for (rtype, rdata) in answers {
            m.extend_from_slice(&[0xC0, 12]);
            m.extend_from_slice(&rtype.to_be_bytes());
            m.extend_from_slice(&CLASS_IN.to_be_bytes());
            m.extend_from_slice(&300u32.to_be_bytes());
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(rdata);
        }
        m
    }

    fn txt(parts: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        for p in parts {
            v.push(p.len() as u8);
            v.extend_from_slice(p.as_bytes());
        }
        v
    }

    #[test]
    fn encodes_and_decodes_txt_answers() {
        let name = "_lanyard-challenge.Example.com.";
        let q = encode_query(7, name).unwrap();
        assert_eq!(&q[..2], &[0, 7]);
        let r = response(
            &q,
            0x8180,
            &[(TYPE_TXT, txt(&["tok", "en"])), (TYPE_TXT, txt(&["other"]))],
        );
        assert_eq!(decode_txt(7, name, &r).unwrap(), ["token", "other"]);
        // Wrong ID, not a response, truncated, server failure, NXDOMAIN.
        assert!(decode_txt(8, name, &r).is_err());
        let r = response(&q, 0x0100, &[]);
        assert_eq!(
            decode_txt(7, name, &r),
            Err(DnsError::Malformed("not a response"))
        );
        let r = response(&q, 0x8380, &[]);
        assert_eq!(decode_txt(7, name, &r), Err(DnsError::Truncated));
        let r = response(&q, 0x8182, &[]);
        assert_eq!(decode_txt(7, name, &r), Err(DnsError::Rcode(2)));
        let r = response(&q, 0x8183, &[]);
        assert_eq!(decode_txt(7, name, &r).unwrap(), Vec::<String>::new());
        // An answer to another question is refused.
        let other = encode_query(7, "example.org").unwrap();
        let r = response(&other, 0x8180, &[(TYPE_TXT, txt(&["token"]))]);
        assert!(decode_txt(7, name, &r).is_err());
    }

    #[test]
    fn hostile_messages_never_panic_or_loop() {
        let q = encode_query(1, "a.example").unwrap();
        let good = response(&q, 0x8180, &[(TYPE_TXT, txt(&["x"]))]);
        for cut in 0..good.len() {
            let _ = decode_txt(1, "a.example", &good[..cut]);
        }
        // A name that points at itself.
        let mut looped = q.clone();
        looped[2..4].copy_from_slice(&0x8180u16.to_be_bytes());
        looped[6..8].copy_from_slice(&1u16.to_be_bytes());
        let at = looped.len();
        looped.extend_from_slice(&[0xC0, at as u8]);
        assert!(decode_txt(1, "a.example", &looped).is_err());
        for bad in ["", "a..b", "a b.example", &"a".repeat(64)] {
            assert!(encode_query(1, bad).is_err(), "{bad}");
        }
    }
}
