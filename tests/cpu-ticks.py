#!/usr/bin/python3
"""cpu-ticks.py [--split COMM] PID... - CPU time, in clock ticks, used so
far by each process tree: every live process's own time and what its
reaped children used (cutime, cstime).  For bench-milter.sh and
bench-e2e.sh, which take the difference around a run.  Prints one number
per PID.

With --split COMM[,COMM...], one more number at the end: what ran below
the live processes named COMM in the first PID's tree (their reaped
children, and the live children's trees).  bench-e2e.sh names pipe(8) and
spawn(8) so: the delivery programs they ran are part of Postfix's tree,
and this separates them from Postfix's own time (as long as those pipe(8)
and spawn(8) processes live on, which a long max_idle and max_use make
sure of)."""
import os
import sys


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    # comm may hold spaces and parentheses: split after the last ')'.
    comm = s[s.index("(") + 1:s.rindex(")")]
    fields = s[s.rindex(")") + 2:].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, utime + stime, cutime + cstime, comm


args = sys.argv[1:]
split = None
if args[:1] == ["--split"]:
    split, args = args[1], args[2:]
procs = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            procs[int(d)] = stat(d)
        except (OSError, ValueError):
            pass
children = {}
for pid, (ppid, _, _, _) in procs.items():
    children.setdefault(ppid, []).append(pid)


def tree(pid):
    if pid not in procs:
        return 0
    _, own, reaped, _ = procs[pid]
    return own + reaped + sum(tree(c) for c in children.get(pid, []))


def named(pid, comms):
    """What ran below the processes named in comms, in pid's tree: their
    reaped children's time and their live children's trees."""
    if pid not in procs:
        return 0
    _, _, reaped, c = procs[pid]
    kids = children.get(pid, [])
    if c in comms:
        return reaped + sum(tree(k) for k in kids)
    return sum(named(k, comms) for k in kids)


out = [tree(int(p)) for p in args]
if split is not None:
    out.append(named(int(args[0]), split.split(",")))
print(" ".join(str(x) for x in out))
