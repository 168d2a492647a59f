# orch's container image (docs/image.md): a root of orch, the shared libraries it loads, CA
# certificates and the user orch (10001), and nothing else: no shell, no package manager. About 31 MB.
#   DOCKER_BUILDKIT=1 docker build -t orch .                       (BuildKit: the default from Docker 23)
#   ... --build-arg BASE=debian-local:bookworm                     (any Debian 12 image, e.g. made by mmdebstrap)
#   ... --build-arg ROOTFS=prebuilt                                (a root made on a Debian 12 host, see below)
ARG BASE=debian:bookworm-slim
ARG ROOTFS=source

# Compiles orch (Release) and makes its root with packaging/image-rootfs.sh.
FROM ${BASE} AS source
RUN apt-get update && apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config binutils ca-certificates git \
      libcli11-dev libcpp-httplib-dev nlohmann-json3-dev libhiredis-dev libgit2-dev libspdlog-dev libfmt-dev \
      libssl-dev libcurl4-openssl-dev libyaml-cpp-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DORCH_BUILD_TESTS=OFF \
    && cmake --build /build -j"$(nproc)" --target orch \
    && packaging/image-rootfs.sh /image /build/cmd/orch

# Or a root made beforehand by packaging/image-rootfs.sh build/image-rootfs build/cmd/orch on a
# Debian 12 host (the suite's tests/compose does this with the orch it built: no compiler in Docker).
FROM scratch AS prebuilt
COPY build/image-rootfs/ /image/

FROM ${ROOTFS} AS rootfs

FROM scratch
# The state folder (outbox, state documents) is orch's, and a named volume mounted there starts as
# a copy of it, owner included. COPY makes what it copies root's, and the parents it creates
# --chown's: so the state first, then the root (which has /var/lib, not /var/lib/orch) over it.
COPY --from=rootfs --chown=10001:10001 /image/state/ /var/lib/orch/
COPY --from=rootfs /image/root/ /
ENV BIND=0.0.0.0 PORT=9000 ORCH_STATE_DIR=/var/lib/orch ORCH_LOG_FORMAT=json
USER orch
WORKDIR /var/lib/orch
VOLUME /var/lib/orch
EXPOSE 9000
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["orch", "healthcheck"]
# No ENTRYPOINT: `docker run IMAGE orch diagnose` runs what it says.
CMD ["orch", "serve"]
