#!/usr/bin/env bash
# The main job: builds seafs, builds the deterministic demo libraries, starts the reference
# Seafile server on 127.0.0.1 with them, and mounts them with seafs.
#   bash packaging/demo.sh          start (idempotent: a running demo server and mount are reused)
#   bash packaging/demo.sh stop     unmount and stop the demo server
# Environment: SEAFS_DEMO_DATA (default ./demo-data), SEAFS_DEMO_MOUNT (default ./demo-mount),
#              SEAFS_DEMO_PORT (default 8000), SEAFS_DEMO_CONTROL_PORT (default 8001).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DATA=${SEAFS_DEMO_DATA:-$ROOT/demo-data}
PORT=${SEAFS_DEMO_PORT:-8000}
CONTROL_PORT=${SEAFS_DEMO_CONTROL_PORT:-8001}
PIDFILE=$DATA/server.pid
MNT=${SEAFS_DEMO_MOUNT:-$ROOT/demo-mount}
export PYTHONPATH=$ROOT/tests/server

server_running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
mounted() { grep -q " $MNT fuse.seafs " /proc/mounts; }

if [ "${1:-start}" = stop ]; then
  if mounted; then fusermount3 -u "$MNT" && echo "unmounted $MNT"; fi
  if server_running; then kill "$(cat "$PIDFILE")"; echo "demo server stopped"; else echo "no demo server running"; fi
  rm -f "$PIDFILE"
  exit 0
fi

bash packaging/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "built: $("$ROOT"/build/fs/seafs --version | head -1)"

mkdir -p "$DATA"
SEAFS_CDC_TOOL=$ROOT/build/tests/tools/seafs-cdc /usr/bin/python3 -m seafserver.demo --data "$DATA"

if server_running; then
  echo "demo server already running (pid $(cat "$PIDFILE"))"
else
  nohup /usr/bin/python3 -m seafserver --data "$DATA" --port "$PORT" --control-port "$CONTROL_PORT" \
        --log "$DATA/requests.log" >"$DATA/server.out" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/seafhttp/protocol-version" >/dev/null 2>&1 && break
    server_running || { echo "demo server failed to start:" >&2; tail -20 "$DATA/server.out" >&2; exit 1; }
    sleep 0.1
  done
fi

# The password goes through a 0600 credentials file, never the command line.
CREDENTIALS=$DATA/credentials
(umask 077; printf 'secret\n' >"$CREDENTIALS")
mkdir -p "$MNT"
if mounted; then
  echo "seafs already mounted on $MNT"
else
  "$ROOT"/build/fs/seafs "http://127.0.0.1:$PORT" "$MNT" \
      -o "user=user@example.com,credentials=$CREDENTIALS,cache_dir=$DATA/cache,state_dir=$DATA/seafs-state,poll_interval=10"
fi

TOKEN=$(curl -fsS -d username=user@example.com -d password=secret \
        "http://127.0.0.1:$PORT/api2/auth-token/" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
cat <<TXT

Reference Seafile server running at http://127.0.0.1:$PORT  (pid $(cat "$PIDFILE"), data in $DATA)
  account: user@example.com / secret      (other@example.com / secret2 owns the shared library)
  libraries of user@example.com:
$(curl -fsS -H "Authorization: Token $TOKEN" "http://127.0.0.1:$PORT/api2/repos/" |
  /usr/bin/python3 -c 'import json,sys
for r in json.load(sys.stdin): print("    %-18s %s  %-3s %s" % (r["name"], r["id"], r["permission"], "encrypted" if r["encrypted"] else ""))')
  try:    curl -H "Authorization: Token $TOKEN" http://127.0.0.1:$PORT/api2/repos/

Mounted with seafs on $MNT (read-only; blocks are fetched on first read, cached in $DATA/cache):
$(ls -1 "$MNT" | sed 's/^/    /')
  try:    ls -l "$MNT/Demo"; cat "$MNT/Demo/README.txt"; sha1sum "$MNT/Big File/"*
  encrypted libraries (password s3cret) refuse reads until unlocked:
          build/fs/seafs unlock "$MNT" "Encrypted v4 argon2"; cat "$MNT/Encrypted v4 argon2/marker.txt" | head -2
          build/fs/seafs status "$MNT"; build/fs/seafs lock "$MNT" "Encrypted v4 argon2"
  stop:   bash packaging/demo.sh stop     (unmounts, then stops the server)
TXT
