#!/usr/bin/env python3
"""Cuts a libFuzzer-minimized corpus down to a size worth committing.

`cargo fuzz cmin` keeps every input that adds a coverage edge, which for these
targets (most edges are in minijinja, jsonschema and saphyr) is a thousand files
or more. This keeps at most LIMIT of them, picked greedily by how many edges not
yet covered each adds, from the per-input coverage libFuzzer writes in its merge
control file:

    fuzz/target/<triple>/release/<target> -merge=1 -use_counters=0 \\
        -merge_control_file=/tmp/<target>.ctl /tmp/empty corpus/<target>
    python3 select_corpus.py /tmp/<target>.ctl corpus/<target> 500

Files not selected are deleted from the corpus folder.
"""

import os
import sys


def main(control_file, corpus, limit):
    lines = open(control_file).read().split("\n")
    count = int(lines[0])
    files = lines[2 : 2 + count]
    coverage = {}
    for line in lines[2 + count :]:
        fields = line.split()
        if fields and fields[0] == "COV":
            coverage[int(fields[1])] = set(map(int, fields[2:]))
    universe = set().union(*coverage.values())
    left, chosen = set(universe), []
    while left and len(chosen) < limit:
        best = max(coverage, key=lambda i: (len(coverage[i] & left), -os.path.getsize(files[i])))
        if not coverage[best] & left:
            break
        left -= coverage[best]
        chosen.append(best)
    keep = {os.path.basename(files[i]) for i in chosen}
    for name in os.listdir(corpus):
        if name not in keep:
            os.remove(os.path.join(corpus, name))
    kept = len(universe) - len(left)
    print(f"{len(keep)} of {len(files)} inputs kept, covering {kept} of {len(universe)} edges ({100 * kept / len(universe):.1f}%)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
