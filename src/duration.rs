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

/// A Go duration: one or more numbers (a fraction allowed), each followed by its unit; `0` alone needs none.
pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("{text:?} is not a duration: write it as helm does, e.g. 90s, 10m, 1h30m (units ns, us, ms, s, m, h)")
    };
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut nanos = 0.0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..number_end].parse().map_err(|_| bad())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = UNITS
            .iter()
            .find(|(unit, _)| *unit == &rest[..unit_end])
            .map(|(_, scale)| *scale)
            .ok_or_else(bad)?;
        nanos += number * scale;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_nanos(nanos.round() as u64))
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
