package rewrite

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// benchAgent is the agent the benchmark pages link to.
const benchAgent = "agent-17.mesos.example.com:5051"

// benchTable is a cluster of 3 masters and 2,000 agents.
func benchTable() Table {
	t := Table{Members: []Member{
		{Addresses: []string{"master-1.mesos.example.com:5050", "10.0.0.1:5050"}, Prefix: "/", Scheme: "http"},
		{Addresses: []string{"master-2.mesos.example.com:5050", "10.0.0.2:5050"}, Prefix: "/gateway/masters/master-2.mesos.example.com:5050", Scheme: "http"},
		{Addresses: []string{"master-3.mesos.example.com:5050", "10.0.0.3:5050"}, Prefix: "/gateway/masters/master-3.mesos.example.com:5050", Scheme: "http"},
	}}
	for i := range 2000 {
		t.Members = append(t.Members, Member{
			Addresses: []string{fmt.Sprintf("agent-%d.mesos.example.com:5051", i), fmt.Sprintf("10.1.%d.%d:5051", i/250, i%250)},
			Prefix:    fmt.Sprintf("/agent/1c7f4a3e-25e1-4f5b-9d53-0e2c6c7d8a90-S%d", i),
			Scheme:    "https",
		})
	}
	return t
}

// listingPage returns about 1 MB of a sandbox listing as the Mesos WebUI
// renders agent-browse.html into the DOM (and as a saved or server-rendered
// copy of it arrives): one row per file, each with a link to read it and a
// link to download it, both //host:port/files/... on the agent.
func listingPage() []byte {
	var b bytes.Buffer
	b.WriteString(`<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Mesos</title>
    <link href="assets/css/bootstrap-3.3.6.min.css" rel="stylesheet">
  </head>
  <body>
    <div class="row" id="listing">
      <div class="col-md-9">
        <div class="well">
          <table class="table table-condensed">
            <thead>
              <tr><th>mode</th><th class="text-right">nlink</th><th>uid</th><th>gid</th><th class="text-right">size</th><th class="text-right">mtime</th><th></th><th></th></tr>
            </thead>
            <tbody>
`)
	sandbox := "/var/lib/mesos/slaves/1c7f4a3e-25e1-4f5b-9d53-0e2c6c7d8a90-S17/frameworks/1c7f4a3e-25e1-4f5b-9d53-0e2c6c7d8a90-0000/executors/thermos-www-data-prod-hello-0-9d3c/runs/latest/sandbox"
	for i := 0; b.Len() < 1<<20; i++ {
		name := fmt.Sprintf("part-%05d.log", i)
		path := url.QueryEscape(sandbox + "/" + name)
		fmt.Fprintf(&b, `              <tr ng-repeat="file in listing | orderBy:['-mode', 'path']" class="ng-scope">
                <td class="ng-binding">-rw-r--r--</td>
                <td class="text-right ng-binding">1</td>
                <td class="ng-binding">root</td>
                <td class="ng-binding">root</td>
                <td class="text-right ng-binding">%d KB</td>
                <td class="text-right ng-binding">Nov 23 08:%02d</td>
                <td>
                  <span data-ng-show="file.mode[0] != 'd'">
                    <i class="glyphicon glyphicon-file" style="visibility: hidden;"></i>
                    <a href="//%s/files/read?path=%s&amp;offset=0" class="ng-binding">%s</a>
                  </span>
                </td>
                <td>
                  <a data-ng-show="file.mode[0] != 'd'" href="//%s/files/download?path=%s">
                    <button class="btn btn-xs btn-default" type="button">Download</button>
                  </a>
                </td>
              </tr>
`, 10+i%900, i%60, benchAgent, path, name, benchAgent, path)
	}
	b.WriteString("            </tbody>\n          </table>\n        </div>\n      </div>\n    </div>\n  </body>\n</html>\n")
	return b.Bytes()
}

