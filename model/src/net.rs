//! IPv4 subnets.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 subnet in CIDR form, such as `10.0.0.0/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Net {
    /// The address as written; host bits may be set.
    pub addr: Ipv4Addr,
    /// The prefix length, 0–32.
    pub prefix: u8,
}

impl Ipv4Net {
    /// A subnet from an address and a prefix length of at most 32.
    pub const fn new(addr: Ipv4Addr, prefix: u8) -> Ipv4Net {
        Ipv4Net { addr, prefix }
    }

    fn mask_bits(self) -> u32 {
        if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix.min(32))) }
    }

    /// The network address (host bits cleared).
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask_bits())
    }

    /// The netmask, such as `255.255.255.0` for a /24.
    pub fn mask(self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask_bits())
    }

    /// The broadcast address (host bits set).
    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask_bits())
    }

    /// Whether `addr` lies in the subnet.
    pub fn contains(self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask_bits() == u32::from(self.addr) & self.mask_bits()
    }

    /// Whether `addr` can be given to a host: inside the subnet and, for prefixes up to /30,
    /// neither the network nor the broadcast address.
    pub fn is_host(self, addr: Ipv4Addr) -> bool {
        self.contains(addr) && (self.prefix >= 31 || (addr != self.network() && addr != self.broadcast()))
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Why a subnet failed to parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseNetError(String);

impl fmt::Display for ParseNetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseNetError {}

impl FromStr for Ipv4Net {
    type Err = ParseNetError;

    fn from_str(s: &str) -> Result<Ipv4Net, ParseNetError> {
        let Some((addr, prefix)) = s.split_once('/') else {
            return Err(ParseNetError(format!("`{s}` is not a subnet: write it in CIDR form, e.g. `10.0.0.0/24`")));
        };
        let addr: Ipv4Addr =
            addr.parse().map_err(|_| ParseNetError(format!("`{addr}` is not an IPv4 address, e.g. `10.0.0.0`")))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| ParseNetError(format!("`/{prefix}` is not a prefix length: use /0 to /32")))?;
        Ok(Ipv4Net { addr, prefix })
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Ipv4Net {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Ipv4Net {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Ipv4Net, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_and_hosts() {
        let net: Ipv4Net = "10.0.0.0/24".parse().expect("valid");
        assert!(net.contains(Ipv4Addr::new(10, 0, 0, 7)));
        assert!(!net.contains(Ipv4Addr::new(10, 0, 1, 7)));
        assert!(!net.is_host(Ipv4Addr::new(10, 0, 0, 0)));
        assert!(!net.is_host(Ipv4Addr::new(10, 0, 0, 255)));
        assert!(net.is_host(Ipv4Addr::new(10, 0, 0, 254)));
        let all: Ipv4Net = "0.0.0.0/0".parse().expect("valid");
        assert!(all.contains(Ipv4Addr::new(192, 168, 1, 1)));
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["10.0.0.0", "10.0.0/24", "10.0.0.0/33", "10.0.0.0/x"] {
            assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
        }
    }
}
