# apigw as a container: a static binary on a distroless, non-root base.
#
#   docker build -t apigw .
#   docker run -p 8080:8080 -v $PWD/examples/quickstart:/etc/apigw apigw
#
# The image serves bindings that point elsewhere (invoke URLs, the real
# cloud function, containers, buckets, queues, Redis). Functions bound with
# `runtime: python|nodejs` need the interpreter in the image: build FROM an
# image that has it instead of distroless.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/apigw ./cmd/apigw

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/apigw /usr/local/bin/apigw
USER nonroot:nonroot
# The API and the admin listener (metrics, probes, management API). Bind
# them to all interfaces in the bindings file: listen: :8080, admin: :9090.
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/apigw"]
CMD ["serve", "--spec", "/etc/apigw/api.yaml", "--config", "/etc/apigw/apigw.yaml", "--listen", ":8080", "--admin", ":9090"]
