//! The formats of a [`Report`]: a terminal view, a PR comment, and JSON
//! (schema: `schemas/diff.schema.json`). They print; they never decide.

use std::fmt::Write as _;

use super::{Area, Change, ChangeKind, Consequences, Outcome, Report, SovereignDiff};
use crate::diagnostic::format::Format;

/// GitHub refuses comments over 65,536 characters; leave room for a footer.
pub const MARKDOWN_LIMIT: usize = 60_000;

/// `human` for a terminal, `markdown` (or `github`) for a PR comment, `json` (schemas/diff.schema.json).
pub fn render(format: Format, report: &Report, color: bool) -> String {
    match format {
        Format::Human => human(report, color),
        Format::Markdown | Format::Github => markdown(report, MARKDOWN_LIMIT),
        // A difference is not a finding: SARIF has nothing to say about it, the JSON report does.
        Format::Json | Format::Sarif => json(report),
    }
}

pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    text
}

fn area_title(area: &Area) -> String {
    match area {
        Area::Environment { name } => format!("Environment {name}"),
        Area::BootstrapKit => "bootstrap kit".into(),
        Area::BringUp => "bring-up inputs".into(),
        Area::Sovereign => "Sovereign-wide".into(),
    }
}

fn sign(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Changed => "changed",
    }
}

/// Changes grouped by area, in the report's order.
fn by_area(changes: &[Change]) -> Vec<(&Area, Vec<&Change>)> {
    let mut groups: Vec<(&Area, Vec<&Change>)> = Vec::new();
    for change in changes {
        match groups.last_mut() {
            Some((area, list)) if **area == change.area => list.push(change),
            _ => groups.push((&change.area, vec![change])),
        }
    }
    groups
}

