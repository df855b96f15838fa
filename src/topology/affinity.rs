//! CPU affinity through libc's sched_getaffinity / sched_setaffinity.
//!
//! libc directly rather than the `core_affinity` crate: weft needs the
//! process's mask as a set (to intersect with the cgroup cpuset and to
//! re-read it every second), errors it can report (core_affinity returns
//! `bool`/`Option` and drops errno), and a pin to one CPU by number; all
//! three are one libc call each, and libc is already a dependency.

use super::CpuSet;
use std::io;

/// The affinity mask of the process (its main thread, pid = tgid), which
/// is what `taskset -p` changes and what new threads inherit.
#[cfg(target_os = "linux")]
pub(crate) fn process_affinity() -> io::Result<CpuSet> {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    mask_of(pid)
}

#[cfg(target_os = "linux")]
fn mask_of(pid: libc::pid_t) -> io::Result<CpuSet> {
    // SAFETY: cpu_set_t is a plain bit array; all-zero is a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable cpu_set_t and the size passed is
    // its size; the kernel writes at most that many bytes.
    let rc = unsafe { libc::sched_getaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let cpus = (0..libc::CPU_SETSIZE as usize).filter(|&cpu| {
        // SAFETY: cpu < CPU_SETSIZE, the bound CPU_ISSET requires.
        unsafe { libc::CPU_ISSET(cpu, &set) }
    });
    Ok(cpus.collect())
}

/// Pins the calling thread to `cpu`.
#[cfg(target_os = "linux")]
pub(crate) fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("CPU {cpu} is beyond CPU_SETSIZE")));
    }
    // SAFETY: all-zero is a valid empty cpu_set_t.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: cpu < CPU_SETSIZE (checked above).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: pid 0 = the calling thread; `set` is valid for its size.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn process_affinity() -> io::Result<CpuSet> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "CPU affinity is only read on Linux"))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn pin_current_thread(_cpu: usize) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "worker pinning is only supported on Linux"))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn process_affinity_is_not_empty() {
        let set = process_affinity().unwrap();
        assert!(!set.is_empty());
        let std_count = std::thread::available_parallelism().unwrap().get();
        // std also honours cgroup quotas, so it can only be lower.
        assert!(std_count <= set.len(), "std {std_count} > mask {}", set.len());
    }
}
