#!/usr/bin/env bash
# Replays one PUT /batches (same requestId, same body) against each server URL given, with wrk
# (Debian's package) from this machine, all at once, and prints each rate and their sum.
#   bench/wrk-replay.sh http://127.0.0.1:8998 [http://127.0.0.1:8999 ...]
# Set FILE to a whitelisted job path; the first PUT creates the batch, the rest replay it.
set -euo pipefail
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
file=${FILE:?set FILE to a job file the servers allow}
key=${REQUEST_ID:-7d444840-9dc0-11d1-b245-5ffdce74fad2}
duration=${DURATION:-10s}
conns=${CONNS:-16}
body="{\"file\":\"$file\"}"
curl -s -o /dev/null -X PUT "$1/batches" -H "requestId: $key" -d "$body"
script=$(mktemp)
trap 'rm -f "$script" "$script".*' EXIT
cat > "$script" <<LUA
wrk.method = "PUT"
wrk.body = '$body'
wrk.headers["requestId"] = "$key"
LUA
i=0
for url in "$@"; do
  wrk -t1 -c"$conns" -d"$duration" -s "$script" "$url/batches" > "$script.$i" &
  i=$((i + 1))
done
wait
total=0
i=0
for url in "$@"; do
  rate=$(awk '/Requests\/sec/ {print $2}' "$script.$i")
  p99=$(awk '/Latency/ {print $2}' "$script.$i")
  bad=$(awk '/Non-2xx/ {print $5}' "$script.$i")
  echo "$url: $rate req/s (mean latency $p99${bad:+, $bad non-2xx answers})"
  total=$(awk -v a="$total" -v b="$rate" 'BEGIN {print a + b}')
  i=$((i + 1))
done
echo "total: $total req/s"
