//! The SDP parser: lines to a [`SessionDescription`], with errors naming the line.

use super::{Direction, MediaDescription, Origin, RtpMap, SdpError, SessionDescription};

fn syntax(line: usize, reason: impl Into<String>) -> SdpError {
    SdpError::Syntax {
        line,
        reason: reason.into(),
    }
}

fn num<T: std::str::FromStr>(line: usize, what: &str, s: &str) -> Result<T, SdpError> {
    s.parse()
        .ok()
        .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| syntax(line, format!("bad {what} {s:?}")))
}

/// `IN IP4 addr` → addr.
fn parse_connection(line: usize, v: &str) -> Result<String, SdpError> {
    match v.split_whitespace().collect::<Vec<_>>()[..] {
        ["IN", "IP4" | "IP6", addr] => Ok(addr.to_owned()),
        [_, _, _] => Err(syntax(
            line,
            format!("c= must be \"IN IP4|IP6 <address>\", not {v:?}"),
        )),
        _ => Err(syntax(line, "c= needs 3 fields")),
    }
}

fn parse_origin(line: usize, v: &str) -> Result<Origin, SdpError> {
    let f: Vec<&str> = v.split_whitespace().collect();
    let [username, id, version, net, addrtype, addr] = f[..] else {
        return Err(syntax(line, format!("o= needs 6 fields, has {}", f.len())));
    };
    if net != "IN" || !matches!(addrtype, "IP4" | "IP6") {
        return Err(syntax(
            line,
            format!("o= address must be \"IN IP4|IP6\", not \"{net} {addrtype}\""),
        ));
    }
    Ok(Origin {
        username: username.to_owned(),
        sess_id: num(line, "session id", id)?,
        sess_version: num(line, "session version", version)?,
        addr: addr.to_owned(),
    })
}

fn parse_media(line: usize, v: &str, direction: Direction) -> Result<MediaDescription, SdpError> {
    let f: Vec<&str> = v.split_whitespace().collect();
    if f.len() < 3 {
        return Err(syntax(line, "m= needs media, port and protocol"));
    }
    let (port, count) = match f[1].split_once('/') {
        Some((p, c)) => (p, Some(num(line, "port count", c)?)),
        None => (f[1], None),
    };
    let mut m = MediaDescription::new(f[0], num(line, "port", port)?, f[2]);
    m.port_count = count;
    m.direction = direction;
    if m.proto.to_ascii_uppercase().contains("RTP/") {
        for fmt in &f[3..] {
            let pt: u8 = num(line, "payload type", fmt)?;
            if pt > 127 {
                return Err(syntax(line, format!("payload type {pt} above 127")));
            }
            m.formats.push(pt);
        }
    } else {
        m.other_formats = f[3..].iter().map(|s| (*s).to_owned()).collect();
    }
    Ok(m)
}

/// Applies a media-level attribute.
fn media_attr(
    m: &mut MediaDescription,
    line: usize,
    name: &str,
    value: Option<&str>,
) -> Result<(), SdpError> {
    match (name, value) {
        ("rtpmap", Some(v)) => {
            let (pt, rest) = v
                .split_once(' ')
                .ok_or_else(|| syntax(line, "rtpmap needs \"<pt> <name>/<rate>\""))?;
            let mut parts = rest.trim().split('/');
            let encoding = parts.next().unwrap_or("");
            let rate = parts
                .next()
                .ok_or_else(|| syntax(line, "rtpmap lacks a clock rate"))?;
            if encoding.is_empty() {
                return Err(syntax(line, "rtpmap lacks an encoding name"));
            }
            let channels = parts
                .next()
                .map(|c| num(line, "channel count", c))
                .transpose()?;
            if parts.next().is_some() {
                return Err(syntax(line, "rtpmap has junk after the channel count"));
            }
            let pt = num(line, "payload type", pt)?;
            m.rtpmaps.push(RtpMap {
                pt,
                encoding: encoding.to_owned(),
                clock_rate: num(line, "clock rate", rate)?,
                channels,
            });
        }
        ("fmtp", Some(v)) => {
            let (pt, params) = v.split_once(' ').unwrap_or((v, ""));
            m.fmtp
                .push((num(line, "payload type", pt)?, params.trim().to_owned()));
        }
        ("ptime", Some(v)) => m.ptime = Some(num(line, "ptime", v.trim())?),
        ("rtpmap" | "fmtp" | "ptime", None) => {
            return Err(syntax(line, format!("a={name} needs a value")));
        }
        _ => match Direction::from_attr(name).filter(|_| value.is_none()) {
            Some(d) => m.direction = d,
            None => m
                .attributes
                .push((name.to_owned(), value.map(str::to_owned))),
        },
    }
    Ok(())
}

