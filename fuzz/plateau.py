#!/usr/bin/env python3
"""Fuzzing to a plateau.

    python3 fuzz/plateau.py run <target> [quiet minutes, 10] [cap minutes, 120]

runs the built target (`cargo fuzz build` first) on its corpus until its
coverage (libFuzzer's cov: edges) has not grown for the quiet minutes of the
fuzzer's own CPU time, or the cap (in CPU minutes too) is reached, and prints
one row: executions, cov, ft, when cov last grew and whether the plateau was
reached. The log goes to /tmp/fuzz/<target>.log.

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
import threading
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


def cpu_seconds(pid):
    """The user and system CPU time a running process has had."""
    with open(f"/proc/{pid}/stat") as stat:
        # The fields after the command name (which may hold spaces), from field 3 on.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(target, quiet_minutes=10.0, cap_minutes=120.0):
    """Times are the fuzzer's own CPU time, not the wall clock: on a shared machine (or when the
    fuzzer is paused with SIGSTOP for a benchmark) ten quiet minutes are ten minutes of fuzzing."""
    here = os.path.dirname(os.path.abspath(__file__))
    binary = os.path.join(here, "target/x86_64-unknown-linux-gnu/release", target)
    os.makedirs("/tmp/fuzz", exist_ok=True)
    log_path = f"/tmp/fuzz/{target}.log"
    args = [binary, os.path.join(here, "corpus", target), f"-artifact_prefix={here}/artifacts/{target}/",
            "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"]
    dictionary = os.path.join(here, "dict", f"{target}.dict")
    if os.path.exists(dictionary):
        args.append(f"-dict={dictionary}")
    os.makedirs(f"{here}/artifacts/{target}", exist_ok=True)
    state = {"growth": 0.0, "cov": 0, "ft": 0, "runs": 0, "crashed": False}
    fuzzer = subprocess.Popen(["nice", "-n", "19"] + args, stderr=subprocess.PIPE, text=True, errors="replace")

    def read(log):
        # libFuzzer prints only when something changes, so its lines are read apart from the clock.
        for line in fuzzer.stderr:
            log.write(line)
            match = LINE.match(line)
            if match:
                runs, cov, ft = (int(g) for g in match.groups())
                state.update(runs=runs, ft=ft)
                if cov > state["cov"]:
                    try:
                        state.update(cov=cov, growth=cpu_seconds(fuzzer.pid))
                    except OSError:  # the fuzzer has just ended
                        state.update(cov=cov)
            state["crashed"] |= line.startswith("==") and "ERROR" in line or "deadly signal" in line

    with open(log_path, "w") as log:
        reader = threading.Thread(target=read, args=(log,))
        reader.start()
        used = 0.0
        while fuzzer.poll() is None:
            time.sleep(2)
            try:
                used = cpu_seconds(fuzzer.pid)
            except OSError:
                break
            if used - state["growth"] >= quiet_minutes * 60 or used >= cap_minutes * 60:
                fuzzer.send_signal(signal.SIGINT)
                break
        fuzzer.wait()
        reader.join()
    plateau = used - state["growth"] >= quiet_minutes * 60
    minutes = lambda s: f"{int(s // 60)} min {int(s % 60)} s"
    stats = summary(log_path)
    print(f"| `{target}` | {minutes(used)} of CPU | {state['runs']:,} | {state['cov']:,} | {state['ft']:,} | "
          f"at {minutes(state['growth'])} | "
          f"{'reached at ' + minutes(state['growth']) if plateau else '**not reached**'} |"
          f"{' CRASH' if state['crashed'] else ''}\n{stats}")


if len(sys.argv) > 2 and sys.argv[1] == "run":
    run(sys.argv[2], *(float(a) for a in sys.argv[3:5]))
else:
    for log in sys.argv[1:]:
        print(summary(log))
