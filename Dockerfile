# syntax=docker/dockerfile:1
# The arustio server image: `docker build -t arustio:local .` (or `make docker-build`).
# Two stages: the release build on the Rust image, then the binary alone on Debian slim.

############################ build ############################
FROM rust:1.95-bookworm AS build

# RocksDB (librocksdb-sys) is compiled from source: bindgen needs libclang; g++ and make
# come with the rust image. protoc is vendored by the build (protoc-bin-vendored).
# DL3008 (pin apt versions) is ignored: the build tools follow the bookworm point release;
# pinning Debian revisions would break the build at every security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libclang-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Cache mounts keep the crates and the target dir between builds (a cold build compiles
# RocksDB: tens of CPU-minutes; a rebuild after a source change takes a fraction of it).
# The binary is copied out of the cache mount, which is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p arustio-gateway --bin arustio \
 && install -D -m 0755 target/release/arustio /out/arustio

############################ runtime ##########################
FROM debian:bookworm-slim AS runtime

# ca-certificates for TLS to cloud stores; libstdc++6 (RocksDB's C++) and libgcc-s1 are
# in the base image already and are listed so that the dependency is explicit.
# DL3008 is ignored as above: the runtime libraries follow bookworm's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 libgcc-s1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 arustio \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/arustio \
      --no-create-home --shell /usr/sbin/nologin arustio \
 && install -d -m 0700 -o 10001 -g 10001 /var/lib/arustio

COPY --from=build /out/arustio /usr/local/bin/arustio

# Defaults for `arustio serve` in a container: every address on 0.0.0.0. Plaintext on a
# non-loopback address is refused unless ARUSTIO_INSECURE=1 (docker-compose.yml sets it
# for the demo network) or TLS is configured (ARUSTIO_TLS_CERT / ARUSTIO_TLS_KEY).
ENV ARUSTIO_DATA_DIR=/var/lib/arustio \
    ARUSTIO_S3_ADDR=0.0.0.0:39999 \
    ARUSTIO_GRPC_ADDR=0.0.0.0:50051 \
    ARUSTIO_METRICS_ADDR=0.0.0.0:39998

USER 10001:10001
WORKDIR /var/lib/arustio
VOLUME ["/var/lib/arustio"]

# 39999 S3, 50051 admin gRPC and Raft, 39998 metrics and /health/*
EXPOSE 39999 50051 39998

# `arustio health` asks GET /health/live on ARUSTIO_METRICS_ADDR (0.0.0.0 is dialled as
# 127.0.0.1) and exits 0 on a 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["arustio", "health"]

ENTRYPOINT ["arustio"]
CMD ["serve"]
