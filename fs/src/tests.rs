//! The readers against the file system, races forced at exact points.

use super::*;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("clusterdef-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn devices_are_refused_on_the_handle_whatever_size_they_report() {
    let err = read_file(Path::new("/dev/zero"), 1 << 20).expect_err("a device");
    assert!(matches!(err, ReadError::NotRegular(Kind::Device)), "{err:?}");
    assert!(err.to_string().contains("a device"), "{err}");
    let err = read_file(Path::new("/"), 10).expect_err("a directory");
    assert!(matches!(err, ReadError::NotRegular(Kind::Directory)), "{err:?}");
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = Scratch::new("fifo");
    let fifo = dir.0.join("p");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let started = std::time::Instant::now();
    let err = read_file(&fifo, 10).expect_err("a fifo");
    assert!(matches!(err, ReadError::NotRegular(Kind::Fifo)), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let err = read_inside(&fifo, &canonical_roots(&[&dir.0]), 10).expect_err("a fifo");
    assert!(matches!(err, ReadError::NotRegular(Kind::Fifo)), "{err:?}");
}

#[cfg(unix)]
#[test]
fn read_own_never_reads_through_a_symlink() {
    let dir = Scratch::new("own");
    std::fs::write(dir.0.join("f"), "F").expect("f");
    std::os::unix::fs::symlink(dir.0.join("f"), dir.0.join("l")).expect("link");
    assert_eq!(read_own(&dir.0.join("f"), 10).expect("file"), b"F");
    assert!(matches!(read_own(&dir.0.join("l"), 10), Err(ReadError::Symlink)));
    assert!(matches!(read_own(&dir.0.join("none"), 10), Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound));
}

#[test]
fn the_limit_is_to_the_byte() {
    let dir = Scratch::new("limit");
    let path = dir.0.join("f");
    std::fs::write(&path, vec![b'a'; 100]).expect("file");
    assert_eq!(read_file(&path, 100).expect("at the limit").len(), 100);
    assert!(matches!(read_file(&path, 99), Err(ReadError::TooLarge { limit: 99 })));
    std::fs::write(&path, [0xff, 0xfe]).expect("file");
    assert!(matches!(read_text(&path, 10), Err(ReadError::NotText)));
}

#[cfg(unix)]
#[test]
fn inside_means_inside_after_symlinks_with_one_name() {
    let dir = Scratch::new("inside");
    let root = dir.0.join("project");
    std::fs::create_dir_all(root.join("units")).expect("dirs");
    std::fs::write(root.join("units/a.service"), "A").expect("a");
    std::fs::write(dir.0.join("secret"), "S").expect("secret");
    std::os::unix::fs::symlink("a.service", root.join("units/inner.service")).expect("link");
    std::os::unix::fs::symlink(dir.0.join("secret"), root.join("units/out.service")).expect("link");
    std::fs::hard_link(dir.0.join("secret"), root.join("units/hard.service")).expect("hard link");
    let roots = canonical_roots(&[&root]);
    assert_eq!(read_inside(&root.join("units/a.service"), &roots, 10).expect("inside"), "A");
    assert_eq!(read_inside(&root.join("units/inner.service"), &roots, 10).expect("link inside"), "A");
    let err = read_inside(&root.join("units/out.service"), &roots, 10).expect_err("link out");
    assert!(matches!(err, ReadError::Outside { .. }), "{err:?}");
    let err = read_inside(&root.join("units/hard.service"), &roots, 10).expect_err("hard link");
    assert!(matches!(err, ReadError::HardLinked { links: 2 }), "{err:?}");
}

/// Another thread swaps the project's `units` directory for a symlink to a directory outside
/// it and back, as fast as it can; every read either gets the project's file or an error. This
/// asserts only what must hold whatever the scheduling (never the outside file); the races at
/// each exact point are forced by the tests below.
#[cfg(unix)]
#[test]
fn a_directory_swapped_for_a_symlink_while_reading_never_leaks_the_outside() {
    let dir = Scratch::new("race");
    let root = dir.0.join("project");
    let outside = dir.0.join("outside");
    std::fs::create_dir_all(root.join("units-real")).expect("dirs");
    std::fs::create_dir_all(&outside).expect("dirs");
    std::fs::write(root.join("units-real/x.service"), "mine").expect("mine");
    std::fs::write(outside.join("x.service"), "SECRET").expect("secret");
    std::os::unix::fs::symlink("units-real", root.join("units")).expect("link");
    let roots = canonical_roots(&[&root]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let swapper = {
        let (stop, root, outside) = (stop.clone(), root.clone(), outside.clone());
        std::thread::spawn(move || {
            let mut out = false;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let tmp = root.join("units.tmp");
                let target: &Path = if out { Path::new("units-real") } else { &outside };
                let _ = std::os::unix::fs::symlink(target, &tmp);
                let _ = std::fs::rename(&tmp, root.join("units"));
                out = !out;
            }
        })
    };
    for _ in 0..3_000 {
        if let Ok(text) = read_inside(&root.join("units/x.service"), &roots, 100) {
            assert_eq!(text, "mine", "the outside file was read");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    swapper.join().expect("swapper");
}

/// A project with `units/x.service` and, outside it, a directory holding a file of the same
/// name, for the forced races.
#[cfg(unix)]
fn race_project(name: &str) -> (Scratch, PathBuf, PathBuf) {
    let dir = Scratch::new(name);
    let root = dir.0.join("project");
    let outside = dir.0.join("outside");
    std::fs::create_dir_all(root.join("units")).expect("dirs");
    std::fs::create_dir_all(&outside).expect("dirs");
    std::fs::write(root.join("units/x.service"), "mine").expect("mine");
    std::fs::write(outside.join("x.service"), "SECRET").expect("secret");
    (dir, root, outside)
}

/// The race the stress test above hopes for, forced: right after the path was resolved and
/// proven inside, the real directory on it is swapped for a symlink out of the project. The
/// walk from the root meets the symlink and refuses it.
#[cfg(target_os = "linux")]
#[test]
fn a_directory_swapped_for_a_symlink_after_the_resolution_is_refused() {
    let (_dir, root, outside) = race_project("forced-dir");
    let roots = canonical_roots(&[&root]);
    let mut swapped = false;
    let mut hook = |step: open::Step| {
        if let open::Step::Resolved = step {
            std::fs::rename(root.join("units"), root.join("units-old")).expect("move");
            std::os::unix::fs::symlink(&outside, root.join("units")).expect("link out");
            swapped = true;
        }
    };
    let got = read_inside_with(&root.join("units/x.service"), &roots, 100, &mut hook);
    assert!(swapped, "the hook ran");
    assert!(matches!(got, Err(ReadError::Changed)), "{got:?}");
}

/// Forced: the file itself swapped for a symlink to the outside file after the resolution.
#[cfg(target_os = "linux")]
#[test]
fn a_file_swapped_for_a_symlink_after_the_resolution_is_refused() {
    let (_dir, root, outside) = race_project("forced-file");
    let roots = canonical_roots(&[&root]);
    let mut hook = |step: open::Step| {
        if let open::Step::Resolved = step {
            std::fs::remove_file(root.join("units/x.service")).expect("remove");
            std::os::unix::fs::symlink(outside.join("x.service"), root.join("units/x.service")).expect("link out");
        }
    };
    let got = read_inside_with(&root.join("units/x.service"), &roots, 100, &mut hook);
    assert!(matches!(got, Err(ReadError::Changed)), "{got:?}");
}

/// Forced: the file swapped for a FIFO after the resolution. Its type is read from a handle
/// that does not open it, so it is refused without ever being opened for reading.
#[cfg(target_os = "linux")]
#[test]
fn a_file_swapped_for_a_fifo_after_the_resolution_is_never_opened() {
    let (_dir, root, _outside) = race_project("forced-fifo");
    let roots = canonical_roots(&[&root]);
    let mut opened_for_read = Vec::new();
    let mut hook = |step: open::Step| match step {
        open::Step::Resolved => {
            std::fs::remove_file(root.join("units/x.service")).expect("remove");
            let made = std::process::Command::new("mkfifo").arg(root.join("units/x.service")).status().expect("mkfifo");
            assert!(made.success());
        }
        open::Step::OpeningForRead => opened_for_read.push(()),
    };
    let got = read_inside_with(&root.join("units/x.service"), &roots, 100, &mut hook);
    assert!(matches!(got, Err(ReadError::NotRegular(Kind::Fifo))), "{got:?}");
    assert!(opened_for_read.is_empty(), "opened for reading: {opened_for_read:?}");
}

/// A symlink in the project to a device or FIFO outside it is refused on its resolved path:
/// nothing outside is opened, not even by a handle (the hook sees no resolution inside).
#[cfg(target_os = "linux")]
#[test]
fn a_symlink_to_a_device_outside_is_refused_before_anything_is_opened() {
    let (_dir, root, outside) = race_project("device-out");
    let fifo = outside.join("watchdog");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    std::os::unix::fs::symlink(&fifo, root.join("units/dev.service")).expect("link");
    std::os::unix::fs::symlink("/dev/zero", root.join("units/zero.service")).expect("link");
    let roots = canonical_roots(&[&root]);
    for name in ["dev.service", "zero.service"] {
        let mut steps = Vec::new();
        let mut hook = |step: open::Step| steps.push(format!("{step:?}"));
        let got = read_inside_with(&root.join("units").join(name), &roots, 100, &mut hook);
        assert!(matches!(got, Err(ReadError::Outside { .. })), "{name}: {got:?}");
        assert!(steps.is_empty(), "{name}: {steps:?}");
    }
}

/// A device inside the project is named by a handle and refused; it is never opened for
/// reading, so an open with side effects (a watchdog, a tape) never happens.
#[cfg(target_os = "linux")]
#[test]
fn a_device_is_refused_without_being_opened_for_reading() {
    let mut steps = Vec::new();
    let mut hook = |step: open::Step| steps.push(format!("{step:?}"));
    let got = open::open_regular(Path::new("/dev/null"), true, &mut hook).map(|_| ());
    assert!(matches!(got, Err(ReadError::NotRegular(Kind::Device))), "{got:?}");
    assert!(steps.is_empty(), "{steps:?}");
}

#[test]
fn a_hash_is_streamed_through_the_limit() {
    let dir = Scratch::new("hash");
    let path = dir.0.join("f");
    std::fs::write(&path, vec![b'a'; 200_000]).expect("file");
    assert_eq!(hash_own(&path, 200_000).expect("at the limit"), (200_000, content_hash(&vec![b'a'; 200_000])));
    assert!(matches!(hash_own(&path, 199_999), Err(ReadError::TooLarge { limit: 199_999 })));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&path, dir.0.join("l")).expect("link");
        assert!(matches!(hash_own(&dir.0.join("l"), 10), Err(ReadError::Symlink)));
    }
}

#[test]
fn a_stamp_reads_back_from_its_text_and_names_the_inode() {
    let dir = Scratch::new("stamp");
    let path = dir.0.join("f");
    std::fs::write(&path, "one").expect("file");
    let first = Stamp::of(&std::fs::symlink_metadata(&path).expect("meta"));
    assert_eq!(Stamp::parse(&first.to_text()), Some(first));
    assert_eq!(Stamp::parse("1.2.3.4"), None);
    assert_eq!(Stamp::of(&std::fs::symlink_metadata(&path).expect("meta")), first, "nothing changed");
    // A rename into place is a new inode (the time stamps may not move: the kernel's clock for
    // them is coarse, which the writer's manifest allows for).
    std::fs::write(dir.0.join("g"), "two").expect("file");
    std::fs::rename(dir.0.join("g"), &path).expect("rename over");
    assert_ne!(Stamp::of(&std::fs::symlink_metadata(&path).expect("meta")), first);
}
