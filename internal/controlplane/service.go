package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/yamlx"
	ycaccess "github.com/yandex-cloud/go-genproto/yandex/cloud/access"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	apigateway "github.com/yandex-cloud/go-genproto/yandex/cloud/serverless/apigateway/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxSpec is the largest spec a gateway may have (the cloud's limit).
const MaxSpec = 3_500_000

// SpecFile names the spec text in positioned errors.
const SpecFile = "openapi_spec"

var (
	namePattern       = regexp.MustCompile(`^([a-z]([-a-z0-9]{0,61}[a-z0-9])?)?$`)
	labelKeyPattern   = regexp.MustCompile(`^[a-z][-_./\\@0-9a-z]*$`)
	labelValuePattern = regexp.MustCompile(`^[-_./\\@0-9a-z]*$`)
	filterPattern     = regexp.MustCompile(`^\s*name\s*=\s*"((?:[^"\\]|\\.)*)"\s*$`)
)

// gateways is ApiGatewayService.
type gateways struct {
	apigateway.UnimplementedApiGatewayServiceServer
	p *Plane
}

// storeErr turns a store's error into the cloud's status.
func storeErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return status.Errorf(codes.NotFound, "%s not found", what)
	case errors.Is(err, ErrNameTaken):
		return status.Errorf(codes.AlreadyExists, "API gateway with the same name already exists in the folder")
	case errors.Is(err, ErrDomainTaken):
		return status.Errorf(codes.AlreadyExists, "the domain is already attached to an API gateway")
	case errors.Is(err, ErrConflict):
		return status.Errorf(codes.Aborted, "%s was changed by another call at the same time; retry", what)
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return status.Errorf(codes.Unavailable, "%v", err)
	}
	return status.Errorf(codes.Internal, "%v", err)
}

func gatewayWhat(id string) string { return "API gateway " + id }

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

func (s gateways) Get(ctx context.Context, req *apigateway.GetApiGatewayRequest) (*apigateway.ApiGateway, error) {
	if req.ApiGatewayId == "" {
		return nil, invalid("api_gateway_id is required")
	}
	rec, err := s.p.opts.Store.Get(ctx, req.ApiGatewayId)
	if err != nil {
		return nil, storeErr(err, gatewayWhat(req.ApiGatewayId))
	}
	return rec.Gateway, nil
}

func (s gateways) List(ctx context.Context, req *apigateway.ListApiGatewayRequest) (*apigateway.ListApiGatewayResponse, error) {
	if req.FolderId == "" {
		return nil, invalid("folder_id is required")
	}
	name, err := parseFilter(req.Filter)
	if err != nil {
		return nil, err
	}
	recs, err := s.p.opts.Store.List(ctx)
	if err != nil {
		return nil, storeErr(err, "")
	}
	var gws []*apigateway.ApiGateway
	for _, r := range recs {
		if r.Gateway.FolderId == req.FolderId && (req.Filter == "" || r.Gateway.Name == name) {
			gws = append(gws, r.Gateway)
		}
	}
	sort.Slice(gws, func(i, j int) bool { return gws[i].Id < gws[j].Id })
	page, next, err := paginate(len(gws), req.PageSize, req.PageToken)
	if err != nil {
		return nil, err
	}
	return &apigateway.ListApiGatewayResponse{ApiGateways: gws[page[0]:page[1]], NextPageToken: next}, nil
}

