//! The grouped text report of a `TaskDump` (its `Display`), in the spirit
//! of Go's goroutine dump: one group per (state, wait kind, await site,
//! spawn location, name, class, leaked or not) with its count, oldest group
//! first. The first line of a group reads like Go's `goroutine 7 [chan
//! receive, 7 minutes]`:
//!
//! ```text
//! task dump: 103 tasks in 3 groups, captured 2026-11-23T16:02:11.123Z (walk took 41µs), 100 leaked
//!
//! 100 tasks [mpsc recv, 7m12s] at src/conn.rs:88:30, spawned at src/main.rs:12:9, name "conn-handler"
//!     age 7m13s..7m14s, polls 1..3, last poll started 1.50s..7m12s ago
//!     ids 4 5 6 7 8 9 10 11 12 13 ... (90 more)
//! ```
//!
//! The bracket holds the wait kind and the longest wait in the group for
//! idle tasks (`TaskInfo::wait`), else the state (with the longest known
//! time in a run queue for scheduled tasks, `TaskInfo::runnable_for`).

use super::{TaskDump, TaskInfo, TaskState};
use crate::rt::task::Priority;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

/// Ids printed per group before "... (N more)".
const MAX_IDS: usize = 10;

/// The tasks of one (location, state, name, wait kind, await site).
struct Group<'a> {
    first: &'a TaskInfo,
    tasks: Vec<&'a TaskInfo>,
}

type Key<'a> =
    (&'a str, u32, u32, TaskState, bool, Option<&'a str>, u8, Option<(&'a str, u32, u32)>, Priority);

pub(super) fn write(dump: &TaskDump, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut groups: HashMap<Key<'_>, Group<'_>> = HashMap::new();
    for t in dump.tasks() {
        let loc = t.location();
        // The wait splits groups only where it is shown (idle tasks). By
        // the site's file, line and column, not its table index: one call
        // site can have several `Location`s (one per monomorphisation).
        let (kind, site) = match t.wait() {
            Some(w) => (w.kind() as u8, w.site().map(|l| (l.file(), l.line(), l.column()))),
            None => (0, None),
        };
        let key = (
            loc.file(),
            loc.line(),
            loc.column(),
            t.state(),
            t.is_leaked(),
            t.name(),
            kind,
            site,
            t.priority(),
        );
        groups.entry(key).or_insert_with(|| Group { first: t, tasks: Vec::new() }).tasks.push(t);
    }
    let mut groups: Vec<Group<'_>> = groups.into_values().collect();
    for g in &mut groups {
        // Oldest first within a group, so the ids shown are the oldest.
        g.tasks.sort_by(|a, b| b.age().cmp(&a.age()).then(a.id().cmp(&b.id())));
    }
    // Oldest group (by its oldest task) first; ties by location for a
    // stable order.
    groups.sort_by(|a, b| {
        b.tasks[0].age().cmp(&a.tasks[0].age()).then_with(|| {
            let (la, lb) = (a.first.location(), b.first.location());
            (la.file(), la.line(), la.column(), a.first.state()).cmp(&(
                lb.file(),
                lb.line(),
                lb.column(),
                b.first.state(),
            ))
        })
    });

    let leaked = dump.tasks().iter().filter(|t| t.is_leaked()).count();
    writeln!(
        f,
        "task dump: {} task{} in {} group{}, captured {} (walk took {:.1?}), {leaked} leaked",
        dump.len(),
        plural(dump.len()),
        groups.len(),
        plural(groups.len()),
        Utc(dump.captured_at().duration_since(UNIX_EPOCH).unwrap_or_default()),
        dump.capture_duration(),
    )?;
    for g in &groups {
        writeln!(f)?;
        write_group(g, f)?;
    }
    Ok(())
}

fn write_group(g: &Group<'_>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let n = g.tasks.len();
    write!(f, "{n} task{} ", plural(n))?;
    if let Some(wait) = g.first.wait() {
        let longest = g.tasks.iter().filter_map(|t| t.wait()).map(|w| w.duration()).max();
        write!(f, "[{}, {}]", wait.kind(), Coarse(longest.unwrap_or_default()))?;
        if let Some(site) = wait.site() {
            write!(f, " at {site}")?;
        }
    } else if let Some(queued) = g.tasks.iter().filter_map(|t| t.runnable_for()).max() {
        write!(f, "[{}, runnable {}]", g.first.state(), Coarse(queued))?;
    } else {
        write!(f, "[{}]", g.first.state())?;
    }
    write!(f, ", spawned at {}", g.first.location())?;
    if let Some(name) = g.first.name() {
        write!(f, ", name {name:?}")?;
    }
    if g.first.priority() != Priority::Normal {
        write!(f, ", class {}", g.first.priority())?;
    }
    if g.first.is_leaked() {
        write!(f, ", leaked")?;
    }
    writeln!(f)?;

    let ages = Range::of(g.tasks.iter().map(|t| t.age()));
    let polls = Range::of(g.tasks.iter().map(|t| t.polls()));
    write!(f, "    age {}, polls {}", ages.map(Dur), polls)?;
    let polled: Vec<Duration> = g.tasks.iter().filter_map(|t| t.since_last_poll()).collect();
    let never = n - polled.len();
    if !polled.is_empty() {
        write!(f, ", last poll started {} ago", Range::of(polled.into_iter()).map(Dur))?;
    }
    if never > 0 {
        write!(f, ", {never} never polled")?;
    }
    if let Some(last) = Range::of_opt(g.tasks.iter().filter_map(|t| t.last_poll_duration())) {
        write!(f, ", last poll took {}", last.map(Dur))?;
    }
    writeln!(f)?;

    write!(f, "    ids")?;
    for t in g.tasks.iter().take(MAX_IDS) {
        write!(f, " {}", t.id())?;
    }
    if n > MAX_IDS {
        write!(f, " ... ({} more)", n - MAX_IDS)?;
    }
    writeln!(f)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `min..max`, or one value when they are equal.
struct Range<T> {
    min: T,
    max: T,
}

impl<T: Ord + Copy> Range<T> {
    fn of_opt(mut values: impl Iterator<Item = T>) -> Option<Range<T>> {
        let first = values.next()?;
        Some(
            values.fold(Range { min: first, max: first }, |r, v| Range {
                min: r.min.min(v),
                max: r.max.max(v),
            }),
        )
    }

    /// Caller passes at least one value.
    fn of(values: impl Iterator<Item = T>) -> Range<T> {
        Range::of_opt(values).expect("a group has at least one task")
    }

    fn map<U>(self, f: impl Fn(T) -> U) -> Range<U> {
        Range { min: f(self.min), max: f(self.max) }
    }
}

impl<T: fmt::Display> fmt::Display for Range<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (min, max) = (self.min.to_string(), self.max.to_string());
        if min == max {
            f.write_str(&min)
        } else {
            write!(f, "{min}..{max}")
        }
    }
}

/// A duration with three significant digits (`1.52s`, `350ms`, `12.0µs`).
struct Dur(Duration);

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos() as f64;
        let (v, unit) = if ns >= 1e9 {
            (ns / 1e9, "s")
        } else if ns >= 1e6 {
            (ns / 1e6, "ms")
        } else if ns >= 1e3 {
            (ns / 1e3, "µs")
        } else {
            (ns, "ns")
        };
        let prec = if v >= 100.0 || unit == "ns" {
            0
        } else if v >= 10.0 {
            1
        } else {
            2
        };
        write!(f, "{v:.prec$}{unit}")
    }
}

