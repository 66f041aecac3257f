#!/usr/bin/env python3
"""Interleaved A/B timing of two lrtsim builds (or any two commands taking the same arguments).

On a shared virtual machine the speed of one binary drifts by tens of percent within an hour,
so timing build A, then later build B, measures the machine. This runs A, B, B, A, A, B, …
and reports the best CPU time (user + sys of the child) and the best wall time of each, and
their ratio: drift then hits both alike.

usage: python3 benches/ab.py N BIN_A BIN_B -- ARGS...
e.g.   python3 benches/ab.py 8 /tmp/lrtsim-before target/release/lrtsim -- \
           run scenarios/bench-slashing.toml -t 1 -q --out /tmp/ab
"""
import resource
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 5 or sys.argv[4] != "--":
        sys.exit(__doc__)
    n = int(sys.argv[1])
    a, b = sys.argv[2], sys.argv[3]
    args = sys.argv[5:]
    cpu = {a: [], b: []}
    wall = {a: [], b: []}
    for i in range(n):
        for binary in (a, b) if i % 2 == 0 else (b, a):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.time()
            subprocess.run([binary] + args, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            t1 = time.time()
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[binary].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
            wall[binary].append(t1 - t0)
    ca, cb = min(cpu[a]), min(cpu[b])
    wa, wb = min(wall[a]), min(wall[b])
    print(f"cpu {ca:.3f} -> {cb:.3f} s ({cb / ca - 1:+.1%})   "
          f"wall {wa:.3f} -> {wb:.3f} s ({wb / wa - 1:+.1%})")


if __name__ == "__main__":
    main()
