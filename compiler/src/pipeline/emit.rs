//! Stage 6: write the compiled tree to disk, atomically.
//!
//! The new tree is assembled in a sibling staging folder (unchanged and
//! foreign files hard-linked, never copied) and swapped with the old one in a
//! single `renameat2(RENAME_EXCHANGE)`: at every instant the output folder is
//! either the old tree or the new one. Files the compiler did not produce are
//! carried over untouched; files it produced before and no longer does are
//! pruned. A run whose output is already on disk writes nothing.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::pipeline::render::Output;

/// Lists the files the compiler wrote, so the next build knows what it owns.
pub const MANIFEST: &str = ".catalyst-manifest";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EmitReport {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error("the output folder `{0}` is a symbolic link; refusing to replace what it points to")]
    Symlink(PathBuf),
    #[error("cannot write `{path}`: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> EmitError + '_ {
    move |source| EmitError::Io { path: path.to_path_buf(), source }
}

/// Writes `output` to `dir`.
pub fn emit(output: &Output, dir: &Path) -> Result<EmitReport, EmitError> {
    if fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(EmitError::Symlink(dir.to_path_buf()));
    }
    let staging = staging_path(dir);
    // A leftover from an interrupted run: either an unfinished new tree or a swapped-out old one.
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io_at(&staging))?;
    }
    let previous = read_manifest(dir);
    let manifest = manifest_text(output);
    let mut report = EmitReport::default();
    let unchanged: BTreeSet<&str> = output
        .files
        .iter()
        .filter(|(path, bytes)| fs::read(dir.join(path)).is_ok_and(|old| &old == *bytes))
        .map(|(path, _)| path.as_str())
        .collect();
    report.unchanged = unchanged.len();
    report.written = output.files.len() - unchanged.len();
    report.removed = previous.iter().filter(|p| !output.files.contains_key(*p)).count();
    if report.written == 0 && report.removed == 0 && fs::read_to_string(dir.join(MANIFEST)).is_ok_and(|m| m == manifest) {
        return Ok(report);
    }

    fs::create_dir_all(&staging).map_err(io_at(&staging))?;
    for (path, bytes) in &output.files {
        let target = staging.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io_at(parent))?;
        }
        if unchanged.contains(path.as_str()) {
            fs::hard_link(dir.join(path), &target).map_err(io_at(&target))?;
        } else {
            fs::write(&target, bytes).map_err(io_at(&target))?;
        }
    }
    if dir.exists() {
        carry_foreign(dir, &staging, &previous, output)?;
    }
    fs::write(staging.join(MANIFEST), &manifest).map_err(io_at(&staging))?;
    sync_tree(&staging)?;
    swap_in(&staging, dir)?;
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io_at(&staging))?;
    }
    Ok(report)
}

fn staging_path(dir: &Path) -> PathBuf {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    dir.with_file_name(format!(".{name}.catalyst-staging"))
}

fn manifest_text(output: &Output) -> String {
    let mut text = String::from("# Files written by catalyst; the next build prunes those it no longer produces.\n");
    for path in output.files.keys() {
        text.push_str(path);
        text.push('\n');
    }
    text
}

fn read_manifest(dir: &Path) -> BTreeSet<String> {
    fs::read_to_string(dir.join(MANIFEST))
        .map(|text| text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Hard-links every file the compiler does not own (and never produced) into the staging tree.
fn carry_foreign(dir: &Path, staging: &Path, previous: &BTreeSet<String>, output: &Output) -> Result<(), EmitError> {
    for entry in walkdir::WalkDir::new(dir).min_depth(1).follow_links(false).sort_by_file_name() {
        let entry = entry.map_err(|e| EmitError::Io { path: dir.to_path_buf(), source: e.into() })?;
        let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let key = relative.to_string_lossy().replace('\\', "/");
        if key == MANIFEST || previous.contains(&key) || output.files.contains_key(&key) {
            continue;
        }
        let target = staging.join(relative);
        let kind = entry.file_type();
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(io_at(&target))?;
        } else {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(io_at(parent))?;
            }
            if kind.is_symlink() {
                let link = fs::read_link(entry.path()).map_err(io_at(entry.path()))?;
                symlink(&link, &target).map_err(io_at(&target))?;
            } else {
                fs::hard_link(entry.path(), &target).map_err(io_at(&target))?;
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn symlink(link: &Path, target: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(link, target)
}

#[cfg(not(unix))]
fn symlink(_link: &Path, _target: &Path) -> io::Result<()> {
    Ok(())
}

/// Flushes the staged tree before the swap publishes it: one `syncfs` for the
/// whole file system is far cheaper than an fsync per file.
fn sync_tree(root: &Path) -> Result<(), EmitError> {
    let dir = fs::File::open(root).map_err(io_at(root))?;
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(&dir).map_err(|e| EmitError::Io { path: root.to_path_buf(), source: e.into() })?;
    #[cfg(not(target_os = "linux"))]
    dir.sync_all().map_err(io_at(root))?;
    Ok(())
}

#[cfg(target_os = "linux")]
fn swap_in(staging: &Path, dir: &Path) -> Result<(), EmitError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    if !dir.exists() {
        return fs::rename(staging, dir).map_err(io_at(dir));
    }
    renameat_with(CWD, staging, CWD, dir, RenameFlags::EXCHANGE).map_err(|e| EmitError::Io { path: dir.to_path_buf(), source: e.into() })
}

/// Without an atomic exchange the old tree is moved aside first: a crash in
/// between leaves it at the staging path, where the next run cleans it up.
#[cfg(not(target_os = "linux"))]
fn swap_in(staging: &Path, dir: &Path) -> Result<(), EmitError> {
    if dir.exists() {
        let aside = dir.with_file_name(format!(".{}.catalyst-old", dir.file_name().unwrap_or_default().to_string_lossy()));
        fs::rename(dir, &aside).map_err(io_at(dir))?;
        fs::rename(staging, dir).map_err(io_at(dir))?;
        return fs::remove_dir_all(&aside).map_err(io_at(&aside));
    }
    fs::rename(staging, dir).map_err(io_at(dir))
}

/// Files that a fresh build would write differently, add, or remove (for `build --check`).
pub fn stale_files(output: &Output, dir: &Path) -> Vec<String> {
    let previous = read_manifest(dir);
    let mut stale: Vec<String> = output
        .files
        .iter()
        .filter(|(path, bytes)| fs::read(dir.join(path)).map_or(true, |old| &old != *bytes))
        .map(|(path, _)| path.clone())
        .collect();
    stale.extend(previous.into_iter().filter(|p| !output.files.contains_key(p) && dir.join(p).exists()));
    stale.sort();
    stale
}
