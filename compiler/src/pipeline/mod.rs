//! The compiler's stages, in the order they run: [`load`] → [`resolve`]
//! (with [`validate`] and [`expr`]) → [`plan`] → [`render`] → [`emit`].
//! This module sequences them ([`compile_into`]) and holds the stage
//! functions that `check --watch` (which caches around them) and `graph`
//! (which stops after resolving) share with it.

pub mod emit;
pub mod expr;
pub mod load;
pub mod plan;
pub mod render;
pub mod resolve;
pub mod validate;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check::upgrades::{self, Lock};
use crate::check::{conform, infra, pins, reconcile, regions, releases, sovereign};
use crate::diagnostic::{self, Diagnostics};
use crate::support::config;
use crate::support::source::Sources;
use crate::support::vfs;
use render::Output;

/// The result of compiling one Sovereign: the sources read, every diagnostic,
/// and the output when there were no errors.
#[derive(Debug)]
pub struct Compilation {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
    pub output: Option<Output>,
}

/// The Sovereign folders `sovereigns/<fqdn>/` that hold a sovereign.yaml below `root`, relative to it, sorted.
pub fn sovereigns_in(vfs: &dyn vfs::Vfs, root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = vfs
        .files_under(&root.join("sovereigns"))
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(root).ok()?;
            (relative.components().count() == 3 && relative.ends_with("sovereign.yaml"))
                .then(|| relative.parent().map(Path::to_path_buf))?
        })
        .collect();
    found.sort();
    found
}

/// What a compilation checks the output against, and what it keeps.
#[derive(Clone)]
pub struct Options {
    /// The schemas every emitted object must conform to.
    pub schemas: Arc<conform::Schemas>,
    /// Whether kinds without a schema are reported (the CLI's default) or not (the library's).
    pub missing_schemas: conform::Missing,
    /// Keep the rendered bytes (`build`, `diff`, `apply`), or only judge them (`check`).
    pub keep_output: bool,
    /// Where diagnostics about emitted files show them (default: `out/<fqdn>`, where `build` writes).
    pub shown_at: Option<PathBuf>,
    /// Whether the reconcile check runs (on by default; benchmarks compare without it).
    pub reconcile: bool,
    /// The lock the resolution's upgrade paths are held to.
    pub replaces: Replaces,
    /// The tree a rebuild writes over: files it already holds are not rendered to bytes
    /// (they are listed in [`render::Output::reused`]); `None` renders every file.
    pub reuse: Option<Arc<emit::Prefetched>>,
}

/// Which `catalyst.lock` a compilation's version changes are judged against (upgrade paths).
#[derive(Clone, Debug, Default)]
pub enum Replaces {
    /// None: the inputs are judged alone (the library's default).
    #[default]
    Nothing,
    /// The tree on disk where the output goes (`shown_at`, else `out/<fqdn>`), if one is there.
    OutputOnDisk,
    /// A given lock (`diff`: the base revision's).
    Lock(Arc<Lock>),
}

impl Replaces {
    fn lock(&self, shown_at: &Path) -> Option<Cow<'_, Lock>> {
        match self {
            Replaces::Nothing => None,
            // Read under the input limits: the lock on disk is as untrusted as any input.
            Replaces::OutputOnDisk => {
                load::read_text(&vfs::DiskFs, &shown_at.join("catalyst.lock")).ok().map(|text| Cow::Owned(Lock::parse(&text)))
            }
            Replaces::Lock(lock) => Some(Cow::Borrowed(lock)),
        }
    }
}

/// The upgrade paths of the resolution's Blueprints, against the lock the options name.
pub fn upgrade_paths<'r>(
    project: &load::Project,
    kit: &[resolve::KitRelease],
    environments: impl Iterator<Item = &'r resolve::ResolvedEnvironment>,
    options: &Options,
    sources: &Sources,
) -> Vec<diagnostic::Diagnostic> {
    let shown_at = options.shown_at.clone().unwrap_or_else(|| Path::new("out").join(&project.sovereign.spec.fqdn));
    let Some(lock) = options.replaces.lock(&shown_at) else { return Vec::new() };
    let mut found = upgrades::check(project, kit, environments, &lock, sources);
    if matches!(options.replaces, Replaces::OutputOnDisk) {
        // The lock of a tree whose build did not finish may be the old one or the new one.
        found.extend(emit::interrupted(&vfs::DiskFs, &shown_at).map(|unfinished| {
            diagnostic::Diagnostic::warning(
                unfinished.code,
                format!("{}; upgrade paths are judged against its catalyst.lock", unfinished.message),
            )
            .with_help("run `catalyst build` to finish it")
        }));
    }
    found
}

