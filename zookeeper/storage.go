package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/go-zookeeper/zk"
)

// DefaultStoragePath is where a gateway keeps certmagic's data when its
// configuration names no other path: zk://hosts/mesosgate/certmagic.
const DefaultStoragePath = "/mesosgate/certmagic"

// MaxValueSize is the largest value Store accepts. A ZooKeeper server
// refuses (and drops the connection of) a request over jute.maxbuffer,
// 1 MiB less one byte by default, path and headers included; 8 KiB are
// left for them.
const MaxValueSize = 1<<20 - 8<<10

// StorageOptions configure NewStorage. The zero value works.
type StorageOptions struct {
	// Logger receives session changes and lock anomalies. Nil discards.
	Logger *slog.Logger
	// Timeout is the session timeout: how long the locks of a gateway
	// that died without closing its session stay held. Zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// Storage is a certmagic.Storage in ZooKeeper. Keys are znodes under
// "<path>/keys" (a key's value is its znode's data; a "directory" is a
// znode with children), and locks follow ZooKeeper's lock recipe under
// "<path>/locks/<name>": each contender creates an ephemeral sequential
// znode, the lowest holds the lock, the others watch their predecessor,
// and a holder whose session ends (its gateway died) releases the lock
// when ZooKeeper expires the session. Gateways sharing a path share
// certificates, and only one of them issues a given certificate.
//
// What it keeps is secret (the internal CA's key, the ACME account's key,
// every certificate's key). With digest credentials in the URL the znodes
// it creates are readable and writable by those credentials only
// (ZooKeeper's CREATOR_ALL_ACL), not by all as the masters' group is; give
// every gateway the same credentials. Without credentials they are open to
// every client of ZooKeeper.
type Storage struct {
	c    *client
	root string
	log  *slog.Logger

	mu   sync.Mutex
	held map[string]string // lock name -> the znode holding it
}

var (
	_ certmagic.Storage = (*Storage)(nil)
	_ certmagic.Locker  = (*Storage)(nil)
)

// NewStorage connects to the servers of u and keeps certmagic's data
// under u.Path (e.g. zk://10.0.0.1:2181/mesosgate/certmagic). It waits for
// a session until ctx ends. Close ends the session, releasing its locks.
func NewStorage(ctx context.Context, u URL, opts StorageOptions) (*Storage, error) {
	log := orDiscard(opts.Logger).With("zk", u)
	c, err := connect(u, opts.Timeout, log)
	if err != nil {
		return nil, err
	}
	s := &Storage{c: c, root: u.Path, log: log, held: map[string]string{}}
	if err := s.setup(ctx); err != nil {
		c.close()
		return nil, fmt.Errorf("certificate storage in ZooKeeper %s: %w", u, err)
	}
	return s, nil
}

func (s *Storage) setup(ctx context.Context) error {
	if err := s.c.waitSession(ctx); err != nil {
		return err
	}
	// The root's parents hold nothing secret: they get the ACL Mesos
	// gives its znodes; the root and what it holds, the storage's.
	if parent := path.Dir(s.root); parent != "/" {
		if err := s.c.ensurePath(parent, s.c.acl()); err != nil {
			return err
		}
	}
	for _, p := range []string{s.root + "/keys", s.root + "/locks"} {
		if err := s.c.ensurePath(p, s.acl()); err != nil {
			return err
		}
	}
	s.c.monitor(func(st zk.State) {
		switch st {
		case zk.StateExpired:
			s.log.Warn("ZooKeeper session expired: locks held are lost; making a new session")
		case zk.StateDisconnected:
			s.log.Warn("lost the connection to ZooKeeper; reconnecting")
		case zk.StateHasSession:
			s.log.Debug("ZooKeeper session established")
		}
	})
	return nil
}

// acl is the ACL of the znodes the storage creates: with credentials,
// theirs alone; without, everyone's (see Storage).
func (s *Storage) acl() []zk.ACL {
	if !s.c.url.HasCredentials() {
		return zk.WorldACL(zk.PermAll)
	}
	return zk.AuthACL(zk.PermAll)
}

// String names the storage by its URL, password hidden.
func (s *Storage) String() string { return "ZooKeeper " + s.c.url.String() }

// Close ends the session: ZooKeeper releases the locks it held at once.
func (s *Storage) Close() error {
	s.c.close()
	return nil
}

// do runs op, a ZooKeeper request, until it returns or ctx ends. Without a
// session it fails at once rather than queue behind a reconnection, and so
// it does when the session goes while op waits (the library queues a
// request sent just before it noticed the server gone). An op abandoned
// finishes in the background (at the latest when the client closes).
func (s *Storage) do(ctx context.Context, op func() error) error {
	if !s.c.hasSession() {
		return fmt.Errorf("%w: %w", ErrUnreachable, s.c.unreachable())
	}
	done := make(chan error, 1)
	go func() { done <- op() }()
	tick := time.NewTicker(sessionCheck)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if !s.c.hasSession() {
				return fmt.Errorf("%w: %w", ErrUnreachable, s.c.unreachable())
			}
		}
	}
}

// sessionCheck is how often a waiting request looks whether its session
// is still there.
const sessionCheck = 100 * time.Millisecond

