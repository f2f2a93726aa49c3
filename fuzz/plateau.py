#!/usr/bin/env python3
"""Summarises a `cargo fuzz run … -print_final_stats=1` log: executions, the
final coverage (cov: edges, ft: features) and how much of it the last
quarter and the last tenth of the run still added, which says whether the
target has plateaued.

    python3 fuzz/plateau.py /tmp/fuzz/<target>.log …
"""
import re
import sys

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


for log in sys.argv[1:]:
    print(summary(log))
