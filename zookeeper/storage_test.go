package zookeeper

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// newStorage opens a Storage on u, closed when the test ends.
func newStorage(t testing.TB, u URL, opts StorageOptions) *Storage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	s, err := NewStorage(ctx, u, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStorageKeys(t *testing.T) {
	s := newStorage(t, groupURL(t, zkServer.Server(t), ""), StorageOptions{})
	ctx := context.Background()
	store := func(key, value string) {
		t.Helper()
		if err := s.Store(ctx, key, []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	store("certificates/acme/example.com/example.com.crt", "CERT")
	store("certificates/acme/example.com/example.com.key", "KEY")
	store("certificates/acme/example.com/example.com.key", "KEY2") // overwrite
	store("acme/users/a@example.com/a.json", "")

	t.Run("load", func(t *testing.T) {
		got, err := s.Load(ctx, "certificates/acme/example.com/example.com.key")
		if err != nil || string(got) != "KEY2" {
			t.Errorf("Load = %q, %v", got, err)
		}
	})
	t.Run("missing keys", func(t *testing.T) {
		_, errLoad := s.Load(ctx, "certificates/nope")
		_, errStat := s.Stat(ctx, "certificates/nope")
		_, errList := s.List(ctx, "nope", false)
		for _, err := range []error{errLoad, errStat, errList} {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("error %v, want fs.ErrNotExist", err)
			}
		}
		if s.Exists(ctx, "certificates/nope") {
			t.Error("Exists of a missing key")
		}
		if err := s.Delete(ctx, "certificates/nope"); err != nil {
			t.Errorf("Delete of a missing key: %v", err)
		}
	})
	t.Run("stat", func(t *testing.T) {
		file, err := s.Stat(ctx, "certificates/acme/example.com/example.com.crt")
		dir, err2 := s.Stat(ctx, "certificates/acme")
		empty, err3 := s.Stat(ctx, "acme/users/a@example.com/a.json")
		if err != nil || err2 != nil || err3 != nil {
			t.Fatal(err, err2, err3)
		}
		if !file.IsTerminal || file.Size != 4 || time.Since(file.Modified) > time.Minute || dir.IsTerminal || !empty.IsTerminal {
			t.Errorf("file %+v, dir %+v, empty value %+v", file, dir, empty)
		}
		if !s.Exists(ctx, "certificates/acme") {
			t.Error("a directory does not exist")
		}
		if _, err := s.Load(ctx, "certificates/acme"); err == nil {
			t.Error("Load of a directory succeeded")
		}
	})
	t.Run("list", func(t *testing.T) {
		flat, err := s.List(ctx, "certificates/acme/example.com", false)
		if err != nil || !slices.Equal(flat, []string{"certificates/acme/example.com/example.com.crt", "certificates/acme/example.com/example.com.key"}) {
			t.Errorf("List = %q, %v", flat, err)
		}
		all, err := s.List(ctx, "", true)
		want := []string{"acme", "acme/users", "acme/users/a@example.com", "acme/users/a@example.com/a.json",
			"certificates", "certificates/acme", "certificates/acme/example.com",
			"certificates/acme/example.com/example.com.crt", "certificates/acme/example.com/example.com.key"}
		if err != nil || !slices.Equal(all, want) {
			t.Errorf("List recursive = %q, %v", all, err)
		}
	})
	t.Run("delete prunes empty directories", func(t *testing.T) {
		if err := s.Delete(ctx, "acme/users/a@example.com/a.json"); err != nil {
			t.Fatal(err)
		}
		if s.Exists(ctx, "acme") {
			t.Error("empty directories were left behind")
		}
		if err := s.Delete(ctx, "certificates/acme"); err != nil {
			t.Fatal(err)
		}
		if keys, err := s.List(ctx, "", true); err != nil || len(keys) != 0 {
			t.Errorf("after deleting a directory: %q, %v", keys, err)
		}
	})
	t.Run("bad keys", func(t *testing.T) {
		for _, key := range []string{"", "/a", "a/", "a//b", "a/../b", "a/\x00"} {
			if err := s.Store(ctx, key, []byte("x")); err == nil || !strings.Contains(err.Error(), "storage key") {
				t.Errorf("Store(%q): %v", key, err)
			}
		}
	})
	t.Run("size limit", func(t *testing.T) {
		big := bytes.Repeat([]byte("x"), MaxValueSize)
		if err := s.Store(ctx, "certificates/big/largest.bin", big); err != nil {
			t.Fatalf("a value of MaxValueSize: %v", err)
		}
		if got, err := s.Load(ctx, "certificates/big/largest.bin"); err != nil || len(got) != MaxValueSize {
			t.Errorf("Load of the largest value: %d bytes, %v", len(got), err)
		}
		err := s.Store(ctx, "certificates/big/too.bin", append(big, 'x'))
		if err == nil || !strings.Contains(err.Error(), "1 MiB") {
			t.Errorf("a value over the limit: %v", err)
		}
	})
}

// TestStorageLockContention: two gateways (Storage values on separate
// sessions) and several goroutines each contend for one lock; never two
// hold it at once, and a waiter gets it once the holder unlocks.
func TestStorageLockContention(t *testing.T) {
	u := groupURL(t, zkServer.Server(t), "")
	a, b := newStorage(t, u, StorageOptions{}), newStorage(t, u, StorageOptions{})
	ctx := context.Background()
	const name = "issue_cert_example.com"

	if err := a.Lock(ctx, name); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx, name) }()
	waitContenders(t, a, name, 2) // b waits behind a
	select {
	case err := <-got:
		t.Fatalf("b took the lock a holds: %v", err)
	default:
	}
	if err := a.Unlock(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if err := b.Unlock(ctx, name); err != nil {
		t.Fatal(err)
	}

	var holders, maxHolders atomic.Int32
	var wg sync.WaitGroup
	for i := range 6 {
		s := []*Storage{a, b}[i%2]
		wg.Go(func() {
			for range 5 {
				if err := s.Lock(ctx, name); err != nil {
					t.Error(err)
					return
				}
				n := holders.Add(1)
				if n > maxHolders.Load() {
					maxHolders.Store(n)
				}
				holders.Add(-1)
				if err := s.Unlock(ctx, name); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if m := maxHolders.Load(); m != 1 {
		t.Errorf("%d held the lock at once", m)
	}
}

// waitContenders waits until the lock has n contenders' znodes.
func waitContenders(t testing.TB, s *Storage, name string, n int) {
	t.Helper()
	dir, _ := s.lockDir(name)
	deadline := time.Now().Add(waitTimeout)
	for {
		children, _, err := s.c.conn.Children(dir)
		if err == nil && len(children) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lock %s: %d contenders (%v), want %d", name, len(children), err, n)
		}
		// Polling ZooKeeper for a condition, not sleeping for it.
		_, _, watch, err := s.c.conn.ChildrenW(dir)
		if err == nil {
			select {
			case <-watch:
			case <-time.After(time.Until(deadline)):
			}
		}
	}
}

// TestStorageLockCancel: a Lock given up by its context withdraws its
// contender znode.
func TestStorageLockCancel(t *testing.T) {
	u := groupURL(t, zkServer.Server(t), "")
	a, b := newStorage(t, u, StorageOptions{}), newStorage(t, u, StorageOptions{})
	if err := a.Lock(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx, "x") }()
	waitContenders(t, a, "x", 2)
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("Lock after cancel: %v", err)
	}
	waitContenders(t, a, "x", 1)
	if err := b.Unlock(context.Background(), "x"); err == nil {
		t.Error("Unlock of a lock never taken succeeded")
	}
}

// TestStorageLockAbandoned: Locks given up before ZooKeeper answered
// their create leave no contender behind. A znode created after its Lock
// returned would stay ahead of every later contender while the session
// lives, and the lock would never be taken again.
func TestStorageLockAbandoned(t *testing.T) {
	u := groupURL(t, zkServer.Server(t), "")
	a, b := newStorage(t, u, StorageOptions{}), newStorage(t, u, StorageOptions{})
	if err := a.Lock(context.Background(), "y"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 50 {
		if err := b.Lock(ctx, "y"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock with an ended context: %v", err)
		}
	}
	if err := a.Unlock(context.Background(), "y"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.Lock(ctx, "y"); err != nil {
		t.Fatalf("the lock after 50 abandoned Locks: %v", err)
	}
	waitContenders(t, a, "y", 1)
}

// TestStorageLockHolderDies: a gateway holding the lock is cut off from
// ZooKeeper for good (as if it froze or its network died); when ZooKeeper
// expires its session the lock goes to the waiting gateway.
func TestStorageLockHolderDies(t *testing.T) {
	srv := zkServer.Server(t)
	u := groupURL(t, srv, "")
	p := startProxy(t, srv.Addr())
	viaProxy := u
	viaProxy.Servers = []string{p.addr()}
	const timeout = time.Second
	holder := newStorage(t, viaProxy, StorageOptions{Timeout: timeout})
	waiter := newStorage(t, u, StorageOptions{})
	ctx := context.Background()
	if err := holder.Lock(ctx, "renew"); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- waiter.Lock(ctx, "renew") }()
	waitContenders(t, waiter, "renew", 2)
	start := time.Now()
	p.cut()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the lock of a dead holder was never released")
	}
	t.Logf("lock passed %v after its holder was cut off (session timeout %v)", time.Since(start), timeout)
	if d := time.Since(start); d < timeout/2 {
		t.Errorf("the lock passed after %v, before the holder's session could expire", d)
	}
	if err := waiter.Unlock(ctx, "renew"); err != nil {
		t.Fatal(err)
	}
}

// proxy forwards TCP connections to a server until cut, then refuses
// them: a client behind it is partitioned from the server.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	dead   bool
	wg     sync.WaitGroup
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		l.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.dead {
			p.mu.Unlock()
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Go(func() { io.Copy(s, c); s.Close() })
		p.wg.Go(func() { io.Copy(c, s); c.Close() })
	}
}

// cut breaks every connection and refuses new ones.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dead = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestStorageUnreachable: without a session, operations fail at once with
// ErrUnreachable instead of hanging.
func TestStorageUnreachable(t *testing.T) {
	srv := zktest.Start(t)
	s := newStorage(t, groupURL(t, srv, ""), StorageOptions{})
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		err := s.Store(ctx, "k", []byte("v"))
		if errors.Is(err, ErrUnreachable) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Store while ZooKeeper is down: %v", err)
		}
	}
}

