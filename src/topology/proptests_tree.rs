//! The whole detection, end to end, on fixture trees with one file
//! mutated (cut, overwritten with junk or edge numbers, a field dropped or
//! repeated, a byte changed, invalid UTF-8, or the file removed): the
//! worker count is never 0 and never more than the affinity mask allows,
//! whichever file is broken and however.
//!
//! Each case writes a copy of one tree from tests/fixtures/ into a
//! directory of its own under the system's temp dir, changes one file,
//! and runs what `Builder::build` and the monitor run: `detect`, the
//! worker count, the pinning plan, and the monitor's `quota::recompute`.

use super::proptests::{config, mutation, Mutation};
use super::quota::{config as quota_config, recompute};
use super::{detect, placement, worker_count, CpuSet, Pinning, Rounding, Sources};
use proptest::collection::btree_set;
use proptest::prelude::*;
use proptest::sample::Index;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// One fixture tree: its name and every file, relative to its root.
struct Tree {
    name: String,
    files: Vec<(PathBuf, Vec<u8>)>,
}

/// Every tree in tests/fixtures/, read once.
fn trees() -> &'static [Tree] {
    static TREES: OnceLock<Vec<Tree>> = OnceLock::new();
    TREES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut trees: Vec<Tree> = std::fs::read_dir(&dir)
            .expect("tests/fixtures")
            .map(|e| e.expect("fixture entry").path())
            .filter(|p| p.is_dir())
            .map(|root| {
                let mut files = Vec::new();
                collect(&root, &root, &mut files);
                files.sort();
                Tree { name: root.file_name().unwrap().to_string_lossy().into_owned(), files }
            })
            .filter(|t| !t.files.is_empty())
            .collect();
        trees.sort_by(|a, b| a.name.cmp(&b.name));
        trees
    })
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("fixture dir") {
        let path = entry.expect("fixture entry").path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let bytes = std::fs::read(&path).expect("fixture file");
            out.push((path.strip_prefix(root).unwrap().to_path_buf(), bytes));
        }
    }
}

/// Every fixture tree laid out once in a scratch directory (removed on
/// drop); a case changes one file and puts it back afterwards, so a case
/// writes two files, not a whole tree.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("weft-proptest-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for tree in trees() {
            for (rel, bytes) in &tree.files {
                let path = dir.join(&tree.name).join(rel);
                std::fs::create_dir_all(path.parent().unwrap()).expect("fixture parent");
                std::fs::write(&path, bytes).expect("fixture write");
            }
        }
        Scratch(dir)
    }

    /// Runs `check` on the root of `tree` with its file `victim` changed
    /// by `change` (`None`: removed), then restores the file.
    fn with_broken<R>(
        &self,
        tree: &Tree,
        victim: usize,
        change: Option<&Mutation>,
        check: impl FnOnce(PathBuf) -> R,
    ) -> R {
        let root = self.0.join(&tree.name);
        let (rel, original) = &tree.files[victim];
        let path = root.join(rel);
        match change {
            Some(m) => std::fs::write(&path, m.apply(original)).expect("fixture write"),
            None => std::fs::remove_file(&path).expect("fixture remove"),
        }
        // Restored on drop: also after a panic in `check`, which proptest
        // catches and then shrinks on the same tree.
        let _restore = Restore { path, original };
        check(root)
    }
}

/// Writes a fixture file's original content back when dropped.
struct Restore<'a> {
    path: PathBuf,
    original: &'a [u8],
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.path, self.original);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tree, one of its files, what happens to it (`None`: removed), an
/// affinity mask (possibly empty) and the rounding rule.
fn case() -> impl Strategy<Value = (Index, Index, Option<Mutation>, CpuSet, bool)> {
    (
        any::<Index>(),
        any::<Index>(),
        prop_oneof![9 => mutation().prop_map(Some), 1 => Just(None)],
        btree_set(0..20usize, 0..12).prop_map(|s| s.into_iter().collect::<CpuSet>()),
        any::<bool>(),
    )
}

/// A runner with the shared configuration and `cases` cases.
fn runner(cases: u32) -> proptest::test_runner::TestRunner {
    proptest::test_runner::TestRunner::new(ProptestConfig { cases, ..config() })
}

#[test]
fn one_broken_file_never_yields_zero_or_too_many_workers() {
    let scratch = Scratch::new("detect");
    let result = runner(config().cases).run(&case(), |(tree, file, change, affinity, up)| {
        let tree = &trees()[tree.index(trees().len())];
        let victim = file.index(tree.files.len());
        let what = format!("{} with {:?} {:?}, affinity {affinity}", tree.name, tree.files[victim].0, change);
        let rounding = if up { Rounding::Up } else { Rounding::Down };
        scratch.with_broken(tree, victim, change.as_ref(), |root| {
            check_detection(root, &affinity, rounding, &what)
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// What `Builder::build` and the monitor compute from `root`, checked.
fn check_detection(
    root: PathBuf,
    affinity: &CpuSet,
    rounding: Rounding,
    what: &str,
) -> Result<(), TestCaseError> {
    let most = affinity.len().max(1);
    let sources = Sources::fixture(root, affinity.clone());
    let detected = detect(&sources);
    prop_assert!(!detected.allowed.is_empty(), "{what}: nothing allowed");
    if !affinity.is_empty() {
        prop_assert_eq!(detected.allowed.intersection(affinity), detected.allowed.clone(), "{}", what);
    }
    prop_assert!(!detected.nodes.is_empty(), "{what}: no NUMA node");
    // What `Builder::resolve_worker_threads` computes for a detected count.
    let threads = detected.allowed.len().max(1);
    let workers = worker_count(threads, detected.quota.as_ref().map(|q| q.cpus), rounding);
    prop_assert!((1..=most).contains(&workers), "{what}: {workers} workers");
    prop_assert!(threads <= most, "{what}: {threads} threads");
    for pinning in [Pinning::Spread, Pinning::Compact] {
        let placement = placement::plan(&pinning, &detected, threads).map_err(TestCaseError::fail)?;
        prop_assert!(
            placement.iter().all(|p| p.cpu.is_some_and(|c| detected.allowed.contains(c))),
            "{what}: {pinning:?} placed outside the allowed CPUs: {placement:?}"
        );
    }
    // The monitor's re-read of the same tree.
    let live = quota_config(sources, rounding, threads, Duration::from_secs(1)).expect("topology on");
    let target = recompute(&live);
    prop_assert!((1..=most).contains(&target), "{what}: monitor target {target}");
    Ok(())
}

/// The same through the public builder (threads are started, so fewer
/// cases): `Runtime::topology` reports a count between 1 and the mask.
#[test]
fn builder_on_a_broken_tree_starts_between_one_and_the_mask() {
    let scratch = Scratch::new("builder");
    let result = runner((config().cases / 16).max(4)).run(&case(), |(tree, file, change, affinity, _)| {
        let tree = &trees()[tree.index(trees().len())];
        let victim = file.index(tree.files.len());
        scratch.with_broken(tree, victim, change.as_ref(), |root| {
            let rt = crate::Runtime::builder()
                .topology_fixture(root, affinity.clone())
                .build()
                .map_err(|e| TestCaseError::fail(format!("build failed: {e}")))?;
            let topo = rt.topology();
            let most = affinity.len().max(1);
            prop_assert!((1..=most).contains(&topo.num_workers()), "{} workers", topo.num_workers());
            prop_assert!(topo.worker_threads() <= most, "{} threads", topo.worker_threads());
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
