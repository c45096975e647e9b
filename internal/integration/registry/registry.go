// Package registry maps each `x-yc-apigateway-integration` type to its
// factory. Adding a type is one folder and one line here.
package registry

import (
	"sort"

	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/integration/cloudfunctions"
	"github.com/apigw/apigw/internal/integration/containers"
	"github.com/apigw/apigw/internal/integration/datasphere"
	"github.com/apigw/apigw/internal/integration/datastreams"
	"github.com/apigw/apigw/internal/integration/dummy"
	"github.com/apigw/apigw/internal/integration/httpproxy"
	"github.com/apigw/apigw/internal/integration/objectstorage"
	"github.com/apigw/apigw/internal/integration/swagger"
	"github.com/apigw/apigw/internal/integration/ydb"
	"github.com/apigw/apigw/internal/integration/ymq"
)

var factories = map[string]integration.Factory{
	"dummy":                 dummy.New,
	"http":                  httpproxy.New,
	"cloud_functions":       cloudfunctions.New,
	"serverless_containers": containers.New,
	"cloud_datasphere":      datasphere.New,
	"object_storage":        objectstorage.New,
	"cloud_ymq":             ymq.New,
	"cloud_datastreams":     datastreams.New,
	"cloud_ydb":             ydb.New,
	"swagger":               swagger.New,
}

// Lookup returns the factory of a type, or nil: every documented type has
// one, so a spec naming another is refused at build time with its line.
func Lookup(typ string) integration.Factory {
	return factories[typ]
}

// Types lists the implemented types, sorted.
func Types() []string {
	out := make([]string, 0, len(factories))
	for t := range factories {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
