//! `WEFT_WORKER_THREADS` overrides detection; `Builder::worker_threads`
//! overrides the variable; a malformed value is a build error that names
//! the variable. One test in its own binary: the environment is
//! process-wide, so nothing else may build a runtime concurrently.

#![cfg(feature = "topology")]

use weft::topology::{CountSource, CpuSet};
use weft::Runtime;

#[test]
fn worker_threads_env_overrides_detection() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v2");
    let affinity = CpuSet::parse("0-7").unwrap();

    std::env::set_var("WEFT_WORKER_THREADS", "5");
    let rt = Runtime::builder().topology_fixture(&fixture, affinity.clone()).build().unwrap();
    assert_eq!(rt.topology().count_source(), CountSource::Environment);
    let m = rt.metrics();
    assert_eq!((m.num_workers(), m.active_workers(), m.worker_threads()), (5, 5, 5));
    assert_eq!(rt.block_on(async { weft::spawn(async { 2 }).await.unwrap() }), 2);
    drop(rt);

    // The builder wins over the environment.
    let rt =
        Runtime::builder().topology_fixture(&fixture, affinity.clone()).worker_threads(2).build().unwrap();
    assert_eq!(rt.topology().count_source(), CountSource::Builder);
    assert_eq!(rt.metrics().num_workers(), 2);
    drop(rt);

    for bad in ["", "0", "-1", "two", "3.5", "99999999999999999999999"] {
        std::env::set_var("WEFT_WORKER_THREADS", bad);
        let err = Runtime::builder().topology_fixture(&fixture, affinity.clone()).build().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad:?}");
        assert!(err.to_string().contains("WEFT_WORKER_THREADS"), "{bad:?}: {err}");
    }

    std::env::remove_var("WEFT_WORKER_THREADS");
    let rt = Runtime::builder().topology_fixture(&fixture, affinity).build().unwrap();
    assert_eq!(rt.topology().count_source(), CountSource::Detected);
    assert_eq!(rt.metrics().num_workers(), 3, "min(cpuset 0-2, ceil(2.5 CPUs))");
}
