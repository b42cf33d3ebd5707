//! CPU time of a process from `/proc/<pid>/stat` (utime + stime, all threads), and its memory
//! from `/proc/<pid>/status`.
//!
//! `/proc` rather than `getrusage`: the workspace forbids `unsafe`, and the server's time can
//! only be read this way anyway, so both sides are measured the same way. The values are in
//! `USER_HZ` ticks, which Linux fixes at 100 per second for this interface whatever the
//! kernel's own tick rate: a 10 ms resolution, well below the noise of a multi-second run.

use std::io;

const USER_HZ: f64 = 100.0;

/// utime + stime of `pid` (this process for `None`) in seconds.
pub fn process_cpu_seconds(pid: Option<u32>) -> io::Result<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(&path)?;
    parse_stat(&text)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("cannot parse {path}")))
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`, …) of `pid` (this process for
/// `None`), in KiB.
pub fn status_kib(pid: Option<u32>, field: &str) -> io::Result<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let text = std::fs::read_to_string(&path)?;
    parse_status_kib(&text, field)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("no {field} in {path}")))
}

fn parse_status_kib(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Ticks of utime (field 14) + stime (field 15) of a `stat` line, in seconds. The command name
/// (field 2) is in parentheses and may itself hold spaces or `)`, so fields are counted from
/// the last `)`.
fn parse_stat(text: &str) -> Option<f64> {
    let after_name = &text[text.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // After the name: field 3 (state) is index 0, so utime (14) is index 11.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utime_and_stime() {
        let line = "4242 (tagd (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 \
                    3 0 100 1000000 500 18446744073709551615";
        assert_eq!(parse_stat(line), Some(3.25));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn reads_this_process() {
        assert!(process_cpu_seconds(None).unwrap() >= 0.0);
        assert!(status_kib(None, "VmRSS").unwrap() > 0);
    }

    #[test]
    fn parses_status_fields() {
        let text = "Name:\ttagd\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\n";
        assert_eq!(parse_status_kib(text, "VmRSS"), Some(65432));
        assert_eq!(parse_status_kib(text, "VmHWM"), Some(123_456));
        assert_eq!(parse_status_kib(text, "VmSwap"), None);
    }
}
