//! Stage 6: write the compiled tree to disk, touching only what changed.
//!
//! A first build assembles the tree in a sibling staging folder and renames
//! it into place: the output folder appears complete or not at all. Every
//! later build writes only the files whose bytes change and removes only the
//! pruned ones, each file replaced by a rename, so that at every instant each
//! file holds its old or its new content. Before it touches the first file,
//! the build writes a journal naming every file it is about to replace; the
//! journal is removed last. A tree that holds a journal is mid-build (or its
//! build was killed): readers refuse or flag it, and the next build finishes
//! it. `.catalyst-manifest` records, in `sha256sum` format, the digest of
//! every file the compiler owns, and `.catalyst-cache` the fingerprint of the
//! planned content each file was rendered from: a rebuild renders to bytes
//! only the files whose content changed, and decides what is on disk from the
//! manifest and one `stat` per file, without reading the output.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use foldhash::{HashMap, HashMapExt};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::SystemTime;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::diagnostic::{codes, Diagnostic};
use crate::pipeline::render::{Fingerprint, Output};
use crate::support::vfs::Vfs;

/// Lists the files the compiler wrote, with their digests, so the next build knows what it owns.
pub const MANIFEST: &str = ".catalyst-manifest";
/// Present while a build replaces files, and after a build was killed doing so.
pub const JOURNAL: &str = ".catalyst-journal";
/// The fingerprints of the planned content each file was rendered from.
pub const CACHE: &str = ".catalyst-cache";
/// Up to this many written files are flushed one by one; beyond, with one `syncfs`. On
/// the development machine's disk an `fsync` costs ~0.25 ms a file, and one `syncfs`
/// 0.06 ms a file written plus every other process's dirty pages (80 ms for 200 MB).
const FSYNC_LIMIT: usize = 256;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EmitReport {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("`{0}` is a symbolic link; refusing to write through it")]
    Symlink(PathBuf),
    #[error("cannot write `{path}`: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> EmitError + '_ {
    move |source| EmitError::Io { path: path.to_path_buf(), source }
}

/// Writes `output` to `dir`.
pub fn emit(output: &Output, dir: &Path) -> Result<EmitReport, EmitError> {
    emit_over(output, dir, &Previous::read(dir))
}

/// Writes `output` over what `previous` says the last build left in `dir`; the files of
/// `output.reused` are those `previous` already holds (see [`Previous::holds`]).
pub fn emit_over(output: &Output, dir: &Path, previous: &Previous) -> Result<EmitReport, EmitError> {
    if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(EmitError::Symlink(dir.to_path_buf()));
    }
    let staging = staging_path(dir);
    // A leftover of an interrupted run.
    if fs::symlink_metadata(&staging).is_ok() {
        remove_any(&staging)?;
    }
    let written: BTreeMap<&str, Digest32> =
        output.files.par_iter().map(|(path, bytes)| (path.as_str(), Sha256::digest(bytes).into())).collect();
    let records = || Records::of(output, previous, &written);
    if fs::symlink_metadata(dir).is_err() {
        emit_fresh(output, dir, &staging, &records())?;
        return Ok(EmitReport { written: output.files.len(), ..EmitReport::default() });
    }
    let plan = Plan::new(output, dir, previous, &written);
    let total = output.files.len() + output.reused.len();
    let report = EmitReport { written: plan.write.len(), unchanged: total - plan.write.len(), removed: plan.remove.len() };
    if plan.write.is_empty() && plan.remove.is_empty() && previous.records(output, &written) {
        return Ok(report);
    }
    plan.apply(output, dir, &staging, &records())?;
    Ok(report)
}

/// The first build: the whole tree staged beside its place, then renamed into it.
fn emit_fresh(output: &Output, dir: &Path, staging: &Path, records: &Records<'_>) -> Result<(), EmitError> {
    fs::create_dir_all(staging).map_err(io_at(staging))?;
    for (path, bytes) in &output.files {
        let target = staging.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io_at(parent))?;
        }
        fs::write(&target, bytes).map_err(io_at(&target))?;
    }
    for (name, write) in records.files() {
        let path = staging.join(name);
        fs::File::create(&path).and_then(|file| write(&mut io::BufWriter::new(file))).map_err(io_at(&path))?;
    }
    syncfs(staging)?;
    fs::rename(staging, dir).map_err(io_at(dir))
}

