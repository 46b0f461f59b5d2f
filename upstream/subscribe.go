package upstream

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// This file follows the v1 operator API's event stream: POST /api/v1
// {"type":"SUBSCRIBE"} on the leader answers a RecordIO stream
// ("<length>\n<json>" records, common/recordio.hpp): SUBSCRIBED with the
// whole state and the heartbeat interval, then AGENT_ADDED, AGENT_REMOVED,
// FRAMEWORK_ADDED, FRAMEWORK_UPDATED, FRAMEWORK_REMOVED and HEARTBEAT
// (include/mesos/v1/master/master.proto). A master that loses leadership
// exits, which ends the stream; so does a proxy that cuts it. Missed
// heartbeats end it too, and the gateway subscribes again with backoff,
// polling meanwhile.

const (
	// maxRecordBytes bounds one record: SUBSCRIBED carries the whole
	// state.
	maxRecordBytes = 1 << 30
	// firstRecordTimeout bounds the wait for SUBSCRIBED.
	firstRecordTimeout = 60 * time.Second
	minBackoff         = 500 * time.Millisecond
	maxBackoff         = 30 * time.Second
)

// streamState is the SUBSCRIBE stream's state, guarded by Cluster.mu.
type streamState struct {
	leader *masterState // the master streaming; nil when none is
	count  int          // streams that got SUBSCRIBED
}

// errNoSubscribe: the leader does not offer the stream (Mesos before 1.1,
// or an operator API behind a proxy that refuses POST).
var errNoSubscribe = errors.New("the leader does not offer the SUBSCRIBE stream")

// streaming reports whether a SUBSCRIBE stream from the current leader
// keeps the map current.
func (c *Cluster) streaming() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stream.leader != nil && c.stream.leader == c.leader
}

// subscribeLoop follows the leader's stream while there is a leader,
// subscribing again with exponential backoff after the stream ends, at
// once after a leader change.
func (c *Cluster) subscribeLoop(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		c.mu.RLock()
		leader, changed := c.leader, c.leaderCh
		c.mu.RUnlock()
		if leader == nil {
			select {
			case <-ctx.Done():
			case <-changed:
			}
			continue
		}
		start := time.Now()
		err := c.follow(ctx, leader, changed)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errNoSubscribe) {
			c.log.Info("polling the state every refresh", "leader", leader.m.addr, "why", err)
			select {
			case <-ctx.Done():
			case <-changed:
			}
			continue
		}
		c.log.Info("SUBSCRIBE stream ended; refreshing", "leader", leader.m.addr, "err", err)
		signal(c.refreshNow)
		if time.Since(start) > maxBackoff {
			backoff = minBackoff
		}
		wait := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-changed:
		case <-wait.C:
		}
		wait.Stop()
		backoff = min(2*backoff, maxBackoff)
	}
}

// follow subscribes to leader and applies its events until the stream
// ends, heartbeats stop, the leader changes (changed closes) or ctx ends.
func (c *Cluster) follow(ctx context.Context, leader *masterState, changed <-chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-changed:
			cancel()
		case <-ctx.Done():
		}
	}()
	var missed atomic.Bool
	watchdog := time.AfterFunc(firstRecordTimeout, func() { missed.Store(true); cancel() })
	defer watchdog.Stop()

	resp, err := c.subscribe(ctx, leader)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	defer c.setStream(nil)

	records := newRecordReader(resp.Body)
	timeout := firstRecordTimeout
	for first := true; ; first = false {
		rec, err := records.next()
		if err != nil {
			if missed.Load() {
				return fmt.Errorf("no record for %s: heartbeats missed", timeout)
			}
			return fmt.Errorf("reading the stream: %w", err)
		}
		ev, err := parseEvent(rec)
		if err != nil {
			c.log.Warn("ending a SUBSCRIBE stream with a malformed event", "leader", leader.m.addr, "err", err)
			return err
		}
		if first != (ev.Type == "SUBSCRIBED") {
			return fmt.Errorf("unexpected %s event as record %d", ev.Type, map[bool]int{true: 1, false: 2}[first])
		}
		if interval := c.apply(leader, ev); interval > 0 {
			// Two heartbeats missed, with a margin, end the stream.
			timeout = 2*interval + interval/2
			c.setStream(leader)
		}
		watchdog.Reset(timeout)
	}
}

