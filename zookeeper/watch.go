package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-zookeeper/zk"
)

// Options configure Watch and Read. The zero value works: a 10 s session,
// nothing logged, changes dropped.
type Options struct {
	// Logger receives leader changes (info), errors reading the group
	// (warn) and the client library's chatter (debug). Nil discards. The
	// URL's password is never logged.
	Logger *slog.Logger
	// Timeout is the ZooKeeper session timeout asked for (the server
	// bounds it to its minSessionTimeout and maxSessionTimeout). Zero
	// means DefaultTimeout.
	Timeout time.Duration
	// OnChange receives every new Group, in order, from one goroutine: a
	// group read after a change, or an error while ZooKeeper cannot be
	// read. A group equal to the last one delivered is not delivered
	// again. It must not block for long: the next change waits for it.
	// Nil drops them.
	OnChange func(Group)
}

// ErrUnreachable is wrapped by Group.Err while there is no ZooKeeper
// session: the servers refuse, time out or were lost. The watcher keeps
// retrying; other errors (no such path, not authorized) need the operator.
var ErrUnreachable = errors.New("ZooKeeper unreachable")

// Watch follows the masters' group at u until ctx ends, delivering each
// new Group to opts.OnChange: at start, within milliseconds of a master
// joining or leaving (a leader's znode vanishes when its session ends),
// and when ZooKeeper becomes unreachable or reachable again. It connects
// with digest credentials when u has them. A lost connection is retried
// with backoff and the session, its credentials and its watches are made
// again; while ZooKeeper cannot be read, each Group carries the last
// masters read and Err says why.
//
// Watch returns nil once ctx ends and everything it started has stopped;
// it returns an error at once only for a URL without servers.
func Watch(ctx context.Context, u URL, opts Options) error {
	log := orDiscard(opts.Logger).With("zk", u)
	c, err := connect(u, opts.Timeout, log)
	if err != nil {
		return err
	}
	defer c.close()
	w := &watcher{c: c, path: u.Path, log: log, onChange: opts.OnChange, cache: map[string]cached{}}
	w.run(ctx)
	return nil
}

// Read reads the masters' group at u once: it waits for a session (until
// ctx ends), reads, and closes the session. The error is Group.Err, or
// ctx's error wrapped with the last reason ZooKeeper could not be reached.
func Read(ctx context.Context, u URL, opts Options) (Group, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var last Group
	done := false
	opts.OnChange = func(g Group) {
		last = g
		if g.Err == nil || !errors.Is(g.Err, ErrUnreachable) {
			done = true
			cancel()
		}
	}
	if err := Watch(ctx, u, opts); err != nil {
		return Group{}, err
	}
	switch {
	case done:
		return last, last.Err
	case last.Err != nil:
		return last, fmt.Errorf("read the masters' group at %s: %w", u, last.Err)
	}
	return last, fmt.Errorf("read the masters' group at %s: %w", u, context.Cause(ctx))
}

// watcher is Watch's state, owned by its one goroutine.
type watcher struct {
	c        *client
	path     string
	log      *slog.Logger
	onChange func(Group)

	cache      map[string]cached // decoded children by name
	czxid      int64             // the group znode's creation, to drop the cache if it is made anew
	last       Group             // the last group read without error
	delivered  Group             // the last group given to onChange
	started    bool              // anything was delivered
	hadSession bool
	failures   int // consecutive reads that failed with a session up
}

// cached is a decoded child: its data never changes (a master writes its
// znode once, in the create), so it is read once.
type cached struct {
	master  Master
	skipped *Skipped
}

// run reads and watches until ctx ends.
func (w *watcher) run(ctx context.Context) {
	for ctx.Err() == nil {
		if !w.c.hasSession() {
			if w.hadSession || w.c.dialer.lastError() != nil {
				w.deliver(w.failed(fmt.Errorf("%w: %w", ErrUnreachable, w.c.unreachable())))
			}
			w.wait(ctx, nil, 0)
			continue
		}
		w.hadSession = true
		watch, err := w.read()
		if err != nil {
			w.failures++
			w.deliver(w.failed(err))
			w.wait(ctx, nil, backoff(w.failures))
			continue
		}
		w.failures = 0
		w.wait(ctx, watch, 0)
	}
}

// wait blocks until something may have changed: the watch fires, the
// session's state changes, retry passes (when positive) or ctx ends.
func (w *watcher) wait(ctx context.Context, watch <-chan zk.Event, retry time.Duration) {
	var timer <-chan time.Time
	if retry > 0 {
		t := time.NewTimer(retry)
		defer t.Stop()
		timer = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-watch:
			return
		case <-timer:
			return
		case ev := <-w.c.events:
			// Watch events are published here too; the watch channel
			// has them. Only the session's state matters here.
			if ev.Type == zk.EventSession {
				return
			}
		}
	}
}

