//! Feature `tracing`: task spans around every poll, and stall reports as
//! `tracing` events inside the stalled task's span (docs/design/stalls.md,
//! "Stalls as `tracing` events").

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use weft::Runtime;

/// A bound on waits that only a bug makes long.
const HANG_GUARD: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, Default)]
struct SpanRec {
    name: String,
    target: String,
    fields: HashMap<String, String>,
}

#[derive(Clone, Debug)]
struct EventRec {
    target: String,
    level: tracing::Level,
    fields: HashMap<String, String>,
    /// The explicit parent, else the span entered on the emitting thread.
    parent: Option<u64>,
}

/// Records every span and event (installed once as the global default).
#[derive(Default)]
struct Recorder {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, SpanRec>>,
    events: Mutex<Vec<EventRec>>,
}

thread_local! {
    static ENTERED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut rec = SpanRec {
            name: attrs.metadata().name().to_string(),
            target: attrs.metadata().target().to_string(),
            fields: HashMap::new(),
        };
        attrs.record(&mut Fields(&mut rec.fields));
        self.spans.lock().unwrap().insert(id, rec);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(rec) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let parent = if event.is_root() {
            None
        } else if let Some(p) = event.parent() {
            Some(p.into_u64())
        } else {
            ENTERED.with(|e| e.borrow().last().copied())
        };
        self.events.lock().unwrap().push(EventRec {
            target: event.metadata().target().to_string(),
            level: *event.metadata().level(),
            fields,
            parent,
        });
    }
    fn enter(&self, span: &Id) {
        ENTERED.with(|e| e.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, span: &Id) {
        ENTERED.with(|e| {
            let mut e = e.borrow_mut();
            if let Some(i) = e.iter().rposition(|s| *s == span.into_u64()) {
                e.remove(i);
            }
        });
    }
}

fn recorder() -> &'static Recorder {
    static REC: OnceLock<&'static Recorder> = OnceLock::new();
    REC.get_or_init(|| {
        let rec: &'static Recorder = Box::leak(Box::default());
        tracing::subscriber::set_global_default(Dispatch(rec)).expect("no other global subscriber");
        rec
    })
}

/// Forwards to the leaked recorder (the global default takes a value).
struct Dispatch(&'static Recorder);

impl Subscriber for Dispatch {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        self.0.enabled(m)
    }
    fn new_span(&self, a: &Attributes<'_>) -> Id {
        self.0.new_span(a)
    }
    fn record(&self, s: &Id, v: &Record<'_>) {
        self.0.record(s, v)
    }
    fn record_follows_from(&self, s: &Id, f: &Id) {
        self.0.record_follows_from(s, f)
    }
    fn event(&self, e: &Event<'_>) {
        self.0.event(e)
    }
    fn enter(&self, s: &Id) {
        self.0.enter(s)
    }
    fn exit(&self, s: &Id) {
        self.0.exit(s)
    }
}

/// The first event with field `marker` equal to `value`.
fn event_with(marker: &str) -> EventRec {
    recorder()
        .events
        .lock()
        .unwrap()
        .iter()
        .find(|e| e.fields.get("marker").map(String::as_str) == Some(marker))
        .cloned()
        .unwrap_or_else(|| panic!("no event with marker {marker}"))
}

fn span_rec(id: u64) -> SpanRec {
    recorder().spans.lock().unwrap().get(&id).cloned().expect("a recorded span")
}

#[test]
fn an_event_inside_a_task_carries_the_tasks_span() {
    recorder();
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    let line = line!() + 3;
    let join = weft::task::Builder::new()
        .name("traced-task")
        .spawn_on(async { tracing::info!(marker = "in-named-task", "hello from a task") }, rt.handle())
        .unwrap();
    let id = join.id();
    rt.block_on(join).unwrap();
    let event = event_with("in-named-task");
    let span = span_rec(event.parent.expect("the event has the task's span as its parent"));
    assert_eq!((span.name.as_str(), span.target.as_str()), ("task", "weft::task"));
    assert_eq!(span.fields.get("task.id"), Some(&id.as_u64().to_string()), "{span:?}");
    assert_eq!(span.fields.get("task.name").map(String::as_str), Some("traced-task"), "{span:?}");
    let at = span.fields.get("task.spawned_at").expect("a spawn location");
    assert!(at.ends_with(&format!("tracing.rs:{line}:10")), "{at}");
}

#[test]
fn an_unnamed_task_and_a_local_task_get_spans_too() {
    recorder();
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let join = rt.spawn(async {
        // Across an await: the span is entered again on the next poll.
        weft::task::yield_now().await;
        tracing::info!(marker = "in-unnamed-task");
    });
    let id = join.id();
    rt.block_on(join).unwrap();
    let span = span_rec(event_with("in-unnamed-task").parent.expect("a parent span"));
    assert_eq!(span.fields.get("task.id"), Some(&id.as_u64().to_string()), "{span:?}");
    assert!(!span.fields.contains_key("task.name"), "{span:?}");

    let local = weft::task::LocalSet::new();
    let id = local.block_on(&rt, async {
        let join = weft::task::spawn_local(async { tracing::info!(marker = "in-local-task") });
        let id = join.id();
        join.await.unwrap();
        id
    });
    let span = span_rec(event_with("in-local-task").parent.expect("a parent span"));
    assert_eq!(span.name, "task");
    assert_eq!(span.fields.get("task.id"), Some(&id.as_u64().to_string()), "{span:?}");
}

#[test]
fn a_stall_is_a_tracing_event_inside_the_stalled_tasks_span() {
    recorder();
    let rt = Runtime::builder().worker_threads(1).build().unwrap();
    let handle = rt.handle().clone();
    let join = weft::task::Builder::new()
        .name("traced-stall")
        .spawn_on(
            async move {
                // Blocks its worker until the monitor has reported it.
                let start = Instant::now();
                while !handle.recent_stalls().iter().any(|e| e.name() == Some("traced-stall")) {
                    assert!(start.elapsed() < HANG_GUARD, "the stall was never reported");
                    std::thread::sleep(Duration::from_millis(1));
                }
            },
            rt.handle(),
        )
        .unwrap();
    let id = join.id();
    rt.block_on(join).unwrap();
    let events = recorder().events.lock().unwrap().clone();
    let stall = events
        .iter()
        .find(|e| e.target == "weft::stall" && e.fields.get("task.id") == Some(&id.as_u64().to_string()))
        .unwrap_or_else(|| panic!("no weft::stall event for task {id}"));
    assert_eq!(stall.level, tracing::Level::WARN);
    let span = span_rec(stall.parent.expect("the stall event has the task's span as its parent"));
    assert_eq!(span.fields.get("task.name").map(String::as_str), Some("traced-stall"), "{span:?}");
    assert_eq!(span.fields.get("task.id"), Some(&id.as_u64().to_string()), "{span:?}");
}
