#!/bin/sh
# coverage.sh DIR - line coverage per folder of a tree built with --coverage
# (make coverage), from gcov's own figures: for each folder, the lines
# gcov counts in its .c files and how many of them ran.  Figures only:
# there is no floor yet.
set -eu
cd "$1"
printf '%-18s %8s %8s %8s\n' folder lines run coverage
total=0
total_run=0
for d in common/util common/mail common/report common/classify pipe milter cli; do
	# "File 'pipe/deliver.c'" then "Lines executed:81.25% of 240", for
	# each source of the folder (headers of other folders are left out).
	set -- $(gcov -n -o "$d" "$d"/*.c 2>/dev/null | awk -v dir="$d/" '
		/^File / { f = $2; gsub(/\047/, "", f); mine = index(f, dir) == 1 && f ~ /\.c$/ }
		/^Lines executed:/ && mine {
			split($2, a, ":"); pct = a[2] + 0; n = $4 + 0
			lines += n; run += int(pct * n / 100 + 0.5); mine = 0
		}
		END { printf "%d %d\n", lines, run }')
	lines=$1
	run=$2
	total=$((total + lines))
	total_run=$((total_run + run))
	[ "$lines" -gt 0 ] || { printf '%-18s %8s %8s %8s\n' "$d" 0 0 -; continue; }
	printf '%-18s %8d %8d %7d%%\n' "$d" "$lines" "$run" $((100 * run / lines))
done
[ "$total" -gt 0 ] && printf '%-18s %8d %8d %7d%%\n' total "$total" "$total_run" $((100 * total_run / total))