impl Default for Options {
    /// The built-in Catalyst CRDs, missing schemas not reported, the output kept.
    fn default() -> Self {
        static BUILT_IN: std::sync::OnceLock<Arc<conform::Schemas>> = std::sync::OnceLock::new();
        let schemas = BUILT_IN.get_or_init(|| Arc::new(conform::Schemas::built_in())).clone();
        Options {
            schemas,
            missing_schemas: conform::Missing::Ignore,
            keep_output: true,
            shown_at: None,
            reconcile: true,
            replaces: Replaces::Nothing,
            reuse: None,
        }
    }
}

impl Options {
    /// The options `check` and `build` run with: the built-in CRDs plus those `crds` and the `[check]`
    /// table of `settings` name; kinds without a schema are reported unless either says to ignore them.
    pub fn for_check(
        vfs: &dyn vfs::Vfs,
        settings: Option<&config::Loaded>,
        crds: &[PathBuf],
        ignore_missing_schemas: bool,
        sources: &mut Sources,
        diagnostics: &mut Diagnostics,
    ) -> Options {
        let mut paths: Vec<conform::CrdPath> = crds.iter().map(|path| conform::CrdPath { path: path.clone(), named_at: None }).collect();
        let mut ignore = ignore_missing_schemas;
        if let Some(loaded) = settings {
            let check = &loaded.settings.check;
            let named = check.crds.iter().map(|p| conform::CrdPath { path: loaded.dir.join(p.get_ref()), named_at: Some(loaded.span(p)) });
            paths.extend(named);
            ignore |= check.ignore_missing_schemas;
        }
        let schemas =
            if paths.is_empty() { Options::default().schemas } else { Arc::new(conform::Schemas::with(vfs, &paths, sources, diagnostics)) };
        let missing_schemas = if ignore { conform::Missing::Ignore } else { conform::Missing::Report };
        Options { schemas, missing_schemas, ..Options::default() }
    }
}

/// Runs every stage up to the rendered tree, in memory, reading from disk.
pub fn compile(sovereign: &Path) -> Compilation {
    compile_in(Arc::new(vfs::DiskFs), sovereign)
}

/// [`compile`] reading the inputs from `vfs` (e.g. a Git commit's tree).
pub fn compile_in(vfs: Arc<dyn vfs::Vfs>, sovereign: &Path) -> Compilation {
    compile_with(vfs, sovereign, &Options::default())
}

/// [`compile_in`] with explicit [`Options`].
pub fn compile_with(vfs: Arc<dyn vfs::Vfs>, sovereign: &Path, options: &Options) -> Compilation {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    let output = compile_into(vfs, sovereign, options, &mut sources, &mut diagnostics);
    diagnostics.sort();
    Compilation { sources, diagnostics, output }
}

/// [`compile_with`] into the caller's sources and diagnostics (e.g. lint, which adds its own findings).
pub fn compile_into(
    vfs: Arc<dyn vfs::Vfs>,
    path: &Path,
    options: &Options,
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
) -> Option<Output> {
    let Loaded { project, resolvable: true } = load_checked(vfs, path, sources, diagnostics)? else { return None };
    let resolution = resolve::resolve(&project, sources, diagnostics)?;
    diagnostics.extend(upgrade_paths(&project, &resolution.kit, resolution.environments.iter(), options, sources));
    let (pins, pinned) = releases(&project, &resolution.kit, resolution.used_blueprints(), sources, diagnostics)?;
    let parts = plan::parts(&project, &resolution, pins.as_ref());
    let schemas = schema_set(options, &pinned);
    let rendered = render::parts(
        &project,
        sources,
        &schemas,
        &pinned,
        render::Keep { bytes: options.keep_output, facts: options.reconcile, reuse: options.reuse.as_deref().map(emit::Prefetched::get) },
        &parts,
    );
    let rerender = |sources: &Sources| render::parts(&project, sources, &schemas, &pinned, render::Keep::bytes(false), &parts).output;
    let (output, found) = judge(&project, sources, options, &schemas, rendered, &rerender);
    diagnostics.extend(found);
    (!diagnostics.has_errors()).then_some(output)
}

