//! `xs:dateTime` parsing for SAML timestamps, to milliseconds since the Unix epoch.
//!
//! SAML times are UTC (`Z`); an explicit `±hh:mm` offset is honoured and a missing zone is read
//! as UTC. Fractions beyond milliseconds are truncated. No clock is read here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type UnixMillis = i64;

/// Parses an `xs:dateTime` such as `2024-04-25T20:31:55.494Z`.
pub fn parse_datetime(s: &str) -> Result<UnixMillis> {
    parse_inner(s).ok_or_else(|| Error::BadTime(s.chars().take(64).collect()))
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_inner(s: &str) -> Option<UnixMillis> {
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-');
    let (y, mo, da) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || y.len() != 4 || mo.len() != 2 || da.len() != 2 {
        return None;
    }
    let (year, month, day) = (digits(y)?, digits(mo)?, digits(da)?);
    // Split off the zone designator.
    let (clock, offset_min) = if let Some(c) = time.strip_suffix('Z') {
        (c, 0)
    } else if let Some(pos) = time.rfind(['+', '-']) {
        let (c, z) = time.split_at(pos);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (hh, mm) = z.get(1..)?.split_once(':')?;
        if hh.len() != 2 || mm.len() != 2 {
            return None;
        }
        let (hh, mm) = (digits(hh)?, digits(mm)?);
        if hh > 14 || mm > 59 {
            return None;
        }
        (c, sign * (hh * 60 + mm))
    } else {
        (time, 0)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    let mut t = hms.split(':');
    let (h, mi, se) = (t.next()?, t.next()?, t.next()?);
    if t.next().is_some() || h.len() != 2 || mi.len() != 2 || se.len() != 2 {
        return None;
    }
    let (hour, minute, second) = (digits(h)?, digits(mi)?, digits(se)?);
    let millis = match frac {
        None => 0,
        Some(f) => {
            digits(f)?;
            let mut ms: String = f.chars().take(3).collect();
            while ms.len() < 3 {
                ms.push('0');
            }
            digits(&ms)?
        }
    };
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1000 + millis)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Formats an instant as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, UTC), as SAML messages use.
pub fn format_datetime(t: SystemTime) -> String {
    let secs = to_millis(t).div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Converts a `SystemTime` to [`UnixMillis`] (saturating).
pub fn to_millis(t: SystemTime) -> UnixMillis {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis())
            .map(|v| -v)
            .unwrap_or(i64::MIN),
    }
}

/// Converts [`UnixMillis`] back to a `SystemTime`.
pub fn from_millis(ms: UnixMillis) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_saml_times() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_datetime("2024-04-25T20:31:55.494Z").unwrap(),
            1_714_077_115_494
        );
        assert_eq!(
            parse_datetime("2024-04-25T20:31:55.4949999Z").unwrap(),
            1_714_077_115_494
        );
        assert_eq!(
            parse_datetime("2024-04-25T22:31:55.494+02:00").unwrap(),
            1_714_077_115_494
        );
        assert_eq!(
            parse_datetime("2024-04-25T20:31:55.494").unwrap(),
            1_714_077_115_494
        );
        assert_eq!(
            parse_datetime("2000-02-29T00:00:00Z").unwrap(),
            951_782_400_000
        );
    }

    #[test]
    fn refuses_bad_times() {
        for bad in [
            "2025-13-40T99:00:00Z",
            "2023-02-29T00:00:00Z",
            "",
            "2024-04-25",
            "2024-4-25T20:31:55Z",
            "2024-04-25T20:31:55.Z",
            "x",
        ] {
            assert_eq!(
                parse_datetime(bad).unwrap_err().code(),
                "saml.bad_time",
                "{bad}"
            );
        }
    }

    #[test]
    fn system_time_round_trip() {
        let t = from_millis(1_714_077_115_494);
        assert_eq!(to_millis(t), 1_714_077_115_494);
        assert_eq!(format_datetime(t), "2024-04-25T20:31:55Z");
        assert_eq!(
            format_datetime(from_millis(951_782_400_000)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(format_datetime(from_millis(0)), "1970-01-01T00:00:00Z");
    }
}
