//! Checking `[[schedules]]`: the UTC offset, weekly hours in order without overlap,
//! and holiday and extra-workday dates. Flows' `hours` nodes use the schedules built
//! here; a broken one is reported here only.

use std::collections::{BTreeSet, HashMap};

use toml::Spanned;

use crate::load::SourceFile;
use crate::raw::RawSchedule;
use crate::schedule::{Date, Schedule, TimeRange, WEEKDAYS};
use crate::validate::{Definition, Validator};

impl Validator {
    pub(in crate::validate) fn schedule(
        &mut self,
        file: &SourceFile,
        key: &str,
        raw: &RawSchedule,
        names: &mut HashMap<String, Definition>,
    ) -> Option<Schedule> {
        let name_key = format!("{key}.name");
        let mut ok = self.id(file, &name_key, &raw.name);
        let name = raw.name.get_ref().clone();
        ok &= self.define(
            names,
            file,
            &name_key,
            &raw.name,
            name.clone(),
            "schedule name",
        );
        let offset = *raw.utc_offset_minutes.get_ref();
        if !(-720..=840).contains(&offset) {
            let message = format!(
                "expected minutes from -720 to 840 (UTC-12:00 to UTC+14:00; 480 is UTC+8), got {offset}"
            );
            let span = Some(raw.utc_offset_minutes.span());
            self.error(file, &format!("{key}.utc_offset_minutes"), span, message);
            ok = false;
        }
        let days = [
            &raw.mon, &raw.tue, &raw.wed, &raw.thu, &raw.fri, &raw.sat, &raw.sun,
        ];
        let mut weekly: [Vec<TimeRange>; 7] = Default::default();
        for ((day, ranges), out) in WEEKDAYS.iter().zip(days).zip(&mut weekly) {
            let Some(ranges) = ranges else { continue };
            let mut last: Option<TimeRange> = None;
            for (i, text) in ranges.get_ref().iter().enumerate() {
                let range_key = format!("{key}.{day}[{i}]");
                match TimeRange::parse(text.get_ref()) {
                    Ok(range) => {
                        if let Some(prev) = last.filter(|prev| range.start < prev.end) {
                            let message = format!(
                                "expected ranges in order without overlap; {range} starts before {prev} ends"
                            );
                            self.error(file, &range_key, Some(text.span()), message);
                            ok = false;
                        }
                        last = Some(range);
                        out.push(range);
                    }
                    Err(message) => {
                        self.error(file, &range_key, Some(text.span()), message);
                        ok = false;
                    }
                }
            }
        }
        let holidays = self.dates(file, key, "holidays", &raw.holidays, &mut ok);
        let extra_workdays = self.dates(file, key, "extra_workdays", &raw.extra_workdays, &mut ok);
        for (i, text) in raw.extra_workdays.iter().enumerate() {
            if Date::parse(text.get_ref()).is_some_and(|d| holidays.contains(&d)) {
                let message = format!("{} is also listed in holidays", text.get_ref());
                self.error(
                    file,
                    &format!("{key}.extra_workdays[{i}]"),
                    Some(text.span()),
                    message,
                );
                ok = false;
            }
        }
        if let Some(first) = raw.extra_workdays.first()
            && weekly[0].is_empty()
        {
            let message =
                "extra workdays open with Monday's hours, and \"mon\" has none".to_owned();
            self.error(
                file,
                &format!("{key}.extra_workdays"),
                Some(first.span()),
                message,
            );
            ok = false;
        }
        ok.then(|| Schedule {
            name,
            utc_offset_minutes: i32::try_from(offset).unwrap_or(0),
            weekly,
            holidays,
            extra_workdays,
        })
    }

    fn dates(
        &mut self,
        file: &SourceFile,
        key: &str,
        field: &str,
        list: &[Spanned<String>],
        ok: &mut bool,
    ) -> BTreeSet<Date> {
        let mut out = BTreeSet::new();
        for (i, text) in list.iter().enumerate() {
            let message = match Date::parse(text.get_ref()) {
                Some(date) if out.insert(date) => continue,
                Some(_) => format!("{} is listed twice", text.get_ref()),
                None => format!(
                    "expected a date \"YYYY-MM-DD\" such as \"2026-10-01\", got {:?}",
                    text.get_ref()
                ),
            };
            self.error(
                file,
                &format!("{key}.{field}[{i}]"),
                Some(text.span()),
                message,
            );
            *ok = false;
        }
        out
    }
}
