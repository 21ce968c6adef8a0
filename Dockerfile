# The redlock command alone in an otherwise empty image.
#
# Nothing is compiled here: the build context holds a statically linked
# binary built beforehand (CGO_ENABLED=0 go build -trimpath), at
# $TARGETPLATFORM/redlock, e.g. linux/amd64/redlock, and the CA certificates
# that rediss:// nodes are verified against, at etc/ssl/certs/. goreleaser
# (.goreleaser.yaml, dockers_v2) lays the context out this way, and so does
# scripts/docker-image.sh, which builds and checks the image locally.
FROM scratch

ARG TARGETPLATFORM

COPY etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY ${TARGETPLATFORM}/redlock /redlock

# No user database in scratch: a numeric, unprivileged user and group.
USER 65532:65532

ENTRYPOINT ["/redlock"]
CMD ["help"]
