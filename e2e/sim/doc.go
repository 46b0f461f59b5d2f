// Package sim runs a simulated Apache Mesos cluster on loopback: masters,
// agents and framework web UIs that speak real HTTP and real TLS, for
// tests of the gateway and for `mesosgate sim` and `mesosgate demo`.
//
// It reproduces what a gateway depends on, from the Mesos sources: a
// leader and standbys (a standby answers 307 with a protocol-relative
// Location, /master/redirect, 503 without a leader), /master/state and
// /master/state-summary with leader_info, slaves[].pid and
// frameworks[].webui_url, the v1 SUBSCRIBE RecordIO stream, agents'
// /slave(1)/state with each executor's sandbox directory, /files/browse,
// read and download over real sandboxes on disk, JSONP wherever Mesos has
// it, basic authentication with Mesos's realms, and a WebUI that reaches
// members with the stock WebUI's URL mechanics ("//hostname:port/..." via
// JSONP script tags, download hrefs, a pop-up log viewer).
//
// # Starting a cluster
//
//	c, err := sim.Start(sim.Options{
//		Masters: 3,                                   // the first leads
//		Modes:   []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL},
//	})
//	if err != nil { ... }
//	defer c.Close()
//	leader := c.Leader()
//	resp, err := http.Get(leader.URL() + "/master/state")
//
// Options' zero value works: one plain master, no agents, the default
// frameworks (DefaultFrameworks), a temporary directory removed by Close.
// Modes and MasterModes give each member its mode; a shorter list repeats
// its last entry, and Modes alone says how many agents start.
//
// # Modes and certificates
//
// A Mode is one of the four SSL set-ups of a migration: Plain,
// Downgrade (TLS and plain on one port), SSL (TLS only) and SSLClientCert
// (TLS only, client certificate required). Mode.Settings gives the
// tlsx.Settings it stands for; members apply them through tlsx exactly as
// a libprocess process would, with libprocess's default cipher list
// (MemberCiphers: RSA key exchange AES-CBC suites on TLS 1.2) and TLS 1.3
// off. Every SSL member presents one shared RSA certificate signed by the
// cluster's CA (PKI): trust Cluster.CAFile, and present
// Cluster.ClientCertFiles to SSLClientCert members.
//
// # Members
//
// Masters and agents embed *Member, and a framework's web UI is one
// (Framework.UI): Addr is "127.0.0.1:port", Hostname the advertised name ("localhost" unless
// Options.Hostname says otherwise), URL "scheme://hostname:port" with the
// scheme the member speaks. Stop kills a member (connections break); Restart
// and RestartWith start it again on the same port with other settings
// while the rest keeps running, as in a rolling upgrade:
//
//	a := c.Agents()[0]
//	a.Restart(sim.Downgrade) // phase 1
//	a.Restart(sim.SSL)       // phase 2
//
// Cluster.SetLeader moves leadership (nil: no leader); AddAgent and
// RemoveAgent, AddFramework and RemoveFramework change the cluster and
// send the matching SUBSCRIBE events (AGENT_ADDED, AGENT_REMOVED,
// FRAMEWORK_ADDED, FRAMEWORK_REMOVED; stopping or restarting a framework's
// UI sends FRAMEWORK_UPDATED, as its scheduler disconnects or reregisters).
//
// # ZooKeeper
//
// With Options.ZK ("zk://127.0.0.1:2181/mesos") every master registers in
// that ZooKeeper group as a Mesos master does: an ephemeral sequential
// json.info_ znode (info_ protobuf with ZKProtobuf, as Mesos 0.23)
// holding its MasterInfo, on a session of its own. The leader is then
// whoever ZooKeeper elects, the lowest sequence: Master.EndSession ends a
// master's session (the next master leads, the old one joins again
// behind), Stop leaves the group and a start joins it at the end, and
// SetLeader works through ZooKeeper too.
//
// # Sandboxes
//
// Each agent runs one command-executor task of the frameworks in turn, and
// each framework has one finished task on some agent, each with a sandbox
// under
// Cluster.Dir: stdout, stderr, conf/app.conf, a binary file (BinaryFile)
// and a large file (LargeFile, Options.LargeFileSize bytes of numbered
// lines, see LargeFileLine). Sandboxes are written on first use (any /files
// request to the agent, or Agent.Sandboxes), so ten thousand agents start
// without touching the disk; the large file is written once and hard
// linked. As in Mesos, /files serves only attached paths: the executor
// directory, its runs/latest link, /frameworks/<id>/executors/<id>/runs/latest
// and the agent's log at /slave/log (a master's at /master/log).
//
// # Framework UIs
//
// A framework's UI is a plain HTTP app under its webui_url's path, with
// what a gateway must carry through (see Framework): root-relative,
// absolute and relative links, redirects, a cookie with a Path, an event
// stream, a long poll and a WebSocket.
//
// # Authentication
//
// With Options.Auth, members demand HTTP basic credentials on the
// endpoints Mesos authenticates and answer 401 with Mesos's realms
// (RealmMasterReadOnly, ...); /health, /redirect, /version and the WebUI's
// files stay open, as in Mesos.
//
// # Browsers
//
// Members record requests that reach them straight from a browser (no
// X-Forwarded-For, a "Mozilla/" User-Agent): Cluster.DirectRequests lets a
// browser test through a gateway assert, from the members' side, that the
// browser never talked to a member. Options.Observe sees every request a
// member receives, for tests that check what a gateway passed on.
//
// The leader (any master, in fact) serves a WebUI at "/": the simulator's
// own small page set, or with Options.WebUIDir a real Mesos src/webui
// directory of any release from 0.23, at the paths that release's master
// serves it (package webui), which renders against the simulated cluster.
// Members answer what every release's WebUI asks: the ".json" names of
// 0.23 and 0.24 (state.json, statistics.json, files/browse.json, ...),
// /monitor/statistics as 0.28 reads it, /slave(1)/... and JSONP
// everywhere; with the WebUI of 0.23 to 0.28 standbys answer their own
// state, as masters before 1.0 did, and the WebUI moves to
// /master/redirect. The simulator's own WebUI routes as AngularJS 1.2's
// hashbang mode does (routes resolved through an anchor element), so a
// gateway that changes what a page reads back breaks it as it breaks the
// stock WebUI.
//
// # Scale
//
// A member costs one listening socket and a goroutine or two; certificates
// are shared and sandboxes lazy, so ten thousand agents fit in one process
// within a 20,000 open-file limit (see BenchmarkStart).
package sim
