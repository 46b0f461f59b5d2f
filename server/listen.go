package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
)

// This file is the listening side: the front listener (tlsx decides HTTPS,
// HTTPS with downgrade, or plain), the http.Server and its timeouts, and
// graceful shutdown.

// DefaultMaxHeaderBytes bounds a request's header: browsers with every
// cookie of a busy domain stay far below it (nginx allows 32 KiB).
const DefaultMaxHeaderBytes = 64 << 10

// Defaults of ServeOptions' zero fields.
const (
	// DefaultReadHeaderTimeout bounds the TLS handshake and the reading
	// of a request's header (slow clients).
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout bounds a keep-alive connection's wait for its
	// next request.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultShutdownTimeout is how long in-flight requests may finish
	// once serving ends.
	DefaultShutdownTimeout = 30 * time.Second
)

// ServeOptions are the listening side's limits. Zero fields mean the
// defaults their comments name.
type ServeOptions struct {
	// ReadHeaderTimeout bounds the TLS handshake and the reading of a
	// request's header (slow clients); zero means
	// DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection's wait for its next
	// request; zero means DefaultIdleTimeout. There is no write timeout
	// (it would cut downloads and event streams); Options.StallTimeout
	// cuts clients that stop reading.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header; zero means
	// DefaultMaxHeaderBytes. Larger headers get 431.
	MaxHeaderBytes int
	// ShutdownTimeout is how long in-flight requests may finish once ctx
	// ends; zero means DefaultShutdownTimeout, negative none. Event
	// streams and WebSockets are ended at once (browsers reconnect them
	// to wherever the gateway comes back).
	ShutdownTimeout time.Duration
}

// withDefaults gives every zero field its default.
func (o ServeOptions) withDefaults() ServeOptions {
	o.ReadHeaderTimeout = orDefault(o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	o.IdleTimeout = orDefault(o.IdleTimeout, DefaultIdleTimeout)
	o.ShutdownTimeout = orDefault(o.ShutdownTimeout, DefaultShutdownTimeout)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return o
}

// Listen opens the front listener on addr: HTTPS with HTTP/2 when tc's
// settings enable SSL, plain and TLS on one port with downgrade, plain HTTP
// when SSL is off (behind another TLS terminator). It also reports whether
// browsers should get HSTS: TLS on, downgrade off.
func Listen(addr string, tc *tlsx.Context) (ln net.Listener, hsts bool, err error) {
	inner, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, false, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := tc.Settings()
	tlsOn := s.Enabled == tlsx.On
	// The http.Server is configured for HTTP/2 by Serve when the
	// listener yields *tls.Conn that negotiated "h2" (tlsx's listeners
	// do). Per tlsx, the configuration is changed in place, never cloned.
	return tc.NewListener(inner, tc.ServerConfig("h2", "http/1.1")), tlsOn && !s.SupportDowngrade, nil
}

// Serve serves g on ln until ctx ends, then shuts down: the listener
// closes, event streams and WebSockets end, other requests get
// ShutdownTimeout to finish, and what remains is closed. It returns nil
// after a shutdown, or the error that stopped serving.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener, o ServeOptions) error {
	o = o.withDefaults()
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	g.log.Info("shutting down", "timeout", o.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	g.streams.endAll()
	err := srv.Shutdown(sctx)
	timedOut := errors.Is(err, context.DeadlineExceeded)
	if timedOut {
		// Before anything ends them: their access lines say the
		// shutdown cut them.
		g.closing.Store(true)
		g.log.Warn("requests still running at the shutdown timeout were cut", "timeout", o.ShutdownTimeout)
	}
	// Upgraded connections (WebSockets) are not the server's to wait for:
	// ending the base context ends them (ReverseProxy closes both sides).
	cancelBase()
	if timedOut {
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), serr)
	}
	return err
}

// streams are the responses that never end by themselves (event streams,
// long polls marked as such, WebSockets): shutdown ends them instead of
// waiting for them.
type streams struct {
	mu     sync.Mutex
	cancel map[*exchange]context.CancelFunc
	ended  bool
}

// add registers a stream; if shutdown already began it ends it at once.
func (s *streams) add(ex *exchange, cancel context.CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		ex.q.shutdown.Store(true)
		cancel()
		return
	}
	if s.cancel == nil {
		s.cancel = map[*exchange]context.CancelFunc{}
	}
	s.cancel[ex] = cancel
}

// remove forgets a stream that ended.
func (s *streams) remove(ex *exchange) {
	s.mu.Lock()
	delete(s.cancel, ex)
	s.mu.Unlock()
}

// endAll ends every stream, and those registered later.
func (s *streams) endAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	for ex, cancel := range s.cancel {
		ex.q.shutdown.Store(true)
		cancel()
	}
	clear(s.cancel)
}
