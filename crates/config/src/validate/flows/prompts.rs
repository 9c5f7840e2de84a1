//! Prompt files: a prompt named `NAME` is `prompts/NAME.wav` beside the entry file,
//! and must exist as 8000 Hz mono 16-bit PCM WAV, what media plays. Each file is
//! checked once however many nodes use it; the node checks report through the
//! helpers here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::FlowContext;
use crate::load::SourceFile;
use crate::raw::SpannedList;
use crate::validate::Validator;

/// Prompt files: `<dir>/<name>.wav`, each checked once.
pub(in crate::validate) struct Prompts {
    pub(super) dir: PathBuf,
    checked: HashMap<String, Result<(), String>>,
}

impl Prompts {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            checked: HashMap::new(),
        }
    }

    /// Whether prompt `name` has a usable file; otherwise what is wrong.
    pub(super) fn check(&mut self, name: &str) -> Result<(), String> {
        if let Some(result) = self.checked.get(name) {
            return result.clone();
        }
        let result = if is_prompt_name(name) {
            let path = self.dir.join(format!("{name}.wav"));
            check_wav(&path).map_err(|e| format!("prompt {name:?}: {e}"))
        } else {
            Err(format!(
                "expected a prompt name (letters, digits, \"_\" or \"-\"; the file is {}/NAME.wav), got {name:?}",
                self.dir.display()
            ))
        };
        self.checked.insert(name.to_owned(), result.clone());
        result
    }
}

fn is_prompt_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A prompt file must be a WAV file of 8000 Hz mono 16-bit PCM, what media plays.
fn check_wav(path: &Path) -> Result<(), String> {
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{shown} does not exist"));
        }
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
    };
    let not_wav = || format!("{shown} is not a WAV file (RIFF/WAVE with a fmt chunk)");
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(not_wav());
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let size = usize::try_from(u32_at(at + 4)).unwrap_or(usize::MAX);
        if &bytes[at..at + 4] == b"fmt " {
            if size < 16 || at + 8 + 16 > bytes.len() {
                return Err(not_wav());
            }
            let body = at + 8;
            let (format, channels, rate, bits) = (
                u16_at(body),
                u16_at(body + 2),
                u32_at(body + 4),
                u16_at(body + 14),
            );
            // 1: PCM; 0xFFFE: WAVE_FORMAT_EXTENSIBLE, which sox writes for some files.
            let pcm = format == 1 || format == 0xFFFE;
            if pcm && channels == 1 && rate == 8000 && bits == 16 {
                return Ok(());
            }
            return Err(format!(
                "{shown} must be 8000 Hz mono 16-bit PCM, it is {rate} Hz, {channels} channel(s), {bits}-bit{}",
                if pcm { "" } else { ", not PCM" }
            ));
        }
        at = at.saturating_add(8).saturating_add(size + size % 2);
    }
    Err(not_wav())
}

impl Validator {
    /// Prompts that must not be empty (a `play`, `menu` or `collect` node says something).
    pub(super) fn non_empty_prompts(
        &mut self,
        file: &SourceFile,
        key: &str,
        list: Option<&SpannedList>,
        ctx: &mut FlowContext<'_>,
    ) -> Option<Vec<String>> {
        let list = list?;
        if list.get_ref().is_empty() {
            let message = "expected at least one prompt".to_owned();
            self.error(file, key, Some(list.span()), message);
            return None;
        }
        self.prompt_list(file, key, Some(list), ctx)
    }

    pub(super) fn prompt_list(
        &mut self,
        file: &SourceFile,
        key: &str,
        list: Option<&SpannedList>,
        ctx: &mut FlowContext<'_>,
    ) -> Option<Vec<String>> {
        let Some(list) = list else {
            return Some(Vec::new());
        };
        let mut ok = true;
        for (i, prompt) in list.get_ref().iter().enumerate() {
            ok &= self.prompt(file, &format!("{key}[{i}]"), prompt, ctx);
        }
        ok.then(|| list.get_ref().iter().map(|p| p.get_ref().clone()).collect())
    }

    pub(super) fn prompt(
        &mut self,
        file: &SourceFile,
        key: &str,
        prompt: &Spanned<String>,
        ctx: &mut FlowContext<'_>,
    ) -> bool {
        match ctx.prompts.check(prompt.get_ref()) {
            Ok(()) => true,
            Err(message) => {
                self.error(file, key, Some(prompt.span()), message);
                false
            }
        }
    }
}