// read reads the group and sets a watch on its children (or on the
// group's znode, when it does not exist yet), delivering what it read.
func (w *watcher) read() (<-chan zk.Event, error) {
	if err := w.c.auth(); err != nil {
		return nil, w.describe(err)
	}
	names, stat, watch, err := w.c.conn.ChildrenW(w.path)
	if errors.Is(err, zk.ErrNoNode) {
		return w.missing()
	}
	if err != nil {
		return nil, w.describe(err)
	}
	if stat.Czxid != w.czxid {
		w.cache, w.czxid = map[string]cached{}, stat.Czxid
	}
	g, err := w.children(names)
	if err != nil {
		return nil, err
	}
	w.last = g
	w.deliver(g)
	return watch, nil
}

// missing handles a group znode that does not exist: no master has
// registered under that path. It watches for the znode's creation.
func (w *watcher) missing() (<-chan zk.Event, error) {
	exists, _, watch, err := w.c.conn.ExistsW(w.path)
	if err != nil {
		return nil, w.describe(err)
	}
	if exists { // created meanwhile: read it at once
		ch := make(chan zk.Event)
		close(ch)
		return ch, nil
	}
	w.last = Group{}
	w.deliver(Group{Err: fmt.Errorf("znode %s does not exist in ZooKeeper: no master has registered there; check the path in %s (the masters' --zk)", w.path, w.c.url)})
	return watch, nil
}

// children reads the masters' children, each child's data once.
func (w *watcher) children(names []string) (Group, error) {
	var masters []Master
	var skipped []Skipped
	seen := map[string]bool{}
	for _, name := range names {
		ch, ok := parseChild(name)
		if !ok {
			continue
		}
		seen[name] = true
		e, ok := w.cache[name]
		if !ok {
			data, _, err := w.c.conn.Get(w.path + "/" + name)
			if errors.Is(err, zk.ErrNoNode) {
				continue // gone already; the children watch fires
			}
			if err != nil {
				return Group{}, w.describe(err)
			}
			e.master, e.skipped = decodeChild(ch, data)
			w.cache[name] = e
		}
		if e.skipped != nil {
			skipped = append(skipped, *e.skipped)
		} else {
			masters = append(masters, e.master)
		}
	}
	for name := range w.cache {
		if !seen[name] {
			delete(w.cache, name)
		}
	}
	return build(masters, skipped), nil
}

// describe turns a request's error into one line saying what to check.
func (w *watcher) describe(err error) error {
	switch {
	case errors.Is(err, zk.ErrNoAuth):
		how := "add the credentials its ACL names: zk://user:password@host:port/path"
		if w.c.url.HasCredentials() {
			how = fmt.Sprintf("check the credentials of %q in the URL", w.c.url.User)
		}
		return fmt.Errorf("not authorized to read %s in ZooKeeper: %s", w.path, how)
	case errors.Is(err, zk.ErrAuthFailed):
		return fmt.Errorf("ZooKeeper refused the credentials of %q: check the user and password in the URL", w.c.url.User)
	case errors.Is(err, zk.ErrConnectionClosed), errors.Is(err, zk.ErrSessionExpired), errors.Is(err, zk.ErrNoServer), errors.Is(err, zk.ErrClosing):
		return fmt.Errorf("%w: %w", ErrUnreachable, w.c.unreachable())
	}
	return fmt.Errorf("read the masters' group %s: %w", w.path, err)
}

// failed is the group to deliver after err: the last masters read, kept.
func (w *watcher) failed(err error) Group {
	g := w.last
	g.Err = err
	return g
}

// deliver hands g to onChange unless it says what the last one said, and
// logs leader changes and errors.
func (w *watcher) deliver(g Group) {
	if w.started && g.Equal(w.delivered) {
		return
	}
	prev := w.delivered
	w.started, w.delivered = true, g
	w.logChange(prev, g)
	if w.onChange != nil {
		w.onChange(g)
	}
}

func (w *watcher) logChange(prev, g Group) {
	if g.Err != nil {
		if errText(prev.Err) != errText(g.Err) {
			w.log.Warn("cannot read the masters' group", "err", g.Err)
		}
		return
	}
	old, hadOld := prev.Leader()
	cur, ok := g.Leader()
	switch {
	case ok && (!hadOld || old.ID != cur.ID):
		w.log.Info("leading master detected", "leader", cur.Addr(), "id", cur.ID, "masters", len(g.Masters))
	case !ok && (hadOld || !w.started):
		w.log.Info("no leading master", "masters", len(g.Masters), "skipped", len(g.Skipped))
	}
	for _, s := range g.Skipped {
		w.log.Warn("skipped a child of the masters' group", "node", s.Node, "reason", s.Reason)
	}
}
