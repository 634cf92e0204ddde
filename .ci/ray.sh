# Sourced by .ci/run: a throw-away Ray cluster on this machine for the job and tuning tests, a head and one worker node
# as separate processes (one CPU each, no dashboard), stopped when the shell exits. Its nodes are told 127.0.0.1, but
# Ray listens on every interface and on the machine's own address whatever --node-ip-address says (a test measures it).
# Exports LSTM_LAB_TEST_RAY_ADDRESS, and RAY_AUTH_MODE/RAY_AUTH_TOKEN (a random token that lives only in this
# environment: without a token anyone who reaches the cluster could run code).

RAY_NODE_MEMORY_BYTES=$((1536 * 1024 * 1024))  # small nodes, so that a test can ask for more than any node has
RAY_OBJECT_STORE_BYTES=$((200 * 1000 * 1000))
RAY_START_S=90

start_test_ray() {
    local port raydir
    "$PYTHON" -c "import ray" 2>/dev/null || { echo ".ci/run: Ray is missing (pip install -r requirements-ray.txt)" >&2; return 1; }
    export RAY_USAGE_STATS_ENABLED=0 RAY_AUTH_MODE=token
    RAY_AUTH_TOKEN="$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
    export RAY_AUTH_TOKEN
    port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    raydir="$(mktemp -d /tmp/lstm-lab-ray.XXXXXX)"
    _RAY_DIR="$raydir"
    _RAY_PIDS=()
    _chain_exit_trap stop_test_ray
    # each `ray start --block` stays in the foreground and, when terminated, drains and stops the processes of its
    # own node only (`ray stop` would stop every Ray cluster on the machine)
    _start_ray_node "$raydir/head.log" --head --port "$port" --include-dashboard=false
    _start_ray_node "$raydir/worker.log" --address "127.0.0.1:$port"
    export LSTM_LAB_TEST_RAY_ADDRESS="127.0.0.1:$port"
}

_start_ray_node() {
    local log="$1" deadline
    shift
    # the CLI of the Python that runs the tests, whatever `ray` is first on PATH; workers at Ray's usual niceness 0
    # rather than its default 15, so that jobs train at LSTM_LAB_TRAIN_NICE as they do in local worker processes
    RAY_worker_niceness=0 "$PYTHON" -m ray.scripts.scripts start --block --node-ip-address 127.0.0.1 --num-cpus 1 --memory "$RAY_NODE_MEMORY_BYTES" \
        --object-store-memory "$RAY_OBJECT_STORE_BYTES" "$@" >"$log" 2>&1 &
    _RAY_PIDS+=("$!")
    deadline=$((SECONDS + RAY_START_S))
    until grep -q "Ray runtime started" "$log"; do
        if ! kill -0 "${_RAY_PIDS[-1]}" 2>/dev/null || ((SECONDS > deadline)); then
            echo ".ci/run: a Ray node did not start:" >&2
            tail -n 30 "$log" >&2
            return 1
        fi
        sleep 0.2
    done
}

_chain_exit_trap() {
    # keep whatever the shell runs on exit already (PostgreSQL's stop): run ours first, then it
    local previous
    previous="$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\\1/")"
    # shellcheck disable=SC2064
    trap "$1; ${previous}" EXIT
}

stop_test_ray() {
    local pid waited
    # the worker first, then the head: a node whose head has gone waits for it before it stops
    for ((k = ${#_RAY_PIDS[@]} - 1; k >= 0; k--)); do
        pid="${_RAY_PIDS[k]}"
        kill -TERM "$pid" 2>/dev/null || continue
        for ((waited = 0; waited < 300; waited++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$_RAY_DIR"
}
