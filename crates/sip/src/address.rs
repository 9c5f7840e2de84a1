//! `name-addr` / `addr-spec` values: From, To, Contact, Route and friends.
//!
//! In the bare `addr-spec` form (no angle brackets) any `;param` after the URI belongs to
//! the header, not the URI (RFC 3261 §20.10), which is how `From: sip:a@b;tag=1` carries
//! its tag.

use std::fmt;

use crate::grammar::{Params, is_token_char, quote, take_quoted};
use crate::uri::{Uri, UriError};

/// A display name, URI and header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, unquoted.
    pub display: Option<String>,
    /// The address.
    pub uri: Uri,
    /// Header parameters (`tag`, `expires`, `q`, ...).
    pub params: Params,
}

impl NameAddr {
    /// An address with no display name and no parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// Parses a single name-addr or addr-spec with parameters.
    pub fn parse(text: &str) -> Result<NameAddr, UriError> {
        let text = text.trim();
        let (display, after_display) = if text.starts_with('"') {
            let (d, rest) = take_quoted(text)
                .ok_or_else(|| UriError("unterminated quoted display name".into()))?;
            let rest = rest.trim_start();
            if !rest.starts_with('<') {
                return Err(UriError("quoted display name not followed by <URI>".into()));
            }
            (Some(d), rest)
        } else if let Some(lt) = text.find('<') {
            let d = text[..lt].trim();
            if !d.split_whitespace().all(|w| w.chars().all(is_token_char)) {
                return Err(UriError(format!("bad display name {d:?}")));
            }
            let d = (!d.is_empty()).then(|| d.split_whitespace().collect::<Vec<_>>().join(" "));
            (d, &text[lt..])
        } else {
            (None, text)
        };
        if let Some(inner) = after_display.strip_prefix('<') {
            let gt = inner
                .find('>')
                .ok_or_else(|| UriError("missing '>' after URI".into()))?;
            let uri_text = &inner[..gt];
            if uri_text.starts_with(char::is_whitespace) || uri_text.ends_with(char::is_whitespace)
            {
                return Err(UriError("whitespace inside <URI>".into()));
            }
            let uri = Uri::parse(uri_text)?;
            let rest = inner[gt + 1..].trim();
            if !rest.is_empty() && !rest.starts_with(';') {
                return Err(UriError(format!("junk after URI: {rest:?}")));
            }
            let params = Params::parse(rest).map_err(UriError)?;
            return Ok(NameAddr {
                display,
                uri,
                params,
            });
        }
        let (uri_text, params) = match after_display.find(';') {
            Some(i) => (&after_display[..i], &after_display[i..]),
            None => (after_display, ""),
        };
        if uri_text.contains(['?', ',']) {
            return Err(UriError(
                "an addr-spec with '?' or ',' must be in angle brackets".into(),
            ));
        }
        // Printed in angle brackets, a '>' would end the URI early.
        if uri_text.contains('>') {
            return Err(UriError("'>' in an addr-spec".into()));
        }
        Ok(NameAddr {
            display,
            uri: Uri::parse(uri_text)?,
            params: Params::parse(params).map_err(UriError)?,
        })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(r#""Bob \"B\"" <sip:bob@x;transport=tcp>;tag=9"#).unwrap();
        assert_eq!(a.display.as_deref(), Some(r#"Bob "B""#));
        assert_eq!(a.uri.params.value("transport"), Some("tcp"));
        assert_eq!(a.tag(), Some("9"));
        let b = NameAddr::parse("sip:alice@atlanta.com;tag=88").unwrap();
        assert_eq!(b.tag(), Some("88"));
        assert!(b.uri.params.is_empty());
        let c = NameAddr::parse("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8").unwrap();
        assert_eq!(c.display.as_deref(), Some("Anonymous"));
        assert!(NameAddr::parse("<sip:a@b").is_err());
        assert_eq!(
            c.to_string(),
            r#""Anonymous" <sip:c8oqz84zk7z@privacy.org>;tag=hyh8"#
        );
    }
}
