//! Check benchmark: `catalyst check` of a generated Sovereign of 1,000
//! Applications (or the sizes given), each in dev, stg and prod, by the
//! release binary: wall time (median of 5) and peak RSS, with the built-in
//! Catalyst CRDs alone and with the upstream Flux, External Secrets and core
//! schemas of `../shared/upstream-schemas/` as well (when that folder is there),
//! so that every emitted object is judged.
//!
//! `cargo bench --bench check` or `cargo bench --bench check -- 1000 10000`. Needs GNU time.

mod support;

use support::{generate, measure, repo, Run};

const UPSTREAM: [&str; 3] = ["flux", "external-secrets", "kubernetes/master-standalone-strict"];

fn median(args: &[&str]) -> Run {
    let mut runs: Vec<Run> = (0..5).map(|_| measure(args)).collect();
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    runs.swap_remove(2)
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1_000] } else { sizes };
    let upstream = repo().parent().map(|p| p.join("shared/upstream-schemas")).filter(|p| p.is_dir());
    println!("| Applications | check (built-in CRDs) | check --crds (Flux, ESO, core) |");
    println!("|---:|---|---|");
    for apps in sizes {
        let scratch = tempfile::tempdir().expect("temp dir");
        let sovereign = generate(scratch.path(), apps, &repo().join("blueprints").to_string_lossy());
        let sovereign = sovereign.to_str().expect("utf-8 path");
        let cell = |r: &Run| format!("{:.2} s, {:.0} MiB", r.seconds, r.peak_mib);
        let built_in = median(&["check", "--ignore-missing-schemas", sovereign]);
        let with_crds = match &upstream {
            Some(root) => {
                let dirs: Vec<String> = UPSTREAM.iter().map(|d| root.join(d).to_string_lossy().into_owned()).collect();
                let mut args = vec!["check", "--ignore-missing-schemas", sovereign];
                for dir in &dirs {
                    args.extend(["--crds", dir.as_str()]);
                }
                cell(&median(&args))
            }
            None => "(no ../shared/upstream-schemas)".into(),
        };
        println!("| {apps} | {} | {with_crds} |", cell(&built_in));
    }
}