// indexPage returns a WebUI-like index page: stylesheets, the scripts of
// an AngularJS application, a navigation bar and templates.
func indexPage() []byte {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en" ng-app="mesos">
  <head>
    <meta charset="utf-8">
    <title>Mesos</title>
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
`)
	for _, css := range []string{"bootstrap-3.3.6.min.css", "bootstrap-table-1.11.1.min.css", "mesos.css"} {
		fmt.Fprintf(&b, "    <link href=\"assets/css/%s\" rel=\"stylesheet\">\n", css)
	}
	b.WriteString(`    <link rel="shortcut icon" href="assets/ico/favicon.ico">
    <style>
      .navbar-brand { background: url("/assets/img/mesos-logo.png") no-repeat; }
      @import "/assets/css/print.css" print;
    </style>
  </head>
  <body>
    <div data-ng-show="doneLoading" style="width: 75px; margin: 0 auto; text-align: center;">
      <img src="assets/img/loading.gif" height="64" width="64" alt="">
    </div>
    <div ng-controller="MainCtrl">
      <header class="navbar navbar-inverse navbar-fixed-top" role="navigation">
        <div class="container-fluid">
          <a class="navbar-brand" href="#/"><img src="assets/img/mesos-logo.png" alt="Apache Mesos"></a>
          <ul class="nav navbar-nav">
`)
	for _, tab := range []string{"frameworks", "agents", "roles", "offers", "maintenance"} {
		fmt.Fprintf(&b, "            <li data-ng-class=\"{active: (navbarActiveTab === '%s')}\"><a href=\"#/%s\">%s</a></li>\n", tab, tab, tab)
	}
	b.WriteString("          </ul>\n        </div>\n      </header>\n      <div class=\"container-fluid\">\n")
	for i := range 40 {
		fmt.Fprintf(&b, `        <div class="row"><div class="col-md-3"><a href="//master-1.mesos.example.com:5050/master/redirect">Leader</a>
          <a href="//agent-%d.mesos.example.com:5051/slave(1)/state">Agent %d</a> <span class="ng-binding">{{state.cluster}}</span></div></div>
`, i, i)
	}
	b.WriteString("        <div data-ng-view></div>\n      </div>\n    </div>\n")
	for _, js := range []string{"jquery-3.6.0.min.js", "underscore-1.4.3.min.js", "angular-1.2.32.min.js", "angular-route-1.2.32.min.js", "ui-bootstrap-tpls-0.9.0.min.js", "relative-date.js", "d3.min.js"} {
		fmt.Fprintf(&b, "    <script src=\"assets/libs/%s\"></script>\n", js)
	}
	b.WriteString(`    <script src="app/app.js"></script>
    <script src="app/controllers.js"></script>
    <script>
      // The WebUI builds //host:port URLs at run time; the runtime maps them.
      var leader = '//' + location.host;
      if (a < b && c > d) { document.title = "</b>"; }
    </script>
  </body>
</html>
`)
	return []byte(b.String())
}

// onlyReader hides a reader's WriterTo, so io.CopyBuffer copies through
// its buffer the way httputil.ReverseProxy copies a body.
type onlyReader struct{ io.Reader }

// BenchmarkRewrite measures the HTML rewriter against copying the same
// bytes unchanged and against the bare x/net/html tokenizer, on a 1 MB
// sandbox listing and a WebUI-like index page:
//
//	go test -run '^$' -bench Rewrite -benchmem -cpu 1 ./rewrite/
func BenchmarkRewrite(b *testing.B) {
	m := NewMapper(benchTable(), Options{})
	page := Page{Prefix: "/agent/1c7f4a3e-25e1-4f5b-9d53-0e2c6c7d8a90-S17", Scheme: "https"}
	for _, pg := range []struct {
		name string
		html []byte
	}{{"listing", listingPage()}, {"index", indexPage()}} {
		buf := make([]byte, 32<<10)
		b.Run(pg.name+"/copy", func(b *testing.B) {
			b.SetBytes(int64(len(pg.html)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := io.CopyBuffer(io.Discard, onlyReader{bytes.NewReader(pg.html)}, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(pg.name+"/tokenize", func(b *testing.B) {
			// The x/net/html tokenizer alone, passing every token's Raw
			// bytes through: what a rewriter that tokenized everything
			// could reach at best.
			b.SetBytes(int64(len(pg.html)))
			b.ReportAllocs()
			for b.Loop() {
				z := html.NewTokenizer(onlyReader{bytes.NewReader(pg.html)})
				for z.Next() != html.ErrorToken {
					io.Discard.Write(z.Raw())
				}
			}
		})
		b.Run(pg.name+"/rewrite", func(b *testing.B) {
			b.SetBytes(int64(len(pg.html)))
			b.ReportAllocs()
			for b.Loop() {
				r := newHTMLReader(m.context(page), bytes.NewReader(pg.html))
				if _, err := io.CopyBuffer(io.Discard, onlyReader{r}, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNewMapper builds the mapper of a cluster of 10,000 agents, as
// the server does whenever the cluster changes.
func BenchmarkNewMapper(b *testing.B) {
	t := Table{}
	for i := range 10_000 {
		t.Members = append(t.Members, Member{
			Addresses: []string{fmt.Sprintf("agent-%d.mesos.example.com:5051", i), fmt.Sprintf("10.%d.%d.%d:5051", i/65536, i/256%256, i%256)},
			Prefix:    fmt.Sprintf("/agent/1c7f4a3e-25e1-4f5b-9d53-0e2c6c7d8a90-S%d", i),
			Scheme:    "https",
		})
	}
	b.ReportAllocs()
	for b.Loop() {
		NewMapper(t, Options{})
	}
}

// BenchmarkMap maps one URL naming an agent of a 2,000-agent cluster.
func BenchmarkMap(b *testing.B) {
	m := NewMapper(benchTable(), Options{})
	c := m.context(Page{Prefix: "/agent/x"})
	u := []byte("//agent-1999.mesos.example.com:5051/files/download?path=%2Fvar%2Flog")
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst, _, _ = c.mapURL(dst[:0], u)
	}
}
