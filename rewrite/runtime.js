// mesosgate browser runtime. The gateway injects it first in every HTML page
// it serves, after a JSON element holding the page's prefix and the cluster
// table. It maps the URLs a page builds at run time (JSONP script tags,
// XHR, fetch, links set from templates, pop-ups, forms, ...) with the same
// mapping as the server (rewrite/mapping.go; testdata/mapping.json holds
// the cases both agree on), so the browser never talks to a member
// directly. It never breaks a page: a URL it does not know, a value that
// is not a string, or any error of its own leaves the page's call as it was.
//
// What leaves the page is mapped; what the page reads back about its own
// origin is not. A page served under a prefix (/mesos/, /agent/{id}/,
// /gateway/masters/{host:port}/) must see, for URLs on its own origin, the
// values it would see at "/": AngularJS 1.2 resolves its routes by setting
// an anchor's href to "/agents" and reading its pathname back (urlResolve),
// and a mapped "/mesos/agents" matched none of them. So each hook follows
// one of two rules:
//
//   load: mapped when set, every URL. Script, img, iframe, frame, link,
//     source, track, media, embed, object, input[type=image] and base
//     src/href/data/srcset/poster, style url()s, meta refresh: setting the
//     value may start the request, and what leaves must be mapped by then.
//     Also the calls that send at once: XMLHttpRequest.open, fetch and
//     Request, EventSource, WebSocket, sendBeacon, Audio, window.open,
//     history.pushState/replaceState (the address bar must stay under the
//     prefix).
//   link: anchors' and areas' href, forms' action, buttons' and inputs'
//     formaction. A URL naming a member or a framework UI (another origin,
//     which the page cannot use itself) is mapped when set, so that it also
//     works when copied, dragged or opened from the context menu. A URL on
//     the page's own origin (root-relative "/x", or absolute naming the
//     gateway) stays as the page wrote it, for the page to read back, and
//     is mapped when it is followed: at the end of the click, auxclick
//     (middle button), contextmenu or submit event's dispatch, if no
//     listener cancelled it (so the page's own handlers and routers read
//     what they wrote), or when a listener stops its propagation (the end
//     is then never seen); by form.submit(). The value the page wrote is
//     put back a task later, once the browser has read the mapped one.
//     Keyboard activation of a link is a click.
//
// With --service-domain a framework UI has an origin of its own: links to
// it become absolute URLs there, from any page; on its own pages
// root-relative URLs stay on that origin (nothing is under a prefix) and
// links to members or other UIs name the gateway's origin, which the
// page's configuration carries (page.gateway).
//
// Markup inserted at run time (innerHTML, insertAdjacentHTML, appended
// nodes) follows the rule of each attribute. The server-side rewriter still
// maps root-relative links written in the page's HTML (rewrite/html.go):
// they must work with no script at all and when opened from the context
// menu, and reading them back matters to no Mesos WebUI, whose routes are
// fragments ("#/agents") that neither side maps. Assignments to location
// (location = "/x", location.assign) cannot be hooked: where the browser
// has the Navigation API, its navigate event maps them (the end of this
// file). URL objects, location and document.baseURI are never changed:
// the page reads them as the browser made them.
(function () {
  'use strict';
  var w = window, d = document;
  var me = d.currentScript;
  var conf = me && me.previousElementSibling;
  var cfg = null;
  try {
    if (conf && conf.hasAttribute('data-mesosgate')) cfg = JSON.parse(conf.textContent);
  } catch (e) {
    cfg = null;
  }
  // Leave the document as the page wrote it.
  try {
    if (cfg) conf.parentNode.removeChild(conf);
    if (me && me.parentNode) me.parentNode.removeChild(me);
  } catch (e) { /* keep going */ }
  if (!cfg || w.__mesosgate) return;

  // ---- The table ----------------------------------------------------------

  var T = cfg.table, page = cfg.page;
  var direct = T.mode === 'direct';
  var leader = T.leader;
  var members = new Map(); // "host:port" -> {p: prefix, s: scheme}
  var frameworks = new Map(); // "host:port" -> [{path, p}], longest path first
  var known = new Set(); // gateway prefixes but the root
  var depths = []; // their segment counts

  function addKnown(p) {
    if (!p || known.has(p)) return;
    known.add(p);
    var n = p.split('/').length - 1;
    if (depths.indexOf(n) < 0) {
      depths.push(n);
      depths.sort(function (a, b) { return a - b; });
    }
  }
  addKnown(leader);
  (T.members || []).forEach(function (row) {
    var t = { p: row[0], s: row[1] };
    for (var i = 2; i < row.length; i++) members.set(row[i], t);
    addKnown(row[0]);
  });
  (T.frameworks || []).forEach(function (row) {
    var l = frameworks.get(row[0]);
    if (!l) frameworks.set(row[0], (l = []));
    l.push({ path: row[1], p: row[2] });
    if (!isOrigin(row[2])) addKnown(row[2]);
  });

  // ---- The mapping (rewrite/mapping.go) -----------------------------------

  function isSlash(c) { return c === '/' || c === '\\'; }
  function isAlpha(c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  function isDigit(c) { return c >= '0' && c <= '9'; }
  function defaultPort(s) { return s === 'https' || s === 'wss' ? '443' : '80'; }

  // lowerASCII lower-cases ASCII letters only, as the Go side does.
  function lowerASCII(s) {
    var out = '';
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
    }
    return out;
  }

  function indexAny(s, chars) {
    for (var i = 0; i < s.length; i++) if (chars.indexOf(s[i]) >= 0) return i;
    return -1;
  }

  function hasPathPrefix(s, p) {
    if (s.length < p.length || s.slice(0, p.length) !== p) return false;
    var c = s[p.length];
    return c === undefined || isSlash(c) || c === '?' || c === '#';
  }

  function segmentsEnd(s, n) {
    var pos = 0;
    for (var k = 0; k < n; k++) {
      if (pos >= s.length || !isSlash(s[pos])) return -1;
      pos++;
      while (pos < s.length && !isSlash(s[pos]) && s[pos] !== '?' && s[pos] !== '#') pos++;
    }
    return pos;
  }

  function knownPrefix(s) {
    for (var i = 0; i < depths.length; i++) {
      var end = segmentsEnd(s, depths[i]);
      if (end < 0) break;
      var p = s.slice(0, end);
      if (known.has(p)) return p;
    }
    return null;
  }

  function carriesPrefix(s, ctx) {
    return (ctx.prefix !== '' && hasPathPrefix(s, ctx.prefix)) ||
      (ctx.root !== '' && hasPathPrefix(s, ctx.root)) ||
      knownPrefix(s) !== null;
  }

  // scheme returns {s: lower-cased scheme, end: index after the colon}.
  function scheme(u) {
    if (!u.length || !isAlpha(u[0])) return null;
    var i = 1;
    while (i < u.length && (isAlpha(u[i]) || isDigit(u[i]) || u[i] === '+' || u[i] === '-' || u[i] === '.')) i++;
    if (i === u.length || u[i] !== ':') return null;
    return { s: lowerASCII(u.slice(0, i)), end: i + 1 };
  }

  function hostPort(hp, def) {
    var host, port = '';
    if (hp[0] === '[') {
      var end = hp.indexOf(']');
      if (end < 0) return null;
      host = hp.slice(0, end + 1);
      var rest = hp.slice(end + 1);
      if (rest) {
        if (rest[0] !== ':') return null;
        port = rest.slice(1);
      }
    } else {
      var c = hp.indexOf(':');
      if (c >= 0) {
        host = hp.slice(0, c);
        port = hp.slice(c + 1);
      } else {
        host = hp;
      }
    }
    if (!host) return null;
    host = lowerASCII(host);
    if (!port) return host + ':' + def;
    var v = 0;
    for (var i = 0; i < port.length; i++) {
      if (!isDigit(port[i])) return null;
      v = v * 10 + (port.charCodeAt(i) - 48);
      if (v > 65535) return null;
    }
    while (port.length > 1 && port[0] === '0') port = port.slice(1);
    return host + ':' + port;
  }

  // isOrigin reports a framework UI's target that is an origin of its own
  // (--service-domain), not a gateway path.
  function isOrigin(p) { return p.slice(0, 8) === 'https://' || p.slice(0, 7) === 'http://'; }

  function gatewayHead(prefix, tail, ctx) {
    if (isOrigin(prefix)) return prefix + (tail === '' || tail[0] === '?' || tail[0] === '#' ? '/' : '');
    var h = ctx.rootOff ? ctx.gateway : '';
    if (prefix === '' && ctx.root !== '') prefix = leader;
    if (prefix === '' && tail.length >= 2 && isSlash(tail[0]) && isSlash(tail[1])) h += '/.';
    h += prefix;
    if (tail === '' || tail[0] === '?' || tail[0] === '#') h += '/';
    return h;
  }

  function directHead(t, sch, userinfo, key) {
    var s = t.s;
    if (sch === 'ws' || sch === 'wss') s = t.s === 'https' ? 'wss' : 'ws';
    var h = s + '://';
    if (userinfo !== null) h += userinfo + '@';
    var colon = key.lastIndexOf(':');
    h += key.slice(0, colon);
    var port = key.slice(colon + 1);
    if (port !== defaultPort(s)) h += ':' + port;
    return h;
  }

  function mapAuthority(u, start, a, sch, ctx, keepOwn) {
    var e = a;
    while (e < u.length && '/\\?#'.indexOf(u[e]) < 0) e++;
    var hp = u.slice(a, e), userinfo = null;
    var at = hp.lastIndexOf('@');
    if (at >= 0) {
      userinfo = hp.slice(0, at);
      hp = hp.slice(at + 1);
    }
    var key = hostPort(hp, defaultPort(sch || ctx.scheme));
    if (key === null) return null;
    var head = u.slice(0, start), tail = u.slice(e);
    var t = members.get(key);
    if (t) {
      if (direct && t.s) return [head + directHead(t, sch, userinfo, key), e];
      return [head + gatewayHead(t.p, tail, ctx), e];
    }
    var fs = frameworks.get(key);
    if (!fs) return keepOwn ? null : selfHead(u, e, key, tail, ctx);
    var path = tail, q = indexAny(path, '?#');
    if (q >= 0) path = path.slice(0, q);
    for (var i = 0; i < fs.length; i++) {
      var f = fs[i];
      if (f.path !== '' && !hasPathPrefix(path, f.path)) continue;
      var rest = tail.slice(f.path.length);
      return [head + gatewayHead(f.p, rest, ctx), e + f.path.length];
    }
    return null;
  }

  // selfHead maps a URL naming the page's own origin (the gateway, as the
  // browser reached it) the way a root-relative URL is mapped: a script
  // that builds "wss://" + location.host + "/ws" means its application's
  // root, which under a prefix is the prefix. Only the live page knows its
  // origin (ctx.self); the scheme and authority are kept, so a ws: URL
  // stays one.
  function selfHead(u, e, key, tail, ctx) {
    if (!ctx.self || key !== ctx.self || ctx.rootOff || ctx.root === '') return null;
    if (tail !== '' && !isSlash(tail[0]) && tail[0] !== '?' && tail[0] !== '#') return null;
    if (tail !== '' && isSlash(tail[0]) && carriesPrefix(tail, ctx)) return null;
    var rest = tail === '' || !isSlash(tail[0]) ? '/' : '';
    return [u.slice(0, e) + ctx.root + rest, e];
  }

  // mapClean maps u (no tabs or newlines): it returns [head, n], the new
  // beginning of u and the length of what it replaces, or null. keepOwn
  // leaves URLs on the page's own origin alone (the link rule).
  function mapClean(u, ctx, keepOwn) {
    var i = 0;
    while (i < u.length && u.charCodeAt(i) <= 32) i++;
    var s = u.slice(i);
    if (s.length >= 2 && isSlash(s[0]) && isSlash(s[1])) {
      var a = i + 2;
      while (a < u.length && isSlash(u[a])) a++;
      return mapAuthority(u, i, a, '', ctx, keepOwn);
    }
    if (s.length >= 1 && isSlash(s[0])) {
      if (keepOwn || ctx.rootOff || ctx.root === '' || carriesPrefix(s, ctx)) return null;
      return [u.slice(0, i) + ctx.root, i];
    }
    var sc = scheme(s);
    if (!sc || (sc.s !== 'http' && sc.s !== 'https' && sc.s !== 'ws' && sc.s !== 'wss')) return null;
    var k = i + sc.end, b = k;
    while (b < u.length && isSlash(u[b])) b++;
    if (b - k < 2) return null;
    return mapAuthority(u, i, b, sc.s, ctx, keepOwn);
  }

  // mapURL returns u mapped for ctx; u itself when nothing maps. Tabs and
  // newlines, which browsers drop from URLs, are dropped from the part
  // that is replaced and kept in the rest.
  function mapURL(u, ctx, keepOwn) {
    if (typeof u !== 'string') return u;
    if (indexAny(u, '\t\n\r') < 0) {
      var r = mapClean(u, ctx, keepOwn);
      return r === null ? u : r[0] + u.slice(r[1]);
    }
    var clean = '';
    for (var i = 0; i < u.length; i++) if ('\t\n\r'.indexOf(u[i]) < 0) clean += u[i];
    var c = mapClean(clean, ctx, keepOwn);
    if (c === null) return u;
    var m = 0;
    for (var kept = 0; kept < c[1]; m++) if ('\t\n\r'.indexOf(u[m]) < 0) kept++;
    return c[0] + u.slice(m);
  }

  function isSpace(c) { return c === ' ' || c === '\n' || c === '\r' || c === '\t' || c === '\f'; }

  // edit maps the spans [s, e) of v listed in spans.
  function edit(v, spans, ctx) {
    var out = '', last = 0, changed = false;
    for (var i = 0; i < spans.length; i++) {
      var s = spans[i][0], e = spans[i][1];
      var part = v.slice(s, e), m = mapURL(part, ctx);
      if (m !== part) {
        out += v.slice(last, s) + m;
        last = e;
        changed = true;
      }
    }
    return changed ? out + v.slice(last) : v;
  }

  // srcsetSpans follows rewrite/srcset.go.
  function srcsetSpans(v) {
    var spans = [], n = v.length, i = 0;
    for (;;) {
      while (i < n && (isSpace(v[i]) || v[i] === ',')) i++;
      if (i >= n) break;
      var s = i;
      while (i < n && !isSpace(v[i])) i++;
      var end = i;
      if (v[end - 1] === ',') {
        while (end > s && v[end - 1] === ',') end--;
      } else {
        var depth = 0;
        for (; i < n; i++) {
          if (v[i] === '(') depth++;
          else if (v[i] === ')') { if (depth > 0) depth--; }
          else if (v[i] === ',' && depth === 0) { i++; break; }
        }
      }
      if (end > s) spans.push([s, end]);
    }
    return spans;
  }

  function listSpans(v) {
    var spans = [], i = 0;
    while (i < v.length) {
      while (i < v.length && isSpace(v[i])) i++;
      var s = i;
      while (i < v.length && !isSpace(v[i])) i++;
      if (i > s) spans.push([s, i]);
    }
    return spans;
  }

  // refreshSpans follows rewrite/refresh.go.
  function refreshSpans(v) {
    var n = v.length, i = 0;
    while (i < n && isSpace(v[i])) i++;
    var t = i;
    while (i < n && (isDigit(v[i]) || v[i] === '.')) i++;
    if (i === t || i >= n) return [];
    if (v[i] !== ';' && v[i] !== ',' && !isSpace(v[i])) return [];
    while (i < n && isSpace(v[i])) i++;
    if (i < n && (v[i] === ';' || v[i] === ',')) i++;
    while (i < n && isSpace(v[i])) i++;
    if (i >= n) return [];
    if (i + 3 <= n && lowerASCII(v.slice(i, i + 3)) === 'url') {
      var j = i + 3;
      while (j < n && isSpace(v[j])) j++;
      if (j < n && v[j] === '=') {
        i = j + 1;
        while (i < n && isSpace(v[i])) i++;
      }
    }
    var e;
    if (i < n && (v[i] === '"' || v[i] === "'")) {
      var q = v[i];
      i++;
      e = i;
      while (e < n && v[e] !== q) e++;
      return e > i ? [[i, e]] : [];
    }
    e = n;
    while (e > i && isSpace(v[e - 1])) e--;
    return e > i ? [[i, e]] : [];
  }

  function cssNameChar(c) {
    return isAlpha(c) || isDigit(c) || c === '-' || c === '_' || c === '\\' || c.charCodeAt(0) >= 0x80;
  }

  function cssString(css, i) {
    var q = css[i];
    for (var j = i + 1; j < css.length; j++) {
      var c = css[j];
      if (c === '\\') j++;
      else if (c === q) return [i + 1, j, j + 1];
      else if (c === '\n' || c === '\r' || c === '\f') return [i + 1, -1, j];
    }
    return [i + 1, -1, css.length];
  }

  // cssSpans follows rewrite/css.go: url(...) and @import strings.
  function cssSpans(css) {
    var spans = [], n = css.length, importing = false, i = 0, r;
    while (i < n) {
      var c = css[i];
      if (c === '/' && css[i + 1] === '*') {
        var end = css.indexOf('*/', i + 2);
        i = end < 0 ? n : end + 2;
      } else if (c === '"' || c === "'") {
        r = cssString(css, i);
        if (importing && r[1] >= 0) spans.push([r[0], r[1]]);
        importing = false;
        i = r[2];
      } else if (c === '\\') {
        i += 2;
      } else if ((c === 'u' || c === 'U') && i + 4 <= n && lowerASCII(css.slice(i, i + 4)) === 'url(' &&
        (i === 0 || !cssNameChar(css[i - 1]))) {
        i += 4;
        while (i < n && isSpace(css[i])) i++;
        importing = false;
        if (i >= n) break;
        if (css[i] === '"' || css[i] === "'") {
          r = cssString(css, i);
          if (r[1] >= 0) spans.push([r[0], r[1]]);
          i = r[2];
          continue;
        }
        var s = i;
        for (; i < n; i++) {
          var b = css[i];
          if (b === ')' || isSpace(b)) { spans.push([s, i]); break; }
          if (b === '"' || b === "'" || b === '(' || b === '\\') break;
        }
      } else if (c === '@' && i + 7 <= n && lowerASCII(css.slice(i + 1, i + 7)) === 'import' &&
        (i + 7 === n || !cssNameChar(css[i + 7]))) {
        importing = true;
        i += 7;
      } else {
        if (c === ';' || c === '{' || c === '}') importing = false;
        i++;
      }
    }
    return spans;
  }

  // ---- The page's context -------------------------------------------------

  // A page on a framework UI's own origin (page.gateway set) keeps every
  // root-relative URL on that origin and links into the gateway by its
  // origin; a page on the gateway's follows its prefix and its <base>.
  var own = !!page.gateway;
  var live = { prefix: page.prefix, root: page.prefix, rootOff: own, scheme: page.scheme,
    gateway: own ? page.gateway : location.origin,
    self: hostPort(location.host, defaultPort(location.protocol.slice(0, -1))) };
  var lastBase = null;

  function rootFromPath(p) {
    if (page.prefix !== '' && hasPathPrefix(p, page.prefix)) return page.prefix;
    var k = knownPrefix(p);
    return k === null ? '' : k;
  }

  // ctx follows the page's <base>: root-relative URLs resolve against it.
  function ctx() {
    var b = d.baseURI;
    if (!own && b !== lastBase) {
      lastBase = b;
      live.root = page.prefix;
      live.rootOff = false;
      if (d.querySelector('base[href]')) {
        try {
          var url = new URL(b);
          if (url.origin !== location.origin) live.rootOff = true;
          else live.root = rootFromPath(url.pathname);
        } catch (e) { /* keep the page's prefix */ }
      }
    }
    return live;
  }

  function ctxFor(p) {
    var prefix = p.prefix || '';
    return { prefix: prefix, root: prefix, rootOff: !!p.gateway, scheme: p.scheme === 'https' ? 'https' : 'http',
      gateway: p.gateway || '' };
  }

  function map(u) {
    try { return mapURL(u, ctx()); } catch (e) { return u; }
  }

  // mapLink maps u by the link rule: URLs on the page's own origin stay.
  function mapLink(u) {
    try { return mapURL(u, ctx(), true); } catch (e) { return u; }
  }

  // mapValue maps what a page passes where a URL goes: a string or a URL
  // object; anything else (a TrustedScriptURL, ...) is left alone.
  function mapValue(v) {
    try {
      if (typeof v === 'string') return mapURL(v, ctx());
      if (v instanceof URL) return mapURL(v.href, ctx());
    } catch (e) { /* leave it */ }
    return v;
  }

  // mapLinkValue is mapValue by the link rule.
  function mapLinkValue(v) {
    try {
      if (typeof v === 'string') return mapURL(v, ctx(), true);
      if (v instanceof URL) return mapURL(v.href, ctx(), true);
    } catch (e) { /* leave it */ }
    return v;
  }

  function mapWith(spansOf) {
    return function (v) {
      try { return typeof v === 'string' ? edit(v, spansOf(v), ctx()) : v; } catch (e) { return v; }
    };
  }
  var mapSrcset = mapWith(srcsetSpans), mapList = mapWith(listSpans),
    mapCSS = mapWith(cssSpans), mapRefresh = mapWith(refreshSpans);

  Object.defineProperty(w, '__mesosgate', {
    value: Object.freeze({
      version: 1,
      // map(url[, {prefix, scheme, gateway}]) maps url for this page, or for the page given.
      map: function (u, p) { return p ? mapURL(u, ctxFor(p)) : map(u); },
      srcset: function (v, p) { return edit(v, srcsetSpans(v), p ? ctxFor(p) : ctx()); },
      css: function (v, p) { return edit(v, cssSpans(v), p ? ctxFor(p) : ctx()); },
      refresh: function (v, p) { return edit(v, refreshSpans(v), p ? ctxFor(p) : ctx()); }
    })
  });

  // ---- Attributes ---------------------------------------------------------

  var URL_ATTR = 1, SRCSET = 2, LIST = 3, STYLE = 4, DATA = 5, CONTENT = 6;
  var kinds = new Map([
    ['href', URL_ATTR], ['src', URL_ATTR], ['action', URL_ATTR], ['formaction', URL_ATTR],
    ['poster', URL_ATTR], ['cite', URL_ATTR], ['background', URL_ATTR], ['longdesc', URL_ATTR],
    ['usemap', URL_ATTR], ['manifest', URL_ATTR], ['icon', URL_ATTR], ['codebase', URL_ATTR],
    ['xlink:href', URL_ATTR], ['srcset', SRCSET], ['imagesrcset', SRCSET], ['ping', LIST],
    ['style', STYLE], ['data', DATA], ['content', CONTENT]
  ]);
  var SELECTOR = '[href],[src],[action],[formaction],[poster],[cite],[background],[longdesc],' +
    '[usemap],[manifest],[icon],[codebase],[srcset],[imagesrcset],[ping],[style],object[data],' +
    'meta[content],[*|href]';

  var oGetAttr = Element.prototype.getAttribute;

  // isLink says whether attribute name (lower case) of el follows the link
  // rule: it says where a navigation goes, not what the page loads.
  function isLink(el, name) {
    var n = el.localName;
    switch (name) {
      case 'href': case 'xlink:href': return n === 'a' || n === 'area';
      case 'action': return n === 'form';
      case 'formaction': return n === 'button' || n === 'input';
    }
    return false;
  }

  // attrValue maps the value v of attribute name (lower case) of el: by
  // the attribute's rule, or as it is followed (every URL mapped).
  function attrValue(el, name, v, following) {
    var k = kinds.get(name);
    if (!k || typeof v !== 'string') return v;
    switch (k) {
      case URL_ATTR: return !following && isLink(el, name) ? mapLink(v) : map(v);
      case SRCSET: return mapSrcset(v);
      case LIST: return mapList(v);
      case STYLE: return mapCSS(v);
      case DATA: return el.localName === 'object' ? map(v) : v;
      case CONTENT:
        var eq = oGetAttr.call(el, 'http-equiv');
        return el.localName === 'meta' && eq && lowerASCII(eq.trim()) === 'refresh' ? mapRefresh(v) : v;
    }
    return v;
  }

  // fixEl maps the URL attributes an element already has.
  function fixEl(el) {
    var attrs = el.attributes;
    if (!attrs) return;
    for (var i = 0; i < attrs.length; i++) {
      var a = attrs[i], v = a.value;
      var nv = attrValue(el, lowerASCII(a.name), v);
      if (nv !== v) a.value = nv;
    }
  }

  // fixTree maps the URL attributes of node and everything in it.
  function fixTree(node) {
    if (!node || typeof node !== 'object') return;
    if (node.nodeType === 1) fixEl(node);
    if ((node.nodeType === 1 || node.nodeType === 11) && node.querySelectorAll) {
      var list = node.querySelectorAll(SELECTOR);
      for (var i = 0; i < list.length; i++) fixEl(list[i]);
    }
  }

  // fixBetween maps the nodes parent gained between prev and next.
  function fixBetween(parent, prev, next) {
    if (!parent) return;
    for (var n = prev ? prev.nextSibling : parent.firstChild; n && n !== next; n = n.nextSibling) fixTree(n);
  }

  // ---- Hooks --------------------------------------------------------------

  function guard(f) {
    try { f(); } catch (e) { /* an API this browser lacks */ }
  }

  // wrap replaces proto[name], a method, with make(original).
  function wrap(proto, name, make) {
    guard(function () {
      var desc = proto && Object.getOwnPropertyDescriptor(proto, name);
      if (!desc || typeof desc.value !== 'function' || !desc.configurable) return;
      desc.value = make(desc.value);
      Object.defineProperty(proto, name, desc);
    });
  }

  // wrapSetter replaces the setter of proto[name] with make(original).
  function wrapSetter(proto, name, make) {
    guard(function () {
      var desc = proto && Object.getOwnPropertyDescriptor(proto, name);
      if (!desc || !desc.set || !desc.configurable) return;
      desc.set = make(desc.set);
      Object.defineProperty(proto, name, desc);
    });
  }

  // mapArg wraps a method whose argument i is a URL.
  function mapArg(proto, name, i, mapper) {
    wrap(proto, name, function (orig) {
      return function () {
        if (arguments.length > i) {
          var args = Array.prototype.slice.call(arguments);
          args[i] = (mapper || mapValue)(args[i]);
          return orig.apply(this, args);
        }
        return orig.apply(this, arguments);
      };
    });
  }

  // mapProp maps what is assigned to a URL property.
  function mapProp(ctor, name, mapper) {
    if (!ctor) return;
    wrapSetter(ctor.prototype, name, function (set) {
      return function (v) { return set.call(this, (mapper || mapValue)(v)); };
    });
  }

  // mapCtor maps argument i of a constructor (keeping its prototype,
  // statics and instanceof).
  function mapCtor(name, i, mapper) {
    guard(function () {
      var C = w[name];
      if (typeof C !== 'function') return;
      w[name] = new Proxy(C, {
        construct: function (target, args, newTarget) {
          if (args.length > i) {
            args = Array.prototype.slice.call(args);
            args[i] = (mapper || mapValue)(args[i]);
          }
          return Reflect.construct(target, args, newTarget);
        }
      });
    });
  }

  // Properties of elements that load (the load rule) or navigate (the
  // link rule).
  [['HTMLScriptElement', 'src'], ['HTMLImageElement', 'src'], ['HTMLIFrameElement', 'src'],
    ['HTMLFrameElement', 'src'], ['HTMLLinkElement', 'href'], ['HTMLSourceElement', 'src'],
    ['HTMLMediaElement', 'src'], ['HTMLVideoElement', 'poster'], ['HTMLTrackElement', 'src'],
    ['HTMLEmbedElement', 'src'], ['HTMLObjectElement', 'data'], ['HTMLBaseElement', 'href'],
    ['HTMLInputElement', 'src']
  ].forEach(function (p) { mapProp(w[p[0]], p[1]); });
  [['HTMLAnchorElement', 'href'], ['HTMLAreaElement', 'href'], ['HTMLFormElement', 'action'],
    ['HTMLInputElement', 'formAction'], ['HTMLButtonElement', 'formAction']
  ].forEach(function (p) { mapProp(w[p[0]], p[1], mapLinkValue); });
  [['HTMLImageElement', 'srcset'], ['HTMLSourceElement', 'srcset'], ['HTMLLinkElement', 'imageSrcset']
  ].forEach(function (p) { mapProp(w[p[0]], p[1], mapSrcset); });
  mapProp(w.HTMLAnchorElement, 'ping', mapList);
  mapProp(w.HTMLAreaElement, 'ping', mapList);
  ['cssText', 'background', 'backgroundImage', 'listStyleImage', 'borderImage', 'borderImageSource',
    'content', 'cursor', 'mask', 'maskImage'
  ].forEach(function (name) { mapProp(w.CSSStyleDeclaration, name, mapCSS); });
  mapArg(w.CSSStyleDeclaration && CSSStyleDeclaration.prototype, 'setProperty', 1, mapCSS);

  // Attributes, as AngularJS's href="{{...}}" and jQuery's .attr() set them.
  wrap(Element.prototype, 'setAttribute', function (orig) {
    return function (name, value) {
      if (arguments.length >= 2) {
        var nv = value;
        try { nv = attrValue(this, lowerASCII(String(name)), value); } catch (e) { nv = value; }
        if (nv !== value) return orig.call(this, name, nv);
      }
      return orig.apply(this, arguments);
    };
  });
  wrap(Element.prototype, 'setAttributeNS', function (orig) {
    return function (ns, name, value) {
      if (arguments.length >= 3) {
        var nv = value;
        try {
          var q = String(name);
          nv = attrValue(this, lowerASCII(q.slice(q.indexOf(':') + 1)), value);
        } catch (e) { nv = value; }
        if (nv !== value) return orig.call(this, ns, name, nv);
      }
      return orig.apply(this, arguments);
    };
  });

  // Markup: map what it created before anything loads (images load from a
  // microtask, scripts from markup never run).
  [Element.prototype, w.ShadowRoot && ShadowRoot.prototype].forEach(function (proto) {
    wrapSetter(proto, 'innerHTML', function (set) {
      return function (v) {
        var r = set.call(this, v);
        // Everything below this is new: one query finds it all.
        try { if (this.localName !== 'template') fixTree(this); } catch (e) { /* leave it */ }
        return r;
      };
    });
  });
  wrapSetter(Element.prototype, 'outerHTML', function (set) {
    return function (v) {
      var parent = this.parentNode, prev = this.previousSibling, next = this.nextSibling;
      var r = set.call(this, v);
      try { fixBetween(parent, prev, next); } catch (e) { /* leave it */ }
      return r;
    };
  });
  wrap(Element.prototype, 'insertAdjacentHTML', function (orig) {
    return function (where) {
      var parent = null, prev = null, next = null;
      try {
        switch (lowerASCII(String(where))) {
          case 'beforebegin': parent = this.parentNode; prev = this.previousSibling; next = this; break;
          case 'afterend': parent = this.parentNode; prev = this; next = this.nextSibling; break;
          case 'afterbegin': parent = this; next = this.firstChild; break;
          case 'beforeend': parent = this; prev = this.lastChild; break;
        }
      } catch (e) { parent = null; }
      var r = orig.apply(this, arguments);
      try { fixBetween(parent, prev, next); } catch (e) { /* leave it */ }
      return r;
    };
  });

  // Insertion: a script tag (JSONP) fetches when it is inserted, so its
  // attributes are mapped just before.
  function fixArgs(orig, only) {
    return function () {
      try {
        for (var i = 0; i < arguments.length; i++) {
          if (only === undefined || i === only) fixTree(arguments[i]);
        }
      } catch (e) { /* leave it */ }
      return orig.apply(this, arguments);
    };
  }
  wrap(Node.prototype, 'appendChild', function (o) { return fixArgs(o, 0); });
  wrap(Node.prototype, 'insertBefore', function (o) { return fixArgs(o, 0); });
  wrap(Node.prototype, 'replaceChild', function (o) { return fixArgs(o, 0); });
  wrap(Element.prototype, 'insertAdjacentElement', function (o) { return fixArgs(o, 1); });
  [w.Element, w.Document, w.DocumentFragment, w.CharacterData, w.DocumentType].forEach(function (C) {
    if (!C) return;
    ['append', 'prepend', 'after', 'before', 'replaceWith', 'replaceChildren'].forEach(function (name) {
      wrap(C.prototype, name, function (o) { return fixArgs(o); });
    });
  });

  // Requests made from script.
  mapArg(w.XMLHttpRequest && XMLHttpRequest.prototype, 'open', 1);
  mapArg(w.Navigator && Navigator.prototype, 'sendBeacon', 0);
  mapArg(w.History && History.prototype, 'pushState', 2);
  mapArg(w.History && History.prototype, 'replaceState', 2);
  mapArg(w, 'open', 0);
  mapCtor('Request', 0);
  mapCtor('EventSource', 0);
  mapCtor('Audio', 0);
  mapCtor('WebSocket', 0, function (v) {
    var u = mapValue(v);
    if (u === v || typeof u !== 'string' || u[0] !== '/') return u;
    // A gateway path: WebSocket wants an absolute ws: or wss: URL.
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + u;
  });
  guard(function () {
    var ofetch = w.fetch, ORequest = Request;
    if (typeof ofetch !== 'function') return;
    w.fetch = function (input) {
      var args = Array.prototype.slice.call(arguments);
      try {
        if (typeof input === 'string' || input instanceof URL) {
          args[0] = mapValue(input);
        } else if (input instanceof ORequest) {
          var u = mapValue(input.url);
          if (u !== input.url) args[0] = new ORequest(u, input);
        }
      } catch (e) { args[0] = input; }
      return ofetch.apply(this, args);
    };
  });

  // ---- Following links ---------------------------------------------------

  // follow maps el's URL attributes for the navigation about to happen:
  // every URL, own origin included. A link attribute gets the value the
  // page wrote back a task later, when the browser has read the mapped one
  // (following a link or submitting a form reads its URL at once); others
  // (a ping set as an Attr node) stay mapped, as they would have been set.
  function follow(el) {
    var attrs = el && el.nodeType === 1 && el.attributes;
    if (!attrs) return;
    var undo = [];
    for (var i = 0; i < attrs.length; i++) {
      var a = attrs[i], v = a.value, name = lowerASCII(a.name);
      var nv = attrValue(el, name, v, true);
      if (nv === v) continue;
      a.value = nv;
      if (isLink(el, name)) undo.push([a, v, nv]);
    }
    if (undo.length) {
      setTimeout(function () {
        undo.forEach(function (u) {
          try { if (u[0].ownerElement === el && u[0].value === u[2]) u[0].value = u[1]; } catch (e) { /* leave it */ }
        });
      }, 0);
    }
  }

  // navigated returns the elements an event would navigate by: the anchor
  // or area clicked, or the form submitted and its submitter.
  function navigated(e) {
    if (e.type === 'submit') return [e.target, e.submitter];
    // The right button's auxclick follows nothing (its contextmenu does).
    if (e.type === 'auxclick' && e.button !== 1) return null;
    var path = e.composedPath ? e.composedPath() : [e.target];
    for (var i = 0; i < path.length; i++) {
      var n = path[i];
      if (n && n.nodeType === 1 && (n.localName === 'a' || n.localName === 'area')) return [n];
    }
    return null;
  }

  // ending maps what an event would navigate by once every listener has
  // seen it: the listener at the end is added to the window while the
  // event is in its capture phase, so it runs after the page's own
  // listeners, the window's included. An event whose propagation a
  // listener stops never reaches it: stopping finishes it there.
  var ending = new WeakMap(); // event -> finish
  function onNavigation(e) {
    try {
      var els = navigated(e);
      if (!els || ending.has(e)) return;
      var done = false;
      var finish = function () {
        if (done) return;
        done = true;
        w.removeEventListener(e.type, atEnd, false);
        if (!e.defaultPrevented) els.forEach(follow);
      };
      var atEnd = function (x) { if (x === e) finish(); };
      ending.set(e, finish);
      w.addEventListener(e.type, atEnd, false);
      // An event cancelled or dispatched elsewhere leaves no listener.
      setTimeout(function () { done = true; w.removeEventListener(e.type, atEnd, false); }, 0);
    } catch (x) { /* leave it */ }
  }
  ['click', 'auxclick', 'contextmenu', 'submit'].forEach(function (type) {
    w.addEventListener(type, onNavigation, true);
  });
  function stopping(orig) {
    return function () {
      var r = orig.apply(this, arguments);
      try {
        var finish = ending.get(this);
        if (finish) finish();
      } catch (e) { /* leave it */ }
      return r;
    };
  }
  wrap(w.Event && Event.prototype, 'stopPropagation', stopping);
  wrap(w.Event && Event.prototype, 'stopImmediatePropagation', stopping);
  wrapSetter(w.Event && Event.prototype, 'cancelBubble', function (set) {
    return function (v) {
      var r = set.call(this, v);
      try {
        var finish = v && ending.get(this);
        if (finish) finish();
      } catch (e) { /* leave it */ }
      return r;
    };
  });

  // form.submit() fires no submit event.
  wrap(w.HTMLFormElement && HTMLFormElement.prototype, 'submit', function (orig) {
    return function () {
      try { follow(this); } catch (e) { /* leave it */ }
      return orig.apply(this, arguments);
    };
  });

  // Assignments to location cannot be hooked, but where the browser has
  // the Navigation API its navigate event sees them: one that would leave
  // the page's prefix ("location = a.href" of a link kept as written,
  // location.assign('/x')) is cancelled and started again mapped. Reloads,
  // back and forward, fragment changes, downloads and form posts (whose
  // body a new navigation would lose; forms are mapped at submission) are
  // left alone, and so is a navigation the browser does not let the page
  // cancel.
  guard(function () {
    var nav = w.navigation;
    if (!nav || typeof nav.addEventListener !== 'function') return;
    nav.addEventListener('navigate', function (e) {
      try {
        if (!e.cancelable || e.hashChange || e.formData || e.downloadRequest != null ||
          e.navigationType === 'traverse' || e.navigationType === 'reload') return;
        var u = e.destination.url, m = map(u);
        if (m === u) return;
        e.preventDefault();
        nav.navigate(m, { history: e.navigationType === 'replace' ? 'replace' : 'auto' });
      } catch (x) { /* leave it */ }
    });
  });
})();
