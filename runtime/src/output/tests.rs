//! The writer against the real file system and injected failures.

use super::*;

pub(super) fn artifacts(files: &[(&str, &str)]) -> Artifacts {
    files.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect()
}

pub(super) fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("clusterdef-output-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

#[test]
fn rerender_replaces_changed_keeps_unchanged_and_removes_only_its_own_stale_files() {
    let dir = tempdir("rerender");
    let first = artifacts(&[("a/x.yml", "one"), ("a/y.yml", "two"), ("b/z", "three")]);
    let report = first.write_to(&dir).expect("first write");
    assert_eq!(report.written, ["a/x.yml", "a/y.yml", "b/z"]);
    fs::write(dir.join("a/mine.txt"), "the user's").expect("user file");

    let second = artifacts(&[("a/x.yml", "one"), ("a/y.yml", "TWO")]);
    let report = second.write_to(&dir).expect("second write");
    assert_eq!(report.unchanged, ["a/x.yml"]);
    assert_eq!(report.written, ["a/y.yml"]);
    assert_eq!(report.removed, ["b/z"]);
    assert!(!dir.join("b").exists(), "an emptied directory goes too");
    assert_eq!(fs::read_to_string(dir.join("a/mine.txt")).expect("kept"), "the user's");
    assert_eq!(read_manifest(&dir).expect("manifest").into_iter().collect::<Vec<_>>(), ["a/x.yml", "a/y.yml"]);
    let leftovers: Vec<_> = fs::read_dir(dir.join("a"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("clusterdef-tmp"))
        .collect();
    assert!(leftovers.is_empty());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_file_it_did_not_write_is_never_overwritten() {
    let dir = tempdir("foreign");
    fs::create_dir_all(dir.join("units")).expect("dir");
    fs::write(dir.join("units/web.service"), "hand-written").expect("user file");
    let err = artifacts(&[("units/web.service", "generated"), ("other", "x")]).write_to(&dir).expect_err("refused");
    assert!(matches!(err, WriteError::NotOurs(_)), "{err}");
    assert_eq!(fs::read_to_string(dir.join("units/web.service")).expect("kept"), "hand-written");
    assert!(!dir.join("other").exists(), "nothing is written when a target is refused");
    let _ = fs::remove_dir_all(&dir);
}

/// A file system whose writes fail once `budget` bytes have been written.
struct FailingFs {
    budget: std::sync::Mutex<usize>,
}

impl FailingFs {
    fn new(budget: usize) -> FailingFs {
        FailingFs { budget: std::sync::Mutex::new(budget) }
    }
}

impl Fs for FailingFs {
    fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut budget = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        if bytes.len() > *budget {
            fs::write(path, &bytes[..*budget])?;
            *budget = 0;
            return Err(io::Error::other("no space left on device (injected)"));
        }
        *budget -= bytes.len();
        fs::write(path, bytes)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("dir").filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), fs::read(&p).expect("file")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_write_that_fails_part_way_leaves_the_previous_render_intact() {
    let dir = tempdir("failing");
    let old = artifacts(&[("a/x.yml", "one"), ("b/y.yml", "two"), ("c", "three")]);
    old.write_to(&dir).expect("first render");
    let before = snapshot(&dir);
    let new = artifacts(&[("a/x.yml", "ONE, longer"), ("b/y.yml", "TWO, longer"), ("d/new.yml", "FOUR, longer")]);
    for budget in [0, 5, 11, 15, 30] {
        let err = write_with(&new, &dir, &FailingFs::new(budget), LOCK_WAIT).expect_err("the injected failure");
        assert!(err.to_string().contains("injected"), "{err}");
        assert_eq!(snapshot(&dir), before, "after failing at byte {budget}, the previous render is untouched");
    }
    // Many files, written from several threads: a failure part way still removes them all.
    let many: Artifacts = (0..500).map(|i| (format!("m/{}/f{i}.yml", i % 7), vec![b'x'; 100])).collect();
    let err = write_with(&many, &dir, &FailingFs::new(25_000), LOCK_WAIT).expect_err("fails part way");
    assert!(err.to_string().contains("injected"), "{err}");
    assert_eq!(snapshot(&dir), before, "after a parallel write failed, the previous render is untouched");
    new.write_to(&dir).expect("a render that can write completes");
    assert_eq!(fs::read_to_string(dir.join("d/new.yml")).expect("new"), "FOUR, longer");
    assert!(!dir.join("c").exists());
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata(path).expect("metadata").ino()
}

/// A changed machine directory (`m/a`) is swapped in whole, yet its unchanged files and the
/// user's files in it are the same files as before (same inode, same modification time); an
/// entry with no change (`m/b`) is not touched, and neither is the top-level directory holding
/// them, nor the user's file beside them.
#[cfg(unix)]
#[test]
fn unchanged_and_foreign_files_are_carried_not_rewritten() {
    let dir = tempdir("carry");
    let first = artifacts(&[("m/a/same.yml", "same"), ("m/a/changes.yml", "v1"), ("m/b/still.yml", "still")]);
    first.write_to(&dir).expect("first write");
    fs::write(dir.join("m/a/mine.txt"), "the user's").expect("user file");
    fs::write(dir.join("m/beside.txt"), "the user's too").expect("user file");
    fs::create_dir_all(dir.join("m/a/empty")).expect("the user's empty directory");
    let inodes = |paths: &[&str]| paths.iter().map(|p| inode(&dir.join(p))).collect::<Vec<_>>();
    let kept = ["m/a/same.yml", "m/a/mine.txt", "m/b", "m", "m/beside.txt"];
    let before = inodes(&kept);
    let a = inode(&dir.join("m/a"));
    let modified = fs::metadata(dir.join("m/a/same.yml")).and_then(|m| m.modified()).expect("mtime");
    std::thread::sleep(Duration::from_millis(20));
    let second = artifacts(&[("m/a/same.yml", "same"), ("m/a/changes.yml", "v2"), ("m/b/still.yml", "still")]);
    let report = second.write_to(&dir).expect("second write");
    assert_eq!(report.written, ["m/a/changes.yml"]);
    assert_eq!(report.unchanged, ["m/a/same.yml", "m/b/still.yml"]);
    assert_eq!(inodes(&kept), before, "{kept:?}: carried or untouched");
    assert_ne!(inode(&dir.join("m/a")), a, "the changed machine's directory is swapped whole");
    assert_eq!(fs::metadata(dir.join("m/a/same.yml")).and_then(|m| m.modified()).expect("mtime"), modified);
    assert!(dir.join("m/a/empty").is_dir());
    assert_eq!(fs::read_to_string(dir.join("m/a/changes.yml")).expect("changed"), "v2");
    assert!(!dir.join(STAGE).exists(), "the stage is gone");
    let _ = fs::remove_dir_all(&dir);
}

/// A change to one file directly in a top-level directory that stays renames that file alone:
/// the directory, its other files and the user's file in it keep their inodes, and nothing is
/// carried. (Swapping the whole directory made a 1% change cost as much as a full render.)
#[cfg(unix)]
#[test]
fn a_change_to_one_machine_swaps_only_its_entry() {
    let dir = tempdir("one-entry");
    let files: Vec<(String, String)> =
        (0..50).map(|i| (format!("cloud-config/m{i:02}.yml"), format!("v1 {i}"))).collect();
    let first: Artifacts = files.iter().map(|(p, t)| (p.clone(), t.as_bytes().to_vec())).collect();
    first.write_to(&dir).expect("first write");
    fs::write(dir.join("cloud-config/README"), "the user's").expect("user file");
    let others: Vec<String> = std::iter::once("cloud-config".to_string())
        .chain(std::iter::once("cloud-config/README".to_string()))
        .chain(files.iter().map(|(p, _)| p.clone()).filter(|p| !p.ends_with("m07.yml")))
        .collect();
    let inodes = || others.iter().map(|p| inode(&dir.join(p))).collect::<Vec<_>>();
    let before = inodes();
    let second: Artifacts = files
        .iter()
        .map(|(p, t)| (p.clone(), if p.ends_with("m07.yml") { b"v2".to_vec() } else { t.as_bytes().to_vec() }))
        .collect();
    let report = second.write_to(&dir).expect("second write");
    assert_eq!(report.written, ["cloud-config/m07.yml"]);
    assert_eq!(inodes(), before, "nothing but the changed file is touched");
    assert_eq!(fs::read_to_string(dir.join("cloud-config/m07.yml")).expect("changed"), "v2");
    let _ = fs::remove_dir_all(&dir);
}

/// A rename that fails part way through the swaps undoes the swaps already made, so the
/// directory and its manifest are the previous render's, and the next write completes.
#[test]
fn a_failed_rename_among_many_swaps_undoes_the_ones_made() {
    let dir = tempdir("undo");
    let old = artifacts(&[("a/x.yml", "one"), ("a/y.yml", "two"), ("b/z.yml", "three")]);
    old.write_to(&dir).expect("first render");
    let before = snapshot(&dir);
    let new = artifacts(&[("a/x.yml", "ONE"), ("a/y.yml", "TWO"), ("b/z.yml", "THREE")]);
    // Each swap is two renames (set aside, then in): the third swap's second rename fails.
    let err =
        write_with(&new, &dir, &FailingRename { left: std::sync::Mutex::new(5) }, LOCK_WAIT).expect_err("injected");
    assert!(err.to_string().contains("injected"), "{err}");
    assert_eq!(snapshot(&dir), before, "every swap undone, the manifest put back");
    let report = new.write_to(&dir).expect("the next write");
    assert_eq!(report.written, ["a/x.yml", "a/y.yml", "b/z.yml"]);
    let _ = fs::remove_dir_all(&dir);
}

/// An entry set aside inside a top-level directory that stayed (a write killed between the two
/// renames of its swap) is put back by the next write, which then finds it unchanged.
#[test]
fn an_entry_set_aside_inside_a_kept_directory_is_put_back() {
    let dir = tempdir("aside");
    let render = artifacts(&[("a/x.yml", "one"), ("a/y.yml", "two")]);
    render.write_to(&dir).expect("first render");
    fs::create_dir_all(dir.join(STAGE).join(OLD).join("a")).expect("stage");
    fs::rename(dir.join("a/x.yml"), dir.join(STAGE).join(OLD).join("a/x.yml")).expect("half a swap");
    let report = render.write_to(&dir).expect("the next write");
    assert_eq!(report.unchanged, ["a/x.yml", "a/y.yml"], "put back, not written again");
    assert!(!dir.join(STAGE).exists());
    let _ = fs::remove_dir_all(&dir);
}

/// A file system whose renames fail after the first `left`.
struct FailingRename {
    left: std::sync::Mutex<usize>,
}

impl Fs for FailingRename {
    fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        fs::write(path, bytes)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        if *left == 0 {
            return Err(io::Error::other("rename refused (injected)"));
        }
        *left -= 1;
        fs::rename(from, to)
    }
}

#[test]
fn a_failed_swap_puts_the_directory_back_and_an_interrupted_one_is_repaired() {
    let dir = tempdir("swap");
    let old = artifacts(&[("a/x.yml", "one"), ("b/y.yml", "two")]);
    old.write_to(&dir).expect("first render");
    let before = snapshot(&dir);
    let new = artifacts(&[("a/x.yml", "ONE"), ("b/y.yml", "TWO")]);
    // The second rename (the staged `a` into place) fails: `a` goes back where it was.
    let err =
        write_with(&new, &dir, &FailingRename { left: std::sync::Mutex::new(1) }, LOCK_WAIT).expect_err("injected");
    assert!(err.to_string().contains("injected"), "{err}");
    assert_eq!(snapshot(&dir), before);
    // A write killed between the two renames leaves `a` in the stage; the next one puts it
    // back before it begins, then completes.
    fs::create_dir_all(dir.join(STAGE).join(OLD)).expect("stage");
    fs::rename(dir.join("a"), dir.join(STAGE).join(OLD).join("a")).expect("half a swap");
    assert!(!dir.join("a").exists());
    let report = new.write_to(&dir).expect("the next write");
    assert_eq!(report.written, ["a/x.yml", "b/y.yml"]);
    assert_eq!(fs::read_to_string(dir.join("a/x.yml")).expect("a"), "ONE");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn concurrent_writes_into_one_directory_do_not_interleave() {
    let dir = tempdir("concurrent");
    let a = artifacts(&[("x", "from a"), ("only-a/1", "a"), ("only-a/2", "a")]);
    let b = artifacts(&[("x", "from b"), ("only-b/1", "b")]);
    std::thread::scope(|s| {
        for set in [&a, &b] {
            let dir = &dir;
            s.spawn(move || {
                for _ in 0..25 {
                    set.write_to(dir).expect("each write completes");
                }
            });
        }
    });
    // Whichever finished last, the directory is exactly its render and manifest.
    let listed: Vec<String> = read_manifest(&dir).expect("manifest").into_iter().collect();
    let last = if fs::read_to_string(dir.join("x")).expect("x") == "from a" { &a } else { &b };
    assert_eq!(listed, last.paths().map(str::to_string).collect::<Vec<_>>());
    let mut files: Vec<String> = snapshot(&dir)
        .into_iter()
        .filter_map(|(p, _)| p.strip_prefix(&dir).ok().map(|r| r.to_string_lossy().into_owned()))
        .collect();
    files.retain(|f| f != MANIFEST);
    assert_eq!(
        files,
        last.paths().map(str::to_string).collect::<Vec<_>>(),
        "no file of the other render is left, no temp file"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_live_lock_makes_a_write_fail_cleanly_and_a_dead_one_is_taken_over() {
    let dir = tempdir("lock");
    fs::create_dir_all(&dir).expect("dir");
    fs::write(dir.join(LOCK), format!("{}\n", std::process::id())).expect("a lock held by a live process");
    let err = write_with(&artifacts(&[("x", "1")]), &dir, &RealFs, Duration::from_millis(200)).expect_err("locked");
    assert!(matches!(err, WriteError::Locked(_)), "{err}");
    assert!(!dir.join("x").exists());
    fs::write(dir.join(LOCK), "4294967295\n").expect("a lock left by a process that is gone");
    artifacts(&[("x", "1")]).write_to(&dir).expect("a dead holder's lock is taken over");
    // A writer killed between creating the lock and writing its PID leaves it empty.
    fs::write(dir.join(LOCK), "").expect("an empty lock");
    let old = std::time::SystemTime::now() - Duration::from_secs(5);
    fs::File::options().write(true).open(dir.join(LOCK)).and_then(|f| f.set_modified(old)).expect("age it");
    artifacts(&[("x", "2")]).write_to(&dir).expect("an empty lock older than a live writer's is taken over");
    assert!(!dir.join(LOCK).exists(), "the lock is released");
    let _ = fs::remove_dir_all(&dir);
}

/// Every path under `dir`, each with what it is (a link with its target), for comparing a
/// directory before and after a refused write.
#[cfg(unix)]
fn listing(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("dir").filter_map(Result::ok) {
            let p = e.path();
            let meta = fs::symlink_metadata(&p).expect("meta");
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&p).expect("link").display())
            } else if meta.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else {
                format!("{} {:?}", inode(&p), fs::read(&p).expect("file"))
            };
            out.push((p, what));
        }
    }
    out.sort();
    out
}

/// (a) A top-level entry of the previous render replaced by a symlink to another directory:
/// a render that no longer makes it stops, naming it, and nothing in the other directory is
/// removed, the file clusterdef never wrote included.
#[cfg(unix)]
#[test]
fn a_symlinked_entry_of_the_previous_render_is_never_pruned_through() {
    let dir = tempdir("prune-link");
    let elsewhere = tempdir("prune-link-elsewhere");
    artifacts(&[("pxe/a.ipxe", "A"), ("pxe/b/c.cfg", "C"), ("cloud-config/x.yml", "X")]).write_to(&dir).expect("first");
    fs::create_dir_all(elsewhere.join("b")).expect("elsewhere");
    fs::write(elsewhere.join("a.ipxe"), "A").expect("same name, same bytes");
    fs::write(elsewhere.join("b/c.cfg"), "C").expect("same name, same bytes");
    fs::write(elsewhere.join("never-written.txt"), "mine").expect("the user's");
    fs::remove_dir_all(dir.join("pxe")).expect("pxe");
    std::os::unix::fs::symlink(&elsewhere, dir.join("pxe")).expect("link");
    let (before, before_elsewhere) = (listing(&dir), listing(&elsewhere));
    let err = artifacts(&[("cloud-config/x.yml", "X2")]).write_to(&dir).expect_err("refused");
    assert!(matches!(&err, WriteError::Foreign { path, .. } if path.ends_with("pxe")), "{err}");
    assert!(err.to_string().contains("symlink"), "{err}");
    assert_eq!(listing(&elsewhere), before_elsewhere, "nothing in the other directory changed");
    assert_eq!(listing(&dir), before, "nothing in the output changed");
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&elsewhere);
}

