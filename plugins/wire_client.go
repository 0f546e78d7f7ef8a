package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	pb "github.com/keepwatch/keepwatch/plugins/internal/backendv1"
)

// wireClient is a Client speaking backendv1 to a plugin. Deadlines and
// cancellation of the caller's ctx travel with every call: gRPC sends the
// deadline as grpc-timeout and cancels the server's context on RST_STREAM.
type wireClient struct {
	rpc pb.BackendClient
}

var _ Client = (*wireClient)(nil)

func newWireClient(conn grpc.ClientConnInterface) *wireClient {
	return &wireClient{rpc: pb.NewBackendClient(conn)}
}

func (c *wireClient) Describe(ctx context.Context) (Description, error) {
	r, err := c.rpc.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return Description{}, statusToError(err)
	}
	return descriptionFromWire(r), nil
}

func (c *wireClient) Configure(ctx context.Context, cfg Config) error {
	_, err := c.rpc.Configure(ctx, configToWire(cfg))
	return statusToError(err)
}

func (c *wireClient) CheckHealth(ctx context.Context) (Health, error) {
	r, err := c.rpc.CheckHealth(ctx, &pb.CheckHealthRequest{})
	if err != nil {
		return Health{}, statusToError(err)
	}
	return healthFromWire(r), nil
}

func (c *wireClient) ListAccounts(ctx context.Context) ([]Account, error) {
	r, err := c.rpc.ListAccounts(ctx, &pb.ListAccountsRequest{})
	if err != nil {
		return nil, statusToError(err)
	}
	return accountsFromWire(r), nil
}

func (c *wireClient) ParseWebhook(ctx context.Context, req WebhookRequest) (WebhookResult, error) {
	r, err := c.rpc.ParseWebhook(ctx, webhookRequestToWire(req))
	if err != nil {
		return WebhookResult{}, statusToError(err)
	}
	return webhookResultFromWire(r), nil
}

// Import receives the stream and hands each page to emit. The page slice
// is reused between pages, as the Importer contract allows. When emit fails
// or ctx ends, the deferred cancel resets the stream, which cancels the
// plugin's context and so stops the backend.
func (c *wireClient) Import(ctx context.Context, req ImportRequest, emit func([]Observation) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// wireCodec hands the page over undecoded; decodeImportPage is much
	// cheaper than the generated unmarshal (see wire_page.go).
	stream, err := c.rpc.Import(ctx, importRequestToWire(req), grpc.ForceCodecV2(wireCodec{}))
	if err != nil {
		return statusToError(err)
	}
	var page []Observation
	for {
		var raw rawPage
		err := stream.RecvMsg(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return statusToError(err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if page, err = decodeImportPage(page[:0], raw.b); err != nil {
			return fmt.Errorf("plugin sent a %w", err)
		}
		if err := emit(page); err != nil {
			return err
		}
		clear(page) // drop references to this page's strings before the next
	}
}

func (c *wireClient) Apply(ctx context.Context, writes []Write) ([]WriteOutcome, error) {
	r, err := c.rpc.Apply(ctx, writesToWire(writes))
	if err != nil {
		return nil, statusToError(err)
	}
	out := outcomesFromWire(r)
	if len(out) != len(writes) {
		return nil, fmt.Errorf("plugin answered %d outcomes for %d writes", len(out), len(writes))
	}
	return out, nil
}

func (c *wireClient) Resolve(ctx context.Context, req ResolveRequest) ([]Resolution, error) {
	r, err := c.rpc.Resolve(ctx, resolveRequestToWire(req))
	if err != nil {
		return nil, statusToError(err)
	}
	out := resolutionsFromWire(r)
	if len(out) != len(req.Queries) {
		return nil, fmt.Errorf("plugin answered %d resolutions for %d queries", len(out), len(req.Queries))
	}
	return out, nil
}