// subscribe sends SUBSCRIBE to the leader and checks its answer.
func (c *Cluster) subscribe(ctx context.Context, leader *masterState) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/master/api/v1", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.ownRequest(req, leader, true)
	if err != nil {
		return nil, fmt.Errorf("SUBSCRIBE to %s: %w", leader.m.addr, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp, nil
	case isRedirect(resp.StatusCode):
		drain(resp)
		return nil, fmt.Errorf("%s no longer leads (it redirects SUBSCRIBE to %s)", leader.m.addr, resp.Header.Get("Location"))
	case resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusMethodNotAllowed,
		resp.StatusCode == http.StatusNotImplemented, resp.StatusCode == http.StatusBadRequest,
		resp.StatusCode == http.StatusUnsupportedMediaType, resp.StatusCode == http.StatusNotAcceptable:
		drain(resp)
		return nil, fmt.Errorf("%w (%s answers %q)", errNoSubscribe, leader.m.addr, resp.Status)
	}
	err = c.statusError(leader, "/master/api/v1", resp)
	drain(resp)
	return nil, err
}

// setStream records which leader streams (nil: none).
func (c *Cluster) setStream(leader *masterState) {
	c.mu.Lock()
	if leader != nil && c.stream.leader == nil {
		c.stream.count++
	}
	c.stream.leader = leader
	c.mu.Unlock()
	c.changed(false)
}

// streams counts the streams that got SUBSCRIBED.
func (c *Cluster) streams() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stream.count
}

// v1 shapes (protobuf's JSON form).
type (
	v1ID struct {
		Value string `json:"value"`
	}
	v1Agent struct {
		AgentInfo struct {
			ID       v1ID   `json:"id"`
			Hostname string `json:"hostname"`
			Port     int    `json:"port"`
		} `json:"agent_info"`
		PID    string `json:"pid"`
		Active bool   `json:"active"`
	}
	v1FrameworkInfo struct {
		ID       v1ID   `json:"id"`
		Name     string `json:"name"`
		WebUIURL string `json:"webui_url"`
	}
	v1Framework struct {
		FrameworkInfo v1FrameworkInfo `json:"framework_info"`
		Active        bool            `json:"active"`
	}
	event struct {
		Type       string `json:"type"`
		Subscribed *struct {
			GetState struct {
				GetAgents struct {
					Agents []v1Agent `json:"agents"`
				} `json:"get_agents"`
				GetFrameworks struct {
					Frameworks []v1Framework `json:"frameworks"`
				} `json:"get_frameworks"`
			} `json:"get_state"`
			HeartbeatIntervalSeconds float64 `json:"heartbeat_interval_seconds"`
		} `json:"subscribed"`
		AgentAdded *struct {
			Agent v1Agent `json:"agent"`
		} `json:"agent_added"`
		AgentRemoved *struct {
			AgentID v1ID `json:"agent_id"`
		} `json:"agent_removed"`
		FrameworkAdded *struct {
			Framework v1Framework `json:"framework"`
		} `json:"framework_added"`
		FrameworkUpdated *struct {
			Framework v1Framework `json:"framework"`
		} `json:"framework_updated"`
		FrameworkRemoved *struct {
			FrameworkInfo v1FrameworkInfo `json:"framework_info"`
		} `json:"framework_removed"`
	}
)

func (a v1Agent) info() agentInfo {
	return agentInfo{id: a.AgentInfo.ID.Value, hostname: a.AgentInfo.Hostname, pid: a.PID, port: a.AgentInfo.Port, active: a.Active}
}

func (f v1Framework) framework() Framework {
	i := f.FrameworkInfo
	return Framework{ID: i.ID.Value, Name: i.Name, WebUIURL: i.WebUIURL, Active: f.Active}
}

