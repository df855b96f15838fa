//! Writes a snapshot as Chrome/Perfetto trace-event JSON (the "JSON
//! Array/Object Format" that ui.perfetto.dev and chrome://tracing open).
//!
//! One process; one thread track per ring (`tid` = ring index + 1), named
//! by metadata events. A poll is a complete slice (`X`) named after its
//! task; a park and a retirement are `X` slices too; everything else is an
//! instant (`i`, thread scope). An untimed poll has no end event: it ends
//! on its start stamp, and is closed by its worker's next event that is not
//! a spawn, wake or `block_in_place` (or, the last one, by the worker no
//! longer polling it at the copy). Flows (`s` on the source track, `f`
//! bound to the enclosing slice on the destination track) go from a wake
//! or spawn to the task's next poll start, and from a steal's victim to
//! the thief's next poll. Each track's events are written in timestamp
//! order. Timestamps are microseconds since the process clock's epoch,
//! with nanosecond decimals.

use super::event::{Event, Kind};
use super::snapshot::Inner;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;

/// Microseconds with three decimals from a `clock::now_ns` stamp (which
/// counts from 1).
fn stamp(ns: u64) -> String {
    span(ns.saturating_sub(1))
}

/// Microseconds with three decimals from nanoseconds.
fn span(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// A string as a JSON string literal.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The events of each output track, with their sort key: the timestamp,
/// then slices before the instants and flows they enclose.
struct Lines {
    pid: u32,
    tracks: Vec<Vec<((u64, bool), String)>>,
}

impl Lines {
    fn push(&mut self, track: usize, ts: u64, body: String) {
        self.push_keyed(track, ts, true, body);
    }

    fn push_keyed(&mut self, track: usize, ts: u64, after_slices: bool, body: String) {
        let line = format!("{{\"pid\":{},\"tid\":{},\"ts\":{},{body}}}", self.pid, track + 1, stamp(ts));
        self.tracks[track].push(((ts, after_slices), line));
    }

    fn slice(&mut self, track: usize, name: &str, start: u64, end: u64, args: &str) {
        let dur = span(end.saturating_sub(start));
        let body = format!("\"ph\":\"X\",\"name\":{},\"dur\":{dur},\"args\":{{{args}}}", quoted(name));
        self.push_keyed(track, start, false, body);
    }

    fn instant(&mut self, track: usize, e: &Event) {
        let args = match e.kind {
            Kind::Spawn | Kind::Wake => format!("\"task\":{}", e.subject),
            Kind::Steal => format!("\"from_worker\":{},\"tasks\":{}", e.subject, e.arg),
            Kind::Netpoll => format!("\"events\":{}", e.arg),
            Kind::Timers => format!("\"fired\":{}", e.arg),
            Kind::BlockInPlace => format!("\"task\":{},\"compensated\":{}", e.subject, e.arg != 0),
            Kind::BlockInPlaceEnd => format!("\"task\":{}", e.subject),
            Kind::Compensate | Kind::CompensateEnd => format!("\"worker\":{}", e.arg),
            Kind::StallBegin | Kind::StallEnd => format!("\"task\":{},\"worker\":{}", e.subject, e.arg),
            _ => String::new(),
        };
        self.push(
            track,
            e.ts,
            format!("\"ph\":\"i\",\"s\":\"t\",\"name\":{},\"args\":{{{args}}}", quoted(e.kind.name())),
        );
    }

    /// A flow arrow `id` from `from` to `to` (track, stamp), both ends
    /// carrying `args`.
    fn flow(&mut self, id: u64, name: &str, from: (usize, u64), to: (usize, u64), args: &str) {
        let common = format!("\"id\":{id},\"name\":{},\"cat\":\"flow\",\"args\":{{{args}}}", quoted(name));
        self.push(from.0, from.1, format!("\"ph\":\"s\",{common}"));
        self.push(to.0, to.1, format!("\"ph\":\"f\",\"bp\":\"e\",{common}"));
    }
}

/// A poll start: where and when (for the flows).
#[derive(Clone, Copy)]
struct PollAt {
    track: usize,
    pos: u64,
    ts: u64,
}

/// A wake, spawn or steal to draw an arrow from.
struct Cause {
    track: usize,
    pos: u64,
    ts: u64,
    kind: Kind,
    /// The task (wakes) or the victim worker (steals).
    subject: u64,
}

pub(super) fn write(inner: &Inner, out: &mut impl io::Write) -> io::Result<()> {
    let pid = std::process::id();
    let mut lines = Lines { pid, tracks: vec![Vec::new(); inner.tracks.len()] };
    let mut polls_of_task: HashMap<u64, Vec<PollAt>> = HashMap::new();
    let mut polls_on_track: Vec<Vec<PollAt>> = vec![Vec::new(); inner.tracks.len()];
    let mut causes = Vec::new();
    for (t, track) in inner.tracks.iter().enumerate() {
        // Open intervals; a gap in the event numbers (events overwritten
        // or skipped by the copy) closes them unseen.
        let mut poll: Option<Event> = None;
        let mut parked: Option<Event> = None;
        let mut retired: Option<Event> = None;
        let mut prev: Option<u64> = None;
        for e in &track.events {
            if prev.is_some_and(|p| e.pos != p + 1) {
                (poll, parked, retired) = (None, None, None);
            }
            prev = Some(e.pos);
            let task_slice = |lines: &mut Lines, s: &Event, end: u64| {
                lines.slice(t, &format!("task {}", s.subject), s.ts, end, &task_args(s.subject));
            };
            match e.kind {
                Kind::PollEnd => {
                    // A timed poll's end.
                    if let Some(s) = poll.take().filter(|s| s.subject == e.subject) {
                        task_slice(&mut lines, &s, e.ts);
                    }
                    continue;
                }
                // What a poll does (or a netpoll dispatch right after one,
                // on the same stamp): inside the poll, if one is open.
                Kind::Spawn | Kind::Wake | Kind::BlockInPlace | Kind::BlockInPlaceEnd => {
                    lines.instant(t, e);
                    if matches!(e.kind, Kind::Spawn | Kind::Wake) {
                        causes.push(Cause {
                            track: t,
                            pos: e.pos,
                            ts: e.ts,
                            kind: e.kind,
                            subject: e.subject,
                        });
                    }
                    continue;
                }
                _ => {}
            }
            // Everything else happens between polls: an open (untimed)
            // poll before it ended on its start stamp.
            if let Some(s) = poll.take() {
                task_slice(&mut lines, &s, s.ts);
            }
            match e.kind {
                Kind::PollStart => {
                    // Running again: a park left without an unpark event
                    // (shutdown) is over.
                    parked = None;
                    poll = Some(*e);
                    let at = PollAt { track: t, pos: e.pos, ts: e.ts };
                    polls_of_task.entry(e.subject).or_default().push(at);
                    polls_on_track[t].push(at);
                }
                Kind::Park => parked = Some(*e),
                Kind::Unpark => {
                    if let Some(s) = parked.take() {
                        lines.slice(t, "parked", s.ts, e.ts, "");
                    }
                }
                Kind::Retire => {
                    // A parked worker retires from its park.
                    if let Some(s) = parked.take() {
                        lines.slice(t, "parked", s.ts, e.ts, "");
                    }
                    retired = Some(*e);
                }
                Kind::Unretire => {
                    if let Some(s) = retired.take() {
                        lines.slice(t, "retired", s.ts, e.ts, "");
                    }
                }
                _ => {
                    lines.instant(t, e);
                    if e.kind == Kind::Steal {
                        causes.push(Cause {
                            track: t,
                            pos: e.pos,
                            ts: e.ts,
                            kind: e.kind,
                            subject: e.subject,
                        });
                    }
                }
            }
        }
        // Still open when the copy was taken: up to that moment.
        let end = |s: &Event| inner.taken_at.max(s.ts);
        if let Some(s) = poll {
            if track.polling == Some(s.subject) {
                let args = format!("{},\"unfinished\":true", task_args(s.subject));
                lines.slice(t, &format!("task {}", s.subject), s.ts, end(&s), &args);
            } else {
                // Its worker is not polling it: an untimed poll that ended.
                lines.slice(t, &format!("task {}", s.subject), s.ts, s.ts, &task_args(s.subject));
            }
        }
        if let Some(s) = parked {
            lines.slice(t, "parked", s.ts, end(&s), "");
        }
        if let Some(s) = retired {
            lines.slice(t, "retired", s.ts, end(&s), "");
        }
    }
    for polls in polls_of_task.values_mut() {
        polls.sort_by_key(|p| p.ts);
    }
    let mut next_id = 1;
    for c in &causes {
        let target = if c.kind == Kind::Steal {
            // The thief runs the task it took next, on its own track.
            let polls = &polls_on_track[c.track];
            let i = polls.partition_point(|p| p.pos < c.pos);
            let victim = usize::try_from(c.subject).ok().filter(|&v| v < inner.tracks.len());
            polls.get(i).zip(victim).map(|(p, v)| ((v, c.ts), (p.track, p.ts)))
        } else {
            // The task's first poll after the wake: on the waker's own
            // track, the next in event order; elsewhere the first stamped
            // no earlier (the tracks' clocks agree only roughly).
            polls_of_task.get(&c.subject).and_then(|polls| {
                let i = polls.partition_point(|p| p.ts < c.ts);
                polls[i..]
                    .iter()
                    .find(|p| p.track != c.track || p.pos > c.pos)
                    .map(|p| ((c.track, c.ts), (p.track, p.ts)))
            })
        };
        if let Some((from, to)) = target {
            let args = match c.kind {
                Kind::Steal => format!("\"from_worker\":{}", c.subject),
                _ => task_args(c.subject),
            };
            lines.flow(next_id, c.kind.name(), from, to, &args);
            next_id += 1;
        }
    }
    out.write_all(b"{\"traceEvents\":[\n")?;
    let mut first = true;
    let mut emit = |out: &mut dyn io::Write, line: &str| -> io::Result<()> {
        if !std::mem::replace(&mut first, false) {
            out.write_all(b",\n")?;
        }
        out.write_all(line.as_bytes())
    };
    emit(
        out,
        &format!(
            "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{pid},\"tid\":0,\"ts\":0,\"args\":{{\"name\":\"weft runtime\"}}}}"
        ),
    )?;
    for (t, track) in inner.tracks.iter().enumerate() {
        let tid = t + 1;
        emit(
            out,
            &format!(
                "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{tid},\"ts\":0,\"args\":{{\"name\":{}}}}}",
                quoted(&track.name)
            ),
        )?;
        emit(
            out,
            &format!(
                "{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{pid},\"tid\":{tid},\"ts\":0,\"args\":{{\"sort_index\":{t}}}}}"
            ),
        )?;
    }
    for track in &mut lines.tracks {
        // Stable: events with one stamp keep their recorded order.
        track.sort_by_key(|(key, _)| *key);
        for (_, line) in track.iter() {
            emit(out, line)?;
        }
    }
    write!(
        out,
        "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{{\"producer\":\"weft flight recorder\",\"dropped_outside_events\":{}}}}}\n",
        inner.dropped_external
    )
}

fn task_args(id: u64) -> String {
    format!("\"task\":{id}")
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::snapshot::{Inner, Track};
    use super::*;

    fn ev(pos: u64, ts: u64, kind: Kind, subject: u64, arg: u64) -> Event {
        Event { pos, ts, kind, subject, arg }
    }

    /// Tracks of events; the worker of the first is polling task 7.
    fn render(tracks: Vec<Vec<Event>>, taken_at: u64) -> String {
        let tracks = tracks
            .into_iter()
            .enumerate()
            .map(|(i, events)| Track { name: format!("worker {i}"), events, polling: (i == 0).then_some(7) })
            .collect();
        let mut out = Vec::new();
        write(&Inner { tracks, taken_at, dropped_external: 0 }, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_poll_is_a_slice_from_its_start_to_its_end() {
        let json =
            render(vec![vec![ev(0, 1_001, Kind::PollStart, 7, 0), ev(1, 3_501, Kind::PollEnd, 7, 0)]], 9_000);
        assert!(
            json.contains("\"tid\":1,\"ts\":1.000,\"ph\":\"X\",\"name\":\"task 7\",\"dur\":2.500"),
            "{json}"
        );
    }

    #[test]
    fn a_gap_in_the_event_numbers_leaves_an_unpaired_start_out() {
        // Start of 7, then (events 1..=4 lost) the end of another poll of 7.
        let json = render(
            vec![vec![ev(0, 1_001, Kind::PollStart, 7, 0), ev(5, 9_001, Kind::PollEnd, 7, 0)]],
            10_000,
        );
        assert!(!json.contains("\"ph\":\"X\""), "{json}");
    }

    #[test]
    fn an_open_poll_runs_to_the_snapshot_only_while_its_worker_polls_it() {
        let json = render(vec![vec![ev(0, 1_001, Kind::PollStart, 7, 0)]], 5_001);
        assert!(json.contains("\"dur\":4.000,\"args\":{\"task\":7,\"unfinished\":true}"), "{json}");
        let json = render(vec![vec![ev(0, 1_001, Kind::PollStart, 8, 0)]], 5_001);
        assert!(json.contains("\"name\":\"task 8\",\"dur\":0.000,\"args\":{\"task\":8}"), "{json}");
    }

    #[test]
    fn an_untimed_poll_ends_on_its_start_at_the_next_event_between_polls() {
        let json = render(
            vec![vec![
                ev(0, 1_001, Kind::PollStart, 3, 0),
                ev(1, 1_001, Kind::Wake, 4, 0),
                ev(2, 1_001, Kind::PollStart, 4, 0),
                ev(3, 2_001, Kind::Park, 0, 0),
            ]],
            9_001,
        );
        assert!(json.contains("\"ts\":1.000,\"ph\":\"X\",\"name\":\"task 3\",\"dur\":0.000"), "{json}");
        assert!(json.contains("\"ts\":1.000,\"ph\":\"X\",\"name\":\"task 4\",\"dur\":0.000"), "{json}");
        assert!(json.contains("\"ts\":2.000,\"ph\":\"X\",\"name\":\"parked\",\"dur\":7.000"), "{json}");
    }

    #[test]
    fn wakes_and_steals_get_flows_to_the_poll_they_caused() {
        let json = render(
            vec![
                // Worker 0 wakes task 9 inside task 7's poll.
                vec![
                    ev(0, 1_001, Kind::PollStart, 7, 0),
                    ev(1, 1_001, Kind::Wake, 9, 0),
                    ev(2, 2_001, Kind::PollEnd, 7, 0),
                ],
                // Worker 1 steals from worker 0 and polls task 9.
                vec![
                    ev(0, 3_001, Kind::Steal, 0, 1),
                    ev(1, 3_001, Kind::PollStart, 9, 0),
                    ev(2, 4_001, Kind::PollEnd, 9, 0),
                ],
            ],
            5_000,
        );
        let count = |needle: &str| json.matches(needle).count();
        assert_eq!(count("\"ph\":\"s\""), 2, "{json}");
        assert_eq!(count("\"ph\":\"f\""), 2, "{json}");
        assert!(json.contains("\"tid\":1,\"ts\":1.000,\"ph\":\"s\",\"id\":1,\"name\":\"wake\""), "{json}");
        assert!(
            json.contains("\"tid\":2,\"ts\":3.000,\"ph\":\"f\",\"bp\":\"e\",\"id\":1,\"name\":\"wake\""),
            "{json}"
        );
        assert!(json.contains("\"tid\":1,\"ts\":3.000,\"ph\":\"s\",\"id\":2,\"name\":\"steal\""), "{json}");
    }
}
