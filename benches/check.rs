//! Check benchmark: `catalyst check` of a generated Sovereign of 1,000
//! Applications (or the sizes given), each in dev, stg and prod, by the
//! release binary: wall time (median of 7, the two kinds of run alternating) and peak RSS, with every emitted
//! object validated against the schemas of the pinned releases, without and
//! with the reconcile check, and what the reconcile check adds.
//!
//! `cargo bench --bench check` or `cargo bench --bench check -- 1000 10000`. Needs GNU time.

mod support;

use support::{generate, measure, median, repo, Run};

/// The runs of `check --no-reconcile` and `check` alternate, so that a change in the machine's
/// load while the benchmark runs weighs on both alike; each cell is the median of `ROUNDS`.
const ROUNDS: usize = 7;

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1_000] } else { sizes };
    println!("| Applications | check --no-reconcile | check | reconcile check adds |");
    println!("|---:|---|---|---:|");
    for apps in sizes {
        let scratch = tempfile::tempdir().expect("temp dir");
        let sovereign = generate(scratch.path(), apps, &repo().join("blueprints").to_string_lossy());
        let sovereign = sovereign.to_str().expect("utf-8 path");
        let cell = |r: &Run| format!("{:.2} s, {:.0} MiB", r.seconds, r.peak_mib);
        let (mut without, mut with) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            without.push(measure(&["check", "--no-reconcile", sovereign]));
            with.push(measure(&["check", sovereign]));
        }
        let (without, with) = (median(&without), median(&with));
        let added = (with.seconds / without.seconds - 1.0) * 100.0;
        println!("| {apps} | {} | {} | {added:+.0} % |", cell(without), cell(with));
    }
}
