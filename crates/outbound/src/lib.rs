//! Which URLs the server may call: `api` evidence sources, webhooks and probe targets.
//!
//! A URL is parsed the way browsers and `reqwest` parse it (the WHATWG URL standard, through
//! the `url` crate), so that every spelling of an address — `127.1`, `2130706433`, `0177.0.0.1`,
//! `0x7f.0.0.1`, `[::ffff:127.0.0.1]` — is judged as the address it names. Its host is resolved,
//! and every address it resolves to must be public: loopback, private, link-local, unique-local,
//! carrier-grade NAT, multicast, unspecified, broadcast, documentation, benchmarking and other
//! reserved ranges are refused unless the operator's allow list ([`OutboundPolicy::parse`],
//! `AUDITOR_OUTBOUND_ALLOW`) admits them.
//!
//! The check runs at registration and again right before each call; the HTTP client is then
//! built with the checked addresses pinned ([`OutboundPolicy::client`]), no proxy and no
//! redirects, so a name cannot resolve to one address when checked and another when connected
//! (DNS rebinding).
//!
//! What callers are told is one sentence ([`GENERIC_FAILURE`], [`Refusal::public_detail`]) that
//! does not say whether a host was refused, unreachable or answered badly; the details go to the
//! server log at debug level.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;
use url::{Host, Url};

/// What a caller is told when a destination is not allowed (at registration).
pub const REFUSED_DESTINATION: &str = "the URL's host is not an allowed outbound destination: it must resolve, and only to public addresses (loopback, private, link-local and other internal or reserved ranges are refused unless AUDITOR_OUTBOUND_ALLOW admits them)";

/// What a caller is told when an outbound call did not give a usable answer, whatever the
/// cause (refused by the policy, unreachable, timed out, an error status, an unreadable body).
pub const GENERIC_FAILURE: &str =
    "the outbound call did not succeed (refused, unreachable or an unusable answer)";

/// Why a URL may not be called. `Display` gives the details, for the server log only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a valid URL: {0}")]
    Invalid(String),
    #[error("scheme '{0}' is not http or https")]
    Scheme(String),
    #[error("the URL has no host")]
    NoHost,
    #[error("host '{host}' does not resolve: {why}")]
    Unresolvable { host: String, why: String },
    #[error("{addr} is {range}")]
    Internal { addr: IpAddr, range: &'static str },
}

impl Refusal {
    /// The sentence a caller may see: syntax problems are named, everything that depends on
    /// where the host points is one generic sentence.
    pub fn public_detail(&self) -> &'static str {
        match self {
            Refusal::Invalid(_) | Refusal::Scheme(_) | Refusal::NoHost => {
                "url must be an absolute http(s) URL with a host"
            }
            Refusal::Unresolvable { .. } | Refusal::Internal { .. } => REFUSED_DESTINATION,
        }
    }
}

/// A malformed `AUDITOR_OUTBOUND_ALLOW` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AUDITOR_OUTBOUND_ALLOW entry '{entry}': {why}")]
pub struct AllowError {
    pub entry: String,
    pub why: String,
}

/// An inclusive port range of an allow entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub from: u16,
    pub to: u16,
}

impl Ports {
    fn admits(&self, port: u16) -> bool {
        (self.from..=self.to).contains(&port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// An exact host name (lowercase, no trailing dot).
    Host(String),
    /// `*.suffix`: any name below `suffix` (not `suffix` itself).
    Below(String),
    /// Addresses in a network (a single address is a /32 or /128).
    Net(IpNet),
}

/// One allow-list entry: a host, a wildcard domain or a network, with optional ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    target: Target,
    ports: Option<Ports>,
}

impl AllowEntry {
    fn port_ok(&self, port: u16) -> bool {
        self.ports.is_none_or(|p| p.admits(port))
    }

    fn admits_name(&self, name: &str, port: u16) -> bool {
        let hit = match &self.target {
            Target::Host(h) => h == name,
            Target::Below(s) => name.len() > s.len() + 1 && name.ends_with(&format!(".{s}")),
            Target::Net(_) => false,
        };
        hit && self.port_ok(port)
    }

