//! Packing quality on vector-bin-packing benchmark files, through the same
//! public API users call (`trimline::pack::pack`).
//!
//! ```text
//! vbp [--budget N] [--assignments DIR] [--summary CSV]... [--baselines]
//!     [--markdown] FILE.vbp...
//! ```
//!
//! Prints `<file stem> <hosts used>` per file. Every packing is checked
//! (every item exactly once, no host over capacity in any dimension); the
//! exit code is 1 when one is not. `--assignments DIR` writes
//! `DIR/<stem>.json` as `{"bins": [[item, ...], ...]}`. `--summary CSV`
//! (a `*_summary_known.csv`; repeatable) adds, per set, the mean hosts/OPT
//! over instances with a known OPT (and how many have one), the mean
//! hosts/LB over the others, the worst instance, and the same mean for the
//! best of the published heuristics per instance (`best_overall`). `--baselines`
//! also runs First Fit, FFD by sum, kube MostAllocated and LeastAllocated
//! and Nomad BestFit-v3 and reports them (per set: mean hosts/OPT, total
//! hosts, stranded capacity per dimension). `--markdown` prints the report
//! as markdown tables. A file's set is the summary that names it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use trimline::pack::DEFAULT_BUDGET;
use trimline_bench::vbp::{self, Known, Packer, Tally};

struct Args {
    budget: u64,
    assignments: Option<PathBuf>,
    summaries: Vec<PathBuf>,
    baselines: bool,
    markdown: bool,
    quiet: bool,
    files: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        budget: DEFAULT_BUDGET,
        assignments: None,
        summaries: Vec::new(),
        baselines: false,
        markdown: false,
        quiet: false,
        files: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--budget" => {
                let v = it.next().ok_or("--budget needs a value")?;
                a.budget = v.parse().map_err(|e| format!("--budget {v}: {e}"))?;
            }
            "--assignments" => {
                a.assignments = Some(it.next().ok_or("--assignments needs a DIR")?.into());
            }
            "--summary" => a
                .summaries
                .push(it.next().ok_or("--summary needs a CSV")?.into()),
            "--baselines" => a.baselines = true,
            "--markdown" => a.markdown = true,
            "--quiet" => a.quiet = true,
            "-h" | "--help" => {
                return Err(
                    "usage: vbp [--budget N] [--assignments DIR] [--summary CSV]... \
                            [--baselines] [--markdown] [--quiet] FILE.vbp..."
                        .into(),
                );
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ => a.files.push(arg.into()),
        }
    }
    if a.files.is_empty() {
        return Err("no .vbp files given".into());
    }
    Ok(a)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn run() -> Result<bool, String> {
    let args = parse_args()?;
    // Set name (summary file stem) -> instance -> known figures.
    let mut sets: Vec<(String, BTreeMap<String, Known>)> = Vec::new();
    for s in &args.summaries {
        let text = std::fs::read_to_string(s).map_err(|e| format!("{}: {e}", s.display()))?;
        let name = stem(s).trim_end_matches("_summary_known").to_string();
        sets.push((name, vbp::parse_summary(&text)?));
    }
    if let Some(dir) = &args.assignments {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut packers = vec![Packer::Trimline(args.budget)];
    if args.baselines {
        packers.extend(Packer::BASELINES);
    }
    // (set, packer) -> tally; set "" for files no summary names.
    let mut tallies: BTreeMap<(usize, usize), Tally> = BTreeMap::new();
    let mut ok = true;
    let mut max_dims = 0;
    let mut trimline_time = 0f64;
    for f in &args.files {
        let name = stem(f);
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let inst = vbp::parse(&name, &text)?;
        max_dims = max_dims.max(inst.capacity.len());
        let set = sets.iter().position(|(_, m)| m.contains_key(&name));
        let known = set.and_then(|s| sets[s].1.get(&name));
        for (pi, packer) in packers.iter().enumerate() {
            let t0 = Instant::now();
            let bins = packer.pack(&inst)?;
            if pi == 0 {
                trimline_time += t0.elapsed().as_secs_f64();
            }
            let used = match vbp::check(&inst, &bins) {
                Ok(u) => u,
                Err(e) => {
                    eprintln!("INFEASIBLE ({}): {e}", packer.name());
                    ok = false;
                    continue;
                }
            };
            if pi == 0 {
                if !args.quiet {
                    println!("{name} {used}");
                }
                if let Some(dir) = &args.assignments {
                    let json = serde_json::json!({ "bins": bins });
                    let path = dir.join(format!("{name}.json"));
                    std::fs::write(&path, json.to_string())
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
            }
            tallies
                .entry((set.map_or(usize::MAX, |s| s), pi))
                .or_default()
                .add(&inst, &bins, known);
        }
    }
    if !sets.is_empty() {
        report(&args, &sets, &packers, &tallies, max_dims);
    }
    eprintln!(
        "trimline packing time: {trimline_time:.2} s for {} files",
        args.files.len()
    );
    Ok(ok)
}

fn report(
    args: &Args,
    sets: &[(String, BTreeMap<String, Known>)],
    packers: &[Packer],
    tallies: &BTreeMap<(usize, usize), Tally>,
    max_dims: usize,
) {
    for (si, (set, _)) in sets.iter().enumerate() {
        if !tallies.keys().any(|&(s, _)| s == si) {
            continue;
        }
        if args.markdown {
            println!("\n### {set}\n");
            let mut h = "| packer | instances | mean hosts/OPT | with OPT | mean hosts/LB without OPT (instances) | worst | hosts |".to_string();
            let mut sep = "|---|---|---|---|---|---|---|".to_string();
            for k in 0..max_dims {
                h.push_str(&format!(" stranded d{} |", k + 1));
                sep.push_str("---|");
            }
            println!("{h}\n{sep}");
        }
        for (pi, p) in packers.iter().enumerate() {
            let Some(t) = tallies.get(&(si, pi)) else {
                continue;
            };
            if args.markdown {
                println!("{}", vbp::markdown_row(p.name(), t, max_dims));
                continue;
            }
            let mean = t.mean().map_or("-".into(), |m| format!("{m:.4}"));
            let over_lb = t.mean_over_lb().map_or("-".into(), |m| format!("{m:.4}"));
            let worst = t
                .worst
                .as_ref()
                .map_or("-".into(), |(w, n)| format!("{w:.3} {n}"));
            let stranded: Vec<String> = t.stranded().iter().map(|v| format!("{v:.2}%")).collect();
            println!(
                "{set} {}: {} instances, {} with OPT, mean hosts/OPT {mean}, {} without OPT, mean hosts/LB {over_lb}, worst {worst}, hosts {}, stranded [{}]",
                p.name(),
                t.instances,
                t.with_opt,
                t.without_opt,
                t.hosts,
                stranded.join(" ")
            );
        }
        // The published heuristics' figures come from the summary, the same
        // for every packer's tally.
        if let Some(t) = tallies.get(&(si, 0)) {
            if let Some(m) = t.best_published() {
                let line = format!(
                    "best of the ~350 published heuristic variants per instance (`best_overall`): mean hosts/OPT {m:.4} over {} instances",
                    t.with_best
                );
                if args.markdown {
                    println!("\n{}.", capitalise(&line));
                } else {
                    println!("{set} {line}");
                }
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("some packings were infeasible");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("vbp: {e}");
            ExitCode::from(2)
        }
    }
}
