//! Errors of loading a configuration.
//!
//! This module owns the error types: a [`Diagnostic`] is one precise problem (file, key
//! path, what was expected, and where TOML gives it, line and column), and a
//! [`ConfigError`] is the non-empty list of every problem found in one load.

use std::fmt;

/// A position in a configuration file, 1-based; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text` (clamped to the text's length).
    pub fn from_offset(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One problem in the configuration.
///
/// Displays as `FILE: KEY: MESSAGE (line L, column C)`, for example
/// `sip-config/numbers.toml: numbers[1].kind: unknown variant "queu", expected one of
/// "queue", "ivr", "emergency" (line 7, column 8)`. The key and the location are left
/// out when unknown (a syntax error has no key; a missing table has no location).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the path it was read from (an include is joined to the directory of
    /// the file that includes it).
    pub file: String,
    /// The key path inside the file, such as `numbers[2].queue` or `server.rtp_ports`;
    /// array indices count from 0 within that file.
    pub key: Option<String>,
    /// Where in the file, when known.
    pub location: Option<Location>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(location) = &self.location {
            write!(f, " ({location})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Every problem found while loading a configuration; never empty.
///
/// Displays one [`Diagnostic`] per line, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", DisplayLines(.diagnostics))]
pub struct ConfigError {
    diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// Wraps a list of problems. Panics in debug builds when the list is empty.
    pub(crate) fn new(diagnostics: Vec<Diagnostic>) -> Self {
        debug_assert!(
            !diagnostics.is_empty(),
            "a ConfigError holds at least one problem"
        );
        Self { diagnostics }
    }

    /// The problems, in the order they were found (files in include order).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Takes the problems out.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}

impl From<Diagnostic> for ConfigError {
    fn from(diagnostic: Diagnostic) -> Self {
        Self::new(vec![diagnostic])
    }
}

struct DisplayLines<'a>(&'a [Diagnostic]);

impl fmt::Display for DisplayLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let text = "a = 1\nnamé = \"x\"\n";
        assert_eq!(
            Location::from_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        let x = text.find("\"x").unwrap();
        assert_eq!(
            Location::from_offset(text, x),
            Location { line: 2, column: 8 }
        );
        assert_eq!(Location::from_offset(text, 999).line, 3);
    }

    #[test]
    fn displays_one_problem_per_line() {
        let d = |key: Option<&str>, location| Diagnostic {
            file: "f.toml".into(),
            key: key.map(Into::into),
            location,
            message: "bad".into(),
        };
        let error = ConfigError::new(vec![
            d(
                Some("server.sip_listen"),
                Some(Location {
                    line: 3,
                    column: 14,
                }),
            ),
            d(None, None),
        ]);
        assert_eq!(
            error.to_string(),
            "f.toml: server.sip_listen: bad (line 3, column 14)\nf.toml: bad"
        );
    }
}
