// mesosgate dashboard: keeps the page current without reloading it.
//
// Every few seconds it fetches the server-rendered live part of the page
// (the element with id "live", served alone at its data-live-src) and swaps
// its content in, keeping the scroll position, the keyboard focus, open
// <details> and any text the reader is selecting. Served as a file, never
// inline, so the page's Content-Security-Policy (script-src 'self') holds.
// Without JavaScript the page is a complete static snapshot.
(function () {
  "use strict";

  var live = document.getElementById("live");
  var status = document.getElementById("live-status");
  var announcer = document.getElementById("announcer");
  if (!live || !status || !window.fetch || !window.DOMParser) {
    return;
  }
  var src = live.getAttribute("data-live-src");
  var every = parseInt(live.getAttribute("data-live-every"), 10);
  if (!src || !(every > 0)) {
    return;
  }

  var statusText = status.querySelector(".live-text") || status;
  var lastHTML = null;
  var failures = 0;
  var timer = 0;
  var lastCost = 0; // how long the last poll took, in ms

  function clock(d) {
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function setStatus(state, text) {
    status.setAttribute("data-state", state);
    statusText.textContent = text;
  }

  // keyOf names an element so that its counterpart can be found in the new
  // content: its id, or the nearest ancestor with an id or data-key plus
  // its position among that ancestor's elements of the same tag.
  function keyOf(el) {
    if (!el || el === live || !live.contains(el)) {
      return null;
    }
    if (el.id) {
      return { id: el.id };
    }
    var anchor = el.parentElement && el.parentElement.closest("[id], [data-key]");
    if (!anchor || !live.contains(anchor)) {
      anchor = live;
    }
    var same = anchor.querySelectorAll(el.tagName);
    return {
      anchorId: anchor.id,
      anchorKey: anchor.getAttribute("data-key"),
      tag: el.tagName,
      index: Array.prototype.indexOf.call(same, el)
    };
  }

  function findKey(k) {
    if (!k) {
      return null;
    }
    if (k.id) {
      return document.getElementById(k.id);
    }
    var anchor = live;
    if (k.anchorId && k.anchorId !== "live") {
      anchor = document.getElementById(k.anchorId);
    } else if (k.anchorKey) {
      anchor = live.querySelector('[data-key="' + CSS.escape(k.anchorKey) + '"]');
    }
    return anchor ? anchor.querySelectorAll(k.tag)[k.index] || null : null;
  }

  // selecting reports whether the reader has selected text in the live
  // part: swapping it now would throw their selection away.
  function selecting() {
    var sel = window.getSelection && window.getSelection();
    if (!sel || sel.isCollapsed || sel.rangeCount === 0) {
      return false;
    }
    return live.contains(sel.getRangeAt(0).commonAncestorContainer);
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("live");
    if (!fresh) {
      throw new Error("the answer has no live part");
    }
    var open = {};
    live.querySelectorAll("details[data-key][open]").forEach(function (d) {
      open[d.getAttribute("data-key")] = true;
    });
    var focus = keyOf(document.activeElement);
    var x = window.scrollX, y = window.scrollY;
    var before = live.getAttribute("data-phase");

    Array.prototype.slice.call(fresh.attributes).forEach(function (a) {
      if (a.name !== "id") {
        live.setAttribute(a.name, a.value);
      }
    });
    live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));

    live.querySelectorAll("details[data-key]").forEach(function (d) {
      if (open[d.getAttribute("data-key")]) {
        d.open = true;
      }
    });
    var target = findKey(focus);
    if (target && typeof target.focus === "function") {
      target.focus({ preventScroll: true });
    }
    window.scrollTo(x, y);

    var after = live.getAttribute("data-phase");
    if (announcer && after !== before) {
      announcer.textContent = "Migration phase changed: " + (live.getAttribute("data-phase-title") || after);
    }
  }

  function schedule() {
    clearTimeout(timer);
    // Back off while the gateway does not answer, and poll at most one
    // tenth of the time a poll takes (a cluster of thousands of members
    // makes a big page), both up to a minute.
    var wait = Math.min(Math.max(every * Math.pow(2, failures), 10 * lastCost), 60000);
    timer = setTimeout(poll, wait);
  }

  function poll() {
    if (document.hidden) {
      return; // visibilitychange polls again when the tab is shown
    }
    var started = Date.now();
    var ctl = window.AbortController ? new AbortController() : null;
    var abort = ctl ? setTimeout(function () { ctl.abort(); }, Math.max(every, 10000)) : 0;
    fetch(src, {
      headers: { "Accept": "text/html" },
      cache: "no-store",
      credentials: "same-origin",
      signal: ctl ? ctl.signal : undefined
    }).then(function (res) {
      if (!res.ok) {
        throw new Error("the gateway answered " + res.status);
      }
      return res.text();
    }).then(function (html) {
      if (html !== lastHTML) {
        if (selecting()) {
          setStatus("live", "Live · paused while you select text");
          return;
        }
        swap(html);
        lastHTML = html;
      }
      failures = 0;
      setStatus("live", "Live · updated " + clock(new Date()));
    }).catch(function (err) {
      failures++;
      var why = err && err.name === "AbortError" ? "no answer in time" : (err && err.message) || "network error";
      setStatus("error", "Not updating: " + why + ". Retrying…");
    }).then(function () {
      clearTimeout(abort);
      lastCost = Date.now() - started;
      schedule();
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      clearTimeout(timer);
      poll();
    }
  });

  setStatus("live", "Live · refreshes every " + (every < 60000 ? Math.round(every / 1000) + " s" : Math.round(every / 60000) + " min"));
  schedule();
})();
