//! Running one test in a child process (this test binary re-executed with
//! only that test), for tests that count the process's file descriptors or
//! change process-wide limits: other tests running in parallel threads of
//! the parent cannot disturb them there.

/// Entries in /proc/self/fd (the directory handle itself included; it is
/// counted the same way every time).
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("read /proc/self/fd").count()
}

/// The environment variable that selects a child role.
pub const CHILD_ENV: &str = "WEFT_TEST_CHILD";

/// True if this process was started by `run_child(test_name)`.
pub fn is_child(test_name: &str) -> bool {
    std::env::var(CHILD_ENV).map(|v| v == test_name).unwrap_or(false)
}

/// Re-runs this test binary with only `test_name`, in the child role;
/// returns (success, stdout, stderr).
pub fn run_child(test_name: &str) -> (bool, String, String) {
    let exe = std::env::current_exe().expect("current_exe");
    let out = std::process::Command::new(exe)
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test_name)
        .output()
        .expect("spawn child test process");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
