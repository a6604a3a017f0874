#!/usr/bin/env bash
# The HTTP benchmark in one command: builds CareNest as a deployment would (the production
# profile), generates a practice in a fresh PostgreSQL database, serves it, drives each
# scenario with wrk, runs the same SQL in pgbench as the ceiling, prints the ratio, then repeats
# the read scenarios on SQLite, each beside the same read on PostgreSQL just before and after it.
#
#   bench/run.sh [--families N] [--therapists N] [--sessions N] [--duration SECONDS]
#                [--connections N] [--soak SECONDS] [--smoke]
#
# Needs wrk and pgbench (Debian: wrk, postgresql-client) and a PostgreSQL server: BENCH_POSTGRES
# names it (default postgres://postgres@127.0.0.1:5432). `--smoke` is a few seconds at a tiny
# scale: it proves the script works, not the speed. `--soak 600` adds ten minutes of the admin's
# week at 256 connections, printing the server's resident memory each minute.
set -euo pipefail
cd "$(dirname "$0")/.."

families=5000 therapists=200 sessions=500000 duration=20 connections=32 smoke=0 soak=0
while [ $# -gt 0 ]; do
    case "$1" in
        --families) families=$2; shift 2 ;;
        --therapists) therapists=$2; shift 2 ;;
        --sessions) sessions=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --soak) soak=$2; shift 2 ;;
        --smoke) smoke=1 families=60 therapists=10 sessions=3000 duration=2 connections=2; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in wrk pgbench psql python3; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool" >&2; exit 1; }
done