/// What a rebuild changes in an existing tree.
struct Plan<'o> {
    /// Files whose bytes change (or may have: a killed build left them unverified).
    write: Vec<&'o str>,
    /// Files the compiler produced before and no longer does.
    remove: Vec<String>,
}

impl<'o> Plan<'o> {
    fn new(output: &'o Output, dir: &Path, previous: &Previous, written: &BTreeMap<&str, Digest32>) -> Self {
        let write = output
            .files
            .par_iter()
            .filter(|(path, bytes)| match previous.trusted_digest(path) {
                Some(recorded) => recorded != written[path.as_str()],
                None => fs::read(dir.join(path)).map_or(true, |old| &old != *bytes),
            })
            .map(|(path, _)| path.as_str())
            .collect();
        if previous.all_produced_by(output) {
            return Plan { write, remove: Vec::new() };
        }
        // What a manifest or journal names is only pruned inside the tree, and never a folder.
        let produced: HashSet<&str> = output.files.keys().chain(output.reused.iter().map(|(path, _)| path)).map(String::as_str).collect();
        let owned = previous.entries.keys().chain(previous.journal.iter().flatten()).filter(|path| is_tree_path(path));
        let remove = owned
            .filter(|path| !produced.contains(path.as_str()))
            .filter(|path| fs::symlink_metadata(dir.join(path)).is_ok_and(|m| !m.is_dir()))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Plan { write, remove }
    }

    /// Journal, stage, flush, replace, flush, record: the order that keeps every
    /// file old or new, and a mixed tree marked, at every instant.
    fn apply(&self, output: &Output, dir: &Path, staging: &Path, records: &Records<'_>) -> Result<(), EmitError> {
        // Refused before anything is touched: a symbolic link among the targets' folders.
        let mut parents = Parents::new(dir);
        for path in self.write.iter().copied().chain(self.remove.iter().map(String::as_str)) {
            parents.check(&dir.join(path))?;
        }
        let journal_path = dir.join(JOURNAL);
        let mut journal = String::from("# catalyst build in progress (or killed): the files below hold their old or their new content.\n# Run `catalyst build` to finish it.\n");
        for path in &self.write {
            journal.push_str(&format!("write {path}\n"));
        }
        for path in &self.remove {
            journal.push_str(&format!("remove {path}\n"));
        }
        fs::create_dir_all(staging).map_err(io_at(staging))?;
        write_durably(&journal_path, staging, |file| file.write_all(journal.as_bytes()))?;

        // Few files are flushed one by one, so a small rebuild does not pay for other
        // processes' dirty pages; many with one `syncfs`, where the build's own writes dominate.
        let one_by_one = self.write.len() <= FSYNC_LIMIT;
        let staged: Vec<PathBuf> = (0..self.write.len()).map(|i| staging.join(i.to_string())).collect();
        for (path, temp) in self.write.iter().zip(&staged) {
            let mut file = fs::File::create(temp).map_err(io_at(temp))?;
            file.write_all(&output.files[*path]).map_err(io_at(temp))?;
            if one_by_one {
                file.sync_data().map_err(io_at(temp))?;
            }
        }
        if !one_by_one {
            syncfs(dir)?;
        }

        for path in &self.remove {
            let target = dir.join(path);
            fs::remove_file(&target).map_err(io_at(&target))?;
            parents.prune_empty(&target);
        }
        for (path, temp) in self.write.iter().zip(&staged) {
            let target = dir.join(path);
            parents.create(&target)?;
            fs::rename(temp, &target).map_err(io_at(&target))?;
        }
        if one_by_one {
            parents.touched.iter().try_for_each(|folder| fsync(folder))?;
        } else {
            syncfs(dir)?;
        }

        for (name, write) in records.files() {
            write_durably(&dir.join(name), staging, write)?;
        }
        fs::remove_file(&journal_path).map_err(io_at(&journal_path))?;
        fs::remove_dir_all(staging).map_err(io_at(staging))
    }
}

/// The folders of a rebuild's targets: none of them may be a symbolic link
/// (a link planted in the tree must not redirect a write outside it).
struct Parents<'d> {
    dir: &'d Path,
    checked: HashSet<PathBuf>,
    /// Folders whose entries changed, to flush.
    touched: BTreeSet<PathBuf>,
}