// parseFilter reads the one filter the cloud documents: name="x".
func parseFilter(f string) (string, error) {
	if f == "" {
		return "", nil
	}
	if len(f) > 1000 {
		return "", invalid("filter is longer than 1000 characters")
	}
	m := filterPattern.FindStringSubmatch(f)
	if m == nil {
		return "", invalid(`filter: only name="<name>" is supported, not %q`, f)
	}
	return strings.ReplaceAll(strings.ReplaceAll(m[1], `\"`, `"`), `\\`, `\`), nil
}

// paginate picks [from, to) of n items for a page size (default 100,
// 0-1000) and a page token (the offset, as returned in next).
func paginate(n int, size int64, token string) ([2]int, string, error) {
	if size < 0 || size > 1000 {
		return [2]int{}, "", invalid("page_size must be 0 to 1000")
	}
	if size == 0 {
		size = 100
	}
	from := 0
	if token != "" {
		v, err := strconv.Atoi(token)
		if err != nil || v < 0 {
			return [2]int{}, "", invalid("page_token %q is not one this API returned", token)
		}
		from = min(v, n)
	}
	to := min(from+int(size), n)
	next := ""
	if to < n {
		next = strconv.Itoa(to)
	}
	return [2]int{from, to}, next, nil
}

func checkNameDescLabels(name, desc string, labels map[string]string) error {
	if !namePattern.MatchString(name) {
		return invalid("name %q must be 1-63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen", name)
	}
	if len(desc) > 256 {
		return invalid("description is longer than 256 characters")
	}
	if len(labels) > 64 {
		return invalid("labels: at most 64")
	}
	for k, v := range labels {
		if len(k) == 0 || len(k) > 63 || !labelKeyPattern.MatchString(k) {
			return invalid("label key %q must be 1-63 characters of [-_./\\@0-9a-z], starting with a letter", k)
		}
		if len(v) > 63 || !labelValuePattern.MatchString(v) {
			return invalid("label value %q (of %s) must be at most 63 characters of [-_./\\@0-9a-z]", v, k)
		}
	}
	return nil
}

func checkSpec(spec string) error {
	switch {
	case strings.TrimSpace(spec) == "":
		return invalid("openapi_spec is required: the text of the specification, JSON or YAML")
	case len(spec) > MaxSpec:
		return invalid("openapi_spec is %d bytes; the limit is %d (3.5 MB)", len(spec), MaxSpec)
	}
	return nil
}

func checkCanary(c *apigateway.Canary) error {
	if c != nil && (c.Weight < 0 || c.Weight > 99) {
		return invalid("canary.weight must be 0 to 99, not %d", c.Weight)
	}
	if c != nil && c.Weight > 0 && len(c.Variables) == 0 {
		return invalid("canary.variables: a canary needs variables (it is the same spec with other variable values)")
	}
	return nil
}

func checkTimeout(d *durationpb.Duration) error {
	if d == nil {
		return nil
	}
	if err := d.CheckValid(); err != nil || d.AsDuration() < 0 || d.AsDuration() > 600*time.Second {
		return invalid("execution_timeout must be 0s to 600s, not %s", d.AsDuration())
	}
	return nil
}

// build compiles a gateway; a spec that does not build is
// INVALID_ARGUMENT with every positioned message.
func (p *Plane) build(g *apigateway.ApiGateway, spec string) (*Built, error) {
	snap, errs := p.opts.Build(g, spec)
	if snap == nil {
		msgs := messages(errs)
		if len(msgs) == 0 {
			msgs = []string{"the specification does not build"}
		}
		return nil, status.Errorf(codes.InvalidArgument, "%s", strings.Join(msgs, "\n"))
	}
	for _, w := range errs.Warnings() {
		p.opts.Log.Warn(w.Msg, "gateway_id", g.Id, "at", w.Error())
	}
	return &Built{snap}, nil
}

// newOperation is a done operation with its metadata and response packed
// as the method declares them (the SDKs check the types).
func newOperation(desc string, metadata, response proto.Message) (*operation.Operation, error) {
	now := timestamppb.Now()
	op := &operation.Operation{Id: NewID("d5d"), Description: desc, CreatedAt: now, CreatedBy: "apigw", ModifiedAt: now, Done: true}
	md, err := anypb.New(metadata)
	if err != nil {
		return nil, err
	}
	op.Metadata = md
	resp, err := anypb.New(response)
	if err != nil {
		return nil, err
	}
	op.Result = &operation.Operation_Response{Response: resp}
	return op, nil
}

func (s gateways) Create(ctx context.Context, req *apigateway.CreateApiGatewayRequest) (*operation.Operation, error) {
	if req.FolderId == "" {
		return nil, invalid("folder_id is required")
	}
	if err := checkNameDescLabels(req.Name, req.Description, req.Labels); err != nil {
		return nil, err
	}
	spec := req.GetOpenapiSpec()
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	if err := checkCanary(req.Canary); err != nil {
		return nil, err
	}
	if err := checkTimeout(req.ExecutionTimeout); err != nil {
		return nil, err
	}
	if m := s.p.opts.MaxGateways; m > 0 && s.p.Len() >= m {
		return nil, status.Errorf(codes.ResourceExhausted, "the quota of %d API gateways is reached (control_plane.max_gateways)", m)
	}
	id := NewID("d5d")
	g := &apigateway.ApiGateway{
		Id: id, FolderId: req.FolderId, CreatedAt: timestamppb.Now(), Name: req.Name, Description: req.Description,
		Labels: req.Labels, Status: apigateway.ApiGateway_ACTIVE, Domain: id + "." + s.p.opts.BaseDomain,
		LogGroupId: "e23" + id[3:], Connectivity: req.Connectivity, LogOptions: req.LogOptions,
		Variables: req.Variables, Canary: req.Canary, ExecutionTimeout: req.ExecutionTimeout,
	}
	b, err := s.p.build(g, spec)
	if err != nil {
		return nil, err
	}
	op, err := newOperation("Create API gateway", &apigateway.CreateApiGatewayMetadata{ApiGatewayId: id}, g)
	if err != nil {
		return nil, err
	}
	rec := &Record{Gateway: g, Spec: spec}
	if err := s.p.put(ctx, rec, 0, op, b.snap); err != nil {
		return nil, storeErr(err, gatewayWhat(id))
	}
	s.p.opts.Log.Info("control plane: gateway created", "gateway_id", id, "name", g.Name, "domain", g.Domain)
	return op, nil
}

// change applies fn to a gateway and writes the result with its
// operation: read, change, write if nobody wrote in between (else again,
// a few times). fn returns the operation's metadata and response, and
// whether the gateway must be rebuilt.
func (p *Plane) change(ctx context.Context, id, desc string, fn func(rec *Record) (md, resp proto.Message, rebuild bool, err error)) (*operation.Operation, error) {
	if id == "" {
		return nil, invalid("api_gateway_id is required")
	}
	for attempt := 0; ; attempt++ {
		rec, err := p.opts.Store.Get(ctx, id)
		if err != nil {
			return nil, storeErr(err, gatewayWhat(id))
		}
		prev := rec.Revision
		rec.Gateway = proto.CloneOf(rec.Gateway)
		md, resp, rebuild, err := fn(rec)
		if err != nil {
			return nil, err
		}
		snap := p.snapshotFor(rec)
		if rebuild || snap == nil {
			b, err := p.build(rec.Gateway, rec.Spec)
			if err != nil {
				return nil, err
			}
			snap = b.snap
		}
		if resp == nil {
			resp = rec.Gateway
		}
		op, err := newOperation(desc, md, resp)
		if err != nil {
			return nil, err
		}
		err = p.put(ctx, rec, prev, op, snap)
		if errors.Is(err, ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, storeErr(err, gatewayWhat(id))
		}
		p.opts.Log.Info("control plane: "+strings.ToLower(desc[:1])+desc[1:], "gateway_id", id)
		return op, nil
	}
}

// updatable are the fields Update's mask may name.
var updatable = map[string]bool{
	"name": true, "description": true, "labels": true, "openapi_spec": true, "connectivity": true,
	"log_options": true, "variables": true, "canary": true, "execution_timeout": true,
}

func (s gateways) Update(ctx context.Context, req *apigateway.UpdateApiGatewayRequest) (*operation.Operation, error) {
	fields := map[string]bool{}
	if m := req.GetUpdateMask(); m != nil && len(m.Paths) > 0 {
		for _, p := range m.Paths {
			top, _, _ := strings.Cut(p, ".") // canary.weight: the canary
			if !updatable[top] {
				return nil, invalid("update_mask: %q is not a field of UpdateApiGatewayRequest that can be updated", p)
			}
			fields[top] = true
		}
	} else {
		// No mask: every field the request sets (as the cloud's REST
		// PATCH does with the fields it is given).
		if req.Name != "" {
			fields["name"] = true
		}
		if req.Description != "" {
			fields["description"] = true
		}
		if req.Labels != nil {
			fields["labels"] = true
		}
		if req.GetOpenapiSpec() != "" {
			fields["openapi_spec"] = true
		}
		for f, set := range map[string]bool{"connectivity": req.Connectivity != nil, "log_options": req.LogOptions != nil,
			"variables": req.Variables != nil, "canary": req.Canary != nil, "execution_timeout": req.ExecutionTimeout != nil} {
			if set {
				fields[f] = true
			}
		}
	}
	if err := checkNameDescLabels(req.Name, req.Description, req.Labels); err != nil {
		return nil, err
	}
	if fields["openapi_spec"] {
		if err := checkSpec(req.GetOpenapiSpec()); err != nil {
			return nil, err
		}
	}
	if err := checkCanary(req.Canary); err != nil {
		return nil, err
	}
	if err := checkTimeout(req.ExecutionTimeout); err != nil {
		return nil, err
	}
	return s.p.change(ctx, req.ApiGatewayId, "Update API gateway", func(rec *Record) (proto.Message, proto.Message, bool, error) {
		g := rec.Gateway
		rebuild := false
		for f := range fields {
			switch f {
			case "name":
				g.Name = req.Name
			case "description":
				g.Description = req.Description
			case "labels":
				g.Labels = req.Labels
			case "openapi_spec":
				rec.Spec, rebuild = req.GetOpenapiSpec(), true
			case "connectivity":
				g.Connectivity = req.Connectivity
			case "log_options":
				g.LogOptions = req.LogOptions
			case "variables":
				g.Variables, rebuild = req.Variables, true
			case "canary":
				g.Canary, rebuild = req.Canary, true
			case "execution_timeout":
				g.ExecutionTimeout, rebuild = req.ExecutionTimeout, true
			}
		}
		return &apigateway.UpdateApiGatewayMetadata{ApiGatewayId: g.Id}, nil, rebuild, nil
	})
}

func (s gateways) Delete(ctx context.Context, req *apigateway.DeleteApiGatewayRequest) (*operation.Operation, error) {
	id := req.ApiGatewayId
	if id == "" {
		return nil, invalid("api_gateway_id is required")
	}
	op, err := newOperation("Delete API gateway", &apigateway.DeleteApiGatewayMetadata{ApiGatewayId: id}, &emptypb.Empty{})
	if err != nil {
		return nil, err
	}
	if err := s.p.remove(ctx, id, op); err != nil {
		return nil, storeErr(err, gatewayWhat(id))
	}
	s.p.opts.Log.Info("control plane: gateway deleted", "gateway_id", id)
	return op, nil
}

func (s gateways) Stop(ctx context.Context, req *apigateway.StopApiGatewayRequest) (*operation.Operation, error) {
	return s.p.change(ctx, req.ApiGatewayId, "Stop API gateway", func(rec *Record) (proto.Message, proto.Message, bool, error) {
		rec.Gateway.Status = apigateway.ApiGateway_STOPPED
		return &apigateway.StopApiGatewayMetadata{ApiGatewayId: rec.Gateway.Id}, &emptypb.Empty{}, false, nil
	})
}

func (s gateways) Resume(ctx context.Context, req *apigateway.ResumeApiGatewayRequest) (*operation.Operation, error) {
	return s.p.change(ctx, req.ApiGatewayId, "Resume API gateway", func(rec *Record) (proto.Message, proto.Message, bool, error) {
		rec.Gateway.Status = apigateway.ApiGateway_ACTIVE
		return &apigateway.ResumeApiGatewayMetadata{ApiGatewayId: rec.Gateway.Id}, nil, false, nil
	})
}

func (s gateways) AddDomain(ctx context.Context, req *apigateway.AddDomainRequest) (*operation.Operation, error) {
	name := strings.ToLower(strings.TrimSuffix(req.DomainName, "."))
	if !validDomain(name) {
		return nil, invalid("domain_name %q is not a domain name", req.DomainName)
	}
	if strings.HasSuffix(name, "."+s.p.opts.BaseDomain) || name == s.p.opts.BaseDomain {
		return nil, invalid("domain_name %s is under the service domain %s", name, s.p.opts.BaseDomain)
	}
	if req.CertificateId == "" {
		return nil, invalid("certificate_id is required")
	}
	cert := s.p.opts.Bindings().Certificates[req.CertificateId]
	if cert == nil {
		return nil, status.Errorf(codes.NotFound, "certificate %s not found (apigw reads certificates from the bindings file's certificates section)", req.CertificateId)
	}
	if _, err := tls.LoadX509KeyPair(cert.Cert, cert.Key); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "certificate %s does not load: %v", req.CertificateId, err)
	}
	domainID := NewID("d5d")
	return s.p.change(ctx, req.ApiGatewayId, "Add domain to API gateway", func(rec *Record) (proto.Message, proto.Message, bool, error) {
		g := rec.Gateway
		for _, d := range g.AttachedDomains {
			if d.Domain == name {
				return nil, nil, false, status.Errorf(codes.AlreadyExists, "domain %s is already attached to this API gateway", name)
			}
		}
		g.AttachedDomains = append(g.AttachedDomains, &apigateway.AttachedDomain{DomainId: domainID, CertificateId: req.CertificateId, Enabled: true, Domain: name})
		return &apigateway.AddDomainMetadata{ApiGatewayId: g.Id, DomainId: domainID}, &emptypb.Empty{}, false, nil
	})
}

func (s gateways) RemoveDomain(ctx context.Context, req *apigateway.RemoveDomainRequest) (*operation.Operation, error) {
	if req.DomainId == "" {
		return nil, invalid("domain_id is required")
	}
	return s.p.change(ctx, req.ApiGatewayId, "Remove domain from API gateway", func(rec *Record) (proto.Message, proto.Message, bool, error) {
		g := rec.Gateway
		for i, d := range g.AttachedDomains {
			if d.DomainId == req.DomainId {
				g.AttachedDomains = append(g.AttachedDomains[:i:i], g.AttachedDomains[i+1:]...)
				return &apigateway.RemoveDomainMetadata{ApiGatewayId: g.Id, DomainId: req.DomainId}, &emptypb.Empty{}, false, nil
			}
		}
		return nil, nil, false, status.Errorf(codes.NotFound, "domain %s is not attached to API gateway %s", req.DomainId, g.Id)
	})
}

func validDomain(h string) bool {
	if h == "" || len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func (s gateways) GetOpenapiSpec(ctx context.Context, req *apigateway.GetOpenapiSpecRequest) (*apigateway.GetOpenapiSpecResponse, error) {
	if req.ApiGatewayId == "" {
		return nil, invalid("api_gateway_id is required")
	}
	rec, err := s.p.opts.Store.Get(ctx, req.ApiGatewayId)
	if err != nil {
		return nil, storeErr(err, gatewayWhat(req.ApiGatewayId))
	}
	text := rec.Spec
	switch req.Format {
	case apigateway.GetOpenapiSpecRequest_JSON:
		text, err = yamlx.ToJSON([]byte(rec.Spec))
	case apigateway.GetOpenapiSpecRequest_YAML:
		text, err = yamlx.ToYAML([]byte(rec.Spec))
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "converting the spec: %v", err)
	}
	return &apigateway.GetOpenapiSpecResponse{ApiGatewayId: rec.Gateway.Id, OpenapiSpec: text}, nil
}

func (s gateways) ListOperations(ctx context.Context, req *apigateway.ListOperationsRequest) (*apigateway.ListOperationsResponse, error) {
	if req.ApiGatewayId == "" {
		return nil, invalid("api_gateway_id is required")
	}
	if len(req.PageToken) > 100 {
		return nil, invalid("page_token is longer than 100 characters")
	}
	if req.Filter != "" {
		return nil, invalid("filter is not supported for operations")
	}
	ops, err := s.p.opts.Store.Operations(ctx, req.ApiGatewayId)
	if err != nil {
		return nil, storeErr(err, gatewayWhat(req.ApiGatewayId))
	}
	if len(ops) == 0 {
		if _, err := s.p.opts.Store.Get(ctx, req.ApiGatewayId); err != nil {
			return nil, storeErr(err, gatewayWhat(req.ApiGatewayId))
		}
	}
	page, next, err := paginate(len(ops), req.PageSize, req.PageToken)
	if err != nil {
		return nil, err
	}
	return &apigateway.ListOperationsResponse{Operations: ops[page[0]:page[1]], NextPageToken: next}, nil
}

// Access bindings: apigw is a single-tenant cloud, where the bearer token
// is the only access rule; a gateway has no bindings and setting them
// changes nothing (the call succeeds, as the cloud's does, so that
// Terraform's yandex_api_gateway_iam_binding applies).
func (s gateways) ListAccessBindings(ctx context.Context, req *ycaccess.ListAccessBindingsRequest) (*ycaccess.ListAccessBindingsResponse, error) {
	if _, err := s.Get(ctx, &apigateway.GetApiGatewayRequest{ApiGatewayId: req.ResourceId}); err != nil {
		return nil, err
	}
	return &ycaccess.ListAccessBindingsResponse{}, nil
}

func (s gateways) SetAccessBindings(ctx context.Context, req *ycaccess.SetAccessBindingsRequest) (*operation.Operation, error) {
	if _, err := s.Get(ctx, &apigateway.GetApiGatewayRequest{ApiGatewayId: req.ResourceId}); err != nil {
		return nil, err
	}
	return newOperation("Set access bindings", &ycaccess.SetAccessBindingsMetadata{ResourceId: req.ResourceId}, &emptypb.Empty{})
}

func (s gateways) UpdateAccessBindings(ctx context.Context, req *ycaccess.UpdateAccessBindingsRequest) (*operation.Operation, error) {
	if _, err := s.Get(ctx, &apigateway.GetApiGatewayRequest{ApiGatewayId: req.ResourceId}); err != nil {
		return nil, err
	}
	return newOperation("Update access bindings", &ycaccess.UpdateAccessBindingsMetadata{ResourceId: req.ResourceId}, &emptypb.Empty{})
}

// Built is a snapshot built for a call.
type Built struct{ snap *gateway.Snapshot }
