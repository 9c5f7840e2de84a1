//! The prompt cache: every WAV in the configuration's prompts directory, decoded,
//! resampled to 8 kHz and pre-encoded once at startup, shared by all calls.

use std::collections::HashMap;
use std::sync::Arc;

use lifeline_config::Config;
use lifeline_media::wav::Prompt;

/// Prompts by name (the file name without `.wav`).
#[derive(Debug, Default)]
pub struct Prompts(HashMap<String, Arc<Prompt>>);

impl Prompts {
    /// Loads every `*.wav` of `config.prompts_dir()`. A file that fails to load is
    /// logged and left out (config validation has already checked the ones flows use).
    pub fn load(config: &Config) -> Prompts {
        let mut map = HashMap::new();
        let Ok(dir) = std::fs::read_dir(config.prompts_dir()) else {
            tracing::warn!(dir = %config.prompts_dir().display(), "no prompts directory");
            return Prompts(map);
        };
        for entry in dir.flatten() {
            let path = entry.path();
            let Some(name) = path.file_stem().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            if path.extension().is_none_or(|e| e != "wav") {
                continue;
            }
            match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| Prompt::from_wav(&b).map_err(|e| e.to_string()))
            {
                Ok(p) => {
                    map.insert(name, Arc::new(p));
                }
                Err(e) => tracing::warn!(file = %path.display(), error = %e, "prompt not loaded"),
            }
        }
        tracing::info!(prompts = map.len(), "prompts loaded");
        Prompts(map)
    }

    /// The prompt called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Prompt>> {
        self.0.get(name).cloned()
    }
}
