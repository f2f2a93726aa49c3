#!/usr/bin/env python3
"""Fuzzing to a plateau.

    python3 fuzz/plateau.py run <target> [quiet minutes, 10] [cap minutes, 120]

runs the built target (`cargo fuzz build` first) on its corpus until its
coverage (libFuzzer's cov: edges) has not grown for the quiet minutes, or the
cap is reached, and prints one row: executions, cov, ft, when cov last grew
and whether the plateau was reached. The log goes to /tmp/fuzz/<target>.log.

    python3 fuzz/plateau.py <log> …

summarises a `cargo fuzz run … -print_final_stats=1` log: executions, the
final coverage (cov: edges, ft: features) and how much of it the last
quarter and the last tenth of the run still added.
"""
import os
import re
import signal
import subprocess
import sys
import time

LINE = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+)")


def summary(path):
    points = []
    executed = None
    for line in open(path, errors="replace"):
        match = LINE.match(line)
        if match:
            points.append(tuple(int(g) for g in match.groups()))
        stat = re.match(r"stat::number_of_executed_units:\s*(\d+)", line)
        if stat:
            executed = int(stat.group(1))
    if not points:
        return f"{path}: no progress lines"
    runs, cov, ft = points[-1]
    executed = executed or runs

    def at(fraction):
        before = [p for p in points if p[0] <= executed * fraction]
        return before[-1] if before else points[0]

    _, cov_q, ft_q = at(0.75)
    _, cov_t, ft_t = at(0.90)
    return (f"{path}: {executed} executions, cov {cov}, ft {ft}; last quarter added cov +{cov - cov_q} "
            f"ft +{ft - ft_q}, last tenth cov +{cov - cov_t} ft +{ft - ft_t}")


def run(target, quiet_minutes=10.0, cap_minutes=120.0):
    here = os.path.dirname(os.path.abspath(__file__))
    binary = os.path.join(here, "target/x86_64-unknown-linux-gnu/release", target)
    os.makedirs("/tmp/fuzz", exist_ok=True)
    log_path = f"/tmp/fuzz/{target}.log"
    args = [binary, os.path.join(here, "corpus", target), f"-artifact_prefix={here}/artifacts/{target}/",
            "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"]
    os.makedirs(f"{here}/artifacts/{target}", exist_ok=True)
    start = time.monotonic()
    last_growth, cov, ft, runs, crashed = start, 0, 0, 0, False
    with open(log_path, "w") as log:
        fuzzer = subprocess.Popen(["nice", "-n", "19"] + args, stderr=subprocess.PIPE, text=True, errors="replace")
        for line in fuzzer.stderr:
            log.write(line)
            now = time.monotonic()
            match = LINE.match(line)
            if match:
                runs, new_cov, ft = (int(g) for g in match.groups())
                if new_cov > cov:
                    cov, last_growth = new_cov, now
            crashed |= line.startswith("==") and "ERROR" in line or "deadly signal" in line
            quiet = now - last_growth >= quiet_minutes * 60
            if (quiet or now - start >= cap_minutes * 60) and fuzzer.poll() is None:
                fuzzer.send_signal(signal.SIGINT)
        fuzzer.wait()
    # libFuzzer prints a line only when something changes: a quiet run may end between lines.
    end = time.monotonic()
    plateau = end - last_growth >= quiet_minutes * 60
    minutes = lambda s: f"{int(s // 60)} min {int(s % 60)} s"
    stats = summary(log_path)
    print(f"| `{target}` | {minutes(end - start)} | {runs:,} | {cov:,} | {ft:,} | at {minutes(last_growth - start)} | "
          f"{'reached at ' + minutes(last_growth - start) if plateau else '**not reached**'} |"
          f"{' CRASH' if crashed else ''}\n{stats}")


if len(sys.argv) > 2 and sys.argv[1] == "run":
    run(sys.argv[2], *(float(a) for a in sys.argv[3:5]))
else:
    for log in sys.argv[1:]:
        print(summary(log))
