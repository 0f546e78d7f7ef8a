package plugins

import "context"

// Adapt gives an in-process Backend the Client shape a host hands out:
// Describe lists the capabilities b implements, and the capability methods b
// lacks answer ErrUnsupported. It does not add what the wire adds (the
// ErrNotConfigured guard, page splitting, panic recovery).
func Adapt(b Backend) Client {
	return &localClient{b: b}
}

type localClient struct{ b Backend }

func (c *localClient) Describe(ctx context.Context) (Description, error) {
	d, err := c.b.Describe(ctx)
	if err != nil {
		return Description{}, err
	}
	d.Capabilities = Capabilities(c.b)
	return d, nil
}

func (c *localClient) Configure(ctx context.Context, cfg Config) error {
	return c.b.Configure(ctx, cfg)
}

func (c *localClient) CheckHealth(ctx context.Context) (Health, error) { return c.b.CheckHealth(ctx) }

func (c *localClient) ListAccounts(ctx context.Context) ([]Account, error) {
	return c.b.ListAccounts(ctx)
}

func (c *localClient) ParseWebhook(ctx context.Context, req WebhookRequest) (WebhookResult, error) {
	p, ok := c.b.(WebhookParser)
	if !ok {
		return WebhookResult{}, unsupported(c.b, CapabilityWebhook)
	}
	return p.ParseWebhook(ctx, req)
}

func (c *localClient) Import(ctx context.Context, req ImportRequest, emit func([]Observation) error) error {
	imp, ok := c.b.(Importer)
	if !ok {
		return unsupported(c.b, CapabilityImport)
	}
	return imp.Import(ctx, req, emit)
}

func (c *localClient) Apply(ctx context.Context, writes []Write) ([]WriteOutcome, error) {
	exp, ok := c.b.(Exporter)
	if !ok {
		return nil, unsupported(c.b, CapabilityExport)
	}
	return exp.Apply(ctx, writes)
}

func (c *localClient) Resolve(ctx context.Context, req ResolveRequest) ([]Resolution, error) {
	r, ok := c.b.(Resolver)
	if !ok {
		return nil, unsupported(c.b, CapabilityResolve)
	}
	return r.Resolve(ctx, req)
}
