//! The Via header (RFC 3261 §20.42, RFC 3581 `rport`).

use std::fmt;

use crate::grammar::{Params, is_token};

/// The RFC 3261 magic cookie that starts every compliant branch.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// One Via value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport token, upper-cased (`UDP`, `TCP`, `TLS`, `WS`, ...).
    pub transport: String,
    /// The sent-by host (IPv6 with brackets).
    pub host: String,
    /// The sent-by port.
    pub port: Option<u16>,
    /// Parameters (`branch`, `received`, `rport`, `maddr`, `ttl`, ...).
    pub params: Params,
}

/// Why a Via value could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad Via: {0}")]
pub struct ViaError(pub String);

impl Via {
    /// Parses one Via value (`SIP/2.0/UDP host:port;params`), tolerating LWS around the
    /// slashes.
    pub fn parse(text: &str) -> Result<Via, ViaError> {
        let mut parts = text.splitn(3, '/');
        let name = parts.next().unwrap_or("").trim();
        let version = parts
            .next()
            .ok_or_else(|| ViaError("missing protocol version".into()))?
            .trim();
        let rest = parts
            .next()
            .ok_or_else(|| ViaError("missing transport".into()))?
            .trim_start();
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(ViaError(format!("unsupported protocol {name}/{version}")));
        }
        let split = rest
            .find(|c: char| c.is_whitespace())
            .ok_or_else(|| ViaError("missing sent-by".into()))?;
        let transport = &rest[..split];
        if !is_token(transport) {
            return Err(ViaError(format!("bad transport {transport:?}")));
        }
        let rest = rest[split..].trim_start();
        let (sent_by, params) = match rest.find(';') {
            Some(i) => (rest[..i].trim(), &rest[i..]),
            None => (rest.trim(), ""),
        };
        let (host, port) = split_sent_by(sent_by)?;
        let params = Params::parse(params).map_err(ViaError)?;
        if let Some(v) = params.get("rport").flatten()
            && v.parse::<u16>().is_err()
        {
            return Err(ViaError(format!("bad rport {v:?}")));
        }
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// The sent-by as `host[:port]`, used in transaction keys.
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host.to_ascii_lowercase()),
            None => self.host.to_ascii_lowercase(),
        }
    }
}

fn split_sent_by(s: &str) -> Result<(String, Option<u16>), ViaError> {
    let (host, port) = if s.starts_with('[') {
        let end = s
            .find(']')
            .ok_or_else(|| ViaError(format!("unclosed IPv6 reference {s:?}")))?;
        let port = s[end + 1..].trim();
        (&s[..=end], (!port.is_empty()).then_some(port))
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.trim(), Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty()
        || (!host.starts_with('[')
            && !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return Err(ViaError(format!("bad sent-by host {host:?}")));
    }
    let port = match port {
        None => None,
        Some(p) => {
            let p = p.trim().trim_start_matches(':').trim();
            Some(
                p.parse::<u16>()
                    .map_err(|_| ViaError(format!("bad sent-by port {p:?}")))?,
            )
        }
    };
    Ok((host.to_owned(), port))
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_odd_whitespace() {
        let v = Via::parse("SIP  /   2.0 /UDP   192.0.2.2;rport ; branch = z9hG4bK390").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.0.2.2");
        assert_eq!(v.branch(), Some("z9hG4bK390"));
        assert!(v.params.has("rport"));
        let v6 = Via::parse("SIP/2.0/TCP [2001:db8::9:1]:5061;branch=z9hG4bKas3").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("[2001:db8::9:1]", Some(5061)));
        assert!(Via::parse("SIP/3.0/UDP a").is_err());
        assert!(Via::parse("SIP/2.0/UDP").is_err());
    }
}