// parseEvent reads one record. An event of a known type without its body
// is malformed.
func parseEvent(rec []byte) (*event, error) {
	var ev event
	if err := json.Unmarshal(rec, &ev); err != nil {
		return nil, fmt.Errorf("malformed event JSON: %w", err)
	}
	missing := false
	switch ev.Type {
	case "":
		return nil, errors.New(`malformed event: no "type"`)
	case "SUBSCRIBED":
		missing = ev.Subscribed == nil
	case "AGENT_ADDED":
		missing = ev.AgentAdded == nil
	case "AGENT_REMOVED":
		missing = ev.AgentRemoved == nil
	case "FRAMEWORK_ADDED":
		missing = ev.FrameworkAdded == nil
	case "FRAMEWORK_UPDATED":
		missing = ev.FrameworkUpdated == nil
	case "FRAMEWORK_REMOVED":
		missing = ev.FrameworkRemoved == nil
	}
	if missing {
		return nil, fmt.Errorf("malformed %s event: its body is missing", ev.Type)
	}
	return &ev, nil
}

// apply changes the map by one event from leader. Every record (a
// heartbeat too) confirms the map. It returns the heartbeat interval
// SUBSCRIBED announces, else zero.
func (c *Cluster) apply(leader *masterState, ev *event) time.Duration {
	var interval time.Duration
	c.mu.Lock()
	if c.leader != leader {
		c.mu.Unlock()
		return 0 // a stream from a former leader changes nothing
	}
	mapped := false
	switch ev.Type {
	case "SUBSCRIBED":
		s := ev.Subscribed
		agents := make([]agentInfo, len(s.GetState.GetAgents.Agents))
		for i, a := range s.GetState.GetAgents.Agents {
			agents[i] = a.info()
		}
		frameworks := make([]Framework, len(s.GetState.GetFrameworks.Frameworks))
		for i, f := range s.GetState.GetFrameworks.Frameworks {
			frameworks[i] = f.framework()
		}
		a, f := c.setAgentsLocked(agents), c.setFrameworksLocked(frameworks)
		mapped = a || f
		interval = time.Duration(s.HeartbeatIntervalSeconds * float64(time.Second))
		if interval <= 0 {
			interval = 15 * time.Second // Mesos's DEFAULT_HEARTBEAT_INTERVAL
		}
	case "AGENT_ADDED":
		mapped = c.upsertAgentLocked(ev.AgentAdded.Agent.info())
	case "AGENT_REMOVED":
		mapped = c.removeAgentLocked(ev.AgentRemoved.AgentID.Value)
	case "FRAMEWORK_ADDED":
		mapped = c.upsertFrameworkLocked(ev.FrameworkAdded.Framework.framework())
	case "FRAMEWORK_UPDATED":
		mapped = c.upsertFrameworkLocked(ev.FrameworkUpdated.Framework.framework())
	case "FRAMEWORK_REMOVED":
		mapped = c.removeFrameworkLocked(ev.FrameworkRemoved.FrameworkInfo.ID.Value)
	}
	// The record confirms the map: a discovery that failed before the
	// stream came back (it met the restarting leader down) is no longer
	// news, and no refresh runs to say so while the stream keeps the map.
	c.updated, c.lastErr = c.cfg.Now(), nil
	c.mu.Unlock()
	c.changed(mapped)
	return interval
}

// recordReader reads RecordIO: a decimal length, a newline, that many
// bytes.
type recordReader struct {
	r *bufio.Reader
}

func newRecordReader(r io.Reader) *recordReader { return &recordReader{r: bufio.NewReader(r)} }

// next returns the next record.
func (rr *recordReader) next() ([]byte, error) {
	line, err := rr.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("malformed RecordIO: a length line longer than a buffer")
		}
		return nil, err
	}
	digits := line[:len(line)-1]
	n, perr := strconv.ParseUint(string(digits), 10, 63)
	if perr != nil || len(digits) == 0 || digits[0] == '+' {
		return nil, fmt.Errorf("malformed RecordIO: length %q is not a number", digits)
	}
	if n > maxRecordBytes {
		return nil, fmt.Errorf("malformed RecordIO: a record of %d bytes is larger than %d", n, maxRecordBytes)
	}
	// Read what arrives rather than allocating what the length claims.
	rec, err := io.ReadAll(io.LimitReader(rr.r, int64(n)))
	if err != nil {
		return nil, err
	}
	if uint64(len(rec)) != n {
		return nil, io.ErrUnexpectedEOF
	}
	return rec, nil
}