// TestStorageACL: with digest credentials, what the storage keeps (the
// internal CA's key among it) is readable by those credentials only, not
// by every client as the masters' group is; the same credentials in
// another gateway read it.
func TestStorageACL(t *testing.T) {
	srv := zkServer.Server(t)
	u := groupURL(t, srv, "gw:right@")
	// The parent all tests share stays open to them: made here without
	// credentials, it is not given the storage's parents' ACL.
	if _, err := rawClient(t, groupURL(t, srv, "")).Create(path.Dir(u.Path), nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		t.Fatal(err)
	}
	s := newStorage(t, u, StorageOptions{})
	ctx := context.Background()
	if err := s.Store(ctx, "ca/key.pem", []byte("SECRET")); err != nil {
		t.Fatal(err)
	}
	if got, err := newStorage(t, u, StorageOptions{}).Load(ctx, "ca/key.pem"); err != nil || string(got) != "SECRET" {
		t.Errorf("another gateway with the credentials: %q, %v", got, err)
	}
	for _, creds := range []string{"", "gw:wrong@"} {
		conn := rawClient(t, groupURL(t, srv, creds))
		for _, p := range []string{u.Path, u.Path + "/keys/ca/key.pem"} {
			if data, _, err := conn.Get(p); err == nil || strings.Contains(string(data), "SECRET") {
				t.Errorf("credentials %q read %s: %q, %v", creds, p, data, err)
			}
		}
	}
}
