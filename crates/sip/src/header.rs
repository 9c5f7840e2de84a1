//! Header names and the ordered header list of a message.
//!
//! Names are matched case-insensitively and compact forms (RFC 3261 §7.3.3 and later
//! RFCs) are expanded at parse time, so `v:` and `VIA:` are both [`HeaderName::VIA`].
//! Values are kept as unfolded text; typed views (`Via`, `NameAddr`, `CSeq`) are parsed
//! from them on demand.

use std::borrow::Cow;
use std::fmt;

/// A header field name in canonical form.
#[derive(Debug, Clone, Eq)]
pub struct HeaderName(Cow<'static, str>);

macro_rules! known_headers {
    ($( $konst:ident = $text:literal $(, $compact:literal)? ;)*) => {
        impl HeaderName {
            $(
                #[doc = concat!("`", $text, "`")]
                pub const $konst: HeaderName = HeaderName(Cow::Borrowed($text));
            )*

            /// Canonicalises a name as read from the wire: compact forms are expanded and
            /// known names take their usual capitalisation.
            pub fn from_wire(name: &str) -> HeaderName {
                $(
                    if name.eq_ignore_ascii_case($text) $(|| name.eq_ignore_ascii_case($compact))? {
                        return HeaderName::$konst;
                    }
                )*
                HeaderName(Cow::Owned(name.to_owned()))
            }
        }
    };
}

known_headers! {
    ACCEPT = "Accept";
    ACCEPT_CONTACT = "Accept-Contact", "a";
    ALLOW = "Allow";
    ALLOW_EVENTS = "Allow-Events", "u";
    AUTHORIZATION = "Authorization";
    CALL_ID = "Call-ID", "i";
    CALL_INFO = "Call-Info";
    CONTACT = "Contact", "m";
    CONTENT_DISPOSITION = "Content-Disposition";
    CONTENT_ENCODING = "Content-Encoding", "e";
    CONTENT_LENGTH = "Content-Length", "l";
    CONTENT_TYPE = "Content-Type", "c";
    CSEQ = "CSeq";
    DATE = "Date";
    EVENT = "Event", "o";
    EXPIRES = "Expires";
    FROM = "From", "f";
    GEOLOCATION = "Geolocation";
    GEOLOCATION_ERROR = "Geolocation-Error";
    GEOLOCATION_ROUTING = "Geolocation-Routing";
    IDENTITY = "Identity", "y";
    MAX_FORWARDS = "Max-Forwards";
    MIN_EXPIRES = "Min-Expires";
    PROXY_AUTHENTICATE = "Proxy-Authenticate";
    PROXY_AUTHORIZATION = "Proxy-Authorization";
    PROXY_REQUIRE = "Proxy-Require";
    RECORD_ROUTE = "Record-Route";
    REFER_TO = "Refer-To", "r";
    REFERRED_BY = "Referred-By", "b";
    REJECT_CONTACT = "Reject-Contact", "j";
    REQUEST_DISPOSITION = "Request-Disposition", "d";
    REQUIRE = "Require";
    RETRY_AFTER = "Retry-After";
    ROUTE = "Route";
    SERVER = "Server";
    SESSION_EXPIRES = "Session-Expires", "x";
    SUBJECT = "Subject", "s";
    SUPPORTED = "Supported", "k";
    TIMESTAMP = "Timestamp";
    TO = "To", "t";
    UNSUPPORTED = "Unsupported";
    USER_AGENT = "User-Agent";
    VIA = "Via", "v";
    WARNING = "Warning";
    WWW_AUTHENTICATE = "WWW-Authenticate";
}

impl HeaderName {
    /// The canonical text of the name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &HeaderName) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One header field: a name and its unfolded, trimmed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The canonical name.
    pub name: HeaderName,
    /// The value, with folding replaced by single spaces.
    pub value: String,
}

/// The header fields of a message, in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    /// Appends a header field.
    pub fn push(&mut self, name: HeaderName, value: impl Into<String>) {
        self.0.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Inserts a header field before all others (used for a new top Via).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<String>) {
        self.0.insert(
            0,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// Replaces every field named `name` by one field with `value`, keeping the
    /// position of the first one.
    pub fn set(&mut self, name: HeaderName, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter().position(|h| h.name == name) {
            Some(pos) => {
                self.0[pos].value = value;
                let mut seen = 0usize;
                self.0.retain(|h| {
                    if h.name == name {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.push(name, value),
        }
    }

    /// Removes every field named `name`.
    pub fn remove(&mut self, name: &HeaderName) {
        self.0.retain(|h| &h.name != name);
    }

    /// The value of the first field named `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.0
            .iter()
            .find(|h| &h.name == name)
            .map(|h| h.value.as_str())
    }

    /// The values of every field named `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| &h.name == name)
            .map(|h| h.value.as_str())
    }

    /// Every element of a comma-separated list header, across all its fields.
    pub fn list<'a>(&'a self, name: &'a HeaderName) -> Vec<&'a str> {
        self.get_all(name)
            .flat_map(crate::grammar::split_list)
            .collect()
    }

    /// True if a field named `name` is present.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.0.iter().any(|h| &h.name == name)
    }

    /// Iterates over all fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_expand() {
        assert_eq!(HeaderName::from_wire("v"), HeaderName::VIA);
        assert_eq!(HeaderName::from_wire("i").as_str(), "Call-ID");
        assert_eq!(HeaderName::from_wire("cseq").as_str(), "CSeq");
        assert_eq!(HeaderName::from_wire("X-Custom").as_str(), "X-Custom");
        assert_eq!(
            HeaderName::from_wire("x-custom"),
            HeaderName::from_wire("X-CUSTOM")
        );
    }

    #[test]
    fn set_replaces_all() {
        let mut h = Headers::new();
        h.push(HeaderName::VIA, "a");
        h.push(HeaderName::TO, "b");
        h.push(HeaderName::VIA, "c");
        h.set(HeaderName::VIA, "d");
        assert_eq!(h.get_all(&HeaderName::VIA).collect::<Vec<_>>(), vec!["d"]);
        assert_eq!(h.len(), 2);
    }
}