    fn admits_addr(&self, ip: IpAddr, port: u16) -> bool {
        match &self.target {
            Target::Net(n) => (n.contains(&ip) || n.contains(&canonical(ip))) && self.port_ok(port),
            _ => false,
        }
    }
}

/// The outbound policy: refuse internal and reserved addresses, except what `allow` admits.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allow: Vec<AllowEntry>,
    /// No address check at all (the `auditor probe` command run by an operator on their own
    /// machine); pinning, no proxy and no redirects still apply.
    unrestricted: bool,
}

/// A checked destination: the parsed URL and the addresses a call may connect to.
#[derive(Debug, Clone)]
pub struct Destination {
    pub url: Url,
    /// The host as written in the normalised URL (a name, or an address literal).
    pub host: String,
    pub port: u16,
    /// Every address the host resolved to, all checked.
    pub addrs: Vec<SocketAddr>,
}

/// An HTTP client that can reach only the checked destination.
#[derive(Debug)]
pub struct Pinned {
    pub client: reqwest::blocking::Client,
    pub destination: Destination,
}

fn parse_ports(entry: &str, s: &str) -> Result<Ports, AllowError> {
    let err = |why: &str| AllowError {
        entry: entry.to_owned(),
        why: why.to_owned(),
    };
    let num = |p: &str| {
        p.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| err("a port must be a number from 1 to 65535"))
    };
    let (from, to) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let n = num(s)?;
            (n, n)
        }
    };
    if from > to {
        return Err(err("a port range must be low-high"));
    }
    Ok(Ports { from, to })
}

fn parse_net(s: &str) -> Option<IpNet> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(IpNet::from(ip));
    }
    s.parse::<IpNet>().ok().map(|n| n.trunc())
}

fn parse_entry(raw: &str) -> Result<AllowEntry, AllowError> {
    let entry = raw.trim();
    let err = |why: &str| AllowError {
        entry: entry.to_owned(),
        why: why.to_owned(),
    };
    // `[v6]`, `[v6]:ports`, `[v6/len]:ports`
    if let Some(rest) = entry.strip_prefix('[') {
        let (inner, after) = rest
            .split_once(']')
            .ok_or_else(|| err("an opening '[' needs its ']'"))?;
        let net = parse_net(inner)
            .filter(|n| matches!(n, IpNet::V6(_)))
            .ok_or_else(|| err("inside [ ] goes an IPv6 address or network"))?;
        let ports = match after {
            "" => None,
            p => Some(parse_ports(
                entry,
                p.strip_prefix(':')
                    .ok_or_else(|| err("after ']' only ':port' may follow"))?,
            )?),
        };
        return Ok(AllowEntry {
            target: Target::Net(net),
            ports,
        });
    }
    // A bare IPv6 address or network has several colons and no ports.
    if entry.matches(':').count() > 1 {
        let net = parse_net(entry).ok_or_else(|| {
            err("not an IPv6 address or network (write [address]:port to give a port)")
        })?;
        return Ok(AllowEntry {
            target: Target::Net(net),
            ports: None,
        });
    }
    let (left, ports) = match entry.rsplit_once(':') {
        Some((l, p)) => (l, Some(parse_ports(entry, p)?)),
        None => (entry, None),
    };
    if left.is_empty() {
        return Err(err("a host, address or network is needed"));
    }
    if let Some(net) = parse_net(left) {
        return Ok(AllowEntry {
            target: Target::Net(net),
            ports,
        });
    }
    let name = left.trim_end_matches('.').to_ascii_lowercase();
    let (below, bare) = match name.strip_prefix("*.") {
        Some(s) => (true, s.to_owned()),
        None => (false, name.clone()),
    };
    let labels_ok = !bare.is_empty()
        && bare.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !labels_ok {
        return Err(err(
            "not a host name, an IP address or a CIDR network (e.g. models.internal, 10.0.0.5, 10.0.0.0/8, [fd00::/8])",
        ));
    }
    // URL parsing reads a name whose last label is numeric as an IPv4 address, so such a
    // "name" could never match: ask for the dotted-decimal form instead.
    if bare
        .rsplit('.')
        .next()
        .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()) || l.starts_with("0x"))
    {
        return Err(err(
            "write IPv4 addresses in dotted-decimal form, e.g. 127.0.0.1",
        ));
    }
    Ok(AllowEntry {
        target: if below {
            Target::Below(bare)
        } else {
            Target::Host(bare)
        },
        ports,
    })
}

