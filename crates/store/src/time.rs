//! Owns [`Timestamp`], the store's only notion of time: whole milliseconds since the Unix
//! epoch, given by the caller (the store never reads the clock), stored as an integer and
//! rendered as RFC 3339 UTC with milliseconds (`2026-11-21T21:44:01.123Z`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

const MS_PER_DAY: i64 = 86_400_000;

/// A point in time: whole milliseconds since 1970-01-01T00:00:00Z (negative before it).
///
/// [`Display`](fmt::Display) and [`Serialize`] render it as RFC 3339 UTC with exactly three
/// fractional digits, e.g. `2026-11-21T21:44:01.123Z`. Years outside 0000–9999 (which
/// RFC 3339 cannot express) are printed with their sign and more digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The timestamp `ms` milliseconds after the Unix epoch.
    pub const fn from_unix_ms(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    /// Converts a [`SystemTime`], truncating to the millisecond (towards the past) and
    /// saturating at the limits of `i64` milliseconds (about ±292 million years).
    pub fn from_system_time(time: SystemTime) -> Self {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Self(i64::try_from(after.as_millis()).unwrap_or(i64::MAX)),
            Err(before) => {
                let before = before.duration();
                let whole_ms = i64::try_from(before.as_millis()).unwrap_or(i64::MAX);
                // Truncating towards the past: 0.5 ms before the epoch is -1 ms.
                let partial = before.subsec_nanos() % 1_000_000 != 0;
                Self((-whole_ms).saturating_sub(i64::from(partial)))
            }
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        Self::from_system_time(time)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let (hour, minute) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
        let (second, milli) = (ms_of_day / 1_000 % 60, ms_of_day % 1_000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z"
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The proleptic Gregorian date `(year, month 1–12, day 1–31)` of the day `days` after
/// 1970-01-01. Howard Hinnant's `civil_from_days`: shift to eras of 400 years starting on
/// March 1st, so that the leap day is the last day of a year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11]
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1; // [1, 31]
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    debug_assert!((1..=12).contains(&month) && (1..=31).contains(&day));
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn rfc3339(ms: i64) -> String {
        Timestamp::from_unix_ms(ms).to_string()
    }

    /// Independent inverse (days since 1970-01-01 of a civil date), by counting.
    fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn is_leap(year: i64) -> bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    fn days_in_month(year: i64, month: u32) -> u32 {
        match month {
            2 if is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn known_instants_render_as_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1), "1970-01-01T00:00:00.001Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_297_441_123), "2026-11-21T21:44:01.123Z");
        assert_eq!(rfc3339(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(rfc3339(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(rfc3339(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(-62_167_219_200_000), "0000-01-01T00:00:00.000Z");
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        // Only the shape matters here: no panic, a date and a time of day.
        assert!(rfc3339(i64::MAX).ends_with("Z"));
        assert!(rfc3339(i64::MIN).starts_with('-'));
    }

    #[test]
    fn every_day_of_eleven_thousand_years_is_the_next_calendar_day() {
        // From 3470 BCE to 7500 CE, each day follows the previous one on the calendar and
        // inverts exactly.
        let (mut year, mut month, mut day) = civil_from_days(-2_000_000);
        assert_eq!(days_from_civil(year, month, day), -2_000_000);
        for days in -1_999_999..=2_000_000 {
            let next = civil_from_days(days);
            let expected = if day < days_in_month(year, month) {
                (year, month, day + 1)
            } else if month < 12 {
                (year, month + 1, 1)
            } else {
                (year + 1, 1, 1)
            };
            assert_eq!(next, expected, "day {days}");
            assert_eq!(days_from_civil(next.0, next.1, next.2), days);
            (year, month, day) = next;
        }
    }

    #[test]
    fn system_time_truncates_towards_the_past() {
        let after = UNIX_EPOCH + Duration::from_micros(1_795_297_441_123_999);
        assert_eq!(Timestamp::from(after).unix_ms(), 1_795_297_441_123);
        assert_eq!(
            Timestamp::from(UNIX_EPOCH - Duration::from_micros(500)).unix_ms(),
            -1
        );
        assert_eq!(
            Timestamp::from(UNIX_EPOCH - Duration::from_millis(2)).unix_ms(),
            -2
        );
        assert_eq!(Timestamp::from(UNIX_EPOCH).unix_ms(), 0);
    }

    #[test]
    fn serializes_as_a_json_string() {
        let json = serde_json::to_string(&Timestamp::from_unix_ms(1_795_297_441_123));
        assert_eq!(json.unwrap(), "\"2026-11-21T21:44:01.123Z\"");
    }
}
