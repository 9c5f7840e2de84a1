//! Reading the files.
//!
//! This module owns file loading: reading the entry file, checking its `version`,
//! parsing each file into its raw shape with TOML errors turned into [`Diagnostic`]s
//! (file, key path, line and column), and following `include` lists — relative to the
//! including file, nested, each file once, cycles reported with the whole chain.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_path_to_error::Segment;

use crate::error::{ConfigError, Diagnostic, Location};
use crate::raw::{RawFile, RawVersion};

/// The configuration version this crate reads.
pub const VERSION: i64 = 1;

/// One parsed file, with the text its spans point into.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// The path it was read from.
    pub path: PathBuf,
    /// The path as displayed in errors.
    pub name: String,
    /// The file's text.
    pub text: String,
    /// The parsed content; `include` has been taken out and followed.
    pub raw: RawFile,
}

impl SourceFile {
    /// A diagnostic about `key` in this file, located at the start of `span`.
    pub fn diagnostic(
        &self,
        key: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: self.name.clone(),
            key: Some(key.into()),
            location: span.map(|s| Location::from_offset(&self.text, s.start)),
            message: message.into(),
        }
    }
}

/// Reads the entry file at `path` (or takes its `text` when given) and every file it
/// includes, the entry file first, then includes depth first in listed order.
pub(crate) fn load_files(
    path: &Path,
    text: Option<String>,
) -> Result<Vec<SourceFile>, ConfigError> {
    let name = path.display().to_string();
    let text = match text {
        Some(text) => text,
        None => fs::read_to_string(path).map_err(|e| Diagnostic {
            file: name.clone(),
            key: None,
            location: None,
            message: format!("cannot read file: {e}"),
        })?,
    };
    let mut loader = Loader::default();
    let id = identity(path);
    loader.seen.insert(id.clone(), String::new());
    loader.stack.push((id, name));
    loader.visit(path, text, true);
    if loader.errors.is_empty() {
        Ok(loader.files)
    } else {
        Err(ConfigError::new(loader.errors))
    }
}

#[derive(Default)]
struct Loader {
    files: Vec<SourceFile>,
    errors: Vec<Diagnostic>,
    /// Every file read so far, by identity, with the name of the file that included it.
    seen: HashMap<PathBuf, String>,
    /// The include chain being followed, from the entry file.
    stack: Vec<(PathBuf, String)>,
}

impl Loader {
    fn visit(&mut self, path: &Path, text: String, is_entry: bool) {
        let name = path.display().to_string();
        if is_entry && let Err(diagnostic) = check_version(&name, &text) {
            self.errors.push(diagnostic);
            return;
        }
        let mut raw = match parse(&name, &text) {
            Ok(raw) => raw,
            Err(diagnostic) => {
                self.errors.push(diagnostic);
                return;
            }
        };
        let includes: Vec<(String, Location)> = std::mem::take(&mut raw.include)
            .into_iter()
            .map(|inc| {
                (
                    inc.get_ref().clone(),
                    Location::from_offset(&text, inc.span().start),
                )
            })
            .collect();
        let file = SourceFile {
            path: path.to_path_buf(),
            name,
            text,
            raw,
        };
        if !is_entry {
            self.errors.extend(entry_only_keys(&file));
        }
        let name = file.name.clone();
        self.files.push(file);

        let dir = path.parent().unwrap_or(Path::new(""));
        for (i, (include, location)) in includes.into_iter().enumerate() {
            let error = |message: String| Diagnostic {
                file: name.clone(),
                key: Some(format!("include[{i}]")),
                location: Some(location),
                message,
            };
            if include.trim().is_empty() {
                self.errors
                    .push(error("expected a file path, got \"\"".to_owned()));
                continue;
            }
            let child = dir.join(&include);
            let child_name = child.display().to_string();
            let id = identity(&child);
            if let Some(pos) = self.stack.iter().position(|(seen, _)| *seen == id) {
                let mut chain: Vec<&str> =
                    self.stack[pos..].iter().map(|(_, n)| n.as_str()).collect();
                chain.push(&child_name);
                self.errors
                    .push(error(format!("include cycle: {}", chain.join(" -> "))));
                continue;
            }
            if let Some(by) = self.seen.get(&id) {
                self.errors.push(error(format!(
                    "\"{child_name}\" is already included by {by}; include each file once"
                )));
                continue;
            }
            let child_text = match fs::read_to_string(&child) {
                Ok(text) => text,
                Err(e) => {
                    self.errors.push(error(format!(
                        "cannot read included file \"{child_name}\": {e}"
                    )));
                    continue;
                }
            };
            self.seen.insert(id.clone(), name.clone());
            self.stack.push((id, child_name));
            self.visit(&child, child_text, false);
            self.stack.pop();
        }
    }
}

