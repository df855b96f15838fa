//! A `log` sink for the library's unit tests: one logger per process,
//! so every test that checks a message goes through this one.

use std::sync::Mutex;

/// Records every message at `Warn` and above.
struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// Installs the capture (once per process; later calls do nothing).
pub(crate) fn install() {
    if log::set_logger(&CAPTURE).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// How many recorded messages contain `needle`.
pub(crate) fn count(needle: &str) -> usize {
    CAPTURE.0.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|m| m.contains(needle)).count()
}
