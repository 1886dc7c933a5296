#!/usr/bin/python3
"""cpu-ticks.py PID... - CPU time, in clock ticks, used so far by each
process tree: every live process's own time and what its reaped children
used (cutime, cstime).  For bench-milter.sh, which
takes the difference around a run.  Prints one number per PID."""
import os
import sys


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    # comm may hold spaces and parentheses: split after the last ')'.
    fields = s[s.rindex(")") + 2:].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, utime + stime, cutime + cstime


procs = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            procs[int(d)] = stat(d)
        except (OSError, ValueError):
            pass
children = {}
for pid, (ppid, _, _) in procs.items():
    children.setdefault(ppid, []).append(pid)


def tree(pid):
    if pid not in procs:
        return 0
    _, own, reaped = procs[pid]
    return own + reaped + sum(tree(c) for c in children.get(pid, []))


print(" ".join(str(tree(int(p))) for p in sys.argv[1:]))
