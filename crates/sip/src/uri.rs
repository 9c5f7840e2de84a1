//! SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966), plus opaque URIs of other schemes.
//!
//! A URI of another scheme parses (a `To` header may carry one) but is kept opaque; the
//! request validator answers 416 when such a URI is a Request-URI. User parts keep
//! their `%XX` escapes as written, so printing a parsed URI gives back the same text;
//! [`Uri::user_unescaped`] decodes them for comparisons and lookups.

use std::fmt;

use crate::grammar::{Params, escapes_well_formed, unescape};

/// The scheme of a URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:`
    Tel,
    /// Any other scheme, lower-cased.
    Other(String),
}

impl Scheme {
    /// The scheme name as printed.
    pub fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        }
    }
}

/// A parsed URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// The user part (SIP) or the telephone subscriber (tel), escapes kept.
    pub user: Option<String>,
    /// The password part of a SIP userinfo, if any (deprecated but legal).
    pub password: Option<String>,
    /// The host (IPv6 references keep their brackets); empty for tel and opaque URIs.
    pub host: String,
    /// The port, if given.
    pub port: Option<u16>,
    /// URI parameters.
    pub params: Params,
    /// URI headers after `?`, as written.
    pub headers: Option<String>,
    /// For opaque schemes, everything after the colon.
    pub opaque: Option<String>,
}

/// Why a URI could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UriError(pub String);

impl Uri {
    /// A `sip:` URI for `user@host[:port]`.
    pub fn sip(user: Option<&str>, host: &str, port: Option<u16>) -> Uri {
        Uri {
            scheme: Scheme::Sip,
            user: user.map(str::to_owned),
            password: None,
            host: host.to_owned(),
            port,
            params: Params::new(),
            headers: None,
            opaque: None,
        }
    }

    /// Parses a URI.
    pub fn parse(text: &str) -> Result<Uri, UriError> {
        let text = text.trim();
        let (scheme, rest) = text
            .split_once(':')
            .ok_or_else(|| UriError(format!("URI {text:?} has no scheme")))?;
        if scheme.is_empty()
            || !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(UriError(format!("bad URI scheme {scheme:?}")));
        }
        if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UriError(format!("URI {text:?} contains whitespace")));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "sip" => Self::parse_sip(Scheme::Sip, rest),
            "sips" => Self::parse_sip(Scheme::Sips, rest),
            "tel" => Self::parse_tel(rest),
            other => {
                if rest.is_empty() {
                    return Err(UriError(format!("empty {other} URI")));
                }
                Ok(Uri {
                    scheme: Scheme::Other(other.to_owned()),
                    user: None,
                    password: None,
                    host: String::new(),
                    port: None,
                    params: Params::new(),
                    headers: None,
                    opaque: Some(rest.to_owned()),
                })
            }
        }
    }

    fn parse_sip(scheme: Scheme, rest: &str) -> Result<Uri, UriError> {
        let (userinfo, hostpart) = match rest.find('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p.to_owned())),
                    None => (info, None),
                };
                if user.is_empty() {
                    return Err(UriError("empty user part".into()));
                }
                if !user.chars().all(is_user_char) {
                    return Err(UriError(format!("bad character in user part {user:?}")));
                }
                if !escapes_well_formed(user) {
                    return Err(UriError(format!("bad escape in user part {user:?}")));
                }
                (Some(user.to_owned()), password)
            }
            None => (None, None),
        };
        let (hostpart, headers) = match hostpart.split_once('?') {
            Some((h, q)) => (h, Some(q.to_owned())),
            None => (hostpart, None),
        };
        let (hostport, params) = match hostpart.find(';') {
            Some(i) => (&hostpart[..i], &hostpart[i..]),
            None => (hostpart, ""),
        };
        let (host, port) = split_hostport(hostport)?;
        let params = Params::parse(params).map_err(UriError)?;
        Ok(Uri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
            opaque: None,
        })
    }

    fn parse_tel(rest: &str) -> Result<Uri, UriError> {
        let (number, params) = match rest.find(';') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let digits = number.strip_prefix('+').unwrap_or(number);
        let ok = !digits.is_empty()
            && digits
                .chars()
                .all(|c| c.is_ascii_hexdigit() || "*#-.()".contains(c))
            && digits
                .chars()
                .any(|c| c.is_ascii_hexdigit() || c == '*' || c == '#');
        if !ok {
            return Err(UriError(format!("bad telephone number {number:?}")));
        }
        Ok(Uri {
            scheme: Scheme::Tel,
            user: Some(number.to_owned()),
            password: None,
            host: String::new(),
            port: None,
            params: Params::parse(params).map_err(UriError)?,
            headers: None,
            opaque: None,
        })
    }

    /// The user part with `%XX` escapes decoded.
    pub fn user_unescaped(&self) -> Option<String> {
        self.user.as_deref().and_then(unescape)
    }

    /// True for `sip:`, `sips:` and `tel:` URIs, and for `urn:` (emergency calls are
    /// addressed `urn:service:sos`, RFC 5031).
    pub fn is_supported_scheme(&self) -> bool {
        match &self.scheme {
            Scheme::Other(s) => s == "urn",
            _ => true,
        }
    }
}

