# idbroker: multi-stage build, runs as a non-root user.
#   docker build -t idbroker .
#   docker run -p 8080:8080 -v $PWD/config:/etc/idbroker:ro -e IDBROKER_LISTEN=0.0.0.0:8080 \
#       idbroker serve --config /etc/idbroker/demo/idbroker.toml
# HTTPS: mount the certificate directory too and name the pair; renewals are picked up without a
# restart (SIGHUP, or within server.tls_reload_seconds of the files changing):
#   docker run ... -v /etc/idbroker-tls:/etc/idbroker/tls:ro \
#       -e IDBROKER_TLS_CERT=/etc/idbroker/tls/server.crt -e IDBROKER_TLS_KEY=/etc/idbroker/tls/server.key ...
# Mount the configuration (and certificates) read-only; pass secrets as environment variables.
# SIGTERM (docker stop) lets in-flight requests finish (server.shutdown_timeout_seconds).
FROM rust:1-bookworm AS build
# samael's xmlsec bindings: bindgen needs libclang, and the C libraries' headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libxmlsec1-dev libxml2-dev libclang-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock clippy.toml ./
COPY crates ./crates
# samael with idbroker's patches ([patch.crates-io] in Cargo.toml).
COPY vendor ./vendor
COPY src ./src
# The console's pages (askama compiles them into the binary).
COPY templates ./templates
# The directory store's schema (sqlx embeds the migrations into the binary).
COPY migrations ./migrations
COPY examples ./examples
COPY benches ./benches
RUN cargo build --release --locked --bin idbroker

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libxmlsec1 libxmlsec1-openssl libxml2 libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin idbroker
COPY --from=build /src/target/release/idbroker /usr/local/bin/idbroker
USER 10001:10001
EXPOSE 8080
ENV IDBROKER_LISTEN=0.0.0.0:8080
ENTRYPOINT ["/usr/local/bin/idbroker"]
CMD ["serve", "--config", "/etc/idbroker/idbroker.toml"]
