package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// lockPrefix names the contenders' znodes: "lock-" and ZooKeeper's
// sequence, after the library's protection prefix ("_c_<guid>-"), which
// lets a create retried after a lost connection find its own znode.
const lockPrefix = "lock-"

// Lock takes the lock called name, waiting until it is free or ctx ends.
// It follows ZooKeeper's lock recipe: an ephemeral sequential znode under
// the lock's znode; the lowest holds the lock; each other contender
// watches the one just before it, so a release wakes one waiter only. A
// holder whose session ends (Close, or a dead gateway once ZooKeeper
// expires its session) releases the lock.
func (s *Storage) Lock(ctx context.Context, name string) error {
	dir, err := s.lockDir(name)
	if err != nil {
		return err
	}
	node, err := s.contend(ctx, dir)
	if err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	if err := s.await(ctx, dir, node); err != nil {
		s.release(node)
		return fmt.Errorf("lock %s: %w", name, err)
	}
	s.mu.Lock()
	s.held[name] = node
	s.mu.Unlock()
	return nil
}

// contend creates this storage's contender znode under dir. The create
// goes on when ctx ends first (do returns at once); a znode it makes after
// that is withdrawn, not left ahead of every later contender for as long
// as the session lives.
func (s *Storage) contend(ctx context.Context, dir string) (string, error) {
	var (
		mu        sync.Mutex
		node      string
		abandoned bool
	)
	err := s.do(ctx, func() error {
		if err := s.c.ensurePath(dir, s.acl()); err != nil {
			return err
		}
		n, err := s.c.conn.CreateProtectedEphemeralSequential(dir+"/"+lockPrefix, lockData(), s.acl())
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			s.release(n)
		}
		node = n
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		abandoned = true
		if node != "" {
			s.release(node)
		}
		return "", err
	}
	return node, nil
}

// lockDir returns the lock's znode: the name escaped into one segment.
func (s *Storage) lockDir(name string) (string, error) {
	seg := url.PathEscape(name)
	switch seg {
	case "":
		return "", errors.New("lock: the lock's name is empty")
	case ".", "..":
		seg = strings.ReplaceAll(seg, ".", "%2E")
	}
	return s.root + "/locks/" + seg, nil
}

// lockData tells an operator looking at a lock's znode who holds it.
func lockData() []byte {
	host, _ := os.Hostname()
	return fmt.Appendf(nil, "mesosgate on %s, pid %d, since %s", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
}

// await waits until node is the lowest contender under dir.
func (s *Storage) await(ctx context.Context, dir, node string) error {
	for {
		var pred string
		var watch <-chan zk.Event
		err := s.do(ctx, func() (err error) {
			pred, watch, err = s.predecessor(dir, path.Base(node))
			return err
		})
		if err != nil {
			return err
		}
		if pred == "" {
			return nil
		}
		if watch == nil { // gone between the listing and the watch
			continue
		}
		select {
		case <-watch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// predecessor returns the contender just before mine and a watch on it,
// or "" when mine is the lowest. A nil watch means the predecessor went
// away meanwhile.
func (s *Storage) predecessor(dir, mine string) (string, <-chan zk.Event, error) {
	children, _, err := s.c.conn.Children(dir)
	if err != nil {
		return "", nil, err
	}
	slices.SortFunc(children, func(a, b string) int { return strings.Compare(lockSequence(a), lockSequence(b)) })
	i := slices.Index(children, mine)
	if i < 0 {
		return "", nil, errors.New("our contender's znode is gone (the ZooKeeper session expired): try again")
	}
	if i == 0 {
		return "", nil, nil
	}
	pred := children[i-1]
	exists, _, watch, err := s.c.conn.ExistsW(dir + "/" + pred)
	if err != nil || !exists {
		return pred, nil, err
	}
	return pred, watch, nil
}

// lockSequence returns a contender's sequence suffix; ten digits compare
// as strings.
func lockSequence(name string) string {
	if i := strings.LastIndex(name, lockPrefix); i >= 0 {
		return name[i+len(lockPrefix):]
	}
	return name
}

// Unlock releases the lock called name, taken by Lock on this Storage.
// A lock whose znode is already gone (the session expired while it was
// held) counts as released.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	node, ok := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("unlock %s: this storage does not hold it", name)
	}
	err := s.do(ctx, func() error { return s.c.conn.Delete(node, -1) })
	switch {
	case errors.Is(err, zk.ErrNoNode):
		s.log.Warn("lock was already released: the ZooKeeper session ended while it was held", "lock", name)
	case err != nil:
		return fmt.Errorf("unlock %s: %w", name, err)
	}
	return nil
}

// release deletes a contender's znode after a failed or abandoned Lock,
// on a context of its own: the caller's has ended. If the session is
// gone, ZooKeeper deletes the znode anyway.
func (s *Storage) release(node string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.do(ctx, func() error { return s.c.conn.Delete(node, -1) })
	for errors.Is(err, ErrUnreachable) && ctx.Err() == nil {
		// A connection lost for a moment (a busy machine misses a
		// ping): the session may come back within its timeout.
		select {
		case <-ctx.Done():
		case <-time.After(sessionCheck):
			err = s.do(ctx, func() error { return s.c.conn.Delete(node, -1) })
		}
	}
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		s.log.Warn("could not withdraw from a lock; ZooKeeper removes it when the session ends", "node", node, "err", err)
	}
}
