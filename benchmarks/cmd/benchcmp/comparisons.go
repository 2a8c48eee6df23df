package main

// The module directories, relative to the repository's root.
const (
	modRoot  = "."
	modBench = "benchmarks"
	modGRPC  = "benchmarks/grpc"
	modOTel  = "otelretry"
)

// retryLibs are the comparison module's retry adapters (benchmarks/libs_test.go).
var retryLibs = []string{"retrykit", "direct", "handloop", "retrykit-inline", "backoff", "retry-go", "go-retry", "failsafe-go"}

// retryRefs are the references of the retry workloads' main view.
var retryRefs = []string{"direct", "handloop", "retrykit-inline", "backoff", "retry-go", "go-retry", "failsafe-go"}

// breakerLibs are the comparison module's breakers.
var breakerLibs = []string{"retrykit", "direct", "gobreaker", "failsafe-go", "go-resiliency"}

// httpLibs are the comparison module's HTTP clients.
var httpLibs = []string{"retrykit", "direct", "retrykit-transport", "retryablehttp", "failsafe-go"}

// Comparisons are every comparison the README quotes, in its order.
var Comparisons = []Group{
	{
		Name: "Success", Module: modBench, Title: "the operation succeeds at once",
		Note: "retrykit: a policy built once, passed to retry.Do. retrykit-inline writes the same options in " +
			"every call, so it builds and validates them every time.",
		Members: libs("Success", retryLibs...),
		Views: []View{
			{Title: "a policy built once", Subject: "retrykit", Refs: retryRefs},
			{
				Title:   "options written in the call",
				Subject: "retrykit-inline", Refs: []string{"retrykit", "backoff", "retry-go", "go-retry", "failsafe-go"},
			},
		},
	},
	{
		Name: "Retry3", Module: modBench, Title: "3 failures, then success, zero waits",
		Note: "Every library but retrykit and the hand loops arms a timer even for a zero wait. The careful " +
			"hand loop checks a permanent error with errors.Is and the context after each failure.",
		Members: libs("Retry3", retryLibs...),
		Views: []View{{
			Title: "a policy built once", Subject: "retrykit", Refs: retryRefs,
			Targets: []Target{{Ref: "handloop", MaxRatio: 1.5}},
		}},
	},
	{
		Name: "Permanent", Module: modBench, Title: "a permanent error: one call, no retry",
		Note:    "retrykit returns a *retry.Error (one allocation); the hand loop returns the bare error.",
		Members: libs("Permanent", retryLibs...),
		Views:   []View{{Title: "a policy built once", Subject: "retrykit", Refs: retryRefs}},
	},
	{
		Name: "BreakerClosed", Module: modBench, Parallel: true, Title: "a closed breaker, every call succeeding, both CPUs (b.RunParallel)",
		Note:    "gobreaker takes a mutex and reads the clock on every call; retrykit and go-resiliency take no lock.",
		Members: libs("BreakerClosed", breakerLibs...),
		Views:   []View{{Title: "Breaker.Run", Subject: "retrykit", Refs: breakerLibs[1:]}},
	},
	{
		Name: "Breaker10pct", Module: modBench, Parallel: true, Title: "a closed breaker, every tenth call failing, both CPUs (b.RunParallel)",
		Note: "go-resiliency counts errors, not consecutive failures: its threshold is set out of reach here, " +
			"the others open after 5 consecutive failures (benchmarks/README.md).",
		Members: libs("Breaker10pct", breakerLibs...),
		Views: []View{{
			Title: "Breaker.Run", Subject: "retrykit", Refs: breakerLibs[1:],
			Targets: []Target{{Ref: "go-resiliency", MaxRatio: 1}},
		}},
	},
	{
		Name: "Budget", Module: modBench, Parallel: true, Title: "one shared retry budget, fail once then succeed, both CPUs (b.RunParallel)",
		Note:    "x/time/rate is a rate limiter, not a budget: it refills with time, never with successes.",
		Members: libs("Budget", "retrykit", "direct", "retry-go", "x-time-rate", "failsafe-go"),
		Views: []View{{
			Title: "WithBudget", Subject: "retrykit", Refs: []string{"direct", "retry-go", "x-time-rate", "failsafe-go"},
			Targets: []Target{{Ref: "x-time-rate", MaxRatio: 1}},
		}},
	},
	{
		Name: "HedgeFirstWins", Module: modBench, Title: "a hedged call (one hedge after an hour) whose first copy answers at once",
		Note: "retrykit: WithHedge(time.Hour, 2) in a policy built once, passed to DoHedged, the first copy on the caller's goroutine, " +
			"one timer. failsafe-go: hedgepolicy.NewWithDelay, every copy on a goroutine of its own. direct calls " +
			"the operation.",
		Members: libs("HedgeFirstWins", "retrykit", "direct", "failsafe-go"),
		Views:   []View{{Title: "WithHedge", Subject: "retrykit", Refs: []string{"direct", "failsafe-go"}}},
	},
	{
		Name: "HedgeOnce", Module: modBench, Title: "a hedged call whose first copy blocks until the hedge (delay 0) wins and it is cancelled",
		Note: "The first copy waits on its context (a channel), not a sleep. retrykit waits for the cancelled copy " +
			"before DoHedged returns; failsafe-go returns without waiting for it.",
		Members: libs("HedgeOnce", "retrykit", "failsafe-go"),
		Views:   []View{{Title: "WithHedge", Subject: "retrykit", Refs: []string{"failsafe-go"}}},
	},
	{
		Name: "HTTPSuccess", Module: modBench, Title: "a GET on loopback answered 200",
		Note: "retrykit is httpx.Do; retrykit-transport is httpx.NewTransport in an http.Client; direct is a " +
			"plain net/http client. The loopback round trip dominates every figure.",
		Members: libs("HTTPSuccess", httpLibs...),
		Views:   []View{{Title: "httpx.Do", Subject: "retrykit", Refs: httpLibs[1:]}},
	},
	{
		Name: "HTTP503x2", Module: modBench, Title: "a GET on loopback answered 503, 503, then 200, zero waits",
		Note: "failsafe-go runs 1000 iterations per process: its round tripper never closes the " +
			"responses it retries, and a longer run exhausts the process's file descriptors. direct is net/http " +
			"with a hand-written retry loop.",
		Members: append(libs("HTTP503x2", httpLibs[:4]...),
			Member{Label: "failsafe-go", Bench: "HTTP503x2/lib=failsafe-go", Benchtime: "1000x"}),
		Views: []View{{Title: "httpx.Do", Subject: "retrykit", Refs: httpLibs[1:]}},
	},
	{
		Name: "GRPCSuccess", Module: modGRPC, Title: "a unary call on loopback that succeeds",
		Members: libs("GRPCSuccess", "retrykit", "plain", "go-grpc-middleware", "grpc-go"),
		Views: []View{{
			Title: "grpcx interceptor", Subject: "retrykit", Refs: []string{"plain", "go-grpc-middleware", "grpc-go"},
		}},
	},
	{
		Name: "GRPCUnavailable2", Module: modGRPC, Title: "a unary call on loopback: UNAVAILABLE twice, then OK",
		Note: "grpc-go re-attempts inside one client stream; an interceptor starts a whole new RPC " +
			"per attempt (see the gRPC section for where the time goes).",
		Members: libs("GRPCUnavailable2", "retrykit", "go-grpc-middleware", "grpc-go"),
		Views: []View{{
			Title: "grpcx interceptor", Subject: "retrykit", Refs: []string{"go-grpc-middleware", "grpc-go"},
			Targets: []Target{{Ref: "grpc-go", MaxRatio: 1.03}},
		}},
	},
	{
		Name: "GRPCLayerSuccess", Module: modGRPC, Title: "the retry interceptor alone, around an invoker without I/O that succeeds",
		Members: libs("LayerSuccess", "retrykit", "go-grpc-middleware"),
		Views:   []View{{Title: "grpcx interceptor", Subject: "retrykit", Refs: []string{"go-grpc-middleware"}}},
	},
	{
		Name: "GRPCLayerUnavailable2", Module: modGRPC, Title: "the retry interceptor alone, around an invoker without I/O: UNAVAILABLE twice, then OK",
		Members: libs("LayerUnavailable2", "retrykit", "go-grpc-middleware"),
		Views:   []View{{Title: "grpcx interceptor", Subject: "retrykit", Refs: []string{"go-grpc-middleware"}}},
	},
	{
		Name: "CoreSuccess", Module: modRoot, Title: "the root module: one successful call",
		Members: []Member{
			{Label: "Do, policy", Bench: "Success/policy"},
			{Label: "direct call", Bench: "Direct"},
			{Label: "Do, inline options", Bench: "InlineOptions"},
		},
		Views: []View{
			{Title: "a prebuilt policy", Subject: "Do, policy", Refs: []string{"direct call"}},
			{
				Title:   "Exponential and StopOn written in the call",
				Subject: "Do, inline options", Refs: []string{"Do, policy"}, ZeroAllocs: true,
			},
		},
	},
	{
		Name: "CoreObserver", Module: modRoot, Title: "the root module: what an observer costs",
		Note: "An observed call reads the clock where an unobserved one need not. The logger's level " +
			"(Error) drops every record LogTo would write.",
		Members: []Member{
			{Label: "no observer", Bench: "Success/policy"},
			{Label: "no-op observer", Bench: "ObserverSuccess"},
			{Label: "LogTo, level off", Bench: "LogToDisabled/success"},
			{Label: "no observer, 3 failures", Bench: "LogToDisabled/3_failures,_no_observer"},
			{Label: "LogTo, level off, 3 failures", Bench: "LogToDisabled/3_failures"},
		},
		Views: []View{
			{
				Title:   "hooks that do nothing, on a success",
				Subject: "no-op observer", Refs: []string{"no observer"},
				Targets: []Target{{Ref: "no observer", MaxRatio: 10}},
			},
			{Title: "slog, on a success", Subject: "LogTo, level off", Refs: []string{"no observer"}},
			{Title: "slog, 3 zero-wait retries", Subject: "LogTo, level off, 3 failures", Refs: []string{"no observer, 3 failures"}},
		},
	},
	{
		Name: "OTel", Module: modOTel, Title: "otelretry: one call that succeeds, traced and measured",
		Note: "A recording tracer provider with a synchronous exporter that drops the spans, and a metric " +
			"reader. The hand-made span is the reference: one span around the call and its duration recorded; " +
			"otelretry's span also carries the attempt's attributes and status.",
		Members: []Member{
			{Label: "otelretry observer", Bench: "Observer/1_attempt"},
			{Label: "hand-made span", Bench: "PlainOTel"},
		},
		Views: []View{{Title: "retry.Do", Subject: "otelretry observer", Refs: []string{"hand-made span"}}},
	},
	{
		Name: "CoreRetry3", Module: modRoot, Title: "the root module: 3 failures, then success, zero waits",
		Members: []Member{
			{Label: "Do, policy", Bench: "ThreeFailures/policy"},
			{Label: "careful hand loop", Bench: "HandLoop3Failures/careful"},
			{Label: "bare hand loop", Bench: "HandLoop3Failures/bare"},
		},
		Views: []View{{
			Title: "a prebuilt policy", Subject: "Do, policy", Refs: []string{"careful hand loop", "bare hand loop"},
			Targets: []Target{{Ref: "careful hand loop", MaxRatio: 1.5}},
		}},
	},
}
