package plugins

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/keepwatch/keepwatch/plugins/internal/backendv1"
)

// wireServer serves one Backend over backendv1. It enforces the parts of
// the contract a backend should not have to: calls before Configure answer
// ErrNotConfigured, missing capabilities ErrUnsupported, oversized import
// pages are split, outcome counts are checked, and a panic in the backend
// fails that call instead of killing the process.
type wireServer struct {
	pb.UnimplementedBackendServer
	backend    Backend
	log        zerolog.Logger
	configured atomic.Bool
}

func newWireServer(b Backend, log zerolog.Logger) *wireServer {
	return &wireServer{backend: b, log: log}
}

// recoverPanic turns a backend panic into a failed call. The stack goes to
// the log, not to the caller.
func (s *wireServer) recoverPanic(method string, err *error) {
	if r := recover(); r != nil {
		s.log.Error().Str("method", method).Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).
			Msg("backend panicked")
		*err = status.Errorf(codes.Internal, "backend panicked in %s: %v", method, r)
	}
}

func (s *wireServer) requireConfigured(method string) error {
	if !s.configured.Load() {
		return errorToStatus(fmt.Errorf("%s: %w: call Configure first", method, ErrNotConfigured))
	}
	return nil
}

func (s *wireServer) describe(ctx context.Context) (Description, error) {
	d, err := s.backend.Describe(ctx)
	if err != nil {
		return Description{}, err
	}
	d.Capabilities = Capabilities(s.backend)
	return d, nil
}