/// An IPv4 address carried inside an IPv6 one (mapped, compatible, NAT64, 6to4) is judged as
/// the IPv4 address: that is where the packets end up.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let tail = Ipv4Addr::new(
        (s[6] >> 8) as u8,
        (s[6] & 0xff) as u8,
        (s[7] >> 8) as u8,
        (s[7] & 0xff) as u8,
    );
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    // IPv4-compatible ::a.b.c.d (deprecated), but not :: and ::1 themselves.
    if s[..6].iter().all(|x| *x == 0) && (s[6] != 0 || s[7] > 1) {
        return Some(tail);
    }
    // NAT64 well-known prefix 64:ff9b::/96.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|x| *x == 0) {
        return Some(tail);
    }
    // 6to4 2002:aabb:ccdd::/48.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            (s[1] & 0xff) as u8,
            (s[2] >> 8) as u8,
            (s[2] & 0xff) as u8,
        ));
    }
    None
}

/// The address packets really go to: an IPv4 address inside an IPv6 one is the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    };
    (u128::from(ip) & mask) == (u128::from(Ipv6Addr::from(net)) & mask)
}

fn v4_range(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u8, &str)] = &[
        ([0, 0, 0, 0], 8, "unspecified or 'this network' (0.0.0.0/8)"),
        ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
        ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
        ([169, 254, 0, 0], 16, "link-local (169.254.0.0/16)"),
        ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
        (
            [192, 0, 0, 0],
            24,
            "IETF protocol assignments (192.0.0.0/24)",
        ),
        ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99.0/24)"),
        ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
        ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
        ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
        ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
        ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
        ([255, 255, 255, 255], 32, "broadcast (255.255.255.255)"),
        ([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
    ];
    RANGES
        .iter()
        .find(|(net, len, _)| in_v4(ip, *net, *len))
        .map(|(_, _, name)| *name)
}

fn v6_range(ip: Ipv6Addr) -> Option<&'static str> {
    const RANGES: &[([u16; 8], u8, &str)] = &[
        ([0; 8], 128, "unspecified (::)"),
        ([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback (::1)"),
        ([0; 8], 96, "IPv4-compatible (::/96, deprecated)"),
        (
            [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
            48,
            "local-use NAT64 (64:ff9b:1::/48)",
        ),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only (100::/64)"),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "Teredo (2001::/32)"),
        (
            [0x2001, 2, 0, 0, 0, 0, 0, 0],
            48,
            "benchmarking (2001:2::/48)",
        ),
        (
            [0x2001, 0x10, 0, 0, 0, 0, 0, 0],
            28,
            "ORCHID (2001:10::/28)",
        ),
        (
            [0x2001, 0x20, 0, 0, 0, 0, 0, 0],
            28,
            "ORCHIDv2 (2001:20::/28)",
        ),
        (
            [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
            32,
            "documentation (2001:db8::/32)",
        ),
        (
            [0x3fff, 0, 0, 0, 0, 0, 0, 0],
            20,
            "documentation (3fff::/20)",
        ),
        (
            [0x5f00, 0, 0, 0, 0, 0, 0, 0],
            16,
            "segment routing (5f00::/16)",
        ),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique-local (fc00::/7)"),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local (fe80::/10)"),
        (
            [0xfec0, 0, 0, 0, 0, 0, 0, 0],
            10,
            "site-local (fec0::/10, deprecated)",
        ),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast (ff00::/8)"),
    ];
    RANGES
        .iter()
        .find(|(net, len, _)| in_v6(ip, *net, *len))
        .map(|(_, _, name)| *name)
}

/// The refused range an address falls in, or `None` for a public address. An IPv4 address
/// inside an IPv6 one (mapped `::ffff:a.b.c.d`, compatible, NAT64, 6to4) is judged as the IPv4
/// address.
pub fn refused_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            // ::a.b.c.d itself is deprecated; the others are judged by the address they carry.
            Some(_) if v6.to_ipv4_mapped().is_none() && v6.segments()[..6] == [0; 6] => {
                v6_range(v6)
            }
            Some(v4) => v4_range(v4),
            None => v6_range(v6),
        },
    }
}

impl OutboundPolicy {
    /// Refuse every internal or reserved address; admit nothing extra.
    pub fn deny_internal() -> OutboundPolicy {
        OutboundPolicy::default()
    }

