package sim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Sandbox is one executor's sandbox on an agent, as the files endpoints
// serve it.
type Sandbox struct {
	FrameworkID string
	ExecutorID  string
	TaskID      string
	// Running is false for a completed executor's sandbox.
	Running bool
	// Directory is the executor's directory as the agent reports it in
	// /slave(1)/state (a real directory on disk), and one of the paths
	// /files serves it under.
	Directory string
	// VirtualPath is the other: /frameworks/<id>/executors/<id>/runs/latest.
	VirtualPath string
}

// The files in every sandbox besides stdout and stderr.
const (
	// BinaryFile holds 4 KiB of every byte value in turn.
	BinaryFile = "data.bin"
	// LargeFile holds Options.LargeFileSize bytes of numbered 64-byte
	// lines (see LargeFileLine).
	LargeFile = "large.log"
	// ConfFile is a small text file in a subdirectory.
	ConfFile = "conf/app.conf"
)

// largeLineLen is the length of each line of LargeFile, newline included.
const largeLineLen = 64

// LargeFileLine returns line n (from 0) of LargeFile, newline included:
// a test can tell from any offset what the bytes there must be.
func LargeFileLine(n int64) string {
	s := "large file line " + fmt.Sprintf("%012d", n) + " "
	for len(s) < largeLineLen-1 {
		s += "."
	}
	return s + "\n"
}

// sharedFiles are the sandbox files every sandbox hard links, written
// once on first use, so a sandbox costs a few small files however large
// LargeFile is.
type sharedFiles struct {
	dir       string
	largeSize int64

	once sync.Once
	err  error
}

func (s *sharedFiles) ensure() error {
	s.once.Do(func() { s.err = s.write() })
	return s.err
}

func (s *sharedFiles) write() error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("create shared sandbox files: %w", err)
	}
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(s.dir, BinaryFile), bin, 0o644); err != nil {
		return fmt.Errorf("write shared sandbox files: %w", err)
	}
	size := s.largeSize
	if size == 0 {
		size = 4 << 20
	}
	return writeLarge(filepath.Join(s.dir, filepath.Base(LargeFile)), size)
}

// writeLarge writes size bytes of LargeFileLine lines.
func writeLarge(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write the large sandbox file: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<16)
	line := []byte(LargeFileLine(0))
	for n, written := int64(0), int64(0); written < size; n++ {
		// Rewrite only the line number in place: formatting every line
		// anew would dominate writing a large file.
		num := strconv.AppendInt(nil, n, 10)
		copy(line[16:28], "000000000000")
		copy(line[28-len(num):28], num)
		chunk := line
		if rest := size - written; rest < int64(len(chunk)) {
			chunk = chunk[:rest]
		}
		w.Write(chunk)
		written += int64(len(chunk))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write the large sandbox file: %w", err)
	}
	return f.Close()
}

// materialize writes the sandbox to disk: stdout and stderr of its own,
// the shared files linked in, a subdirectory, and the runs/latest link
// Mesos keeps.
func (e *executor) materialize(shared *sharedFiles) error {
	if err := shared.ensure(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(e.dir, filepath.Dir(ConfFile)), 0o755); err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	files := map[string]string{
		"stdout": e.stdout(),
		"stderr": e.stderr(),
		ConfFile: fmt.Sprintf("# %s\nname = %s\nframework = %s\nport = 31%03d\n", e.taskName, e.taskID, e.fw.name, e.agent.index%1000),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("write sandbox file: %w", err)
		}
	}
	for _, name := range []string{BinaryFile, LargeFile} {
		if err := linkOrCopy(filepath.Join(shared.dir, filepath.Base(name)), filepath.Join(e.dir, name)); err != nil {
			return err
		}
	}
	latest := filepath.Join(e.runsDir(), "latest")
	os.Remove(latest)
	if err := os.Symlink(e.container, latest); err != nil {
		return fmt.Errorf("link latest run: %w", err)
	}
	return nil
}

// linkOrCopy hard links src to dst, or copies it where links fail.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil || errors.Is(err, os.ErrExist) {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy sandbox file: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("copy sandbox file: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy sandbox file: %w", err)
	}
	return out.Close()
}

// stdout is what a command executor and its task print.
func (e *executor) stdout() string {
	t := e.launched
	stamp := func(d time.Duration) string { return t.Add(d).UTC().Format("2006-01-02 15:04:05.000") }
	out := fmt.Sprintf("Received SUBSCRIBED event\nSubscribed executor on %s\nReceived LAUNCH event\nStarting task %s\n", e.agent.hostname, e.taskID)
	out += fmt.Sprintf("/bin/sh -c ./run.sh\nForked command at %d\n", 4000+e.agent.index%5000)
	out += fmt.Sprintf("%s INFO  %s: starting on 127.0.0.1:31%03d\n", stamp(3*time.Second), e.taskName, e.agent.index%1000)
	// Spread the lines over the task's life so far, none in the future.
	end := e.ended
	if end.IsZero() {
		end = time.Now()
	}
	step := max(end.Sub(t)/64, time.Millisecond)
	for i := range 60 {
		out += fmt.Sprintf("%s INFO  %s: request %d served in %d ms\n", stamp(time.Duration(i+3)*step), e.taskName, i+1, 3+i%17)
	}
	if !e.running() {
		out += fmt.Sprintf("Command exited with status 0 (pid: %d)\n", 4000+e.agent.index%5000)
	}
	return out
}

