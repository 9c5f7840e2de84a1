//! Small pieces of the RFC 3261 §25 grammar shared by the header parsers: tokens,
//! quoted strings, comma lists and `;name=value` parameters.
//!
//! Everything here works on `&str` slices of a header value that has already been
//! unfolded, so LWS is just spaces and tabs.

use std::fmt;

/// True for the characters RFC 3261 allows in a `token`.
pub fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// True if `s` is a non-empty `token`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Splits a header value on the commas that separate list elements, ignoring commas
/// inside quoted strings and `<...>` URIs. Elements are trimmed; empty ones dropped.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if in_quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quote = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quote = true,
            '<' => in_angle = true,
            '>' => in_angle = false,
            ',' if !in_angle => {
                let part = value[start..i].trim();
                if !part.is_empty() {
                    out.push(part);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    let part = value[start..].trim();
    if !part.is_empty() {
        out.push(part);
    }
    out
}

/// Reads a quoted string at the start of `s` (which must begin with `"`), returning the
/// unescaped content and the rest after the closing quote.
pub fn take_quoted(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut out = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return Some((out, &s[i + 1..]));
        } else {
            out.push(c);
        }
    }
    None
}

/// Quotes `s` as a SIP quoted-string, escaping `"` and `\`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// An ordered list of `;name[=value]` parameters. Names compare case-insensitively;
/// values are kept as written (quoted values keep their quotes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, Option<String>)>);

impl Params {
    /// An empty list.
    pub fn new() -> Params {
        Params(Vec::new())
    }

    /// Parses `;a=b;c` (the leading `;` optional). Fails on an empty or non-token name.
    pub fn parse(s: &str) -> Result<Params, String> {
        let mut out = Vec::new();
        let s = s.trim();
        let s = s.strip_prefix(';').unwrap_or(s);
        if s.trim().is_empty() {
            return Ok(Params(out));
        }
        for part in split_params(s) {
            let part = part.trim();
            let (name, value) = match part.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (part, None),
            };
            if !is_param_name(name) {
                return Err(format!("bad parameter name {name:?}"));
            }
            if let Some(v) = value {
                if v.is_empty() {
                    return Err(format!("empty value for parameter {name:?}"));
                }
                if v.starts_with('"') {
                    match take_quoted(v) {
                        Some((_, rest)) if rest.trim().is_empty() => {}
                        _ => return Err(format!("bad quoted value for parameter {name:?}")),
                    }
                }
            }
            out.push((name.to_owned(), value.map(str::to_owned)));
        }
        Ok(Params(out))
    }

    /// The value of `name`: `Some(None)` for a flag parameter, `None` if absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The value of `name` if present with a value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }

    /// True if `name` is present, with or without a value.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` (replacing an existing one in place, else appending).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// Removes `name` if present.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Iterates over the parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// True if there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

/// Parameter names: tokens, plus `[` `]` `:` and `/` which appear in URI parameters.
fn is_param_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| is_token_char(c) || "[]:/&$".contains(c))
}

/// Splits on `;` outside quoted strings.
fn split_params(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quote = false,
                _ => {}
            }
        } else if c == '"' {
            in_quote = true;
        } else if c == ';' {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// True if every `%` in `s` starts a two-hex-digit escape.
pub fn escapes_well_formed(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Decodes `%XX` escapes; `None` on a malformed escape or if the result is not UTF-8.
pub fn unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_respect_quotes_and_angles() {
        let v = r#""a, b" <sip:x@y;p=1,2>;q=1, <sip:z@w>"#;
        assert_eq!(
            split_list(v),
            vec![r#""a, b" <sip:x@y;p=1,2>;q=1"#, "<sip:z@w>"]
        );
    }

    #[test]
    fn quoted_strings_unescape() {
        let (s, rest) = take_quoted(r#""a \"b\" c" x"#).unwrap();
        assert_eq!(s, r#"a "b" c"#);
        assert_eq!(rest, " x");
        assert_eq!(quote(r#"a "b""#), r#""a \"b\"""#);
    }

    #[test]
    fn params_round_trip() {
        let p = Params::parse(";branch=z9hG4bK1;rport;received=1.2.3.4").unwrap();
        assert_eq!(p.value("BRANCH"), Some("z9hG4bK1"));
        assert_eq!(p.get("rport"), Some(None));
        assert_eq!(p.to_string(), ";branch=z9hG4bK1;rport;received=1.2.3.4");
        assert!(Params::parse(";=x").is_err());
    }

    #[test]
    fn unescape_percent() {
        assert_eq!(
            unescape("sips%3Auser%40example.com").unwrap(),
            "sips:user@example.com"
        );
        assert!(unescape("%4").is_none());
    }
}
