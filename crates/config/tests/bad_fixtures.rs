//! Every file in `tests/bad/` is wrong on purpose, with one defect, and names on its
//! first line the message it must produce: `# expect: SUBSTRING`. Helper files that
//! bad fixtures include live in `tests/bad/inc/`.

use std::path::{Path, PathBuf};

use lifeline_config::load;

fn fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir("tests/bad")
        .expect("tests/bad is readable")
        .map(|entry| entry.expect("tests/bad lists").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn each_bad_fixture_fails_with_its_one_expected_message() {
    let paths = fixtures();
    assert!(paths.len() >= 30, "fixtures went missing: {}", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let expected = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# expect: "))
            .unwrap_or_else(|| {
                panic!("{}: first line must be `# expect: MESSAGE`", path.display())
            });
        match load(path) {
            Ok(_) => failures.push(format!("{}: loaded without error", path.display())),
            Err(error) if error.diagnostics().len() != 1 => {
                failures.push(format!(
                    "{}: expected one problem, got:\n{error}",
                    path.display()
                ));
            }
            Err(error) if !error.to_string().contains(expected) => failures.push(format!(
                "{}:\n  expected: {expected}\n  got:      {error}",
                path.display()
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn missing_entry_file_is_reported() {
    let error = load(Path::new("tests/bad/no-such-file.toml")).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("tests/bad/no-such-file.toml: cannot read file: "),
        "{error}"
    );
}