impl<'d> Parents<'d> {
    fn new(dir: &'d Path) -> Self {
        Parents { dir, checked: HashSet::new(), touched: BTreeSet::new() }
    }

    /// Refuses a target whose folders inside the tree include a symbolic link.
    fn check(&mut self, target: &Path) -> Result<(), EmitError> {
        self.walk(target, false)
    }

    /// Creates the target's missing folders (refusing symbolic links on the way).
    fn create(&mut self, target: &Path) -> Result<(), EmitError> {
        self.walk(target, true)
    }

    fn walk(&mut self, target: &Path, create: bool) -> Result<(), EmitError> {
        let parent = target.parent().unwrap_or(self.dir);
        self.touched.insert(parent.to_path_buf());
        let relative = parent.strip_prefix(self.dir).unwrap_or(Path::new(""));
        let mut folder = self.dir.to_path_buf();
        for component in relative.components() {
            folder.push(component);
            if self.checked.contains(&folder) {
                continue;
            }
            match fs::symlink_metadata(&folder) {
                Ok(meta) if meta.file_type().is_symlink() => return Err(EmitError::Symlink(folder)),
                Ok(_) => {}
                Err(_) if create => {
                    fs::create_dir(&folder).map_err(io_at(&folder))?;
                    self.touched.insert(folder.parent().unwrap_or(self.dir).to_path_buf());
                }
                Err(_) => return Ok(()),
            }
            self.checked.insert(folder.clone());
        }
        Ok(())
    }

    /// Removes the folders a pruned file leaves empty, up to the tree's root.
    fn prune_empty(&mut self, target: &Path) {
        let mut folder = target.parent();
        while let Some(current) = folder.filter(|f| *f != self.dir && f.starts_with(self.dir)) {
            if fs::remove_dir(current).is_err() {
                break;
            }
            self.checked.remove(current);
            self.touched.remove(current);
            folder = current.parent();
            self.touched.extend(folder.map(Path::to_path_buf));
        }
    }
}

/// What the last build left in the output folder: the digests it recorded,
/// the fingerprints it rendered them from, and the journal of a build that did
/// not finish.
#[derive(Debug, Default)]
pub struct Previous {
    entries: HashMap<String, Recorded>,
    /// The paths a killed build's journal names (it may have replaced any of them).
    journal: Option<BTreeSet<String>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Recorded {
    /// `None` for a manifest written before digests were recorded.
    digest: Option<Digest32>,
    /// `None` when the cache is missing or was written by another build of catalyst.
    fingerprint: Option<Fingerprint>,
    /// The file still holds what the manifest records (see [`untouched_since`]).
    trusted: bool,
}

pub type Digest32 = [u8; 32];

impl Previous {
    /// Reads what `dir` holds of the last build (nothing, if it holds no tree).
    pub fn read(dir: &Path) -> Self {
        let manifest_path = dir.join(MANIFEST);
        let journal: Option<BTreeSet<String>> = fs::read_to_string(dir.join(JOURNAL)).ok().map(|text| {
            text.lines()
                .filter_map(|line| line.strip_prefix("write ").or_else(|| line.strip_prefix("remove ")))
                .map(str::to_string)
                .collect()
        });
        let recorded = fs::read_to_string(&manifest_path).map(|text| parse_manifest(&text)).unwrap_or_default();
        let paths: Vec<&str> = recorded.iter().map(|(path, _)| path.as_str()).collect();
        let trusted = untouched(dir, &paths);
        let mut entries: HashMap<String, Recorded> = HashMap::with_capacity(recorded.len());
        entries.extend(recorded.into_iter().zip(trusted).map(|((path, digest), trusted)| {
            let trusted = trusted && !journal.as_ref().is_some_and(|journal| journal.contains(&path));
            (path, Recorded { digest, fingerprint: None, trusted })
        }));
        read_cache(dir, &mut entries);
        Previous { entries, journal }
    }

    /// Whether the tree holds the bytes the content of `fingerprint` renders to at `path`,
    /// as the last build wrote them: then they need not be rendered again.
    pub fn holds(&self, path: &str, fingerprint: &Fingerprint) -> bool {
        self.entries
            .get(path)
            .is_some_and(|entry| entry.trusted && entry.digest.is_some() && entry.fingerprint.as_ref() == Some(fingerprint))
    }

