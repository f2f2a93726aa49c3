//! Where the compiler reads its inputs: the disk, or the tree of a Git
//! commit read straight from the object database (for `diff`, which
//! compiles two revisions without checking either out).
//!
//! Every stage reads through [`Vfs`], so containment checks (no `..`, no
//! symlink out of a Blueprint) hold the same way for both.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

pub trait Vfs: Send + Sync + std::fmt::Debug {
    /// Whether `path` is a file, following symlinks.
    fn is_file(&self, path: &Path) -> bool;
    /// Whether `path` is a folder, following symlinks.
    fn is_dir(&self, path: &Path) -> bool;
    fn size(&self, path: &Path) -> io::Result<u64>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Every regular file below `dir`, sorted; symlinks are not followed.
    fn files_under(&self, dir: &Path) -> Vec<PathBuf>;
    /// [`Vfs::files_under`] plus symlinks that lead to a file (inputs a user may
    /// share between Sovereigns), never symlinks into Blueprint content.
    fn files_and_links_under(&self, dir: &Path) -> Vec<PathBuf>;
    /// `path` with `..` folded and symlinks resolved; an error when it does not exist.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskFs;

impl Vfs for DiskFs {
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn size(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn files_under(&self, dir: &Path) -> Vec<PathBuf> {
        walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(walkdir::DirEntry::into_path)
            .collect()
    }

    fn files_and_links_under(&self, dir: &Path) -> Vec<PathBuf> {
        walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file() || (e.file_type().is_symlink() && e.path().is_file()))
            .map(walkdir::DirEntry::into_path)
            .collect()
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        path.canonicalize()
    }
}

#[derive(Debug, Clone)]
enum Entry {
    File(Vec<u8>),
    Symlink(PathBuf),
    Dir,
}

/// The tree of one commit, held in memory (paths relative to the repository root).
#[derive(Debug, Clone, Default)]
pub struct GitTreeFs {
    entries: BTreeMap<PathBuf, Entry>,
}

/// Symlink hops before a path is taken for a loop (as the kernel's ELOOP).
const MAX_SYMLINK_HOPS: usize = 40;

impl GitTreeFs {
    /// Reads every blob of `tree` from the object database.
    pub fn from_tree(repo: &git2::Repository, tree: &git2::Tree<'_>) -> Result<Self, git2::Error> {
        let mut entries = BTreeMap::new();
        entries.insert(PathBuf::new(), Entry::Dir);
        let mut failure = None;
        tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            let path = Path::new(parent).join(entry.name().unwrap_or_default());
            let read = || repo.find_blob(entry.id()).map(|b| b.content().to_vec());
            let kind = match entry.filemode() {
                0o040000 => Ok(Entry::Dir),
                0o120000 => read().map(|target| Entry::Symlink(PathBuf::from(String::from_utf8_lossy(&target).into_owned()))),
                0o100644 | 0o100755 => read().map(Entry::File),
                // Submodules (commits) are not inputs.
                _ => return git2::TreeWalkResult::Skip,
            };
            match kind {
                Ok(kind) => {
                    entries.insert(path, kind);
                    git2::TreeWalkResult::Ok
                }
                Err(e) => {
                    failure = Some(e);
                    git2::TreeWalkResult::Abort
                }
            }
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(GitTreeFs { entries }),
        }
    }

    /// Follows symlinks component by component, like the kernel does.
    fn resolve(&self, path: &Path) -> io::Result<(PathBuf, &Entry)> {
        let not_found = |why: String| io::Error::new(io::ErrorKind::NotFound, why);
        // Components still to walk, last first; a symlink pushes its target's.
        let mut pending: Vec<OsString> = Vec::new();
        push_components(&mut pending, path);
        let mut resolved = PathBuf::new();
        let mut hops = 0;
        while let Some(component) = pending.pop() {
            if component == ".." {
                resolved.pop();
                continue;
            }
            let next = resolved.join(&component);
            match self.entries.get(&next) {
                Some(Entry::Symlink(target)) => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(io::Error::other("too many levels of symbolic links"));
                    }
                    if target.is_absolute() {
                        return Err(not_found(format!("`{}` is a symbolic link out of the repository", next.display())));
                    }
                    push_components(&mut pending, target);
                }
                Some(_) => resolved = next,
                None => return Err(not_found(format!("`{}` is not in the commit", path.display()))),
            }
        }
        let entry = self.entries.get(&resolved).ok_or_else(|| not_found(format!("`{}` is not in the commit", path.display())))?;
        Ok((resolved, entry))
    }
}

impl GitTreeFs {
    fn under(&self, dir: &Path, links: bool) -> Vec<PathBuf> {
        let Ok((real, Entry::Dir)) = self.resolve(dir) else { return Vec::new() };
        self.entries
            .iter()
            .filter(|(path, entry)| {
                path.starts_with(&real)
                    && (matches!(entry, Entry::File(_)) || (links && matches!(entry, Entry::Symlink(_)) && self.is_file(path)))
            })
            .map(|(path, _)| dir.join(path.strip_prefix(&real).unwrap_or(path)))
            .collect()
    }
}

/// Pushes the components of `path` onto a stack walked from its end, so the first comes out first.
fn push_components(stack: &mut Vec<OsString>, path: &Path) {
    let names = path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::CurDir | Component::RootDir | Component::Prefix(_) => None,
    });
    let mut names: Vec<OsString> = names.collect();
    names.reverse();
    stack.extend(names);
}

impl Vfs for GitTreeFs {
    fn is_file(&self, path: &Path) -> bool {
        matches!(self.resolve(path), Ok((_, Entry::File(_))))
    }

    fn is_dir(&self, path: &Path) -> bool {
        matches!(self.resolve(path), Ok((_, Entry::Dir)))
    }

    fn size(&self, path: &Path) -> io::Result<u64> {
        self.read(path).map(|bytes| bytes.len() as u64)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self.resolve(path)? {
            (_, Entry::File(bytes)) => Ok(bytes.clone()),
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("`{}` is not a file", path.display()))),
        }
    }

    fn files_under(&self, dir: &Path) -> Vec<PathBuf> {
        self.under(dir, false)
    }

    fn files_and_links_under(&self, dir: &Path) -> Vec<PathBuf> {
        self.under(dir, true)
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.resolve(path).map(|(resolved, _)| resolved)
    }
}
