# bench/lib.sh: what the bench scripts share. Source it after `cd` to the
# repository root; it sets DURATION, ROUNDS, CONNS, THREADS and OUT.

DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
CONNS="${CONNS:-64}"
THREADS="${THREADS:-2}"
OUT="${OUT:-bench/out}"
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null 2>&1; }

# install_debian CMD PKG ...: installs the packages when CMD is missing.
install_debian() {
  local cmd=$1; shift
  need "$cmd" && return 0
  local SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "$@" >/dev/null
}

pids=()
cleanup_pids() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }

# wait_ok URL...: waits until every URL answers 2xx (5 s at most).
wait_ok() {
  local u
  for _ in $(seq 50); do
    for u in "$@"; do curl -sf -o /dev/null "$u" || continue 2; done
    return 0
  done
  echo "bench: $* did not come up" >&2
  return 1
}

# cpu PIDS: CPU time (user+system) of the processes, in clock ticks.
cpu() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
HZ=$(getconf CLK_TCK)

# run NAME URL ROUND PIDS...: prints "NAME req/s p50 p99 cpu_us" (latencies
# in ms; cpu_us is the CPU time the serving processes spent per request,
# which, unlike req/s, does not depend on what else the machine is doing).
# WRK_SCRIPT, if set, is passed to wrk -s (for example to POST a body);
# WRK_HEADER, if set, to wrk -H.
run() {
  local name=$1 url=$2 round=$3; shift 3
  local script=()
  [ -n "${WRK_SCRIPT:-}" ] && script=(-s "$WRK_SCRIPT")
  [ -n "${WRK_HEADER:-}" ] && script+=(-H "$WRK_HEADER")
  wrk -t1 -c8 -d1s "${script[@]}" "$url" >/dev/null 2>&1 # warm up pools and caches
  local before; before=$(cpu "$@")
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${script[@]}" "$url" > "$OUT/$name.$round.txt"
  local ticks=$(( $(cpu "$@") - before ))
  awk -v name="$name" -v ticks="$ticks" -v hz="$HZ" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec/ { rps = $2 }
    / requests in / { reqs = $1 }
    /Non-2xx|Socket errors/ { err = err $0 }
    END { printf "%s %.0f %.3f %.3f %.1f %s\n", name, rps, p50, p99, ticks * 1e6 / hz / reqs, (err == "" ? "" : "ERRORS:" err) }
  ' "$OUT/$name.$round.txt"
}

# summarize ROUNDS_FILE "TARGET..." "LABEL:NUM:DEN"...: prints the median
# round of each target (by req/s) and the ratios NUM/DEN.
summarize() {
  local rounds=$1 targets=$2; shift 2
  sort -k1,1 -k2,2n "$rounds" | awk '
    { n[$1]++; line[$1, n[$1]] = $0; if (!($1 in seen)) { seen[$1] = 1; names[++k] = $1 } }
    END { for (i = 1; i <= k; i++) { t = names[i]; print line[t, int((n[t] + 1) / 2)] } }
  ' > "$OUT/median.txt"
  local t
  for t in $targets; do grep "^$t " "$OUT/median.txt"; done > "$OUT/results.txt"
  awk -v ratios="$(IFS='|'; echo "$*")" '
    { rps[$1] = $2; p50[$1] = $3; p99[$1] = $4; cpu[$1] = $5; order[NR] = $1; extra[$1] = $6 }
    END {
      printf "%-16s %10s %9s %9s %16s\n", "target", "req/s", "p50 ms", "p99 ms", "CPU us/request"
      for (i = 1; i <= NR; i++) { n = order[i]; printf "%-16s %10.0f %9.3f %9.3f %16.1f  %s\n", n, rps[n], p50[n], p99[n], cpu[n], extra[n] }
      printf "\nratios (req/s; CPU per request of the serving processes, lower is better):\n"
      k = split(ratios, rs, "|")
      for (i = 1; i <= k; i++) {
        split(rs[i], p, ":")
        printf "  %-36s %.2fx   CPU %.2fx\n", p[1] " (" p[2] " / " p[3] ")", rps[p[2]] / rps[p[3]], cpu[p[2]] / cpu[p[3]]
      }
    }
  ' "$OUT/results.txt"
  # Paired ratios: a round measures its targets back to back, so their
  # quotient within a round cancels most of a shared machine's drift.
  awk -v ratios="$(IFS='|'; echo "$*")" '
    { r = ++seen[$1]; rps[$1, r] = $2; if (r > rounds) rounds = r }
    END {
      k = split(ratios, rs, "|")
      if (k > 0) printf "paired ratios (the median of per-round req/s ratios; each round in brackets):\n"
      for (i = 1; i <= k; i++) {
        split(rs[i], p, ":"); m = 0; list = ""
        for (r = 1; r <= rounds; r++) if (rps[p[3], r] > 0) { v[++m] = rps[p[2], r] / rps[p[3], r]; list = list sprintf(" %.2f", v[m]) }
        for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
        med = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
        printf "  %-36s %.2fx   [%s ]\n", p[1] " (" p[2] " / " p[3] ")", med, list
      }
    }
  ' "$rounds"
  echo "(median of $ROUNDS rounds of wrk -t$THREADS -c$CONNS -d$DURATION on $(nproc) cores; raw output in $OUT/)"
}