/// Lines of the consequences section, shared by the terminal and markdown views.
fn consequence_lines(consequences: &Consequences) -> Vec<String> {
    let mut lines = Vec::new();
    for env in &consequences.environments {
        let policy = if env.policy.is_empty() { "no EnvironmentPolicy".to_string() } else { env.policy.join("; ") };
        lines.push(format!("{} — gated by: {policy}", env.name));
    }
    for bump in &consequences.version_bumps {
        let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
        let mut line = format!("{}: {} {} → {}", bump.user, bump.blueprint, version(&bump.from), version(&bump.to));
        match &bump.promotion {
            Some(p) if p.differing_files.is_empty() => {
                line.push_str(&format!(", promoted from {}: its branch now holds exactly what {} runs", p.from, p.from))
            }
            Some(p) => line.push_str(&format!(", promoted from {}; the branches still differ in {}", p.from, p.differing_files.join(", "))),
            None => {}
        }
        lines.push(line);
    }
    for edge in &consequences.depends_on {
        let mut parts = Vec::new();
        if !edge.added.is_empty() {
            parts.push(format!("+dependsOn {}", edge.added.join(", ")));
        }
        if !edge.removed.is_empty() {
            parts.push(format!("-dependsOn {}", edge.removed.join(", ")));
        }
        lines.push(format!("{}: {}", edge.object, parts.join("; ")));
    }
    for secret in &consequences.secrets {
        lines.push(format!("{secret}: secret values changed (redacted)"));
    }
    lines
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn human(report: &Report, color: bool) -> String {
    let mut out = format!("catalyst diff {} → {}\n", report.base, report.head);
    for sovereign in &report.sovereigns {
        let _ = writeln!(out, "\n{}", paint(color, "1", &format!("Sovereign {}", sovereign.path)));
        match &sovereign.outcome {
            Outcome::Failed { revision, diagnostics, errors } => {
                let _ = writeln!(out, "{}", paint(color, "31", &format!("{revision} does not compile ({errors} error(s)):")));
                out.push_str(diagnostics);
            }
            Outcome::Compared { summary, changes, consequences } => {
                let _ = writeln!(out, "{summary}");
                let lines = consequence_lines(consequences);
                if !lines.is_empty() {
                    out.push_str("\nconsequences:\n");
                    for line in lines {
                        let _ = writeln!(out, "  {line}");
                    }
                }
                for (area, list) in by_area(changes) {
                    let _ = writeln!(out, "\n{}", paint(color, "1;36", &area_title(area)));
                    for change in list {
                        let _ = writeln!(out, "  {} {}", paint(color, "1", sign(change.change)), change.object);
                        for line in change.diff.lines().filter(|l| !l.starts_with("---") && !l.starts_with("+++")) {
                            let code = match line.chars().next() {
                                Some('+') => "32",
                                Some('-') => "31",
                                Some('@') => "36",
                                _ => "0",
                            };
                            let _ = writeln!(out, "    {}", paint(color, code, line));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The markdown view, cut at `limit` characters with a note of what was left out.
pub fn markdown(report: &Report, limit: usize) -> String {
    let mut head = format!("### `catalyst diff` {} → {}\n\n", report.base, report.head);
    head.push_str("| Sovereign | Summary | Added | Removed | Changed |\n|---|---|---:|---:|---:|\n");
    for sovereign in &report.sovereigns {
        let _ = match &sovereign.outcome {
            Outcome::Failed { revision, errors, .. } => {
                writeln!(head, "| `{}` | :x: {revision} does not compile ({errors} error(s)) | | | |", sovereign.path)
            }
            Outcome::Compared { summary, changes, .. } => {
                let count = |kind| changes.iter().filter(|c| c.change == kind).count();
                writeln!(
                    head,
                    "| `{}` | {summary} | {} | {} | {} |",
                    sovereign.path,
                    count(ChangeKind::Added),
                    count(ChangeKind::Removed),
                    count(ChangeKind::Changed)
                )
            }
        };
    }
    let sections: Vec<String> = report.sovereigns.iter().flat_map(markdown_sections).collect();
    let mut out = head;
    for (i, section) in sections.iter().enumerate() {
        if out.len() + section.len() > limit {
            let _ = write!(
                out,
                "\n> **Truncated**: {} more section(s) did not fit in a comment. Run `catalyst diff --base {} --format markdown` \
                 locally, or `--format json`, for the whole difference.\n",
                sections.len() - i,
                report.base
            );
            return out;
        }
        out.push_str(section);
    }
    out
}

/// One `<details>` block per area of one Sovereign (consequences first).
fn markdown_sections(sovereign: &SovereignDiff) -> Vec<String> {
    match &sovereign.outcome {
        Outcome::Failed { revision, diagnostics, .. } => {
            vec![format!(
                "\n<details open><summary><code>{}</code>: {revision} does not compile</summary>\n\n```text\n{}```\n</details>\n",
                sovereign.path,
                diagnostics.replace("```", "'''")
            )]
        }
        Outcome::Compared { changes, consequences, .. } => {
            let mut sections = Vec::new();
            let lines = consequence_lines(consequences);
            if !lines.is_empty() {
                let mut text = format!("\n**Consequences in `{}`**\n\n", sovereign.path);
                for line in lines {
                    let _ = writeln!(text, "- {line}");
                }
                sections.push(text);
            }
            for (area, list) in by_area(changes) {
                let apps: std::collections::BTreeSet<&str> = list.iter().filter_map(|c| c.application.as_deref()).collect();
                let mut text = format!(
                    "\n<details><summary>{} — {} object(s){}</summary>\n\n",
                    area_title(area),
                    list.len(),
                    if apps.is_empty() { String::new() } else { format!(", {} Application(s)", apps.len()) }
                );
                for change in list {
                    let _ = write!(
                        text,
                        "**{}** `{}`\n\n```diff\n{}```\n\n",
                        sign(change.change),
                        change.object,
                        change.diff.replace("```", "'''")
                    );
                }
                text.push_str("</details>\n");
                sections.push(text);
            }
            sections
        }
    }
}
