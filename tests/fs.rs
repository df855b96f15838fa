//! `weft::fs`: the one-shot functions, `read_dir` across batches, the
//! buffered `File` (read-ahead given back before a write, a pending write
//! flushed before a seek, write errors surfacing on flush), and errors
//! that carry the path and keep their kind.
#![cfg(feature = "fs")]

use futures::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use std::io::{ErrorKind, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use weft::fs;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "weft-fs-test-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, SeqCst),
            name
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn runtime() -> weft::Runtime {
    weft::Runtime::builder().worker_threads(2).build().unwrap()
}

fn mentions(err: &std::io::Error, path: &Path) -> bool {
    err.to_string().contains(&path.display().to_string())
}

#[test]
fn write_read_and_read_to_string_round_trip() {
    let dir = TempDir::new("round-trip");
    runtime().block_on(async {
        let path = dir.join("a.txt");
        fs::write(&path, "hello").await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"hello");
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "hello");
        assert_eq!(fs::metadata(&path).await.unwrap().len(), 5);
        let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        fs::write(dir.join("big"), &big).await.unwrap();
        assert!(fs::read(dir.join("big")).await.unwrap() == big);
        fs::write(dir.join("bad-utf8"), [0xffu8, 0xfe]).await.unwrap();
        let err = fs::read_to_string(dir.join("bad-utf8")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    });
}