    /// The digest the manifest records for `path`, if the file still holds what it records.
    fn trusted_digest(&self, path: &str) -> Option<Digest32> {
        self.entries.get(path).filter(|entry| entry.trusted)?.digest
    }

    /// Whether the manifest and the cache already record exactly `output`'s files.
    fn records(&self, output: &Output, digests: &BTreeMap<&str, Digest32>) -> bool {
        self.journal.is_none()
            && self.entries.len() == output.files.len() + output.reused.len()
            && digests.iter().all(|(path, digest)| {
                self.entries
                    .get(*path)
                    .is_some_and(|entry| entry.digest == Some(*digest) && entry.fingerprint == output.fingerprints.get(*path).copied())
            })
    }

    /// Whether every file the last build wrote is among `output`'s (nothing to prune).
    fn all_produced_by(&self, output: &Output) -> bool {
        let known = output.files.keys().filter(|path| self.entries.contains_key(*path)).count() + output.reused.len();
        self.journal.is_none() && known == self.entries.len()
    }
}

/// [`Previous::read`] on a thread of its own, so that reading the tree overlaps the
/// compilation until rendering needs it.
#[derive(Debug)]
pub struct Prefetched {
    reading: Mutex<Option<JoinHandle<Previous>>>,
    read: OnceLock<Previous>,
}

impl Prefetched {
    pub fn start(dir: &Path) -> Self {
        let dir = dir.to_path_buf();
        Prefetched { reading: Mutex::new(Some(std::thread::spawn(move || Previous::read(&dir)))), read: OnceLock::new() }
    }

    /// What the tree holds, once read (an unreadable tree holds nothing to reuse).
    pub fn get(&self) -> &Previous {
        self.read.get_or_init(|| {
            let reading = self.reading.lock().unwrap_or_else(PoisonError::into_inner).take();
            reading.and_then(|thread| thread.join().ok()).unwrap_or_default()
        })
    }
}

/// Which of the files at `paths` (relative to the tree at `dir`) were not changed since the
/// tree's manifest was written, so still hold what it records.
pub fn untouched(dir: &Path, paths: &[&str]) -> Vec<bool> {
    match fs::metadata(dir.join(MANIFEST)).and_then(|m| m.modified()) {
        Ok(written) => untouched_since(dir, paths, written),
        Err(_) => vec![false; paths.len()],
    }
}

/// Which of the manifest's files were not changed since `written`: any write,
/// rename or `touch` sets a file's change time (ctime, which no tool can set
/// back) to a later instant. One `stat` per file, relative to the tree, in parallel.
#[cfg(unix)]
fn untouched_since(dir: &Path, paths: &[&str], written: SystemTime) -> Vec<bool> {
    use rustix::fs::{AtFlags, FileType, Mode, OFlags, CWD};
    let root = rustix::fs::openat(CWD, dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty());
    let (Ok(root), Ok(written)) = (root, written.duration_since(SystemTime::UNIX_EPOCH)) else { return vec![false; paths.len()] };
    paths
        .par_iter()
        .map(|path| {
            let Ok(stat) = rustix::fs::statat(&root, *path, AtFlags::SYMLINK_NOFOLLOW) else { return false };
            let changed =
                std::time::Duration::new(u64::try_from(stat.st_ctime).unwrap_or(u64::MAX), u32::try_from(stat.st_ctime_nsec).unwrap_or(0));
            FileType::from_raw_mode(stat.st_mode).is_file() && changed < written
        })
        .collect()
}

#[cfg(not(unix))]
fn untouched_since(_dir: &Path, paths: &[&str], _written: SystemTime) -> Vec<bool> {
    vec![false; paths.len()]
}

/// `<sha256>  <path>` lines (as `sha256sum` writes them), or bare paths (older manifests).
pub fn parse_manifest(text: &str) -> Vec<(String, Option<Digest32>)> {
    text.par_lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| match split_line::<32>(line) {
            Some((digest, path)) => (path.to_string(), Some(digest)),
            None => (line.to_string(), None),
        })
        .collect()
}