server=${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
work=$(mktemp -d)
database="carenest_bench_$$"
pg_url="$server/$database"
sqlite_url="sqlite://$work/bench.db"
port=$((20000 + $$ % 20000))
base="http://127.0.0.1:$port"
server_pid="" other_pid=""
cleanup() {
    for pid in $server_pid $other_pid; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

if [ "$smoke" = 1 ]; then
    # The smoke run checks the script, not the speed: the test build serves.
    echo "== building (debug, smoke run)"
    cargo build --locked -p carenest --quiet
    carenest=target/debug/carenest
else
    echo "== building (the production profile)"
    cargo build --profile production --locked -p carenest --quiet
    carenest=target/production/carenest
fi
export CARENEST_ENV=production RUST_LOG=warn CARENEST_LOG_FORMAT=json

# The server's CPU seconds (user + system) so far, from /proc.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$server_pid/stat"
}
peak_memory_mib() {
    awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status"
}
memory_mib() {
    awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status"
}
# Starts the peak (VmHWM) over from the current resident size, so each scenario reports its own.
reset_peak_memory() {
    echo 5 >"/proc/$server_pid/clear_refs" 2>/dev/null || true
}

start_server() {
    server_log="$work/server-$port.log"
    DATABASE_URL=$1 "$carenest" serve --bind "127.0.0.1:$port" >"$server_log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -fs "$base/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$server_log" >&2
    echo "the server did not start" >&2
    exit 1
}

stop_server() {
    kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

login() {
    curl -fs -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"benchmark\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

token_hash() {
    printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# seed URL: a fresh database with the generated practice.
seed() {
    "$carenest" db setup --database-url "$1" >/dev/null 2>&1
    "$carenest" db seed synthetic --database-url "$1" --families "$families" --therapists "$therapists" \
        --sessions "$sessions" 2>&1 | tail -n 1
    if [ "${1%%:*}" = postgres ]; then
        psql -q "$1" -c "VACUUM (ANALYZE)" -c "CHECKPOINT" >/dev/null
    fi
}

# drive URL TOKEN SCRIPT [ARGS...]: one wrk run with the script (in bench/wrk), which builds the
# requests and prints one RESULT line: rate, p50, p99, requests, failed answers, cut connections.
drive() {
    local url=$1 token=$2 script=$3
    shift 3
    wrk -t 2 -c "$connections" -d "${duration}s" --latency -H "Authorization: Bearer $token" \
        -s "bench/wrk/$script" "$url" -- "$@" | grep '^RESULT' || true
}

# scenario NAME TOKEN PATH [SCRIPT [ARGS...]]: one wrk run (the script, default report.lua,
# builds the requests and reports); prints a row and remembers its rate.
scenario() {
    local name=$1 token=$2 path=$3 script=${4:-report.lua}
    shift 3
    [ $# -gt 0 ] && shift
    local cpu_before cpu_after line
    reset_peak_memory
    cpu_before=$(cpu_seconds)
    line=$(drive "$base$path" "$token" "$script" "$@")
    cpu_after=$(cpu_seconds)
    [ -n "$line" ] || { echo "wrk printed nothing for $name" >&2; exit 1; }
    read -r _ rate p50 p99 requests failed cut <<<"$line"
    # Logins are reported apart: a login refused by the throttles or the hashing queue (429,
    # 503) is the server protecting itself, so it is counted, not fatal.
    if [ "$failed" -gt 0 ] && [ "$script" = login.lua ]; then
        echo "   ($name: $failed of $requests answers were 429/503 or timed out)" >&2
    elif [ "$failed" -gt 0 ]; then
        echo "$name: $failed of $requests answers were not 2xx or timed out ($cut connections cut)" >&2
        tail -n 5 "$server_log" >&2
        exit 1
    fi
    local cpu_ms
    cpu_ms=$(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$requests" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')
    last_rate=$rate
    printf '%-44s %9.0f %9.2f %9.2f %9s %7s' "$name" "$rate" "$p50" "$p99" "$cpu_ms" "$(peak_memory_mib)"
}

# rate_at BASE TOKEN PATH: requests per second of one wrk run against another server (the one
# not being measured), without a row; fails as `scenario` does on an answer that is not 2xx.
rate_at() {
    local line
    line=$(drive "$1$3" "$2" report.lua)
    read -r _ rate _ _ requests failed _ <<<"$line"
    if [ -z "$line" ] || [ "$failed" -gt 0 ]; then
        echo "$3 on $1: ${failed:-all} of ${requests:-its} answers were not 2xx or timed out" >&2
        exit 1
    fi
    printf '%.0f' "$rate"
}

# ceiling SCRIPT [pgbench -D options...]: pgbench's transactions per second on the same SQL
# (SCRIPT in bench/pgbench, or a path). Each scenario's ceiling is taken just before and just
# after it, and the two averaged: the machine drifts by 10-20% within minutes, and one ceiling
# taken after the scenario alone carried all of that drift into the ratio.
ceiling() {
    local script=$1
    shift
    [ -f "$script" ] || script="bench/pgbench/$script"
    pgbench -n -c "$connections" -j 2 -T "$duration" -M prepared "$@" -f "$script" "$pg_url" 2>/dev/null |
        awk '/^tps = / { printf "%.0f", $3 }'
}

# mean A B: the two ceilings' mean; nothing if either run gave no figure (the row then shows
# no ratio, rather than one against half a ceiling).
mean() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.0f", (a + b) / 2 }'
}

# clear_ceiling_bookings: removes the sessions pgbench's booking script made (cancelled ones on
# one far day), so that each of its runs starts from the same calendar.
clear_ceiling_bookings() {
    psql -q "$pg_url" -c "DELETE FROM sessions WHERE date = '2099-01-01'" >/dev/null
}

# ratio_row CEILING [READS_CEILING]: the ratio to the scenario's whole SQL, and for a read that
# writes audit rows also to its reads alone (the same script without its INSERT).
ratio_row() {
    awk -v r="$last_rate" -v c="$1" -v d="${2:-}" 'BEGIN {
        if (c > 0) printf " %9.0f %6.2f", c, r / c; else printf "         -      -"
        if (d > 0) printf " %9.0f %6.2f\n", d, r / d; else printf "\n" }'
}

# reads_only SCRIPT: the script without its audit INSERT, for the reads-only ceiling.
reads_only() {
    grep -v '^INSERT' "bench/pgbench/$1" >"$work/reads-$1"
    echo "$work/reads-$1"
}

header() {
    printf '%-44s %9s %9s %9s %9s %7s %9s %6s %9s %6s\n' "$1" "req/s" "p50 ms" "p99 ms" "cpu ms" "MiB" \
        "pgbench" "ratio" "reads" "ratio"
}

echo "== PostgreSQL: $families families, $therapists therapists, $sessions sessions"
seed "$pg_url"
start_server "$pg_url"

# The family with the most children and goals, a therapist, a week ahead and a busy day.
read -r family_user family_profile <<<"$(psql -At -F ' ' "$pg_url" -c "
    SELECT p.user_id, p.id FROM parent_profiles p
    ORDER BY (SELECT count(*) FROM child_profiles c WHERE c.parent_profile_id = p.id) DESC,
             (SELECT count(*) FROM parenting_goals g WHERE g.parent_profile_id = p.id) DESC, p.id LIMIT 1")"
family_name=$(psql -At "$pg_url" -c "SELECT username FROM users WHERE id = $family_user")
therapist=$(( (therapists + 1) / 2 ))
therapist_name="therapist.$therapist"
monday=$(python3 -c 'import datetime; d = datetime.date.today(); print(d + datetime.timedelta(days=7 - d.weekday()))')
sunday=$(python3 -c "import datetime; print(datetime.date.fromisoformat('$monday') + datetime.timedelta(days=6))")
week_sessions=$(psql -At "$pg_url" -c "SELECT count(*), count(s.child_profile_id) FROM sessions s JOIN session_therapists f
    ON f.session_id = s.id WHERE f.therapist_id = $therapist AND f.date BETWEEN '$monday' AND '$sunday'")
# The sessions with a child that each read records as read (the ceilings write those audit rows too).
week_ids=$(psql -At "$pg_url" -c "SELECT '{' || coalesce(string_agg(s.id::text, ','), '') || '}' FROM sessions s
    JOIN session_therapists f ON f.session_id = s.id WHERE f.therapist_id = $therapist
    AND f.date BETWEEN '$monday' AND '$sunday' AND s.child_profile_id IS NOT NULL")
day_ids=$(psql -At "$pg_url" -c "SELECT '{' || coalesce(string_agg(id::text, ','), '') || '}' FROM (SELECT s.id,
    s.child_profile_id FROM sessions s WHERE s.date = '$monday' ORDER BY s.start_time, s.id LIMIT 200) d
    WHERE child_profile_id IS NOT NULL")
admin_user=$(psql -At "$pg_url" -c "SELECT id FROM users WHERE username = 'admin'")
last_day=$(psql -At "$pg_url" -c "SELECT max(date) FROM sessions")
book_from=$(python3 -c "import datetime; print(datetime.date.fromisoformat('$last_day') + datetime.timedelta(days=30))")

admin_token=$(login admin)
family_token=$(login "$family_name")
therapist_token=$(login "$therapist_name")
admin_hash=$(token_hash "$admin_token")
family_hash=$(token_hash "$family_token")
therapist_hash=$(token_hash "$therapist_token")
week="/api/v1/sessions?therapistId=$therapist&from=$monday&to=$sunday&limit=200"
day="/api/v1/sessions?from=$monday&to=$monday&limit=200"
echo "   $family_name (user $family_user); $therapist_name's week of $monday: ${week_sessions/|/ sessions, } with a child"

echo
header "PostgreSQL, $connections connections, ${duration}s each"
me_args=(-D "hash=$family_hash" -D "user=$family_user" -D "profile=$family_profile")
me_before=$(ceiling me.sql "${me_args[@]}")
scenario "GET /me (the family with the most data)" "$family_token" /api/v1/me
ratio_row "$(mean "$me_before" "$(ceiling me.sql "${me_args[@]}")")"
week_args=(-D "hash=$therapist_hash" -D "therapist=$therapist" -D "from=$monday" -D "to=$sunday" -D "ids=$week_ids"
    -D "actor=$admin_user")
week_reads_script=$(reads_only week.sql)
week_before=$(ceiling week.sql "${week_args[@]}")
week_reads_before=$(ceiling "$week_reads_script" "${week_args[@]}")
scenario "a therapist's week, by the therapist" "$therapist_token" "$week"
week_between=$(ceiling week.sql "${week_args[@]}")
week_reads_between=$(ceiling "$week_reads_script" "${week_args[@]}")
ratio_row "$(mean "$week_before" "$week_between")" "$(mean "$week_reads_before" "$week_reads_between")"
scenario "the same week, by an admin (audited)" "$admin_token" "$week"
ratio_row "$(mean "$week_between" "$(ceiling week.sql "${week_args[@]}")")" \
    "$(mean "$week_reads_between" "$(ceiling "$week_reads_script" "${week_args[@]}")")"
day_args=(-D "hash=$admin_hash" -D "from=$monday" -D "ids=$day_ids" -D "actor=$admin_user")
day_reads_script=$(reads_only day.sql)
day_before=$(ceiling day.sql "${day_args[@]}")
day_reads_before=$(ceiling "$day_reads_script" "${day_args[@]}")
scenario "a day of the practice, 200 sessions (admin)" "$admin_token" "$day"
ratio_row "$(mean "$day_before" "$(ceiling day.sql "${day_args[@]}")")" \
    "$(mean "$day_reads_before" "$(ceiling "$day_reads_script" "${day_args[@]}")")"
suggestions_before=$(ceiling suggestions.sql "${me_args[@]}")
scenario "GET /suggestions" "$family_token" /api/v1/suggestions
ratio_row "$(mean "$suggestions_before" "$(ceiling suggestions.sql "${me_args[@]}")")"
book_args=(-D "hash=$admin_hash" -D "therapists=$therapists")
clear_ceiling_bookings
book_before=$(ceiling book.sql "${book_args[@]}")
scenario "POST /sessions, no conflict (admin)" "$admin_token" /api/v1/sessions \
    book.lua "${book_from:0:4}" "${book_from:5:2}" "${book_from:8:2}" "$therapists" 2
clear_ceiling_bookings
ratio_row "$(mean "$book_before" "$(ceiling book.sql "${book_args[@]}")")"
scenario "POST /auth/login (Argon2 by design)" "$admin_token" /api/v1/auth/login login.lua admin benchmark
echo "         -      -"
busy=$([ "$smoke" = 1 ] && echo 8 || echo 256)
# The hashing threads give their working memory (19 MiB each) back 2 s after their last hash.
sleep 3
# Memory under many connections (the ceilings above are at the run's own connection count).
connections=$busy scenario "the admin's week at $busy connections" "$admin_token" "$week"
echo "         -      -"
if [ "$soak" -gt 0 ]; then
    # Resident memory, a minute apart, under the admin's week at 256 connections.
    echo "   soak: $soak s of the admin's week at 256 connections; resident MiB at each minute:"
    printf '   %s' "$(memory_mib)"
    wrk -t 2 -c 256 -d "${soak}s" -H "Authorization: Bearer $admin_token" "$base$week" >"$work/soak.txt" &
    soak_pid=$!
    for _ in $(seq 60 60 "$soak"); do
        sleep 60
        printf ' %s' "$(memory_mib)"
    done
    wait "$soak_pid"
    echo
    grep -E 'Requests/sec|Non-2xx' "$work/soak.txt" | sed 's/^/   /'
fi
stop_server

echo
echo "== SQLite: the same practice"
seed "$sqlite_url"
# PostgreSQL's server runs again beside SQLite's, idle while the other is measured: each SQLite
# read is compared with the same read on PostgreSQL just before and just after it (their mean),
# as the ceilings are, since the machine drifts within the minutes between the two sections.
start_server "$pg_url"
other_pid=$server_pid pg_base=$base
port=$((port + 1))
base="http://127.0.0.1:$port"
start_server "$sqlite_url"
sqlite_admin=$(login admin)
sqlite_family=$(login "$family_name")
sqlite_therapist=$(login "$therapist_name")
printf '%-44s %9s %9s %9s %9s %7s %9s %6s\n' "SQLite, $connections connections, ${duration}s each" "req/s" \
    "p50 ms" "p99 ms" "cpu ms" "MiB" "Postgres" "ratio"
for row in "GET /me|$family_token|$sqlite_family|/api/v1/me" \
    "a therapist's week, by the therapist|$therapist_token|$sqlite_therapist|$week" \
    "the same week, by an admin (audited)|$admin_token|$sqlite_admin|$week" \
    "a day of the practice, 200 sessions (admin)|$admin_token|$sqlite_admin|$day" \
    "GET /suggestions|$family_token|$sqlite_family|/api/v1/suggestions"; do
    IFS='|' read -r name pg_token token path <<<"$row"
    pg_before=$(rate_at "$pg_base" "$pg_token" "$path")
    scenario "$name" "$token" "$path"
    ratio_row "$(mean "$pg_before" "$(rate_at "$pg_base" "$pg_token" "$path")")"
done
stop_server