#[test]
fn errors_carry_the_path_and_keep_their_kind_and_source() {
    let dir = TempDir::new("errors");
    runtime().block_on(async {
        let missing = dir.join("missing");
        let err = fs::read(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(mentions(&err, &missing), "{err}");
        let source = std::error::Error::source(err.get_ref().unwrap()).unwrap();
        let os = source.downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(os.raw_os_error(), Some(libc_enoent()), "the OS error is the source");

        let err = fs::File::open(&missing).await.unwrap_err();
        assert!(err.to_string().starts_with("open "), "{err}");
        assert!(mentions(&err, &missing));

        let to = dir.join("to");
        let err = fs::rename(&missing, &to).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(mentions(&err, &missing) && mentions(&err, &to), "both paths: {err}");

        fs::create_dir(dir.join("d")).await.unwrap();
        let err = fs::create_dir(dir.join("d")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        fs::write(dir.join("d/f"), "x").await.unwrap();
        let err = fs::remove_dir(dir.join("d")).await.unwrap_err();
        assert!(mentions(&err, &dir.join("d")), "{err}");
        let err = fs::read_dir(&missing).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(mentions(&err, &missing));
        let err = fs::copy(&missing, &to).await.unwrap_err();
        assert!(mentions(&err, &missing) && mentions(&err, &to), "{err}");
    });
}

fn libc_enoent() -> i32 {
    2
}

#[test]
fn read_dir_lists_every_entry_across_batches() {
    let dir = TempDir::new("read-dir");
    runtime().block_on(async {
        for i in 0..100 {
            fs::write(dir.join(&format!("f{i:03}")), [i as u8]).await.unwrap();
        }
        fs::create_dir(dir.join("sub")).await.unwrap();
        let mut entries = fs::read_dir(&dir.0).await.unwrap();
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await.unwrap() {
            let is_dir = entry.file_type().await.unwrap().is_dir();
            assert_eq!(is_dir, entry.file_name() == "sub");
            assert_eq!(entry.path(), dir.join(entry.file_name().to_str().unwrap()));
            if !is_dir {
                assert_eq!(entry.metadata().await.unwrap().len(), 1);
            }
            names.push(entry.file_name().into_string().unwrap());
        }
        assert!(entries.next_entry().await.unwrap().is_none(), "stays at the end");
        names.sort();
        let mut expected: Vec<_> = (0..100).map(|i| format!("f{i:03}")).collect();
        expected.push("sub".to_string());
        assert_eq!(names, expected);
    });
}

#[test]
fn directory_and_link_operations() {
    let dir = TempDir::new("ops");
    runtime().block_on(async {
        fs::create_dir_all(dir.join("a/b/c")).await.unwrap();
        fs::create_dir_all(dir.join("a/b/c")).await.unwrap();
        assert!(fs::try_exists(dir.join("a/b/c")).await.unwrap());
        fs::write(dir.join("a/f"), "data").await.unwrap();
        assert_eq!(fs::copy(dir.join("a/f"), dir.join("a/g")).await.unwrap(), 4);
        fs::hard_link(dir.join("a/g"), dir.join("a/h")).await.unwrap();
        fs::rename(dir.join("a/h"), dir.join("a/i")).await.unwrap();
        assert_eq!(fs::read_to_string(dir.join("a/i")).await.unwrap(), "data");
        let canon = fs::canonicalize(dir.join("a/b/../f")).await.unwrap();
        assert_eq!(canon, fs::canonicalize(dir.join("a/f")).await.unwrap());
        assert!(fs::symlink_metadata(dir.join("a/f")).await.unwrap().is_file());
        fs::remove_file(dir.join("a/i")).await.unwrap();
        assert!(!fs::try_exists(dir.join("a/i")).await.unwrap());
        fs::remove_dir(dir.join("a/b/c")).await.unwrap();
        fs::remove_dir_all(dir.join("a")).await.unwrap();
        assert!(!fs::try_exists(dir.join("a")).await.unwrap());
    });
}

#[test]
fn file_write_flush_read_and_seek() {
    let dir = TempDir::new("file");
    let path = dir.join("f");
    runtime().block_on(async {
        let mut f = fs::File::create(&path).await.unwrap();
        // Many small writes: each accepted at once, written in order.
        for i in 0..1000u32 {
            f.write_all(format!("{i:04}").as_bytes()).await.unwrap();
        }
        f.flush().await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 4000);
        drop(f);

        let mut f = fs::File::open(&path).await.unwrap();
        let mut all = String::new();
        f.read_to_string(&mut all).await.unwrap();
        assert_eq!(all.len(), 4000);
        assert_eq!(&all[..8], "00000001");
        assert_eq!(f.seek(SeekFrom::Start(4 * 500)).await.unwrap(), 2000);
        let mut four = [0u8; 4];
        f.read_exact(&mut four).await.unwrap();
        assert_eq!(&four, b"0500");
        assert_eq!(f.seek(SeekFrom::Current(-8)).await.unwrap(), 1996);
        f.read_exact(&mut four).await.unwrap();
        assert_eq!(&four, b"0499");
        assert_eq!(f.seek(SeekFrom::End(-4)).await.unwrap(), 3996);
        f.read_exact(&mut four).await.unwrap();
        assert_eq!(&four, b"0999");
    });
}

#[test]
fn large_file_through_file_reads_and_writes_in_bounded_chunks() {
    let dir = TempDir::new("large");
    let path = dir.join("big");
    let data: Vec<u8> = (0..5 * 1024 * 1024 + 123).map(|i| (i % 253) as u8).collect();
    runtime().block_on(async {
        let mut f = fs::File::create(&path).await.unwrap();
        f.write_all(&data).await.unwrap();
        f.sync_all().await.unwrap();
        let mut f = fs::File::open(&path).await.unwrap();
        // The trait's chunked `read_to_end` (through `poll_read`), not the
        // inherent one-hop method tested below.
        let mut back = Vec::new();
        AsyncReadExt::read_to_end(&mut f, &mut back).await.unwrap();
        assert!(back == data, "5 MiB round trip through File differs");
    });
}

#[test]
fn read_to_end_takes_read_ahead_first_and_appends_to_what_buf_held() {
    let dir = TempDir::new("read-to-end");
    let path = dir.join("f");
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    runtime().block_on(async {
        // Into an empty vector, from the start.
        let mut f = fs::File::open(&path).await.unwrap();
        let mut all = Vec::new();
        assert_eq!(f.read_to_end(&mut all).await.unwrap(), data.len());
        assert!(all == data);
        // At the end: nothing more, and `buf` is left as it was.
        assert_eq!(f.read_to_end(&mut all).await.unwrap(), 0);
        assert_eq!(all.len(), data.len());

        // After a short read that left read-ahead in the file's buffer,
        // appended to a prefix.
        let mut f = fs::File::open(&path).await.unwrap();
        let mut head = [0u8; 10];
        f.read_exact(&mut head).await.unwrap();
        let mut rest = b"prefix".to_vec();
        let n = f.read_to_end(&mut rest).await.unwrap();
        assert_eq!(n, data.len() - 10);
        assert_eq!(&rest[..6], b"prefix");
        assert!(rest[6..] == data[10..], "read-ahead first, then the rest, in order");
    });
}

#[test]
fn a_cancelled_read_to_end_leaves_buf_and_the_file_usable() {
    let dir = TempDir::new("read-to-end-cancel");
    let path = dir.join("f");
    std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
    runtime().block_on(async {
        let mut f = fs::File::open(&path).await.unwrap();
        let mut buf = b"kept".to_vec();
        // Polled once and dropped. Almost always still pending then; if
        // the pool finished first, the read completed normally.
        let first = futures::poll!(std::pin::pin!(f.read_to_end(&mut buf)));
        match first {
            std::task::Poll::Pending => assert_eq!(buf, b"kept", "a non-empty buf keeps what it held"),
            std::task::Poll::Ready(n) => assert_eq!(n.unwrap() + 4, buf.len()),
        }
        // The next operation waits for the abandoned read, then works.
        f.seek(SeekFrom::Start(0)).await.unwrap();
        let mut again = Vec::new();
        assert_eq!(f.read_to_end(&mut again).await.unwrap(), 1 << 20);
    });
}

#[test]
fn a_write_after_read_ahead_lands_at_the_logical_position() {
    let dir = TempDir::new("read-ahead");
    let path = dir.join("f");
    std::fs::write(&path, "0123456789").unwrap();
    runtime().block_on(async {
        let mut f = fs::OpenOptions::new().read(true).write(true).open(&path).await.unwrap();
        // Start a read of 4 bytes and abandon it after one poll, then read
        // 2: the other 2 stay buffered as read-ahead (unless the first
        // poll already finished, which the rest of the test tolerates).
        let mut big = [0u8; 4];
        let first = futures::poll!(f.read(&mut big));
        let consumed = match first {
            std::task::Poll::Ready(n) => n.unwrap(),
            std::task::Poll::Pending => 0,
        };
        let mut two = [0u8; 2];
        f.read_exact(&mut two).await.unwrap();
        let logical = consumed + 2;
        f.write_all(b"XY").await.unwrap();
        f.flush().await.unwrap();
        let mut expected = b"0123456789".to_vec();
        expected[logical..logical + 2].copy_from_slice(b"XY");
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), logical as u64 + 2);
    });
}

