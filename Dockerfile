# Sekisho daemon image (Debian 12). Build: docker build -t sekisho .
# (.dockerignore keeps a local build/ out: its CMake cache would break the
# build here.) curl is for the healthcheck (docker-compose.yml).
FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libmicrohttpd-dev libhiredis-dev libssl-dev libjwt-dev liboath-dev \
      liboauth2-dev libcjose-dev libjansson-dev libcurl4-openssl-dev \
      libyaml-dev libqrencode-dev gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    && cmake --build build -j"$(nproc)" --target sekisho sekishoctl

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates libmicrohttpd12 libhiredis0.14 libssl3 libjwt0 \
      liboath0 liboauth2-0 libcjose0 libjansson4 libcurl4 libyaml-0-2 \
      libqrencode4 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /nonexistent \
       --shell /usr/sbin/nologin sekisho \
    && install -d -o sekisho -g sekisho -m 0700 /var/lib/sekisho/audit
# A fixed uid: secret files must belong to it (or to root), mode 0600/0400
# (README: Secret files).
COPY --from=build /src/build/sekisho /src/build/sekishoctl /usr/local/bin/
USER sekisho
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sekisho"]
CMD ["-c", "/etc/sekisho/sekisho.yaml"]