/// Characters allowed (unescaped) in a SIP user part: unreserved, `%`, and
/// user-unreserved (`&=+$,;?/`).
fn is_user_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()%&=+$,;?/".contains(c)
}

fn split_hostport(s: &str) -> Result<(String, Option<u16>), UriError> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| UriError(format!("unclosed IPv6 reference {s:?}")))?;
        let addr = &rest[..end];
        if addr.is_empty()
            || !addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(UriError(format!("bad IPv6 reference {s:?}")));
        }
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UriError(format!("bad IPv6 address {addr:?}")));
        }
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| UriError(format!("junk after IPv6 reference {s:?}")))?,
            ),
        };
        (format!("[{addr}]"), port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (s.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(UriError("empty host".into()));
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(UriError(format!("bad host {host:?}")));
    }
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|_| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
                .ok_or_else(|| UriError(format!("bad port {p:?}")))?,
        ),
    };
    Ok((host, port))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if let Some(opaque) = &self.opaque {
            return f.write_str(opaque);
        }
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(pw) = &self.password {
                write!(f, ":{pw}")?;
            }
            if self.scheme != Scheme::Tel {
                f.write_str("@")?;
            }
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uri_parts() {
        let u = Uri::parse("sip:alice:pw@Example.COM:5070;transport=tcp;lr?subject=x").unwrap();
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("pw"));
        assert_eq!(u.host, "Example.COM");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.params.value("transport"), Some("tcp"));
        assert!(u.params.has("lr"));
        assert_eq!(
            u.to_string(),
            "sip:alice:pw@Example.COM:5070;transport=tcp;lr?subject=x"
        );
    }

    #[test]
    fn escaped_user_kept_and_decoded() {
        let u = Uri::parse("sip:sips%3Auser%40example.com@example.net").unwrap();
        assert_eq!(u.user_unescaped().unwrap(), "sips:user@example.com");
        assert_eq!(u.to_string(), "sip:sips%3Auser%40example.com@example.net");
    }

    #[test]
    fn semicolon_in_user() {
        let u = Uri::parse("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(u.host, "example.com");
    }

    #[test]
    fn ipv6_and_tel_and_other() {
        let u = Uri::parse("sip:[2001:db8::10]:5070").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("[2001:db8::10]", Some(5070)));
        assert!(Uri::parse("sip:[2001:db8::10:5070").is_err());
        let t = Uri::parse("tel:+1-201-555-0123;phone-context=x").unwrap();
        assert_eq!(t.scheme, Scheme::Tel);
        assert_eq!(t.to_string(), "tel:+1-201-555-0123;phone-context=x");
        let o = Uri::parse("nobodyKnowsThisScheme:totallyopaquecontent").unwrap();
        assert!(!o.is_supported_scheme());
        assert!(Uri::parse("sip:host:99999").is_err());
        assert!(Uri::parse("sip:us er@host").is_err());
    }
}