func (s *wireServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (_ *pb.DescribeResponse, err error) {
	defer s.recoverPanic("Describe", &err)
	d, err := s.describe(ctx)
	if err != nil {
		return nil, errorToStatus(err)
	}
	return descriptionToWire(d), nil
}

func (s *wireServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (_ *pb.ConfigureResponse, err error) {
	defer s.recoverPanic("Configure", &err)
	if err := s.backend.Configure(ctx, configFromWire(req)); err != nil {
		// A refused reconfiguration leaves the previous one in force.
		return nil, errorToStatus(err)
	}
	s.configured.Store(true)
	return &pb.ConfigureResponse{}, nil
}

func (s *wireServer) CheckHealth(ctx context.Context, _ *pb.CheckHealthRequest) (_ *pb.CheckHealthResponse, err error) {
	defer s.recoverPanic("CheckHealth", &err)
	if err := s.requireConfigured("CheckHealth"); err != nil {
		return nil, err
	}
	h, err := s.backend.CheckHealth(ctx)
	if err != nil {
		return nil, errorToStatus(err)
	}
	return healthToWire(h), nil
}

func (s *wireServer) ListAccounts(ctx context.Context, _ *pb.ListAccountsRequest) (_ *pb.ListAccountsResponse, err error) {
	defer s.recoverPanic("ListAccounts", &err)
	if err := s.requireConfigured("ListAccounts"); err != nil {
		return nil, err
	}
	as, err := s.backend.ListAccounts(ctx)
	if err != nil {
		return nil, errorToStatus(err)
	}
	return accountsToWire(as), nil
}

func (s *wireServer) ParseWebhook(ctx context.Context, req *pb.ParseWebhookRequest) (_ *pb.ParseWebhookResponse, err error) {
	defer s.recoverPanic("ParseWebhook", &err)
	p, ok := s.backend.(WebhookParser)
	if !ok {
		return nil, errorToStatus(unsupported(s.backend, CapabilityWebhook))
	}
	if err := s.requireConfigured("ParseWebhook"); err != nil {
		return nil, err
	}
	res, err := p.ParseWebhook(ctx, webhookRequestFromWire(req))
	if err != nil {
		return nil, errorToStatus(err)
	}
	return webhookResultToWire(res), nil
}

func (s *wireServer) Import(req *pb.ImportRequest, stream pb.Backend_ImportServer) (err error) {
	defer s.recoverPanic("Import", &err)
	imp, ok := s.backend.(Importer)
	if !ok {
		return errorToStatus(unsupported(s.backend, CapabilityImport))
	}
	if err := s.requireConfigured("Import"); err != nil {
		return err
	}
	ctx := stream.Context()
	r := importRequestFromWire(req)

	// A sender goroutine encodes and sends while the backend reads its next
	// page: encoding is the costliest part of the wire, and this takes it
	// off the backend's path. The queue is short, so a slow host still
	// slows the backend down (Send blocks while the host's flow-control
	// window is full) instead of growing a buffer.
	queue := make(chan []Observation, 2)
	free := make(chan []Observation, 3) // chunk buffers the sender is done with
	sent := make(chan struct{})
	var sendErr error
	go func() {
		defer close(sent)
		for page := range queue {
			// The encoded bytes are not reused: gRPC may hold them until
			// written. The chunk is, once encoded.
			b := appendImportPage(nil, page)
			clear(page)
			select {
			case free <- page[:0]:
			default:
			}
			if sendErr = stream.SendMsg(&rawPage{b: b}); sendErr != nil {
				return
			}
		}
	}()
	err = imp.Import(ctx, r, func(page []Observation) error {
		for len(page) > 0 {
			n := len(page)
			if r.PageSize > 0 && n > r.PageSize {
				n = r.PageSize
			}
			// Copied before emit returns: the backend may reuse the page
			// slice afterwards (the strings inside it stay as they are).
			var chunk []Observation
			select {
			case chunk = <-free:
			default:
			}
			chunk = append(chunk, page[:n]...)
			select {
			case queue <- chunk:
			case <-sent:
				return sendErr
			case <-ctx.Done():
				return ctx.Err()
			}
			page = page[n:]
		}
		return ctx.Err()
	})
	close(queue)
	<-sent // Send must not be called after the handler returns.
	if err == nil {
		err = sendErr
	}
	return errorToStatus(err)
}

func (s *wireServer) Apply(ctx context.Context, req *pb.ApplyRequest) (_ *pb.ApplyResponse, err error) {
	defer s.recoverPanic("Apply", &err)
	exp, ok := s.backend.(Exporter)
	if !ok {
		return nil, errorToStatus(unsupported(s.backend, CapabilityExport))
	}
	if err := s.requireConfigured("Apply"); err != nil {
		return nil, err
	}
	writes := writesFromWire(req)
	outcomes, err := exp.Apply(ctx, writes)
	if err != nil {
		return nil, errorToStatus(err)
	}
	if len(outcomes) != len(writes) {
		return nil, status.Errorf(codes.Internal, "backend broke the contract: Apply answered %d outcomes for %d writes", len(outcomes), len(writes))
	}
	return outcomesToWire(outcomes), nil
}

func (s *wireServer) Resolve(ctx context.Context, req *pb.ResolveRequest) (_ *pb.ResolveResponse, err error) {
	defer s.recoverPanic("Resolve", &err)
	res, ok := s.backend.(Resolver)
	if !ok {
		return nil, errorToStatus(unsupported(s.backend, CapabilityResolve))
	}
	if err := s.requireConfigured("Resolve"); err != nil {
		return nil, err
	}
	r := resolveRequestFromWire(req)
	rs, err := res.Resolve(ctx, r)
	if err != nil {
		return nil, errorToStatus(err)
	}
	if len(rs) != len(r.Queries) {
		return nil, status.Errorf(codes.Internal, "backend broke the contract: Resolve answered %d resolutions for %d queries", len(rs), len(r.Queries))
	}
	return resolutionsToWire(rs), nil
}

// unsupported names the backend type in the error, best effort.
func unsupported(b Backend, c Capability) error {
	d, _ := b.Describe(context.Background())
	if d.Type == "" {
		return fmt.Errorf("capability %q: %w", c, ErrUnsupported)
	}
	return fmt.Errorf("backend %q: capability %q: %w", d.Type, c, ErrUnsupported)
}
