# AI Auditor: `auditor serve` in a container (docs/deploy.md).
#
#   docker build -t ai-auditor .
#   docker run -p 127.0.0.1:8000:8000 -v auditor-data:/var/lib/auditor ai-auditor   # SQLite
#   docker compose up --build                                                       # PostgreSQL
#
# Both base images are build arguments, so a mirror or a locally made image can stand in
# (scripts/verify-container.sh builds with local ones). rust-toolchain.toml pins the toolchain
# that builds; were the builder image's another, rustup would install the pinned one.
# Needs BuildKit (Docker 23+ by default) or Podman/Buildah for the RUN --mount cache mounts.
ARG RUST_IMAGE=docker.io/library/rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${RUST_IMAGE} AS builder
# SQLite, libpq and the OpenSSL it uses are built from source by cargo (libsqlite3-sys
# `bundled`, pq-sys `bundled`, openssl-sys `vendored`): a C compiler, make and perl, no -dev package.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev make perl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The pinned toolchain first: this layer stays cached until rust-toolchain.toml changes.
COPY rust-toolchain.toml ./
RUN channel="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)" \
 && rustc --version && cargo --version \
 && rustc --version | grep -qF "rustc ${channel}"
# Only what the build reads (the migrations and rule packs are compiled into the binary).
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY migrations migrations
COPY rules rules
# The crates.io downloads and the target directory live in cache mounts, so a rebuild after a
# source change compiles only the workspace's own crates. The binary leaves the cache here.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p auditor --bin auditor \
 && install -D -m 0755 target/release/auditor /usr/local/bin/auditor \
 && /usr/local/bin/auditor --version
# The release profile keeps line tables (and the bundled C libraries full debug info): 211 MB.
# Stripped, 55 MB; panic messages keep their file:line and backtraces their function names.
# --build-arg STRIP_DEBUG=false keeps everything, for backtraces with line numbers.
ARG STRIP_DEBUG=true
RUN if [ "$STRIP_DEBUG" = true ]; then objcopy --strip-debug /usr/local/bin/auditor; fi \
 && ls -l /usr/local/bin/auditor

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="AI Auditor" \
      org.opencontainers.image.description="auditor serve: the AI Auditor HTTP API, console and scheduler" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed non-root uid/gid (10001), owner of the two volumes' mount points. A bind-mounted
# directory must be writable (state) or readable (evidence) by 10001.
RUN groupadd --gid 10001 auditor \
 && useradd --uid 10001 --gid 10001 --no-create-home --no-log-init \
            --home-dir /var/lib/auditor --shell /usr/sbin/nologin auditor \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/auditor /evidence
# The binary links only the C runtime (ldd: libc, libm, libgcc_s). The CA bundle comes from the
# builder rather than the ca-certificates package, which would pull in openssl and libssl3; the
# vendored OpenSSL finds it through SSL_CERT_FILE (libpq's sslrootcert=system).
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=builder /usr/local/bin/auditor /usr/local/bin/auditor
# /var/lib/auditor: the SQLite database and the key files (seal key, signing key) that must
# survive the container, also with PostgreSQL. /evidence: the only evidence root.
# 0.0.0.0 so that the published port reaches the server; open access (the demo's) stays off,
# and `serve` refuses it beyond loopback unless --open-access-beyond-loopback says so.
ENV DATABASE_URL=/var/lib/auditor/auditor.db \
    AUDITOR_BIND=0.0.0.0:8000 \
    AUDITOR_EVIDENCE_ROOTS=/evidence \
    AUDITOR_SEAL_KEY_FILE=/var/lib/auditor/auditor.seal.key \
    AUDITOR_SIGNING_KEY_FILE=/var/lib/auditor/auditor-signing.key \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /var/lib/auditor
VOLUME ["/var/lib/auditor", "/evidence"]
USER 10001:10001
EXPOSE 8000
# No curl in the image: bash's /dev/tcp sends GET /health (200 only while the database answers,
# 503 otherwise) to the port of AUDITOR_BIND. Docker image format only: podman build --format docker.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "port=${AUDITOR_BIND##*:}; exec 3<>/dev/tcp/127.0.0.1/${port:-8000} && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 4 proto code rest <&3 && [[ $code == 200 ]]"]
ENTRYPOINT ["/usr/local/bin/auditor"]
CMD ["serve"]