/// Parses a session description.
pub fn parse(bytes: &[u8]) -> Result<SessionDescription, SdpError> {
    let mut origin = None;
    let mut name = None;
    let mut seen_v = false;
    let mut sd = SessionDescription {
        origin: Origin {
            username: String::new(),
            sess_id: 0,
            sess_version: 0,
            addr: String::new(),
        },
        session_name: String::new(),
        connection: None,
        timing: String::new(),
        attributes: Vec::new(),
        lines: Vec::new(),
        media: Vec::new(),
    };
    let mut session_dir = Direction::SendRecv;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(|b| *b == b' ' || *b == b'\t') {
            continue;
        }
        let text = std::str::from_utf8(raw).map_err(|_| syntax(n, "not UTF-8"))?;
        let (ty, value) = match text.as_bytes() {
            [t, b'=', ..] if t.is_ascii_lowercase() => (char::from(*t), &text[2..]),
            _ => {
                return Err(syntax(
                    n,
                    format!(
                        "expected \"<letter>=<value>\", got {:?}",
                        text.chars().take(40).collect::<String>()
                    ),
                ));
            }
        };
        if !seen_v {
            if ty != 'v' || value.trim() != "0" {
                return Err(syntax(n, "the first line must be v=0"));
            }
            seen_v = true;
            continue;
        }
        let media = sd.media.last_mut();
        match (ty, media) {
            ('v', _) => return Err(syntax(n, "repeated v=")),
            ('m', _) => sd.media.push(parse_media(n, value, session_dir)?),
            ('o', None) if origin.is_none() => origin = Some(parse_origin(n, value)?),
            ('s', None) if name.is_none() => name = Some(value.to_owned()),
            ('o' | 's', _) => return Err(syntax(n, format!("unexpected {ty}= line"))),
            ('t', None) if sd.timing.is_empty() => sd.timing = value.trim().to_owned(),
            ('c', None) if sd.connection.is_none() => {
                sd.connection = Some(parse_connection(n, value)?)
            }
            ('c', Some(m)) if m.connection.is_none() => {
                m.connection = Some(parse_connection(n, value)?)
            }
            ('c', _) => return Err(syntax(n, "repeated c=")),
            ('a', m) => {
                let (attr, val) = match value.split_once(':') {
                    Some((a, v)) => (a, Some(v)),
                    None => (value.trim_end(), None),
                };
                if attr.is_empty() {
                    return Err(syntax(n, "empty attribute name"));
                }
                match m {
                    Some(m) => media_attr(m, n, attr, val)?,
                    None => {
                        if let Some(d) = Direction::from_attr(attr).filter(|_| val.is_none()) {
                            session_dir = d;
                        }
                        sd.attributes
                            .push((attr.to_owned(), val.map(str::to_owned)));
                    }
                }
            }
            (_, Some(m)) => m.lines.push((ty, value.to_owned())),
            (_, None) => sd.lines.push((ty, value.to_owned())),
        }
    }
    if !seen_v {
        return Err(SdpError::Missing("v="));
    }
    sd.origin = origin.ok_or(SdpError::Missing("o="))?;
    sd.session_name = name.ok_or(SdpError::Missing("s="))?;
    if sd.timing.is_empty() {
        sd.timing = "0 0".to_owned();
    }
    Ok(sd)
}
