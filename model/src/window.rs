//! locksmith reboot windows: a start (`Thu 04:00` or daily `04:00`) and a length (`1h30m`).

use std::fmt;

/// A day of the week, as locksmith's `window_start` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    /// Sunday.
    Sun,
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
}

const DAYS: [(Weekday, &str); 7] = [
    (Weekday::Sun, "Sun"),
    (Weekday::Mon, "Mon"),
    (Weekday::Tue, "Tue"),
    (Weekday::Wed, "Wed"),
    (Weekday::Thu, "Thu"),
    (Weekday::Fri, "Fri"),
    (Weekday::Sat, "Sat"),
];

const DAY: u64 = 24 * 3600;
const WEEK: u64 = 7 * DAY;

impl Weekday {
    /// The three-letter name.
    pub fn as_str(self) -> &'static str {
        DAYS[self as usize].1
    }
}

/// A locksmith reboot window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RebootWindow {
    /// The day the window opens; `None` opens it every day.
    pub day: Option<Weekday>,
    /// Minutes after midnight the window opens, below 1440.
    pub start_minute: u16,
    /// How long the window stays open, in seconds; above zero.
    pub length_secs: u64,
}

/// Why a reboot window failed to parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseWindowError(String);

impl fmt::Display for ParseWindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseWindowError {}

impl RebootWindow {
    /// Parses a window from locksmith's `window_start` and `window_length` forms.
    pub fn parse(start: &str, length: &str) -> Result<RebootWindow, ParseWindowError> {
        let (day, start_minute) = parse_start(start)?;
        let length_secs = parse_length(length)?;
        Ok(RebootWindow { day, start_minute, length_secs })
    }

    /// `window_start` as locksmith reads it, e.g. `Thu 04:00`.
    pub fn start_text(&self) -> String {
        let (h, m) = (self.start_minute / 60, self.start_minute % 60);
        match self.day {
            Some(day) => format!("{} {h:02}:{m:02}", day.as_str()),
            None => format!("{h:02}:{m:02}"),
        }
    }

    /// `window_length` as a Go duration, e.g. `1h30m`.
    pub fn length_text(&self) -> String {
        let (h, m, s) = (self.length_secs / 3600, self.length_secs % 3600 / 60, self.length_secs % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if s > 0 || out.is_empty() {
            out.push_str(&format!("{s}s"));
        }
        out
    }

    /// The spans of the week, in seconds from Sunday 00:00, during which the window is open.
    pub fn spans(&self) -> Vec<(u64, u64)> {
        let start = u64::from(self.start_minute) * 60;
        let length = self.length_secs.min(WEEK);
        let starts: Vec<u64> = match self.day {
            Some(day) => vec![day as u64 * DAY + start],
            None => (0..7).map(|d| d * DAY + start).collect(),
        };
        let mut spans = Vec::new();
        for s in starts {
            let end = s + length;
            if end <= WEEK {
                spans.push((s, end));
            } else {
                spans.push((s, WEEK));
                spans.push((0, end - WEEK));
            }
        }
        spans
    }

    /// Whether the two windows are ever open at the same time.
    pub fn overlaps(&self, other: &RebootWindow) -> bool {
        let (a, b) = (self.spans(), other.spans());
        a.iter().any(|&(s1, e1)| b.iter().any(|&(s2, e2)| s1 < e2 && s2 < e1))
    }
}

impl fmt::Display for RebootWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for {}", self.start_text(), self.length_text())
    }
}

fn parse_start(text: &str) -> Result<(Option<Weekday>, u16), ParseWindowError> {
    let bad = || {
        ParseWindowError(format!(
            "`{text}` is not a window start: write `HH:MM` for every day or `Day HH:MM`, e.g. `Thu 04:00`"
        ))
    };
    let (day, time) = match text.split_once(' ') {
        Some((day, time)) => {
            let day = DAYS.iter().find(|(_, name)| name.eq_ignore_ascii_case(day)).map(|(d, _)| *d).ok_or_else(bad)?;
            (Some(day), time)
        }
        None => (None, text),
    };
    let (h, m) = time.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((day, h * 60 + m))
}

fn parse_length(text: &str) -> Result<u64, ParseWindowError> {
    let bad = |why: &str| {
        ParseWindowError(format!(
            "`{text}` is not a window length: {why}; write a duration such as `1h`, `90m` or `1h30m`"
        ))
    };
    let mut rest = text;
    let mut total: f64 = 0.0;
    if rest.is_empty() {
        return Err(bad("it is empty"));
    }
    if rest.starts_with('-') {
        return Err(bad("it is negative"));
    }
    rest = rest.strip_prefix('+').unwrap_or(rest);
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        let value: f64 = number.parse().map_err(|_| bad("a number is missing"))?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            "" => return Err(bad("a unit is missing")),
            _ => return Err(bad("units are h, m, s, ms, us and ns")),
        };
        total += value * scale;
        rest = tail;
    }
    if total < 1.0 {
        return Err(bad("it is shorter than a second"));
    }
    Ok(total.round() as u64)
}

/// The serde form of a window: `{ start: "Thu 04:00", length: "1h" }`, as locksmith spells them.
#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct WindowForm {
    start: String,
    length: String,
}

#[cfg(feature = "serde")]
impl serde::Serialize for RebootWindow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WindowForm { start: self.start_text(), length: self.length_text() }.serialize(serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for RebootWindow {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RebootWindow, D::Error> {
        let form = WindowForm::deserialize(deserializer)?;
        RebootWindow::parse(&form.start, &form.length).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start: &str, length: &str) -> RebootWindow {
        RebootWindow::parse(start, length).expect("valid window")
    }

    #[test]
    fn parses_locksmith_forms() {
        let window = w("thu 4:00", "1h30m");
        assert_eq!(window.day, Some(Weekday::Thu));
        assert_eq!(window.start_minute, 240);
        assert_eq!(window.length_secs, 5400);
        assert_eq!(window.start_text(), "Thu 04:00");
        assert_eq!(window.length_text(), "1h30m");
        assert_eq!(w("23:59", "90s").length_text(), "1m30s");
    }

    #[test]
    fn rejects_bad_forms() {
        for (start, length) in [
            ("Thu 24:00", "1h"),
            ("Someday 04:00", "1h"),
            ("04", "1h"),
            ("04:00", "1d"),
            ("04:00", "-1h"),
            ("04:00", "h"),
        ] {
            assert!(RebootWindow::parse(start, length).is_err(), "{start} {length}");
        }
    }

    #[test]
    fn overlap_follows_the_week() {
        assert!(!w("Mon 04:00", "1h").overlaps(&w("Tue 04:00", "1h")));
        assert!(w("Mon 04:00", "2h").overlaps(&w("Mon 05:00", "1h")));
        assert!(w("04:00", "1h").overlaps(&w("Wed 04:30", "1h")), "a daily window meets every day");
        assert!(w("Sat 23:00", "2h").overlaps(&w("Sun 00:30", "1h")), "windows wrap around the week");
        assert!(!w("Mon 04:00", "1h").overlaps(&w("Mon 05:00", "1h")), "touching windows do not overlap");
    }
}
