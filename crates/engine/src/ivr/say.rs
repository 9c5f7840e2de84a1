//! Reading values out as prompts.
//!
//! This module owns the expansion a `say` node plays between its prompts: a value read
//! as digits (`digit-0`…`digit-9`, `star`, `pound`) or as a number in English
//! (`3280.5` → three thousand two hundred eighty point five). Every prompt name it
//! produces is in [`SayAs::vocabulary`], which configuration validation checks for
//! files, so a loaded configuration can read any value.

use lifeline_config::SayAs;

// The words come from the configuration's lists, which validation checks for prompt
// files: `digit-0`…`digit-9`, then `ten`…`nineteen`, then `twenty`…`ninety`.
const DIGITS: &[&str] = SayAs::DIGIT_WORDS.split_at(10).0;
const TEENS: &[&str] = SayAs::NUMBER_WORDS.split_at(10).0;
const TENS: &[&str] = SayAs::NUMBER_WORDS.split_at(10).1.split_at(8).0;
/// Scale words for groups of three digits, lowest first.
const SCALES: [&str; 4] = ["", "thousand", "million", "billion"];

/// The prompts that read `value` out.
///
/// As digits, characters other than `0`–`9`, `*` and `#` are skipped. As a number, the
/// value is `[-]DIGITS[.DIGITS]`: the integer part is read in words up to
/// 999 999 999 999 (beyond, digit by digit), the fraction digit by digit after `point`
/// with trailing zeros dropped; anything else is read as digits.
pub fn expand(value: &str, as_: SayAs) -> Vec<&'static str> {
    match as_ {
        SayAs::Digits => digits(value),
        SayAs::Number => number(value.trim()).unwrap_or_else(|| digits(value)),
    }
}

fn digit(c: char) -> Option<&'static str> {
    c.to_digit(10)
        .and_then(|d| DIGITS.get(usize::try_from(d).ok()?))
        .copied()
}

fn digits(value: &str) -> Vec<&'static str> {
    value
        .chars()
        .filter_map(|c| match c {
            '*' => Some("star"),
            '#' => Some("pound"),
            c => digit(c),
        })
        .collect()
}

fn number(value: &str) -> Option<Vec<&'static str>> {
    let (negative, unsigned) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || unsigned.ends_with('.') {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = Vec::new();
    if negative && !(int.is_empty() && frac.is_empty()) {
        out.push("minus");
    }
    if int.is_empty() {
        out.push(DIGITS[0]);
    } else if int.len() > 3 * SCALES.len() {
        out.extend(digits(int));
    } else {
        integer(int, &mut out);
    }
    if !frac.is_empty() {
        out.push("point");
        out.extend(digits(frac));
    }
    Some(out)
}

/// Words for 1 to 999 999 999 999 given as digits without leading zeros.
fn integer(int: &str, out: &mut Vec<&'static str>) {
    let bytes = int.as_bytes();
    let groups = bytes.len().div_ceil(3);
    let first = bytes.len() - 3 * (groups - 1);
    for g in 0..groups {
        let (start, end) = if g == 0 {
            (0, first)
        } else {
            (first + 3 * (g - 1), first + 3 * g)
        };
        let value = bytes[start..end]
            .iter()
            .fold(0usize, |n, b| n * 10 + usize::from(b - b'0'));
        if value == 0 {
            continue;
        }
        hundreds(value, out);
        let scale = SCALES[groups - 1 - g];
        if !scale.is_empty() {
            out.push(scale);
        }
    }
}

/// Words for 1 to 999.
fn hundreds(value: usize, out: &mut Vec<&'static str>) {
    let (h, r) = (value / 100, value % 100);
    if h > 0 {
        out.extend([DIGITS[h], "hundred"]);
    }
    match r {
        0 => {}
        1..=9 => out.push(DIGITS[r]),
        10..=19 => out.push(TEENS[r - 10]),
        _ => {
            out.push(TENS[r / 10 - 2]);
            if r % 10 > 0 {
                out.push(DIGITS[r % 10]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(value: &str) -> String {
        expand(value, SayAs::Number)
            .iter()
            .map(|w| w.strip_prefix("digit-").unwrap_or(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn numbers_read_in_english() {
        for (value, expected) in [
            ("0", "0"),
            ("7", "7"),
            ("10", "ten"),
            ("13", "thirteen"),
            ("20", "twenty"),
            ("21", "twenty 1"),
            ("100", "1 hundred"),
            ("105", "1 hundred 5"),
            ("110", "1 hundred ten"),
            ("1000", "1 thousand"),
            ("1001", "1 thousand 1"),
            ("3280.5", "3 thousand 2 hundred eighty point 5"),
            ("3280.50", "3 thousand 2 hundred eighty point 5"),
            ("12850.4", "twelve thousand 8 hundred fifty point 4"),
            ("106000", "1 hundred 6 thousand"),
            ("45.08", "forty 5 point 0 8"),
            ("0.75", "0 point 7 5"),
            ("007", "7"),
            ("1000000", "1 million"),
            ("2000001", "2 million 1"),
            ("-5", "minus 5"),
            ("-0.0", "0"),
            (" 42 ", "forty 2"),
            (
                "999999999999",
                "9 hundred ninety 9 billion 9 hundred ninety 9 million 9 hundred ninety 9 thousand 9 hundred ninety 9",
            ),
            ("1000000000000", "1 0 0 0 0 0 0 0 0 0 0 0 0"),
        ] {
            assert_eq!(words(value), expected, "{value}");
        }
    }

    #[test]
    fn what_is_not_a_number_is_read_as_digits() {
        for (value, expected) in [
            ("12a3", "1 2 3"),
            ("1.2.3", "1 2 3"),
            ("5.", "5"),
            (".5", "5"),
            ("", ""),
            ("-", ""),
        ] {
            assert_eq!(words(value), expected, "{value}");
        }
    }

    #[test]
    fn digits_read_one_by_one_with_star_and_pound() {
        assert_eq!(
            expand("90*#x1", SayAs::Digits),
            ["digit-9", "digit-0", "star", "pound", "digit-1"]
        );
    }

    #[test]
    fn every_word_is_in_the_configured_vocabulary() {
        let vocabulary = SayAs::Number.vocabulary();
        let mut seen = std::collections::BTreeSet::new();
        // Every integer to 2 000, then a spread of larger values and decimals.
        let values = (0..2_000u64)
            .chain((0..60).map(|i| 7u64.pow(i % 15) * 13 + u64::from(i)))
            .map(|n| format!("{n}.{}", n % 1000));
        for value in values.chain(["-12".into()]) {
            for word in expand(&value, SayAs::Number) {
                assert!(vocabulary.contains(&word), "{value}: {word}");
                seen.insert(word);
            }
        }
        assert_eq!(
            seen.len(),
            vocabulary.len(),
            "unused: {vocabulary:?} vs {seen:?}"
        );
        let digit_vocabulary = SayAs::Digits.vocabulary();
        for word in expand("0123456789*#", SayAs::Digits) {
            assert!(digit_vocabulary.contains(&word), "{word}");
        }
    }
}
