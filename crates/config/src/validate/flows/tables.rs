//! Checking `[[tables]]`: each names a CSV file, read beside the file that defines
//! it, that `query` nodes look keys up in. Problems inside the CSV are reported in
//! the CSV itself.

use std::collections::HashMap;
use std::path::Path;

use crate::flow::{Table, parse_table};
use crate::load::SourceFile;
use crate::raw::RawTable;
use crate::validate::{Definition, Validator};

impl Validator {
    pub(in crate::validate) fn table(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawTable,
        names: &mut HashMap<String, Definition>,
    ) -> Option<Table> {
        let name_key = format!("{key}.name");
        let mut ok = self.id(file, &name_key, &raw.name);
        ok &= self.define(
            names,
            file,
            &name_key,
            &raw.name,
            raw.name.get_ref().clone(),
            "table name",
        );
        let file_key = format!("{key}.file");
        if !self.non_empty(file, &file_key, &raw.file) {
            return None;
        }
        let dir = file.path.parent().unwrap_or(Path::new(""));
        let path = dir.join(raw.file.get_ref());
        let table = Table {
            name: raw.name.get_ref().clone(),
            path,
        };
        match std::fs::read_to_string(&table.path) {
            Ok(text) => {
                if let Err(mut diagnostic) = parse_table(&table.path.display().to_string(), &text) {
                    // Reported in the CSV file itself, where the problem is.
                    diagnostic.message = format!("table {:?}: {}", table.name, diagnostic.message);
                    self.errors.push(diagnostic);
                    ok = false;
                }
            }
            Err(e) => {
                let message = format!("cannot read table file \"{}\": {e}", table.path.display());
                self.error(file, &file_key, Some(raw.file.span()), message);
                ok = false;
            }
        }
        ok.then_some(table)
    }
}