/// (b) The stage replaced by a symlink to a directory holding `.old/stuff`: recovery refuses
/// it and moves nothing into the output.
#[cfg(unix)]
#[test]
fn a_symlinked_stage_is_refused_and_nothing_is_recovered_from_it() {
    let dir = tempdir("stage-link");
    let elsewhere = tempdir("stage-link-elsewhere");
    artifacts(&[("stuff/x", "X")]).write_to(&dir).expect("first");
    fs::create_dir_all(elsewhere.join(".old/stuff")).expect("elsewhere");
    fs::write(elsewhere.join(".old/stuff/x"), "X").expect("a copy that looks like ours");
    fs::remove_dir_all(dir.join("stuff")).expect("the entry is gone, as after a kill");
    std::os::unix::fs::symlink(&elsewhere, dir.join(STAGE)).expect("link");
    let before_elsewhere = listing(&elsewhere);
    let err = artifacts(&[("stuff/x", "X")]).write_to(&dir).expect_err("refused");
    assert!(matches!(&err, WriteError::Foreign { path, .. } if path.ends_with(STAGE)), "{err}");
    assert_eq!(listing(&elsewhere), before_elsewhere);
    assert!(!dir.join("stuff").exists(), "nothing was moved in");
    // In a real stage, an entry the manifest does not name, or one that does not hold what
    // clusterdef wrote, stays where it is (and goes with the stage).
    fs::remove_file(dir.join(STAGE)).expect("unlink");
    fs::create_dir_all(dir.join(STAGE).join(OLD).join("stuff")).expect("stage");
    fs::write(dir.join(STAGE).join(OLD).join("stuff/x"), "not what was written").expect("x");
    fs::create_dir_all(dir.join(STAGE).join(OLD).join("unknown")).expect("stage");
    let report = artifacts(&[("other", "O")]).write_to(&dir).expect("the write goes on");
    assert_eq!(report.written, ["other"]);
    assert!(!dir.join("stuff").exists() && !dir.join("unknown").exists(), "{:?}", listing(&dir));
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&elsewhere);
}