// znode returns the znode of a key, checking the key first. Keys are
// slash-separated without leading or trailing slashes; "" (allowed for
// List only) is the root of the keys.
func (s *Storage) znode(key string, rootOK bool) (string, error) {
	if key == "" && rootOK {
		return s.root + "/keys", nil
	}
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("storage key %q: want segments separated by /, no leading or trailing /", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsFunc(seg, badZnodeRune) {
			return "", fmt.Errorf("storage key %q: segment %q is not allowed in a ZooKeeper path", key, seg)
		}
	}
	return s.root + "/keys/" + key, nil
}

// badZnodeRune reports the characters ZooKeeper refuses in a path
// (PathUtils.validatePath).
func badZnodeRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || (r >= 0xd800 && r <= 0xf8ff) || (r >= 0xfff0 && r <= 0xffff)
}

// notExist wraps fs.ErrNotExist, which certmagic looks for.
func notExist(op, key string) error {
	return fmt.Errorf("%s %s: %w", op, key, fs.ErrNotExist)
}

// Store puts value at key, creating the znode and its parents when
// needed. Values over MaxValueSize are refused.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	p, err := s.znode(key, false)
	if err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("store %s: %d bytes is over the %d ZooKeeper can hold in one znode (its jute.maxbuffer, about 1 MiB)", key, len(value), MaxValueSize)
	}
	if value == nil {
		value = []byte{} // a file, even empty: nil data marks directories
	}
	return s.do(ctx, func() error { return s.store(p, value) })
}

// store sets p's data, creating it (and its parents) when missing; a
// Delete pruning the parents meanwhile makes it try again.
func (s *Storage) store(p string, value []byte) error {
	var err error
	for range 5 {
		if _, err = s.c.conn.Set(p, value, -1); !errors.Is(err, zk.ErrNoNode) {
			break
		}
		if err = s.c.ensurePath(path.Dir(p), s.acl()); err != nil {
			break
		}
		if _, err = s.c.conn.Create(p, value, zk.FlagPersistent, s.acl()); !errors.Is(err, zk.ErrNodeExists) && !errors.Is(err, zk.ErrNoNode) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", p, err)
	}
	return nil
}

// Load returns the value at key, or an error wrapping fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	data, stat, err := s.get(ctx, "load", key)
	switch {
	case err != nil:
		return nil, err
	case data == nil && stat.NumChildren > 0:
		return nil, fmt.Errorf("load %s: it is a directory of other keys", key)
	}
	return data, nil
}

// get reads key's znode for op (the caller's name, for errors); a missing
// key is an error wrapping fs.ErrNotExist.
func (s *Storage) get(ctx context.Context, op, key string) ([]byte, *zk.Stat, error) {
	p, err := s.znode(key, false)
	if err != nil {
		return nil, nil, err
	}
	var data []byte
	var stat *zk.Stat
	err = s.do(ctx, func() (err error) {
		data, stat, err = s.c.conn.Get(p)
		return err
	})
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return nil, nil, notExist(op, key)
	case err != nil:
		return nil, nil, fmt.Errorf("%s %s: %w", op, key, err)
	}
	return data, stat, nil
}

// Delete deletes key and every key under it, then its parents left empty.
// A missing key is not an error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	p, err := s.znode(key, false)
	if err != nil {
		return err
	}
	return s.do(ctx, func() error {
		if err := s.deleteTree(p); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
		s.prune(path.Dir(p))
		return nil
	})
}

// deleteTree deletes p after its children.
func (s *Storage) deleteTree(p string) error {
	children, _, err := s.c.conn.Children(p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ch := range children {
		if err := s.deleteTree(p + "/" + ch); err != nil {
			return err
		}
	}
	if err := s.c.conn.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	return nil
}

// prune deletes p and its parents while they are directories left with no
// children, up to the keys' root. The version check keeps a value stored
// meanwhile, and a child created meanwhile stops it (ErrNotEmpty).
func (s *Storage) prune(p string) {
	for strings.HasPrefix(p, s.root+"/keys/") {
		data, stat, err := s.c.conn.Get(p)
		if err != nil || data != nil || stat.NumChildren > 0 {
			return
		}
		if err := s.c.conn.Delete(p, stat.Version); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return
		}
		p = path.Dir(p)
	}
}

// Exists reports whether key exists, as a value or as a directory.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// Stat describes key: its size and modification time, and whether it is
// a value (terminal) or a directory of other keys.
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	data, stat, err := s.get(ctx, "stat", key)
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	return certmagic.KeyInfo{
		Key:        key,
		Modified:   time.UnixMilli(stat.Mtime),
		Size:       int64(stat.DataLength),
		IsTerminal: data != nil || stat.NumChildren == 0,
	}, nil
}

// List returns the keys under prefix ("" for all), sorted; recursive
// walks into directories, as certmagic's FileStorage does. A missing
// prefix is an error wrapping fs.ErrNotExist.
func (s *Storage) List(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	p, err := s.znode(prefix, true)
	if err != nil {
		return nil, err
	}
	var keys []string
	err = s.do(ctx, func() error {
		var err error
		keys, err = s.list(p, prefix, recursive)
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, notExist("list", prefix)
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	return keys, nil
}

func (s *Storage) list(p, prefix string, recursive bool) ([]string, error) {
	children, _, err := s.c.conn.Children(p)
	if err != nil {
		return nil, err
	}
	slices.Sort(children)
	var keys []string
	for _, ch := range children {
		key := path.Join(prefix, ch)
		keys = append(keys, key)
		if !recursive {
			continue
		}
		sub, err := s.list(p+"/"+ch, key, true)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return nil, err
		}
		keys = append(keys, sub...)
	}
	return keys, nil
}
