# Multi-stage build: a static binary on a minimal, non-root base image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# `make docker` passes these from git, as `make build` computes them.
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
RUN make build VERSION=${VERSION} REVISION=${REVISION} BRANCH=${BRANCH}
# The --storage.path directory, owned by the runtime's nonroot user (65532).
RUN mkdir -m 0700 /storage

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/quota_exporter /bin/quota_exporter
COPY exporter.yml /etc/quota_exporter/exporter.yml
COPY --from=build --chown=65532:65532 /storage /var/lib/quota_exporter
# Last good answers survive a restart when a volume is mounted here.
VOLUME /var/lib/quota_exporter
USER nonroot:nonroot
EXPOSE 9896
ENTRYPOINT ["/bin/quota_exporter"]
CMD ["--config.file=/etc/quota_exporter/exporter.yml", "--storage.path=/var/lib/quota_exporter"]