/// A relative path that stays inside the tree (no `..`, no root, no prefix).
pub fn is_tree_path(path: &str) -> bool {
    !path.is_empty() && Path::new(path).components().all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// What the manifest and the render cache record of a tree: its files' digests and the
/// fingerprints of their content, each sorted by path.
struct Records<'o> {
    digests: Vec<(&'o str, Digest32)>,
    fingerprints: Vec<(&'o str, Fingerprint)>,
}

/// Writes one record file.
type WriteRecord<'r> = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()> + 'r>;

impl<'o> Records<'o> {
    fn of(output: &'o Output, previous: &Previous, written: &BTreeMap<&'o str, Digest32>) -> Self {
        let reused = output.reused.iter().filter_map(|(path, _)| Some((path.as_str(), previous.entries.get(path)?.digest?)));
        let mut digests: Vec<(&str, Digest32)> = written.iter().map(|(path, digest)| (*path, *digest)).chain(reused).collect();
        digests.par_sort_unstable_by_key(|(path, _)| *path);
        let mut fingerprints: Vec<(&str, Fingerprint)> = output
            .fingerprints
            .iter()
            .chain(output.reused.iter().map(|(path, fingerprint)| (path, fingerprint)))
            .map(|(p, f)| (p.as_str(), *f))
            .collect();
        fingerprints.par_sort_unstable_by_key(|(path, _)| *path);
        Records { digests, fingerprints }
    }

    /// The manifest, then the cache: each file's name and how to write it.
    fn files(&self) -> [(&'static str, WriteRecord<'_>); 2] {
        let manifest: WriteRecord<'_> = Box::new(|file| {
            self.digests.iter().try_for_each(|(path, digest)| write_line(file, digest, path))?;
            file.flush()
        });
        let cache: WriteRecord<'_> = Box::new(|file| {
            writeln!(file, "{}", cache_header().unwrap_or_default())?;
            self.fingerprints.iter().try_for_each(|(path, fingerprint)| write_line(file, fingerprint, path))?;
            file.flush()
        });
        [(MANIFEST, manifest), (CACHE, cache)]
    }
}

/// Attaches the fingerprints of the cache in `dir` to `entries`, if the running executable wrote it.
fn read_cache(dir: &Path, entries: &mut HashMap<String, Recorded>) {
    let text = fs::read_to_string(dir.join(CACHE)).unwrap_or_default();
    let (header, lines) = text.split_once('\n').unwrap_or_default();
    if Some(header) != cache_header() {
        return;
    }
    let cached: Vec<(&str, Fingerprint)> =
        lines.par_lines().filter_map(|line| split_line::<16>(line).map(|(fingerprint, path)| (path, fingerprint))).collect();
    for (path, fingerprint) in cached {
        if let Some(entry) = entries.get_mut(path) {
            entry.fingerprint = Some(fingerprint);
        }
    }
}

/// Names the executable (version, size and modification time): a rebuilt compiler may
/// render the same content differently, so its fingerprints start afresh. Read once.
fn cache_header() -> Option<&'static str> {
    static HEADER: OnceLock<Option<String>> = OnceLock::new();
    let header = HEADER.get_or_init(|| {
        let exe = fs::metadata(std::env::current_exe().ok()?).ok()?;
        let modified = exe.modified().ok()?.duration_since(SystemTime::UNIX_EPOCH).ok()?;
        Some(format!(
            "# catalyst {} render cache, executable {} bytes modified {}",
            env!("CARGO_PKG_VERSION"),
            exe.len(),
            modified.as_nanos()
        ))
    });
    header.as_deref()
}

/// `<hex>  <path>`, as `sha256sum` writes a line.
fn write_line(file: &mut dyn Write, bytes: &[u8], path: &str) -> io::Result<()> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut line = Vec::with_capacity(2 * bytes.len() + path.len() + 3);
    for byte in bytes {
        line.extend([DIGITS[usize::from(byte >> 4)], DIGITS[usize::from(byte & 15)]]);
    }
    line.extend_from_slice(b"  ");
    line.extend_from_slice(path.as_bytes());
    line.push(b'\n');
    file.write_all(&line)
}

/// A `<hex>  <path>` line with `N` bytes in lowercase hex.
fn split_line<const N: usize>(line: &str) -> Option<([u8; N], &str)> {
    let (hex, path) = (line.as_bytes().get(..2 * N)?, line.get(2 * N..)?.strip_prefix("  ")?);
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut bytes = [0u8; N];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some((bytes, path))
}

