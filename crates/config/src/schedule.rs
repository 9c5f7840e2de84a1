//! Opening hours.
//!
//! This module owns the [`Schedule`] type that an IVR `hours` node consults: weekly
//! opening hours in a fixed UTC offset, holidays (closed all day) and extra working days
//! (a weekend day worked in exchange for a holiday, open with Monday's hours). It also
//! parses the `"HH:MM-HH:MM"` ranges and `"YYYY-MM-DD"` dates of the configuration.
//! Everything here is pure: [`Schedule::is_open`] takes the time as an argument.

use std::collections::BTreeSet;
use std::fmt;

/// The weekday names used as schedule keys, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// The year, such as 2026.
    pub year: i32,
    /// The month, 1–12.
    pub month: u8,
    /// The day of the month, 1–31.
    pub day: u8,
}

impl Date {
    /// Parses `"YYYY-MM-DD"`, rejecting dates that do not exist (`2026-02-30`).
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = text.get(range)?;
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let year = i32::try_from(number(0..4)?).ok()?;
        let month = u8::try_from(number(5..7)?).ok()?;
        let day = u8::try_from(number(8..10)?).ok()?;
        let date = Date { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(date)
    }

    /// The date `days` days after 1970-01-01 (negative: before).
    pub fn from_days_since_epoch(days: i64) -> Date {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Opening hours within one day, in minutes after local midnight: open from `start`
/// (inclusive) to `end` (exclusive); `end` may be 1440 (`"24:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeRange {
    /// Opening minute of the day, 0–1439.
    pub start: u16,
    /// Closing minute of the day, 1–1440, after `start`.
    pub end: u16,
}

impl TimeRange {
    /// Parses `"08:30-12:00"`; `"24:00"` is allowed as the end. The error says what is
    /// wrong.
    pub fn parse(text: &str) -> Result<TimeRange, String> {
        let expected = || format!("expected \"HH:MM-HH:MM\" such as \"08:30-12:00\", got {text:?}");
        let (start, end) = text.split_once('-').ok_or_else(expected)?;
        let minute = |part: &str| -> Option<u16> {
            let (h, m) = part.split_once(':')?;
            if h.len() != 2
                || m.len() != 2
                || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
        };
        let (Some(start), Some(end)) = (minute(start), minute(end)) else {
            return Err(expected());
        };
        if start >= end {
            return Err(format!(
                "expected the end after the start, got {text:?}; a range over midnight is two ranges on two days"
            ));
        }
        Ok(TimeRange { start, end })
    }

    fn contains(&self, minute: u16) -> bool {
        (self.start..self.end).contains(&minute)
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.start), hm(self.end))
    }
}

/// A `[[schedules]]` entry: when a service is open, for IVR `hours` nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The schedule's name, referenced by `hours` nodes.
    pub name: String,
    /// The local time's offset from UTC in minutes (480 for China, UTC+8). Fixed: a
    /// zone with daylight saving time needs one schedule per season.
    pub utc_offset_minutes: i32,
    /// Opening hours per weekday, Monday first, each day's ranges ascending and
    /// disjoint; an empty day is closed.
    pub weekly: [Vec<TimeRange>; 7],
    /// Days closed all day whatever their weekday.
    pub holidays: BTreeSet<Date>,
    /// Extra working days (weekend days worked in exchange for a holiday), open with
    /// Monday's hours.
    pub extra_workdays: BTreeSet<Date>,
}

impl Schedule {
    /// Whether the schedule is open at `unix_secs` (seconds since 1970-01-01 UTC).
    pub fn is_open(&self, unix_secs: i64) -> bool {
        let local = unix_secs.saturating_add(i64::from(self.utc_offset_minutes) * 60);
        let days = local.div_euclid(86_400);
        let minute = u16::try_from(local.rem_euclid(86_400) / 60).unwrap_or(0);
        let date = Date::from_days_since_epoch(days);
        if self.holidays.contains(&date) {
            return false;
        }
        // 1970-01-01 was a Thursday (index 3, Monday first).
        let weekday = usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
        let day = if self.extra_workdays.contains(&date) {
            &self.weekly[0]
        } else {
            &self.weekly[weekday]
        };
        day.iter().any(|range| range.contains(minute))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office() -> Schedule {
        let day = vec![
            TimeRange::parse("08:30-12:00").unwrap(),
            TimeRange::parse("13:30-17:30").unwrap(),
        ];
        Schedule {
            name: "office".into(),
            utc_offset_minutes: 480,
            weekly: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                vec![],
                vec![],
            ],
            holidays: [Date::parse("2026-10-01").unwrap()].into(),
            extra_workdays: [Date::parse("2026-09-27").unwrap()].into(),
        }
    }

    /// Unix seconds of a local time in UTC+8.
    fn cst(date: &str, hh: i64, mm: i64) -> i64 {
        let d = Date::parse(date).unwrap();
        let mut days = 0i64;
        // Search from the epoch; dates in tests are near 2026.
        while Date::from_days_since_epoch(days) != d {
            days += 1;
        }
        days * 86_400 + hh * 3600 + mm * 60 - 8 * 3600
    }

    #[test]
    fn dates_parse_and_round_trip_through_day_numbers() {
        assert_eq!(Date::from_days_since_epoch(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days_since_epoch(-1).to_string(), "1969-12-31");
        assert_eq!(
            Date::from_days_since_epoch(20_514).to_string(),
            "2026-03-02"
        );
        assert_eq!(Date::parse("2024-02-29").unwrap().day, 29);
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "2026-01-00",
            "+026-01-01",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn time_ranges_parse_strictly() {
        let r = TimeRange::parse("00:00-24:00").unwrap();
        assert_eq!((r.start, r.end), (0, 1440));
        assert_eq!(
            TimeRange::parse("08:30-12:00").unwrap().to_string(),
            "08:30-12:00"
        );
        for bad in [
            "8:30-12:00",
            "08:30",
            "08:60-09:00",
            "24:30-24:40",
            "12:00-08:30",
            "09:00-09:00",
            "aa:bb-cc:dd",
        ] {
            assert!(TimeRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn office_hours_follow_local_time_weekdays_and_holidays() {
        let s = office();
        // Monday 2026-03-02.
        assert!(!s.is_open(cst("2026-03-02", 8, 29)));
        assert!(s.is_open(cst("2026-03-02", 8, 30)));
        assert!(s.is_open(cst("2026-03-02", 11, 59)));
        assert!(!s.is_open(cst("2026-03-02", 12, 0)));
        assert!(s.is_open(cst("2026-03-02", 17, 29)));
        assert!(!s.is_open(cst("2026-03-02", 17, 30)));
        assert!(!s.is_open(cst("2026-03-02", 23, 0)));
        // Saturday, Sunday.
        assert!(!s.is_open(cst("2026-03-07", 10, 0)));
        assert!(!s.is_open(cst("2026-03-08", 10, 0)));
        // A Thursday holiday, and a Sunday worked.
        assert!(!s.is_open(cst("2026-10-01", 10, 0)));
        assert!(s.is_open(cst("2026-09-27", 10, 0)));
        assert!(!s.is_open(cst("2026-09-27", 12, 30)));
    }
}