/// (c) A managed directory replaced by a symlink to the user's directory: the render stops;
/// the link stays a link, and the user's files are not linked into the output.
#[cfg(unix)]
#[test]
fn a_symlinked_managed_directory_is_never_replaced_or_linked_from() {
    let dir = tempdir("dir-link");
    let user = tempdir("dir-link-user");
    artifacts(&[("cloud-config/a.yml", "A")]).write_to(&dir).expect("first");
    fs::create_dir_all(&user).expect("user");
    fs::write(user.join("secret.txt"), "secret").expect("secret");
    fs::remove_dir_all(dir.join("cloud-config")).expect("dir");
    std::os::unix::fs::symlink(&user, dir.join("cloud-config")).expect("link");
    let (before, before_user) = (listing(&dir), listing(&user));
    let err = artifacts(&[("cloud-config/a.yml", "A2")]).write_to(&dir).expect_err("refused");
    assert!(matches!(&err, WriteError::Foreign { path, .. } if path.ends_with("cloud-config")), "{err}");
    assert_eq!(listing(&dir), before);
    assert_eq!(listing(&user), before_user, "the user's file has one link, its own");
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&user);
}

/// A file clusterdef wrote and someone changed since is no longer its own: a render that
/// would overwrite it stops, and a render that no longer makes it leaves it in place.
#[test]
fn a_file_changed_since_it_was_written_is_neither_overwritten_nor_removed() {
    let dir = tempdir("edited");
    artifacts(&[("a/x.yml", "X"), ("a/y.yml", "Y")]).write_to(&dir).expect("first");
    fs::write(dir.join("a/x.yml"), "edited by hand").expect("edit");
    let err = artifacts(&[("a/x.yml", "X2")]).write_to(&dir).expect_err("refused");
    assert!(matches!(err, WriteError::NotOurs(_)), "{err}");
    let report = artifacts(&[("a/y.yml", "Y2")]).write_to(&dir).expect("x is no longer rendered");
    assert!(report.removed.is_empty(), "{report:?}");
    assert_eq!(fs::read_to_string(dir.join("a/x.yml")).expect("kept"), "edited by hand");
    let _ = fs::remove_dir_all(&dir);
}

