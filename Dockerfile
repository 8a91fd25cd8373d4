# syntax=docker/dockerfile:1
# ragd: one static binary on a small base, running as a non-root user.
#   docker build -t ragd:local --build-arg VERSION=0.1.0 .

FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=0.1.0-dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/ragd/ragd.Version=${VERSION}" \
      -o /out/ragd ./cmd/ragd

# Alpine rather than distroless: its busybox wget runs the health check.
FROM alpine:3.22
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 ragd \
 && adduser -S -D -H -u 10001 -G ragd -h /var/lib/ragd ragd \
 && mkdir -p /var/lib/ragd \
 && chown ragd:ragd /var/lib/ragd
COPY --from=build /out/ragd /usr/local/bin/ragd
USER 10001:10001
ENV RAGD_ADDR=:8080 \
    RAGD_DATA_DIR=/var/lib/ragd
VOLUME ["/var/lib/ragd"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/local/bin/ragd"]
CMD ["serve"]