/// Whether `bytes` are what the manifest's `digest` records.
pub fn holds_digest(bytes: &[u8], digest: &Digest32) -> bool {
    <Digest32>::from(Sha256::digest(bytes)) == *digest
}

/// A diagnostic for a built tree whose build has not finished, for the commands that read one.
pub fn interrupted(vfs: &dyn Vfs, dir: &Path) -> Option<Diagnostic> {
    if !vfs.is_file(&dir.join(JOURNAL)) {
        return None;
    }
    Some(
        Diagnostic::error(
            codes::IO_INTERRUPTED,
            format!("the build of `{}` has not finished (it is running, or it was killed): some files may be old, some new", dir.display()),
        )
        .with_help(format!("run `catalyst build` to finish it; {JOURNAL} names the files it was replacing")),
    )
}

fn staging_path(dir: &Path) -> PathBuf {
    beside(dir, "catalyst-staging")
}

/// `.<name of dir>.<suffix>`, in the folder that holds `dir`.
fn beside(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    dir.with_file_name(format!(".{name}.{suffix}"))
}

/// A build's hold on its output folder, from before it reads the folder until it has written
/// it: two builds into one folder would share the staging folder and trust each other's
/// half-written files. The lock is on a file beside the folder (a first build renames the folder
/// into place) and ends with the process, however it ends.
pub struct OutputLock {
    _file: fs::File,
}

/// Locks the output folder `dir`; when another build holds it, `waiting` is told before this
/// one blocks until it is released.
pub fn lock_output(dir: &Path, waiting: impl FnOnce(&Path)) -> Result<OutputLock, EmitError> {
    use rustix::fs::{flock, FlockOperation};
    let path = beside(dir, "catalyst-lock");
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io_at(&path))?;
    if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
        waiting(&path);
        flock(&file, FlockOperation::LockExclusive).map_err(|e| EmitError::Io { path: path.clone(), source: e.into() })?;
    }
    Ok(OutputLock { _file: file })
}

/// Writes a whole file in the staging folder, flushes it and renames it over the old one.
fn write_durably(path: &Path, staging: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), EmitError> {
    let temp = staging.join(path.file_name().unwrap_or_default());
    let mut file = io::BufWriter::new(fs::File::create(&temp).map_err(io_at(&temp))?);
    write(&mut file).map_err(io_at(&temp))?;
    file.into_inner().map_err(|e| e.into_error()).and_then(|file| file.sync_all()).map_err(io_at(&temp))?;
    fs::rename(&temp, path).map_err(io_at(path))?;
    fsync(path.parent().unwrap_or(Path::new(".")))
}

fn remove_any(path: &Path) -> Result<(), EmitError> {
    let is_dir = fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if is_dir { fs::remove_dir_all(path) } else { fs::remove_file(path) }.map_err(io_at(path))
}

fn fsync(path: &Path) -> Result<(), EmitError> {
    fs::File::open(path).and_then(|f| f.sync_all()).map_err(io_at(path))
}

/// One flush of the whole file system: far cheaper than an fsync per file
/// when the build itself wrote most of what is dirty.
fn syncfs(root: &Path) -> Result<(), EmitError> {
    let dir = fs::File::open(root).map_err(io_at(root))?;
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(&dir).map_err(|e| EmitError::Io { path: root.to_path_buf(), source: e.into() })?;
    #[cfg(not(target_os = "linux"))]
    dir.sync_all().map_err(io_at(root))?;
    Ok(())
}

/// Files that a fresh build would write differently, add, or remove (for `build --check`):
/// every file is read, whatever the manifest says, and an unfinished build is stale.
pub fn stale_files(output: &Output, dir: &Path) -> Vec<String> {
    let previous = fs::read_to_string(dir.join(MANIFEST)).map(|text| parse_manifest(&text)).unwrap_or_default();
    let previous = previous.into_iter().map(|(path, _)| path);
    let mut stale: Vec<String> = output
        .files
        .par_iter()
        .filter(|(path, bytes)| fs::read(dir.join(path)).map_or(true, |old| &old != *bytes))
        .map(|(path, _)| path.clone())
        .collect();
    stale.extend(previous.filter(|p| !output.files.contains_key(p) && dir.join(p).exists()));
    if dir.join(JOURNAL).exists() {
        stale.push(JOURNAL.to_string());
    }
    stale.sort();
    stale
}