/// The inputs loaded, and whether their spec holds together well enough to resolve.
pub struct Loaded {
    pub project: load::Project,
    pub resolvable: bool,
}

/// The first stage with the checks of the spec that need no resolution; `None` when
/// nothing could be loaded.
pub fn load_checked(vfs: Arc<dyn vfs::Vfs>, path: &Path, sources: &mut Sources, diagnostics: &mut Diagnostics) -> Option<Loaded> {
    let project = load::load(path, vfs, sources, diagnostics)?;
    diagnostics.extend(sovereign::check(&project, sources));
    diagnostics.extend(regions::check(&project.sovereign, sources));
    let resolvable = !diagnostics.has_errors();
    if resolvable {
        // Independent of the resolution: reported with its findings, not instead of them.
        diagnostics.extend(infra::check_spec(&project, sources));
    }
    Some(Loaded { project, resolvable })
}

/// The resolved kit's pins, checked, and the releases they name: what rendering needs.
/// `None` when any error is known by now, since the output is rendered only when everything resolves.
pub fn releases(
    project: &load::Project,
    kit: &[resolve::KitRelease],
    used: BTreeSet<usize>,
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
) -> Option<(Option<pins::BringUpPins>, releases::Pinned)> {
    let (pins, bring_up, problems) = pins::check_pins(project, kit, used, sources);
    diagnostics.extend(problems);
    let (pinned, problems) = releases::Pinned::of(project, kit, &pins, sources);
    diagnostics.extend(problems);
    (!diagnostics.has_errors()).then_some((bring_up, pinned))
}

/// Where `build` writes when no folder is named: `out/<fqdn>`, with the FQDN the Sovereign
/// declares (`out/sovereign` when it declares none; the build says why).
pub fn default_output(vfs: &dyn vfs::Vfs, sovereign: &Path) -> PathBuf {
    Path::new("out").join(load::fqdn(vfs, sovereign).unwrap_or_else(|| "sovereign".into()))
}

/// The verdicts on a rendered tree: template problems, conformance, and the reconcile check.
/// `rerender` gives the tree's bytes when the findings need them and the rendering kept none.
pub fn judge(
    project: &load::Project,
    sources: &mut Sources,
    options: &Options,
    schemas: &conform::SchemaSet<'_>,
    rendered: render::Rendered,
    rerender: &dyn Fn(&Sources) -> Output,
) -> (Output, Vec<diagnostic::Diagnostic>) {
    let shown_at = options.shown_at.clone().unwrap_or_else(|| Path::new("out").join(&project.sovereign.spec.fqdn));
    let findings = if options.reconcile { reconcile::check(&rendered.facts, schemas, &project.sovereign.spec.fqdn) } else { Vec::new() };
    let render::Rendered { output, problems, conformance, facts } = rendered;
    let mut found = problems;
    found.extend(conformance.diagnostics(sources, &shown_at, options.missing_schemas));
    if !findings.is_empty() {
        let texts = if output.files.is_empty() || !output.reused.is_empty() {
            std::borrow::Cow::Owned(rerender(sources))
        } else {
            std::borrow::Cow::Borrowed(&output)
        };
        let mut text_of = |path: &str| texts.files.get(path).map(|bytes| String::from_utf8_lossy(bytes).into_owned());
        found.extend(reconcile::diagnostics(findings, &facts, sources, &shown_at, &mut text_of));
    }
    (output, found)
}

/// The schemas a compilation validates against: the user's and the built-in Catalyst CRDs
/// first, then those of the releases the Sovereign pins.
pub fn schema_set<'a>(options: &'a Options, pinned: &releases::Pinned) -> conform::SchemaSet<'a> {
    let mut layers = vec![&*options.schemas];
    layers.extend(pinned.all().iter().map(|release| release.schemas()));
    conform::SchemaSet::new(layers)
}
