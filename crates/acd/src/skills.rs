//! Skills as bit sets. Skill names are interned once (when an agent is configured or a
//! caller joins), so checking "does this agent have all the caller's skills" on the
//! decision path is a few word operations instead of string comparisons.

use std::collections::HashMap;

/// Interns skill names to bit positions.
#[derive(Debug, Default)]
pub(crate) struct SkillTable {
    ids: HashMap<String, usize>,
}

impl SkillTable {
    /// The set of these skills, interning new names.
    pub(crate) fn set<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> SkillSet {
        let mut set = SkillSet::default();
        for name in names {
            let next = self.ids.len();
            let id = *self.ids.entry(name.to_owned()).or_insert(next);
            set.insert(id);
        }
        set
    }
}

/// A set of interned skills.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SkillSet {
    words: Vec<u64>,
}

impl SkillSet {
    fn insert(&mut self, id: usize) {
        let word = id / 64;
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (id % 64);
    }

    /// Whether every skill of `self` is in `other`.
    pub(crate) fn is_subset(&self, other: &SkillSet) -> bool {
        self.words.iter().enumerate().all(|(i, &word)| {
            let theirs = other.words.get(i).copied().unwrap_or(0);
            word & !theirs == 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_across_words() {
        let mut table = SkillTable::default();
        let names: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
        let all = table.set(names.iter().map(String::as_str));
        let some = table.set(["s3", "s99"]);
        let none = table.set([]);
        assert!(some.is_subset(&all));
        assert!(!all.is_subset(&some));
        assert!(none.is_subset(&some));
        assert!(!table.set(["new"]).is_subset(&all));
    }
}
