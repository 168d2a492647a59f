# orch: multi-stage build on Debian 12. Build: docker build -t orch .
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      cmake g++ make pkg-config git ca-certificates \
      libcli11-dev libcpp-httplib-dev nlohmann-json3-dev libhiredis-dev libgit2-dev libspdlog-dev libfmt-dev \
      libssl-dev libcurl4-openssl-dev libyaml-cpp-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DORCH_BUILD_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr \
    && cmake --build /build -j"$(nproc)" \
    && DESTDIR=/install cmake --install /build

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates curl libcpp-httplib0.11 libhiredis0.14 libgit2-1.5 libspdlog1.10 libfmt9 libssl3 libcurl4 libyaml-cpp0.7 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/orch --create-home orch
COPY --from=build /install/usr/ /usr/
ENV BIND=0.0.0.0 PORT=9000 ORCH_STATE_DIR=/var/lib/orch ORCH_LOG_FORMAT=json
USER orch
EXPOSE 9000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" || exit 1
ENTRYPOINT ["orch"]
CMD ["serve"]