/// A wait's length as Go prints it in a dump, coarse past a minute
/// (`7m12s`, `2h5m`), else as `Dur`.
struct Coarse(Duration);

impl fmt::Display for Coarse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        if s >= 3600 {
            write!(f, "{}h{}m", s / 3600, s % 3600 / 60)
        } else if s >= 60 {
            write!(f, "{}m{}s", s / 60, s % 60)
        } else {
            Dur(self.0).fmt(f)
        }
    }
}

/// A time since the UNIX epoch as UTC ISO 8601 with milliseconds.
struct Utc(Duration);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let (days, rem) = ((secs / 86400) as i64, secs % 86400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
            self.0.subsec_millis()
        )
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations_format() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(Utc(Duration::from_millis(1_700_000_000_123)).to_string(), "2023-11-14T22:13:20.123Z");
        assert_eq!(Dur(Duration::from_millis(1520)).to_string(), "1.52s");
        assert_eq!(Dur(Duration::from_micros(350_000)).to_string(), "350ms");
        assert_eq!(Dur(Duration::from_nanos(12_040)).to_string(), "12.0µs");
        assert_eq!(Dur(Duration::from_nanos(7)).to_string(), "7ns");
        assert_eq!(Coarse(Duration::from_secs(432)).to_string(), "7m12s");
        assert_eq!(Coarse(Duration::from_secs(7500)).to_string(), "2h5m");
        assert_eq!(Coarse(Duration::from_millis(1520)).to_string(), "1.52s");
        assert_eq!(Range { min: 1, max: 1 }.to_string(), "1");
        assert_eq!(Range { min: 1, max: 3 }.to_string(), "1..3");
        let close =
            Range { min: Dur(Duration::from_nanos(1_131_000)), max: Dur(Duration::from_nanos(1_132_000)) };
        assert_eq!(close.to_string(), "1.13ms", "equal once formatted: one value");
    }
}