// stderr is what the Mesos fetcher and executor log.
func (e *executor) stderr() string {
	t := e.launched.UTC()
	glog := func(d time.Duration, file, msg string) string {
		ts := t.Add(d)
		return fmt.Sprintf("I%s %6d %s] %s\n", ts.Format("0102 15:04:05.000000"), 4000+e.agent.index%5000, file, msg)
	}
	out := glog(0, "fetcher.cpp:562", fmt.Sprintf(`Fetcher Info: {"cache_directory":"\/tmp\/mesos\/fetch\/root","sandbox_directory":"%s","user":"%s"}`, e.dir, e.fw.user()))
	out += glog(200*time.Millisecond, "fetcher.cpp:900", "Fetched 'http://artifacts.local/run.sh' to '"+e.dir+"/run.sh'")
	out += glog(time.Second, "exec.cpp:162", "Version: "+mesosVersion)
	out += glog(time.Second+400*time.Millisecond, "exec.cpp:236", "Executor registered on agent "+e.agent.id)
	return out
}

// agentLog is the agent's own log, served as /slave/log.
func (a *Agent) agentLog() string {
	t := a.started.UTC()
	line := func(d time.Duration, file, msg string) string {
		return fmt.Sprintf("I%s %6d %s] %s\n", t.Add(d).Format("0102 15:04:05.000000"), 1000+a.index%5000, file, msg)
	}
	out := line(0, "main.cpp:349", "Build: "+buildTime.Format("2006-01-02 15:04:05")+" by "+buildUser)
	out += line(0, "main.cpp:350", "Version: "+mesosVersion)
	out += line(10*time.Millisecond, "slave.cpp:281", "Agent started on 1)@127.0.0.1:"+strconv.Itoa(a.Port()))
	out += line(20*time.Millisecond, "slave.cpp:283", "Flags at startup: --work_dir=\""+a.workDir+"\"")
	out += line(300*time.Millisecond, "slave.cpp:1145", "New master detected")
	out += line(400*time.Millisecond, "slave.cpp:1611", "Registered with master; given agent ID "+a.id)
	return out
}

// prepare writes every sandbox of the agent not yet on disk, and its log,
// and attaches them as Mesos does (slave.cpp: the directory under its own
// path, the runs/latest link and the virtual path).
func (a *Agent) prepare() error {
	a.c.mu.RLock()
	all := append(append([]*executor(nil), a.executors...), a.completed...)
	a.c.mu.RUnlock()
	a.filesMu.Lock()
	defer a.filesMu.Unlock()
	if !a.logAttached {
		logFile := filepath.Join(a.logDir, "mesos-agent.INFO")
		if err := os.MkdirAll(a.logDir, 0o755); err != nil {
			return fmt.Errorf("create agent log: %w", err)
		}
		if err := os.WriteFile(logFile, []byte(a.agentLog()), 0o644); err != nil {
			return fmt.Errorf("write agent log: %w", err)
		}
		if err := a.files.attach(logFile, "/slave/log"); err != nil {
			return err
		}
		a.logAttached = true
	}
	for _, e := range all {
		if a.made[e] {
			continue
		}
		if err := e.materialize(&a.c.shared); err != nil {
			return err
		}
		latest := filepath.Join(e.runsDir(), "latest")
		for virtual, real := range map[string]string{e.dir: e.dir, latest: latest, e.virtualPath(): e.dir} {
			if err := a.files.attach(real, virtual); err != nil {
				return err
			}
		}
		a.made[e] = true
	}
	return nil
}

// Sandboxes writes the agent's sandboxes to disk if they are not yet (they
// are written on first use) and describes them, running executors first.
func (a *Agent) Sandboxes() ([]Sandbox, error) {
	if err := a.prepare(); err != nil {
		return nil, err
	}
	a.c.mu.RLock()
	defer a.c.mu.RUnlock()
	var out []Sandbox
	for _, e := range append(append([]*executor(nil), a.executors...), a.completed...) {
		out = append(out, Sandbox{
			FrameworkID: e.fw.id,
			ExecutorID:  e.taskID,
			TaskID:      e.taskID,
			Running:     e.running(),
			Directory:   e.dir,
			VirtualPath: e.virtualPath(),
		})
	}
	return out, nil
}