    /// No address check (an operator's own command-line probe). Calls are still pinned to
    /// the resolved addresses, with no proxy and no redirects.
    pub fn unrestricted() -> OutboundPolicy {
        OutboundPolicy {
            allow: Vec::new(),
            unrestricted: true,
        }
    }

    /// Parses `AUDITOR_OUTBOUND_ALLOW`: comma-separated entries, each one of
    /// - `HOST` or `HOST:PORT[-PORT]`: that exact name, whatever it resolves to;
    /// - `*.DOMAIN[:PORTS]`: any name below `DOMAIN`;
    /// - `IP[:PORTS]`, `CIDR[:PORTS]` for IPv4; `[IPv6]:PORTS`, `[IPv6/len]:PORTS`, or a bare
    ///   IPv6 address or network without ports: addresses in that network.
    ///
    /// Without ports an entry admits every port. Empty entries are ignored.
    pub fn parse(allow: &str) -> Result<OutboundPolicy, AllowError> {
        let allow = allow
            .split(',')
            .filter(|e| !e.trim().is_empty())
            .map(parse_entry)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OutboundPolicy {
            allow,
            unrestricted: false,
        })
    }

    /// How many allow entries there are (for the start-up log).
    pub fn allow_entries(&self) -> usize {
        self.allow.len()
    }

    fn judge_addr(&self, ip: IpAddr, port: u16) -> Result<(), Refusal> {
        if self.unrestricted || self.allow.iter().any(|a| a.admits_addr(ip, port)) {
            return Ok(());
        }
        match refused_range(ip) {
            Some(range) => Err(Refusal::Internal { addr: ip, range }),
            None => Ok(()),
        }
    }

    /// Parses `url`, resolves its host and checks every address it resolves to. A name the
    /// allow list admits is admitted whatever it resolves to; otherwise every address must be
    /// public or inside an allowed network.
    pub fn check(&self, url: &str) -> Result<Destination, Refusal> {
        let parsed = Url::parse(url).map_err(|e| Refusal::Invalid(e.to_string()))?;
        self.check_url(parsed)
    }

    /// [`OutboundPolicy::check`] of a parsed URL.
    pub fn check_url(&self, url: Url) -> Result<Destination, Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme(url.scheme().to_owned()));
        }
        let port = url.port_or_known_default().ok_or(Refusal::NoHost)?;
        let host = url.host_str().ok_or(Refusal::NoHost)?.to_owned();
        let addrs: Vec<SocketAddr> = match url.host().ok_or(Refusal::NoHost)? {
            Host::Ipv4(v4) => {
                let ip = IpAddr::V4(v4);
                self.judge_addr(ip, port)?;
                vec![SocketAddr::new(ip, port)]
            }
            Host::Ipv6(v6) => {
                let ip = IpAddr::V6(v6);
                self.judge_addr(ip, port)?;
                vec![SocketAddr::new(ip, port)]
            }
            Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let unresolvable = |why: String| Refusal::Unresolvable {
                    host: name.clone(),
                    why,
                };
                let addrs: Vec<SocketAddr> = (name.as_str(), port)
                    .to_socket_addrs()
                    .map_err(|e| unresolvable(e.to_string()))?
                    .collect();
                if addrs.is_empty() {
                    return Err(unresolvable("no address".into()));
                }
                let named = self.allow.iter().any(|a| a.admits_name(&name, port));
                if !named {
                    for a in &addrs {
                        self.judge_addr(a.ip(), port)?;
                    }
                }
                addrs
            }
        };
        Ok(Destination {
            url,
            host,
            port,
            addrs,
        })
    }

    /// Checks `url` now and builds a client that connects only to the checked addresses: the
    /// name is pinned to them (`resolve_to_addrs`), proxies are off and redirects are not
    /// followed. Call it right before the calls it serves.
    pub fn client(&self, url: &str, timeout: Duration) -> Result<Pinned, Refusal> {
        let destination = self.check(url)?;
        let mut b = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(Host::Domain(name)) = destination.url.host() {
            b = b.resolve_to_addrs(name, &destination.addrs);
        }
        let client = b
            .build()
            .map_err(|e| Refusal::Invalid(format!("http client: {e}")))?;
        Ok(Pinned {
            client,
            destination,
        })
    }
}

/// The host of a URL for messages and logs (never its path or query, which may hold a token).
pub fn host_of(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests;