/// A path's identity for cycle and repeat detection: canonical when the file exists.
fn identity(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The entry file must say `version = 1`; checked before anything else so that a file
/// of another version gets one clear message.
fn check_version(name: &str, text: &str) -> Result<(), Diagnostic> {
    // A syntax error is reported by the full parse that follows.
    let Ok(RawVersion { version }) = toml::from_str::<RawVersion>(text) else {
        return Ok(());
    };
    let (location, message) = match version {
        Some(v) if v.get_ref().as_integer() == Some(VERSION) => return Ok(()),
        Some(v) => (
            Some(Location::from_offset(text, v.span().start)),
            format!(
                "expected {VERSION}, the configuration version this Lifeline reads, got {}",
                v.get_ref()
            ),
        ),
        None => (
            None,
            format!("missing; the entry file must declare `version = {VERSION}`"),
        ),
    };
    Err(Diagnostic {
        file: name.to_owned(),
        key: Some("version".to_owned()),
        location,
        message,
    })
}

/// Parses one file into its raw shape.
fn parse(name: &str, text: &str) -> Result<RawFile, Diagnostic> {
    let deserializer =
        toml::de::Deserializer::parse(text).map_err(|e| toml_diagnostic(name, text, None, &e))?;
    serde_path_to_error::deserialize(deserializer)
        .map_err(|e| toml_diagnostic(name, text, key_path(e.path()), e.inner()))
}

fn toml_diagnostic(
    name: &str,
    text: &str,
    key: Option<String>,
    error: &toml::de::Error,
) -> Diagnostic {
    // serde quotes with backticks; TOML users read double quotes.
    let mut message = error.message().trim_end().replace('`', "\"");
    let mut key = key;
    // `server: missing field "sip_listen"` reads better as `server.sip_listen: missing`.
    if let Some(field) = message
        .strip_prefix("missing field \"")
        .and_then(|m| m.strip_suffix('"'))
    {
        key = Some(match key {
            Some(table) => format!("{table}.{field}"),
            None => field.to_owned(),
        });
        message = "missing; this key is required".to_owned();
    }
    // Rust type names mean nothing to someone editing TOML.
    for (rust, toml) in [
        ("expected u8", "expected an integer from 0 to 255"),
        ("expected u32", "expected an integer from 0 to 4294967295"),
        ("expected i64", "expected an integer"),
        ("expected f64", "expected a number"),
    ] {
        if let Some(start) = message.strip_suffix(rust) {
            message = format!("{start}{toml}");
        }
    }
    Diagnostic {
        file: name.to_owned(),
        key,
        location: error
            .span()
            .map(|span| Location::from_offset(text, span.start)),
        message,
    }
}

/// `numbers[1].kind` from serde's path, without the segments `Spanned` adds.
fn key_path(path: &serde_path_to_error::Path) -> Option<String> {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if key.starts_with("$__serde_spanned_private") {
                    continue;
                }
                if !out.is_empty() {
                    out.push('.');
                }
                let bare = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if bare {
                    out.push_str(key);
                } else {
                    let _ = write!(out, "{key:?}");
                }
            }
            Segment::Unknown => {}
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `version`, `[server]` and `[sip]` in an included file.
fn entry_only_keys(file: &SourceFile) -> Vec<Diagnostic> {
    let raw = &file.raw;
    let mut errors = Vec::new();
    if let Some(version) = &raw.version {
        errors.push(file.diagnostic(
            "version",
            Some(version.span()),
            "belongs in the entry file only, not in an included file",
        ));
    }
    for (key, span) in [
        ("server", raw.server.as_ref().map(|s| s.span())),
        ("sip", raw.sip.as_ref().map(|s| s.span())),
    ] {
        if let Some(span) = span {
            errors.push(file.diagnostic(
                key,
                Some(span),
                format!(
                    "the [{key}] table belongs in the entry file only, not in an included file"
                ),
            ));
        }
    }
    errors
}
