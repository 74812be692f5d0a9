//! Durations written as Go (and so helm's `--timeout`) writes them: `90s`, `10m`, `1h30m`, `1.5h`, `250ms`, `0`.

use std::time::Duration;

/// The units Go accepts, in nanoseconds.
const UNITS: &[(&str, f64)] = &[
    ("ns", 1.0),
    ("us", 1e3),
    ("µs", 1e3),
    ("ms", 1e6),
    ("s", 1e9),
    ("m", 60e9),
    ("h", 3600e9),
];

/// The day, which ages take beside Go's units (Go's durations have none).
const DAY: (&str, f64) = ("d", 86400e9);

/// A Go duration: one or more numbers (a fraction allowed), each followed by its unit; `0` alone needs none.
pub fn parse(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    parse_with(text, UNITS, &[]).ok_or_else(|| {
        format!("{text:?} is not a duration: write it as helm does, e.g. 90s, 10m, 1h30m (units ns, us, ms, s, m, h)")
    })
}

/// An age such as `--backup-max-age` takes: a Go duration that may also count days (`24h`, `90m`, `1d12h`),
/// more than zero; in whole seconds.
pub fn parse_age(text: &str) -> Result<u64, String> {
    parse_with(text.trim(), UNITS, &[DAY])
        .map(|d| d.as_secs())
        .filter(|&seconds| seconds > 0)
        .ok_or_else(|| {
            format!(
                "{text:?} is not an age: write a number and a unit (s, m, h, d), e.g. 24h or 1h30m"
            )
        })
}

fn parse_with(text: &str, units: &[(&str, f64)], more: &[(&str, f64)]) -> Option<Duration> {
    let mut rest = text;
    let mut nanos = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = units
            .iter()
            .chain(more)
            .find(|(unit, _)| *unit == &rest[..unit_end])
            .map(|(_, scale)| *scale)?;
        nanos += number * scale;
        rest = &rest[unit_end..];
    }
    (nanos.is_finite() && nanos < u64::MAX as f64)
        .then(|| Duration::from_nanos(nanos.round() as u64))
}

/// A duration as Go prints it (`10m0s`, `1h30m0s`, `2.5s`, `0s`), which helm's `--timeout` reads back.
pub fn show(duration: Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    let fraction = duration.subsec_nanos();
    let seconds = if fraction == 0 {
        format!("{seconds}s")
    } else {
        let digits = format!("{fraction:09}");
        format!("{seconds}.{}s", digits.trim_end_matches('0'))
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_helm_reads() {
        let secs = Duration::from_secs;
        assert_eq!(parse("10m"), Ok(secs(600)));
        assert_eq!(parse("1h30m"), Ok(secs(5400)));
        assert_eq!(parse("1.5h"), Ok(secs(5400)));
        assert_eq!(parse("90s"), Ok(secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        for bad in ["", "10", "m", "10x", "-5m", "1..5s", "5 m"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_ages_with_days_and_refuses_zero() {
        assert_eq!(parse_age("24h"), Ok(86400));
        assert_eq!(parse_age("1h30m"), Ok(5400));
        assert_eq!(parse_age("2d"), Ok(172_800));
        assert_eq!(parse_age("1d12h"), Ok(129_600));
        for bad in ["", "0", "24", "h", "0h", "1w", "-1h", "1e400h"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
        assert!(parse("1d").is_err(), "helm's --timeout has no days");
    }

    #[test]
    fn writes_what_go_writes() {
        assert_eq!(show(Duration::from_secs(600)), "10m0s");
        assert_eq!(show(Duration::from_secs(5400)), "1h30m0s");
        assert_eq!(show(Duration::from_millis(2500)), "2.5s");
        assert_eq!(show(Duration::ZERO), "0s");
        assert_eq!(
            parse(&show(Duration::from_millis(3_723_500))),
            Ok(Duration::from_millis(3_723_500))
        );
    }
}