/// A FIFO or a symlink where clusterdef compares or writes a file is refused without
/// blocking and without writing through the link.
#[cfg(unix)]
#[test]
fn special_files_and_links_at_artifact_paths_are_refused_without_blocking() {
    let dir = tempdir("special");
    let outside = tempdir("special-outside");
    fs::create_dir_all(dir.join("a")).expect("a");
    fs::create_dir_all(&outside).expect("outside");
    assert!(std::process::Command::new("mkfifo").arg(dir.join("a/x.yml")).status().expect("mkfifo").success());
    let err = artifacts(&[("a/x.yml", "X")]).write_to(&dir).expect_err("a fifo");
    assert!(err.to_string().contains("named pipe"), "{err}");
    fs::remove_file(dir.join("a/x.yml")).expect("fifo");
    std::os::unix::fs::symlink(outside.join("target"), dir.join("a/x.yml")).expect("link");
    let err = artifacts(&[("a/x.yml", "X")]).write_to(&dir).expect_err("a link");
    assert!(err.to_string().contains("symlink"), "{err}");
    assert!(!outside.join("target").exists(), "nothing was written through the link");
    let module = dir.join("module.rs");
    std::os::unix::fs::symlink(outside.join("module"), &module).expect("link");
    assert!(write_if_changed(&module, b"m").is_err());
    std::os::unix::fs::symlink(outside.join("tmp"), dir.join(".module2.rs.clusterdef-tmp")).expect("link");
    assert!(write_if_changed(&dir.join("module2.rs"), b"m").expect("written"));
    assert!(!outside.join("module").exists() && !outside.join("tmp").exists(), "nothing was written through a link");
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&outside);
}