#[test]
fn a_seek_waits_for_the_pending_write() {
    let dir = TempDir::new("seek-after-write");
    let path = dir.join("f");
    runtime().block_on(async {
        let mut f = fs::File::create(&path).await.unwrap();
        f.write_all(b"abc").await.unwrap(); // in flight, not flushed
        f.seek(SeekFrom::Start(1)).await.unwrap();
        f.write_all(b"Z").await.unwrap();
        f.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"aZc");
    });
}

#[test]
fn a_failed_buffered_write_is_reported_by_flush_with_the_path() {
    let dir = TempDir::new("write-error");
    let path = dir.join("read-only");
    std::fs::write(&path, "x").unwrap();
    runtime().block_on(async {
        let mut f = fs::File::open(&path).await.unwrap(); // read-only
        assert_eq!(f.write(b"data").await.unwrap(), 4, "accepted into the buffer");
        let err = f.flush().await.unwrap_err();
        assert!(err.to_string().starts_with("write "), "{err}");
        assert!(mentions(&err, &path), "{err}");
        f.flush().await.unwrap(); // reported once
    });
}

#[test]
fn set_len_sync_and_open_options() {
    let dir = TempDir::new("set-len");
    let path = dir.join("f");
    runtime().block_on(async {
        let mut f = fs::File::create_new(&path).await.unwrap();
        let err = fs::File::create_new(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        f.write_all(b"0123456789").await.unwrap();
        f.set_len(4).await.unwrap(); // after the write in flight
        f.sync_data().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"0123");
        drop(f);
        let mut f = fs::File::options().append(true).open(&path).await.unwrap();
        f.write_all(b"45").await.unwrap();
        f.close().await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"012345");
        let f = fs::File::open(&path).await.unwrap();
        assert!(f.try_into_std().is_ok(), "idle, nothing buffered");
    });
}

#[test]
fn many_tasks_use_files_at_once() {
    let dir = TempDir::new("many");
    let rt = runtime();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let path = dir.join(&format!("f{i}"));
            rt.spawn(async move {
                let body = format!("task {i}").repeat(100);
                fs::write(&path, &body).await.unwrap();
                assert_eq!(fs::read_to_string(&path).await.unwrap(), body);
            })
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[cfg(feature = "tokio-io")]
#[test]
fn tokio_io_traits_on_file() {
    let dir = TempDir::new("tokio-io");
    let path = dir.join("f");
    runtime().block_on(async {
        let mut f = fs::OpenOptions::new().read(true).write(true).create(true).open(&path).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut f, b"hello tokio").await.unwrap();
        tokio::io::AsyncWriteExt::flush(&mut f).await.unwrap();
        assert_eq!(tokio::io::AsyncSeekExt::seek(&mut f, SeekFrom::Start(6)).await.unwrap(), 6);
        let mut s = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut f, &mut s).await.unwrap();
        assert_eq!(s, "tokio");
        tokio::io::AsyncWriteExt::shutdown(&mut f).await.unwrap();
    });
}

#[test]
fn bad_paths_are_errors_that_name_them_not_panics() {
    let dir = TempDir::new("bad-input");
    runtime().block_on(async {
        let err = fs::read("bad\0path").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("bad"), "{err}");
        let file = dir.join("file");
        fs::write(&file, "x").await.unwrap();
        let err = fs::read_dir(&file).await.unwrap_err();
        assert!(mentions(&err, &file), "reading a file as a directory: {err}");
        let err = fs::create_dir_all(file.join("sub")).await.unwrap_err();
        assert!(mentions(&err, &file.join("sub")), "{err}");
    });
}

#[test]
fn an_operation_after_shutdown_fails_with_the_path_instead_of_hanging() {
    let dir = TempDir::new("after-shutdown");
    let path = dir.join("f");
    std::fs::write(&path, "x").unwrap();
    let rt = runtime();
    let handle = rt.handle().clone();
    drop(rt);
    let err = handle.block_on(fs::read(&path)).unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
    assert!(mentions(&err, &path), "{err}");
}
