// 在线客服: ask for messages after the last one seen every 2 seconds and add them in place;
// the staff queue page refreshes its table every 5 seconds. Without JavaScript the pages
// show a 刷新 button instead.
(function () {
  "use strict";
  if (!window.fetch) { return; }
  var ENDED = { closed: true, answered: true };

  var queue = document.getElementById("hd-queue");
  if (queue) {
    var fragmentUrl = queue.getAttribute("data-fragment-url");
    var refreshQueue = function () {
      fetch(fragmentUrl, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
        .then(function (html) { queue.innerHTML = html; })
        .catch(function () {})
        .then(function () { window.setTimeout(refreshQueue, 5000); });
    };
    window.setTimeout(refreshQueue, 5000);
  }

  var log = document.getElementById("hd-log");
  if (!log) { return; }
  var url = log.getAttribute("data-poll-url");
  var cursor = parseInt(log.getAttribute("data-cursor"), 10) || 0;
  var status = log.getAttribute("data-status");
  var consent = log.getAttribute("data-consent");
  var statusCell = document.getElementById("hd-status");

  function para(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function add(m) {
    if (document.getElementById("m-" + m.id)) { return; }
    var li = document.createElement("li");
    li.className = "hd-msg hd-" + m.role;
    li.id = "m-" + m.id;
    var who = para("hd-who", (log.getAttribute("data-label-" + m.role) || m.role_label) + " ");
    var time = document.createElement("time");
    time.setAttribute("datetime", m.at);
    time.textContent = m.at_display;
    who.appendChild(time);
    li.appendChild(who);
    if (m.text) {
      var text = para("hd-text", "");
      m.text.split("\n").forEach(function (line, i) {
        if (i) { text.appendChild(document.createElement("br")); }
        text.appendChild(document.createTextNode(line));
      });
      li.appendChild(text);
    }
    // Links are internal paths checked by the server; a relative path only, never a scheme.
    if (m.link_url && m.link_url.charAt(0) === "/" && m.link_url.charAt(1) !== "/") {
      var p = para("hd-link", "");
      var a = document.createElement("a");
      a.href = m.link_url;
      a.textContent = m.link_label;
      p.appendChild(a);
      li.appendChild(p);
    }
    log.appendChild(li);
  }

  function typing() {
    var box = document.getElementById("hd-text");
    return box && box.value.trim() !== "";
  }

  function poll() {
    fetch(url + "?since=" + cursor, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        data.messages.forEach(add);
        cursor = data.cursor;
        if (statusCell) { statusCell.textContent = data.status_label; }
        var changed = data.status !== status || (data.consent_active ? "1" : "0") !== consent;
        if (changed && !typing()) {
          // What may be done next (接入, 授权, 评价) depends on the state: show the new page.
          // The page's own address, never a reload: after a refused form the address is the
          // form's, and a reload would post it again.
          window.location.assign(log.getAttribute("data-page-url"));
          return;
        }
        if (ENDED[data.status]) { return; }
        // A 留言 is answered hours later: no need to ask every 2 seconds.
        window.setTimeout(poll, data.status === "message_left" ? 30000 : 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (!ENDED[status]) { window.setTimeout(poll, status === "message_left" ? 30000 : 2000); }
})();