/// A file whose stamp is the one the manifest recorded is known by it, without being read: here
/// the manifest says (by hash) it holds what the render makes while the bytes on disk differ,
/// and the write believes the stamp. The stamp is the whole proof; any write to the file (a new
/// inode, a new change time) takes it away.
#[test]
fn a_file_whose_stamp_matches_is_known_without_reading_it() {
    let dir = tempdir("stamp-trusted");
    fs::create_dir_all(dir.join("a")).expect("dir");
    fs::write(dir.join("a/x"), "on disk").expect("file");
    let stamp = clusterdef_fs::Stamp::of(&fs::symlink_metadata(dir.join("a/x")).expect("meta"));
    let made = b"the render";
    let manifest = Manifest::parse(&format!(
        "# clusterdef-manifest 2\n{:016x} {} a/x\n",
        clusterdef_fs::fnv1a(made),
        stamp.to_text()
    ));
    // The lengths differ, so the stamp alone cannot make it the same: it is ours, to replace.
    assert_eq!(
        current(
            &dir,
            "a/x",
            made,
            clusterdef_fs::fnv1a(made),
            &manifest,
            Some(&fs::symlink_metadata(dir.join("a/x")).expect("meta"))
        )
        .expect("state"),
        Current::Ours
    );
    let same = b"on dixk"; // as long as what is on disk, and never read
    let manifest = Manifest::parse(&format!(
        "# clusterdef-manifest 2\n{:016x} {} a/x\n",
        clusterdef_fs::fnv1a(same),
        stamp.to_text()
    ));
    assert_eq!(
        current(
            &dir,
            "a/x",
            same,
            clusterdef_fs::fnv1a(same),
            &manifest,
            Some(&fs::symlink_metadata(dir.join("a/x")).expect("meta"))
        )
        .expect("state"),
        Current::Same
    );
    // Replaced since (a new inode): read, found foreign.
    fs::write(dir.join("a/y"), "on disk").expect("file");
    fs::rename(dir.join("a/y"), dir.join("a/x")).expect("rename");
    assert_eq!(
        current(
            &dir,
            "a/x",
            same,
            clusterdef_fs::fnv1a(same),
            &manifest,
            Some(&fs::symlink_metadata(dir.join("a/x")).expect("meta"))
        )
        .expect("state"),
        Current::Foreign
    );
    let _ = fs::remove_dir_all(&dir);
}

