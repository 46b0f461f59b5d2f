package sim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FrameworkSpec describes a framework to register. The zero value is a
// framework named "framework-<n>" with a web UI at the root of its
// webui_url.
type FrameworkSpec struct {
	// Name is the framework's name; "" means "framework-<n>". Names may
	// repeat, as they can in Mesos.
	Name string
	// NoUI registers the framework without a webui_url (many batch
	// frameworks have none) and starts no UI.
	NoUI bool
	// UIPath is the path the UI serves under and webui_url ends with;
	// "" means "/". It must start and end with "/".
	UIPath string
	// Role is the framework's role; "" means "*".
	Role string
	// User is the user its tasks run as; "" means "root".
	User string
	// WebUIURL, if set, is registered as the framework's webui_url as it
	// is, and no UI is started: what a framework may claim, pointing
	// anywhere (tests of the gateway's address policy). "" means the UI
	// the simulator starts.
	WebUIURL string
	// Handler, if set, answers the requests under the UI path that the
	// UI's own pages (see Framework) do not: a test's pages, scripts and
	// headers, such as a hostile framework UI's. Nil leaves them 404.
	Handler http.Handler
}

// Framework is a registered framework and its web UI: a plain HTTP app on
// its own port (see UI) serving, under the UI path <base> ("/" or, say,
// "/jenkins/"):
//
//	<base>                  HTML: root-relative, absolute and relative links,
//	                        a stylesheet, an image and a script; sets the
//	                        cookie <name>_session with Path=<base>
//	<base>jobs              a second page linking back
//	<base>redirect          302 to the absolute URL of <base>jobs
//	<base>redirect-relative 302 to the root-relative <base>jobs
//	<base>events            text/event-stream, a "tick" event every second
//	<base>poll?after=2m     a long poll: silence, then JSON after the duration
//	                        (&header=first: the header at once, the body after)
//	<base>ws                WebSocket: a greeting, then "echo: <message>"
//	<base>api/info          JSON of what reached the app: path, host, cookie,
//	                        X-Forwarded-For/Proto/Host
//	<base>static/...        app.css, app.js, logo.svg
//	<base>anything else     FrameworkSpec.Handler's, if set
//
// A UI under a path redirects its bare path to the path with a slash.
type Framework struct {
	c          *Cluster
	spec       FrameworkSpec
	index      int
	id         string
	name       string
	registered time.Time
	// ui serves the framework's web UI; nil with NoUI.
	ui *Member
	// listed is set once the framework is in the cluster's list, removed
	// by RemoveFramework; both guarded by c.mu.
	listed, removed bool
}

// ID returns the framework's id ("<master id>-0000", ...).
func (f *Framework) ID() string { return f.id }

// Name returns the framework's name.
func (f *Framework) Name() string { return f.name }

// WebUIURL returns the webui_url the framework registered: "" without a
// UI, else "http://hostname:port" followed by the UI path when it is not
// "/" (Marathon registers "http://host:8080"; a UI under a path, such as
// Jenkins's, registers "http://host:8080/jenkins/").
func (f *Framework) WebUIURL() string {
	if f.spec.WebUIURL != "" {
		return f.spec.WebUIURL
	}
	if f.ui == nil {
		return ""
	}
	u := "http://" + f.ui.HostPort()
	if p := f.uiPath(); p != "/" {
		u += p
	}
	return u
}

// UI returns the member serving the framework's web UI (stop or restart it
// like any member), or nil when the framework has none. While its UI is
// stopped the framework is disconnected and inactive.
func (f *Framework) UI() *Member { return f.ui }

// connected reports whether the framework's scheduler is connected: it
// runs in the same process as its UI.
func (f *Framework) connected() bool { return f.ui == nil || f.ui.Running() }

func (f *Framework) uiPath() string {
	if f.spec.UIPath == "" {
		return "/"
	}
	return f.spec.UIPath
}

func (f *Framework) role() string {
	if f.spec.Role == "" {
		return "*"
	}
	return f.spec.Role
}

func (f *Framework) user() string {
	if f.spec.User == "" {
		return "root"
	}
	return f.spec.User
}

// pid is the scheduler's libprocess pid.
func (f *Framework) pid() string {
	port := 0
	if f.ui != nil {
		port = f.ui.Port()
	}
	return fmt.Sprintf("scheduler-%s@127.0.0.1:%d", f.id[len(f.id)-4:], port)
}

// taskName is the name of the framework's tasks.
func (f *Framework) taskName() string {
	switch f.name {
	case "marathon":
		return "web"
	case "chronos":
		return "nightly-backup"
	case "jenkins":
		return "jenkins-build-agent"
	case "batch":
		return "etl-job"
	}
	return f.name + "-task"
}

// taskResources varies by framework, so the WebUI's numbers differ.
func (f *Framework) taskResources() resources {
	k := float64(1 + f.index%4)
	return resources{CPUs: 0.25 * k, Mem: 128 * k, Disk: 64 * k}
}

// AddFramework registers a framework and starts its UI; SUBSCRIBE streams
// get FRAMEWORK_ADDED. It runs no tasks until agents are added.
func (c *Cluster) AddFramework(spec FrameworkSpec) (*Framework, error) {
	if p := spec.UIPath; p != "" && (!strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/")) {
		return nil, fmt.Errorf("framework UI path %q: give a path that starts and ends with /", p)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errClosed
	}
	f := &Framework{c: c, spec: spec, index: c.nextFW, registered: time.Now()}
	f.id = fmt.Sprintf("%s-%04d", c.masterID, c.nextFW)
	f.name = spec.Name
	if f.name == "" {
		f.name = fmt.Sprintf("framework-%d", c.nextFW)
	}
	c.nextFW++
	c.mu.Unlock()

	if !spec.NoUI && spec.WebUIURL == "" {
		f.ui = newMember(c, RoleFramework, newFrameworkUI(f))
		// The scheduler lives in the UI's process: stopping the UI
		// disconnects the framework and restarting it reregisters.
		f.ui.onChange = func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if f.listed && !f.removed {
				c.publishLocked(frameworkEvent("FRAMEWORK_UPDATED", f))
			}
		}
		if err := f.ui.RestartWith(Plain.Settings(c.pki)); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		if f.ui != nil {
			f.ui.Stop() // Close ran meanwhile and could not see it
		}
		return nil, errClosed
	}
	f.listed = true
	c.frameworks = append(c.frameworks, f)
	c.publishLocked(frameworkEvent("FRAMEWORK_ADDED", f))
	c.mu.Unlock()
	return f, nil
}

// RemoveFramework tears the framework down: its running tasks are killed
// (they stay on their agents as completed), it moves to the masters'
// completed_frameworks, its UI stops, and SUBSCRIBE streams get
// FRAMEWORK_REMOVED.
func (c *Cluster) RemoveFramework(id string) error {
	c.mu.Lock()
	var f *Framework
	for _, x := range c.frameworks {
		if x.id == id && !x.removed {
			f = x
		}
	}
	if f == nil {
		c.mu.Unlock()
		return fmt.Errorf("remove framework %s: no such framework", id)
	}
	f.removed = true
	now := time.Now()
	for _, a := range c.agents {
		var keep []*executor
		for _, e := range a.executors {
			if e.fw == f {
				e.state, e.ended = "TASK_KILLED", now
				a.completed = append(a.completed, e)
			} else {
				keep = append(keep, e)
			}
		}
		a.executors = keep
	}
	c.publishLocked(frameworkRemovedEvent(f))
	c.mu.Unlock()
	if f.ui != nil {
		return f.ui.Stop()
	}
	return nil
}
