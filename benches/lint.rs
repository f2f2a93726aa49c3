//! Lint benchmark: `catalyst lint` over a generated catalog of 500 Blueprints
//! (or the sizes given), by the release binary: wall time (median of 3) and peak RSS.
//!
//! `cargo bench --bench lint` or `cargo bench --bench lint -- 500 2000`. Needs GNU time.

mod support;

use support::{generate_catalog, measure};

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![500] } else { sizes };
    println!("| Blueprints | lint | peak RSS |");
    println!("|---:|---:|---:|");
    for count in sizes {
        let scratch = tempfile::tempdir().expect("temp dir");
        let catalog = generate_catalog(scratch.path(), count);
        let catalog = catalog.to_str().expect("utf-8 path");
        let mut runs: Vec<_> = (0..3).map(|_| measure(&["lint", catalog])).collect();
        runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let run = &runs[1];
        println!("| {count} | {:.2} s | {:.0} MiB |", run.seconds, run.peak_mib);
    }
}