/// `up_to_date` says a render has nothing to do only when the manifest names the same source
/// and every file it lists has the stamp it recorded; anything else renders.
#[test]
fn up_to_date_needs_the_same_source_and_every_stamp() {
    let dir = tempdir("up-to-date");
    fs::create_dir_all(dir.join("a")).expect("dir");
    fs::write(dir.join("a/x"), "x").expect("file");
    fs::write(dir.join("top"), "t").expect("file");
    let stamp = |rel: &str| clusterdef_fs::Stamp::of(&fs::symlink_metadata(dir.join(rel)).expect("meta")).to_text();
    let manifest = |source: u64, top_stamp: &str| {
        format!(
            "# clusterdef-manifest 2 source={source:016x}\n{:016x} {} a/x\n{:016x} {top_stamp} top\n",
            clusterdef_fs::fnv1a(b"x"),
            stamp("a/x"),
            clusterdef_fs::fnv1a(b"t")
        )
    };
    fs::write(dir.join(MANIFEST), manifest(7, &stamp("top"))).expect("manifest");
    let report = up_to_date(&dir, 7).expect("reads").expect("up to date");
    assert_eq!(report.unchanged, ["a/x", "top"]);
    assert!(up_to_date(&dir, 8).expect("reads").is_none(), "another source");
    fs::write(dir.join(MANIFEST), manifest(7, "-")).expect("manifest");
    assert!(up_to_date(&dir, 7).expect("reads").is_none(), "a file without a stamp");
    fs::write(dir.join(MANIFEST), manifest(7, &stamp("top"))).expect("manifest");
    fs::write(dir.join("new"), "T").expect("file");
    fs::rename(dir.join("new"), dir.join("top")).expect("replaced");
    assert!(up_to_date(&dir, 7).expect("reads").is_none(), "a file replaced since");
    fs::create_dir_all(dir.join(STAGE)).expect("stage");
    assert!(up_to_date(&dir, 7).expect("reads").is_none(), "an interrupted write");
    let _ = fs::remove_dir_all(&dir);
}

