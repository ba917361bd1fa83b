#!/bin/sh
# Prints a one-event iCalendar feed whose shift runs from now+START to
# now+END seconds (negative = in the past), for demos and manual tests:
#   connectors/examples/demo-feed.sh 0 20 alice@example.com demo-alice-1 > build/run/demo.ics
set -eu
[ $# -eq 4 ] || { echo "usage: $0 START_S END_S EMAIL UID" >&2; exit 2; }
now=$(date -u +%s)
stamp() { date -u -d "@$(($now + $1))" +%Y%m%dT%H%M%SZ; }
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//shiftkey//demo feed//EN\r\n'
printf 'BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:%s\r\nDTSTART:%s\r\nDTEND:%s\r\n' "$4" "$(stamp 0)" "$(stamp "$1")" "$(stamp "$2")"
printf 'SUMMARY:On call (demo)\r\nATTENDEE;CN=%s:mailto:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' "$3" "$3"
