#!/bin/sh
# Plots the latency samples the bench wrote into DIR (lat_*.tsv: seconds
# since the run's start, latency in ms) as DIR/latency.png: latency over
# time per run (top), and the latency distribution as a CDF (bottom).
# usage: plot.sh DIR
set -eu
dir=${1:-build/bench}
command -v gnuplot >/dev/null 2>&1 || { echo "bench: no gnuplot; $dir/latency.png not drawn"; exit 0; }
for f in lat_saturation lat_1000 lat_10000 lat_timers; do
    # sorted latencies with their cumulative fraction, for the CDF
    if [ -s "$dir/$f.tsv" ]; then
        cut -f2 "$dir/$f.tsv" | sort -g | awk '{v[NR]=$1} END {for (i=1;i<=NR;i++) print v[i]"\t"i/NR}' >"$dir/$f.cdf"
    else
        printf '0\t0\n' >"$dir/$f.cdf"
        [ -f "$dir/$f.tsv" ] || printf '0\t0\n' >"$dir/$f.tsv"
    fi
done
gnuplot <<GP
set terminal pngcairo size 1400,1000 font "sans,10"
set output "$dir/latency.png"
set multiplot layout 2,1 title "shiftkey: record produced -> first command readable (timers: due -> REVOKE readable)"
set grid
set logscale y
set xlabel "seconds since the run started"
set ylabel "latency (ms, log)"
set key outside right top
plot "$dir/lat_1000.tsv" using 1:2 with dots lc rgb "#1b9e77" title "1,000/s", \
     "$dir/lat_10000.tsv" using 1:2 with dots lc rgb "#d95f02" title "10,000/s", \
     "$dir/lat_saturation.tsv" using 1:2 with dots lc rgb "#7570b3" title "saturation", \
     "$dir/lat_timers.tsv" using 1:2 with points pt 7 ps 0.3 lc rgb "#e7298a" title "timers"
set logscale x
set nologscale y
set yrange [0:1]
set xlabel "latency (ms, log)"
set ylabel "fraction of samples <= x"
plot "$dir/lat_1000.cdf" using 1:2 with lines lw 2 lc rgb "#1b9e77" title "1,000/s", \
     "$dir/lat_10000.cdf" using 1:2 with lines lw 2 lc rgb "#d95f02" title "10,000/s", \
     "$dir/lat_saturation.cdf" using 1:2 with lines lw 2 lc rgb "#7570b3" title "saturation", \
     "$dir/lat_timers.cdf" using 1:2 with lines lw 2 lc rgb "#e7298a" title "timers"
unset multiplot
GP
echo "bench: wrote $dir/latency.png"