/// A file changed right after a render, even in the kernel's same time tick (so its times may
/// not move), is found changed by the next render: its stamp was recorded only if older than
/// the manifest, and otherwise it is compared by its bytes. Never overwritten.
#[test]
fn a_file_changed_right_after_a_render_is_found_whatever_the_clock() {
    let dir = tempdir("racy");
    let first = artifacts(&[("a/x.yml", "one"), ("a/y.yml", "two")]);
    first.write_to_from(&dir, 1).expect("first");
    fs::write(dir.join("a/x.yml"), "ONE").expect("changed at once, same size");
    let err = artifacts(&[("a/x.yml", "one!"), ("a/y.yml", "two")]).write_to_from(&dir, 2).expect_err("refused");
    assert!(matches!(err, WriteError::NotOurs(_)), "{err}");
    assert_eq!(fs::read_to_string(dir.join("a/x.yml")).expect("kept"), "ONE");
    assert!(up_to_date(&dir, 1).expect("reads").is_none(), "a changed file is never up to date");
    let _ = fs::remove_dir_all(&dir);
}

/// The manifest never trusts a stamp as young as itself.
#[test]
fn stamps_as_young_as_the_manifest_are_left_unknown() {
    let dir = tempdir("young");
    let art = artifacts(&[("a/x.yml", "one")]);
    art.write_to_from(&dir, 3).expect("write");
    let text = fs::read_to_string(dir.join(MANIFEST)).expect("manifest");
    let manifest = Manifest::parse(&text);
    assert_eq!(manifest.source, Some(3));
    let own = clusterdef_fs::Stamp::of(&fs::symlink_metadata(dir.join(MANIFEST)).expect("meta"));
    for entry in manifest.files.values().flatten() {
        if let Some(stamp) = entry.stamp {
            assert!(stamp.changed < own.changed, "{stamp:?} recorded, manifest {own:?}");
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

/// A manifest line longer than any path is no entry (and so is never echoed into a message),
/// and a long path in a message is cut to a window.
#[test]
fn long_manifest_lines_are_no_entries_and_messages_stay_short() {
    let long = "x".repeat(5_000_000);
    let manifest = Manifest::parse(&format!("{long}\n0123456789abcdef ok/path\n"));
    assert_eq!(manifest.files.keys().collect::<Vec<_>>(), ["ok/path"]);
    let err = WriteError::NotOurs(PathBuf::from(format!("/out/{long}")));
    assert!(err.to_string().len() < 500, "{}", err.to_string().len());
}
