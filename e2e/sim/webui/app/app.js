// The simulated cluster's WebUI. It is small and has no dependencies, but
// it reaches the cluster exactly the way the stock Mesos WebUI does, so a
// gateway in front of it meets the same URLs:
//
//  - state and metrics are read with JSONP, through <script> elements whose
//    src is set and which are appended to <body> (AngularJS's $http.jsonp),
//    first from the page's own origin ("/master/state?jsonp=..."), then from
//    the leader named in leader_info ("//hostname:port/master/state?...");
//  - an agent is reached at "//hostname:port", the port taken from its pid
//    ("slave(1)@ip:port"): "//host:port/slave(1)/state?jsonp=...",
//    "//host:port/files/browse?jsonp=...&path=...";
//  - download links are anchors whose href attribute is set to
//    "//host:port/files/download?path=..." (AngularJS interpolation);
//  - the log viewer is a window.open of app/shared/pailer.html, handed the
//    "//host:port/files/read?path=..." URL through localStorage;
//  - framework names link to their webui_url;
//  - routes are resolved as AngularJS 1.2's hashbang $location does: the
//    route in the fragment ("#/agents") goes through an anchor element
//    (href set to "/agents", pathname and search read back), links to the
//    page itself are caught on click and parsed from their href, and a
//    path that matches no route goes back to "#/". A page whose runtime
//    changes what an anchor reads back breaks here as the stock WebUI does.
(function () {
  'use strict';

  // ---- JSONP, the AngularJS way ------------------------------------------

  var callbacks = window.simCallbacks = {};
  var nextCallback = 0;

  // jsonp loads url (which carries "jsonp=JSON_CALLBACK") through a script
  // element and resolves with the data it calls back with.
  function jsonp(url) {
    return new Promise(function (resolve, reject) {
      var id = '_' + (nextCallback++).toString(36);
      var script = document.createElement('script');
      var done = false;
      callbacks[id] = function (data) { done = true; resolve(data); };
      function cleanup(ok) {
        script.removeEventListener('load', onLoad);
        script.removeEventListener('error', onError);
        if (script.parentNode) { script.parentNode.removeChild(script); }
        delete callbacks[id];
        if (!ok || !done) { reject(new Error('request failed: ' + url)); }
      }
      function onLoad() { cleanup(true); }
      function onError() { cleanup(false); }
      script.type = 'text/javascript';
      script.src = url.replace('JSON_CALLBACK', 'simCallbacks.' + id);
      script.async = true;
      script.addEventListener('load', onLoad);
      script.addEventListener('error', onError);
      document.body.appendChild(script);
    });
  }

  // ---- URLs, as controllers.js builds them --------------------------------

  function agentURLPrefix(agent, includeProcessId) {
    var port = agent.pid.substring(agent.pid.lastIndexOf(':') + 1);
    var processId = agent.pid.substring(0, agent.pid.indexOf('@'));
    var url = '//' + agent.hostname + ':' + port;
    if (includeProcessId) { url += '/' + processId; }
    return url;
  }

  function leadingMasterURLPrefix(leaderInfo) {
    if (leaderInfo) { return '//' + leaderInfo.hostname + ':' + leaderInfo.port; }
    return ''; // the first time: the page's own master
  }

  // pailer opens the log viewer on urlPrefix + /files/read?path=<path>;
  // path is used as given (callers encode it or not, as the stock UI does).
  function pailer(urlPrefix, path, title) {
    var url = urlPrefix + '/files/read?path=' + path;
    var storageKey = Math.random().toString(36).substr(2, 8);
    localStorage.setItem(storageKey, url);
    var win = window.open('app/shared/pailer.html', storageKey, 'width=580px, height=700px');
    if (win) {
      win.onload = function () { win.document.title = title; };
    }
  }

  // ---- Rendering helpers ----------------------------------------------------

  // h builds an element. Attributes go through setAttribute, as AngularJS
  // interpolation does; children are nodes or text.
  function h(tag, attrs) {
    var el = document.createElement(tag);
    var key;
    for (key in attrs || {}) {
      if (!attrs.hasOwnProperty(key) || attrs[key] == null) { continue; }
      if (key.indexOf('on') === 0) { el.addEventListener(key.substring(2), attrs[key]); }
      else { el.setAttribute(key, attrs[key]); }
    }
    for (var i = 2; i < arguments.length; i++) { append(el, arguments[i]); }
    return el;
  }

  function append(el, child) {
    if (child == null || child === false) { return; }
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(child.nodeType ? child : document.createTextNode(String(child)));
  }

  function table(headers, rows, empty) {
    if (!rows.length) { return h('p', { 'class': 'empty' }, empty); }
    return h('table', { 'class': 'table' },
      h('thead', null, h('tr', null, headers.map(function (x) { return h('th', null, x); }))),
      h('tbody', null, rows.map(function (r) { return h('tr', null, r.map(function (c) { return h('td', null, c); })); })));
  }

  function card(title) {
    var body = Array.prototype.slice.call(arguments, 1);
    return h('section', { 'class': 'card' }, h('h2', null, title), body);
  }

  function dl(pairs) {
    return h('dl', { 'class': 'facts' }, pairs.map(function (p) { return [h('dt', null, p[0]), h('dd', null, p[1])]; }));
  }

  function badge(state) {
    var s = String(state || '').replace(/^TASK_/, '');
    var kind = { RUNNING: 'ok', ACTIVE: 'ok', FINISHED: 'done', KILLED: 'warn', FAILED: 'bad', LOST: 'bad' }[s.toUpperCase()] || 'info';
    return h('span', { 'class': 'badge ' + kind }, s);
  }

  function mem(mb) {
    var bytes = (mb || 0) * 1024 * 1024;
    var units = ['B', 'KB', 'MB', 'GB', 'TB'];
    var i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
    return (i >= 3 ? bytes.toFixed(1) : bytes.toFixed(0)) + ' ' + units[i];
  }

  function size(bytes) { return mem(bytes / (1024 * 1024)); }

  function num(x) { return Math.round((x || 0) * 100) / 100; }

  function when(secs) {
    if (!secs) { return '-'; }
    return new Date(secs * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }

  function shortID(id) {
    var parts = String(id).split('-');
    return parts.length > 4 ? '\u2026' + parts.slice(4).join('-') : id;
  }

  function basename(path) {
    if (path === '/') { return path; }
    path = path.replace(/\/$/, '');
    return path.substr(path.lastIndexOf('/') + 1);
  }

  // ---- State --------------------------------------------------------------

  var app = { state: null, metrics: {}, agents: {}, frameworks: {}, delay: 2000, error: null };

  function updateInterval(numAgents) {
    if (numAgents < 500) { return 10000; }
    if (numAgents < 1000) { return 20000; }
    if (numAgents < 5000) { return 60000; }
    return 120000;
  }

  function setState(state) {
    app.state = state;
    app.agents = {};
    app.frameworks = {};
    (state.slaves || []).forEach(function (a) { app.agents[a.id] = a; });
    (state.frameworks || []).concat(state.completed_frameworks || []).forEach(function (f) { app.frameworks[f.id] = f; });
  }

  function pollState() {
    var leader = app.state ? app.state.leader_info : null;
    jsonp(leadingMasterURLPrefix(leader) + '/master/state?jsonp=JSON_CALLBACK').then(function (state) {
      app.error = null;
      setState(state);
      render();
      setTimeout(pollState, updateInterval(Object.keys(app.agents).length));
    }, function () {
      var where = leader ? leader.hostname + ':' + leader.port : location.host;
      app.error = 'Failed to connect to ' + where + '! Retrying in ' + app.delay / 1000 + ' seconds...';
      renderAlerts();
      setTimeout(pollState, app.delay);
      app.delay = Math.min(app.delay * 2, 32000);
    });
  }

  function pollMetrics() {
    var leader = app.state ? app.state.leader_info : null;
    jsonp(leadingMasterURLPrefix(leader) + '/metrics/snapshot?jsonp=JSON_CALLBACK').then(function (m) {
      app.metrics = m;
      if (route().name === 'home') { render(); }
      setTimeout(pollMetrics, updateInterval(Object.keys(app.agents).length));
    }, function () { setTimeout(pollMetrics, app.delay); });
  }

  // ---- Routing ----------------------------------------------------------------

  // urlResolve is AngularJS 1.2's (angular.js): it resolves url through
  // an anchor element and reads the parts back.
  var urlParsingNode = document.createElement('a');
  function urlResolve(url) {
    urlParsingNode.setAttribute('href', url);
    var p = urlParsingNode.pathname;
    return { href: urlParsingNode.href, pathname: p.charAt(0) === '/' ? p : '/' + p, search: urlParsingNode.search.replace(/^\?/, '') };
  }

  // routeErrors records the routes that matched nothing (a test fails on
  // them; AngularJS threw "Cannot read properties of undefined (reading
  // 'originalPath')" there).
  var routeErrors = window.simRouteErrors = [];

  // location parses the fragment as $location's hashbang mode does
  // (parseAppUrl): "#/agents/<id>/browse?path=..." is resolved as the
  // URL "/agents/<id>/browse?path=...".
  function appLocation() {
    var rel = location.hash.replace(/^#/, '') || '/';
    if (rel.charAt(0) !== '/') { rel = '/' + rel; }
    var match = urlResolve(rel);
    var search = {};
    match.search.split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      if (i > 0) { search[decodeURIComponent(kv.substring(0, i))] = decodeURIComponent(kv.substring(i + 1).replace(/\+/g, ' ')); }
    });
    return { path: decodeURIComponent(match.pathname), search: search };
  }

  // route matches the location against the routes (app.js of the stock
  // WebUI); a path that matches none is an error, and goes to "/".
  function route() {
    var loc = appLocation(), search = loc.search;
    var p = loc.path.split('/').slice(1);
    if (loc.path === '/') { return { name: 'home' }; }
    if (p[0] === 'agents' && p.length === 1) { return { name: 'agents' }; }
    if (p[0] === 'agents' && p.length === 2) { return { name: 'agent', agent: p[1] }; }
    if (p[0] === 'agents' && p[2] === 'browse' && p.length === 3) { return { name: 'browse', agent: p[1], path: search.path }; }
    if (p[0] === 'agents' && p[2] === 'frameworks' && p[4] === 'executors' && p[6] === 'browse' && p.length === 7) {
      return { name: 'reroute', agent: p[1], framework: p[3], executor: p[5] };
    }
    if (p[0] === 'frameworks' && p.length === 1) { return { name: 'frameworks' }; }
    if (p[0] === 'frameworks' && p.length === 2) { return { name: 'framework', framework: p[1] }; }
    routeErrors.push(loc.path);
    if (window.console) { console.error('no route for ' + loc.path + ' (from ' + location.hash + '): going to #/'); }
    location.replace('#/');
    return { name: 'home' };
  }

  // AngularJS's $location catches clicks on links to the page itself
  // (its root element's click handler): it reads the link's href, and
  // when it names this page, parses the route from it instead of letting
  // the browser follow it.
  document.documentElement.addEventListener('click', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.which === 2 || ev.defaultPrevented) { return; }
    var a = ev.target.closest ? ev.target.closest('a') : null;
    if (!a || a.getAttribute('target')) { return; }
    var abs = a.href, base = location.href.replace(/#.*/, '');
    if (!abs || abs.replace(/#.*/, '') !== base) { return; }
    ev.preventDefault();
    var hash = abs.indexOf('#') < 0 ? '' : abs.substring(abs.indexOf('#'));
    if (hash !== location.hash) { location.hash = hash; }
  });

  // Pages that load from an agent render once per visit, not per poll.
  var rendered = null;

  function render() {
    renderHeader();
    renderAlerts();
    if (!app.state) { return; }
    var r = route();
    var key = JSON.stringify(r);
    var view = document.getElementById('view');
    var pages = { home: home, agents: agents, agent: agent, browse: browse, reroute: reroute, frameworks: frameworks, framework: framework };
    if (r.name in { agent: 1, browse: 1, reroute: 1 } && rendered === key) { return; }
    rendered = key;
    var content = pages[r.name](r);
    view.textContent = '';
    append(view, content);
    document.querySelectorAll('header nav a').forEach(function (a) {
      a.classList.toggle('active', r.name.indexOf(a.getAttribute('data-tab')) === 0);
    });
  }

  function renderHeader() {
    var el = document.getElementById('cluster');
    el.textContent = app.state && app.state.cluster ? app.state.cluster : '';
  }

  function renderAlerts() {
    var el = document.getElementById('alerts');
    el.textContent = '';
    if (app.state && !app.state.leader) { append(el, h('div', { 'class': 'alert' }, 'No master is currently leading ...')); }
    if (app.error) { append(el, h('div', { 'class': 'alert' }, app.error)); }
  }

  function alert(message) { return h('div', { 'class': 'alert' }, message); }

  // ---- Pages ------------------------------------------------------------------

  function totals() {
    var t = { cpus: 0, mem: 0, disk: 0, ucpus: 0, umem: 0, udisk: 0 };
    app.state.slaves.forEach(function (a) {
      t.cpus += a.resources.cpus; t.mem += a.resources.mem; t.disk += a.resources.disk;
      t.ucpus += a.used_resources.cpus; t.umem += a.used_resources.mem; t.udisk += a.used_resources.disk;
    });
    return t;
  }

  function home() {
    var s = app.state, m = app.metrics, t = totals();
    var leader = s.leader_info;
    var prefix = leadingMasterURLPrefix(leader);
    var leaderLink = leader ? h('a', { href: '//' + leader.hostname + ':' + leader.port }, leader.hostname + ':' + leader.port) : '(Unknown)';
    var logButtons = s.flags && (s.flags.external_log_file || s.flags.log_dir) ? h('p', { 'class': 'buttons' },
      h('a', { 'class': 'button', href: prefix + '/files/download?path=/master/log' }, 'Download log'),
      h('button', { type: 'button', onclick: function () { pailer(prefix, '/master/log', 'Mesos Master (' + location.host + ')'); } }, 'View log')) : null;
    var running = Object.keys(app.frameworks).map(function (id) { return app.frameworks[id]; }).filter(function (f) { return f.active; });
    return [
      h('h1', null, 'Master ', h('small', null, s.id)),
      h('div', { 'class': 'grid' },
        card('Cluster', dl([
          ['Cluster', s.cluster || '(Unnamed)'], ['Leader', leaderLink], ['Version', s.version],
          ['Built', when(s.build_time) + ' by ' + s.build_user], ['Started', when(s.start_time)], ['Elected', when(s.elected_time)]
        ]), logButtons),
        card('Agents', dl([['Activated', s.activated_slaves], ['Deactivated', s.deactivated_slaves], ['Unreachable', s.unreachable_slaves]])),
        card('Tasks', dl([
          ['Staging', m['master/tasks_staging']], ['Starting', m['master/tasks_starting']], ['Running', m['master/tasks_running']],
          ['Killing', m['master/tasks_killing']], ['Finished', m['master/tasks_finished']], ['Killed', m['master/tasks_killed']],
          ['Failed', m['master/tasks_failed']], ['Lost', m['master/tasks_lost']]
        ].map(function (p) { return [p[0], p[1] == null ? '-' : p[1]]; }))),
        card('Resources', table(['', 'CPUs', 'Mem', 'Disk'], [
          ['Total', num(t.cpus), mem(t.mem), mem(t.disk)],
          ['Used', num(t.ucpus), mem(t.umem), mem(t.udisk)],
          ['Idle', num(t.cpus - t.ucpus), mem(t.mem - t.umem), mem(t.disk - t.udisk)]
        ], ''))),
      card('Active frameworks', frameworkTable(running)),
      card('Active tasks', taskTable(activeTasks()))
    ];
  }

  function activeTasks() {
    var out = [];
    app.state.frameworks.forEach(function (f) { out = out.concat(f.tasks); });
    return out;
  }

  function webUILink(f) {
    return f.webui_url ? h('a', { 'class': 'webui', href: f.webui_url, target: '_blank', rel: 'noopener' }, 'Web UI') : '-';
  }

  function frameworkTable(list) {
    return table(['ID', 'Name', 'Web UI', 'Role', 'Tasks', 'CPUs', 'Mem', 'Registered'], list.map(function (f) {
      return [h('a', { href: '#/frameworks/' + f.id, title: f.id }, shortID(f.id)), f.name, webUILink(f), f.role,
        f.tasks.length, num(f.used_resources.cpus), mem(f.used_resources.mem), when(f.registered_time)];
    }), 'No frameworks.');
  }

  function taskTable(tasks) {
    return table(['ID', 'Name', 'State', 'Framework', 'Host', 'Sandbox'], tasks.map(function (t) {
      var a = app.agents[t.slave_id];
      var executor = t.executor_id || t.id;
      return [t.id, t.name, badge(t.state), h('a', { href: '#/frameworks/' + t.framework_id }, shortID(t.framework_id)),
        a ? h('a', { href: '#/agents/' + a.id }, a.hostname) : t.slave_id,
        a ? h('a', { 'class': 'sandbox', href: '#/agents/' + a.id + '/frameworks/' + t.framework_id + '/executors/' + executor + '/browse' }, 'Sandbox') : '-'];
    }), 'No tasks.');
  }

  function agents() {
    var list = app.state.slaves;
    return [h('h1', null, 'Agents'), card(list.length + ' agents', table(
      ['ID', 'Host', 'Pid', 'CPUs', 'Mem', 'Disk', 'State', 'Registered'], list.map(function (a) {
        return [h('a', { 'class': 'agent', href: '#/agents/' + a.id, title: a.id }, shortID(a.id)), a.hostname, a.pid,
          num(a.used_resources.cpus) + ' / ' + num(a.resources.cpus), mem(a.used_resources.mem) + ' / ' + mem(a.resources.mem),
          mem(a.resources.disk), badge(a.active ? 'active' : 'deactivated'), when(a.registered_time)];
      }), 'No agents are registered.'))];
  }

  function agent(r) {
    var a = app.agents[r.agent];
    if (!a) { return alert('No agent found with ID: ' + r.agent); }
    var box = h('div', null, h('p', { 'class': 'loading' }, 'Loading the agent\u2019s state from ' + agentURLPrefix(a, false) + '\u2026'));
    var base = agentURLPrefix(a, true);
    Promise.all([
      jsonp(base + '/state?jsonp=JSON_CALLBACK'),
      jsonp(base + '/monitor/statistics?jsonp=JSON_CALLBACK'),
      jsonp(agentURLPrefix(a, false) + '/metrics/snapshot?jsonp=JSON_CALLBACK')
    ]).then(function (res) {
      var st = res[0], stats = res[1], m = res[2];
      var usage = {};
      stats.forEach(function (s) { usage[s.executor_id] = s.statistics; });
      var rows = [];
      st.frameworks.concat(st.completed_frameworks).forEach(function (f) {
        f.executors.concat(f.completed_executors).forEach(function (e) {
          var t = e.tasks[0] || e.completed_tasks[0] || {};
          var u = usage[e.id];
          rows.push([f.name, e.id, badge(t.state), num(e.resources.cpus), mem(e.resources.mem),
            u ? size(u.mem_rss_bytes) : '-',
            h('a', { 'class': 'sandbox', href: '#/agents/' + a.id + '/browse?path=' + encodeURIComponent(e.directory) }, 'Sandbox')]);
        });
      });
      box.textContent = '';
      append(box, [
        h('div', { 'class': 'grid' },
          card('Agent', dl([['Hostname', st.hostname], ['Pid', st.pid], ['Master', st.master_hostname || '-'], ['Version', st.version], ['Started', when(st.start_time)]]),
            st.log_dir ? h('p', { 'class': 'buttons' },
              h('a', { 'class': 'button', href: agentURLPrefix(a, false) + '/files/download?path=/slave/log' }, 'Download log'),
              h('button', { type: 'button', onclick: function () { pailer(agentURLPrefix(a, false), '/slave/log', 'Mesos Agent (' + a.id + ')'); } }, 'View log')) : null),
          card('Tasks', dl([['Running', m['slave/tasks_running']], ['Finished', m['slave/tasks_finished']], ['Killed', m['slave/tasks_killed']], ['Failed', m['slave/tasks_failed']]])),
          card('Resources', table(['', 'CPUs', 'Mem', 'Disk'], [
            ['Total', num(st.resources.cpus), mem(st.resources.mem), mem(st.resources.disk)],
            ['Allocated', num(st.unreserved_resources_allocated.cpus), mem(st.unreserved_resources_allocated.mem), mem(st.unreserved_resources_allocated.disk)]
          ], ''))),
        card('Executors', table(['Framework', 'Executor', 'State', 'CPUs', 'Mem', 'Mem used', ''], rows, 'No executors.'))
      ]);
    }, function (err) {
      box.textContent = '';
      append(box, alert('Failed to get agent usage / state: ' + err.message));
    });
    return [h('h1', null, 'Agent ', h('small', null, a.id)), box];
  }

  // reroute finds an executor's sandbox directory in the agent's state and
  // goes to it (AgentTaskAndExecutorRerouterCtrl).
  function reroute(r) {
    var a = app.agents[r.agent];
    if (!a) { return alert("Agent with ID '" + r.agent + "' does not exist."); }
    var url = agentURLPrefix(a, true) + '/state?jsonp=JSON_CALLBACK';
    var box = h('p', { 'class': 'loading' }, 'Finding the sandbox\u2026');
    jsonp(url).then(function (st) {
      var match = function (f) { return f.id === r.framework; };
      var f = st.frameworks.filter(match)[0] || st.completed_frameworks.filter(match)[0];
      var e = f && f.executors.concat(f.completed_executors).filter(function (x) { return x.id === r.executor; })[0];
      if (!e) { box.replaceWith(alert("Executor with ID '" + r.executor + "' does not exist on agent with ID '" + r.agent + "'.")); return; }
      location.replace('#/agents/' + a.id + '/browse?path=' + encodeURIComponent(e.directory));
    }, function () { box.replaceWith(alert("Failed to connect to agent '" + r.agent + "' on '" + url + "'.")); });
    return box;
  }

  function browse(r) {
    var a = app.agents[r.agent];
    if (!a) { return alert('No agent found with ID: ' + r.agent); }
    if (!r.path) { return alert('Missing "path" request parameter.'); }
    var prefix = agentURLPrefix(a, false);
    var parts = r.path.split('/');
    var crumbs = h('ol', { 'class': 'crumbs' }, parts.map(function (dir, i) {
      return h('li', null, h('a', { href: '#/agents/' + a.id + '/browse?path=' + encodeURIComponent(parts.slice(0, i + 1).join('/')) }, dir));
    }));
    var box = h('div', null, h('p', { 'class': 'loading' }, 'Loading\u2026'));
    jsonp(prefix + '/files/browse?jsonp=JSON_CALLBACK&path=' + encodeURIComponent(r.path)).then(function (listing) {
      listing.sort(function (x, y) {
        var dx = x.mode[0] === 'd', dy = y.mode[0] === 'd';
        return dx !== dy ? (dx ? -1 : 1) : (x.path < y.path ? -1 : 1);
      });
      box.textContent = '';
      append(box, card('Files', table(['Mode', 'Links', 'UID', 'GID', 'Size', 'Modified', 'Name', ''], listing.map(function (f) {
        var name = basename(f.path);
        var link = f.mode[0] === 'd'
          ? h('a', { 'class': 'dir', href: '#/agents/' + a.id + '/browse?path=' + encodeURIComponent(f.path) }, name + '/')
          : h('a', { 'class': 'file', href: '', onclick: function (ev) {
            ev.preventDefault();
            pailer(prefix, encodeURIComponent(f.path), decodeURIComponent(encodeURIComponent(f.path)) + ' (' + a.id + ')');
          } }, name);
        var download = f.mode[0] === 'd' ? '' : h('a', { 'class': 'button download', href: prefix + '/files/download?path=' + encodeURIComponent(f.path) }, 'Download');
        return [h('code', null, f.mode), f.nlink, f.uid, f.gid, size(f.size), when(f.mtime), link, download];
      }), 'No files in this directory.')));
    }, function () {
      box.textContent = '';
      append(box, alert('Error browsing path: ' + r.path));
    });
    return [h('h1', null, 'Browse ', h('small', null, a.hostname + ':' + prefix.split(':').pop())), crumbs, box];
  }

  function frameworks() {
    var active = app.state.frameworks, done = app.state.completed_frameworks;
    return [h('h1', null, 'Frameworks'), card('Active frameworks', frameworkTable(active)), card('Completed frameworks', frameworkTable(done))];
  }

  function framework(r) {
    var f = app.frameworks[r.framework];
    if (!f) { return alert('No framework found with ID: ' + r.framework); }
    return [
      h('h1', null, f.name, ' ', h('small', null, f.id)),
      h('div', { 'class': 'grid' }, card('Framework', dl([
        ['Name', f.name], ['Web UI', webUILink(f)], ['User', f.user], ['Role', f.role], ['Principal', f.principal || '-'],
        ['Registered', when(f.registered_time)], ['Active tasks', f.tasks.length], ['CPUs', num(f.used_resources.cpus)], ['Mem', mem(f.used_resources.mem)]
      ]))),
      card('Active tasks', taskTable(f.tasks)),
      card('Completed tasks', taskTable(f.completed_tasks))
    ];
  }

  window.addEventListener('hashchange', function () { rendered = null; render(); });
  pollState();
  pollMetrics();
})();
