// 叫号屏: ask the hall's feed for calls after the last one shown, every two seconds, and put
// each new call on the screen without reloading. The feed carries the number, the window and
// a masked surname only. Without JavaScript the page reloads itself (<noscript> refresh).
(function () {
  "use strict";
  var box = document.getElementById("queue-display");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-feed-url");
  var after = parseInt(box.getAttribute("data-after"), 10) || 0;
  var latest = document.getElementById("screen-latest");
  var recent = document.getElementById("screen-recent");
  var waiting = document.getElementById("screen-waiting");
  var status = document.getElementById("screen-status");
  var statusText = status ? status.textContent : "";
  var shown = null;
  var failures = 0;
  var ROWS = 8;

  function span(cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }

  function row(call) {
    var tr = document.createElement("tr");
    [call.number, call.window_number, call.name_masked].forEach(function (text) {
      var td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    });
    return tr;
  }

  function show(call) {
    if (shown) {
      recent.insertBefore(row(shown), recent.firstChild);
      while (recent.children.length > ROWS) { recent.removeChild(recent.lastChild); }
    }
    latest.textContent = "";
    latest.appendChild(span("screen-number", call.number));
    latest.appendChild(span("screen-arrow", "请到"));
    latest.appendChild(span("screen-window", call.window_number));
    latest.appendChild(span("screen-arrow", "号窗口"));
    if (call.name_masked) { latest.appendChild(span("screen-name", call.name_masked)); }
    latest.classList.remove("flash");
    void latest.offsetWidth; // restart the highlight for a repeated call
    latest.classList.add("flash");
    shown = call;
  }

  function poll() {
    fetch(url + "?after=" + after, { credentials: "omit", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        failures = 0;
        if (status) { status.textContent = statusText; }
        body.calls.forEach(show);
        after = body.last_id;
        if (waiting) { waiting.textContent = body.waiting; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5 && status) { status.textContent = "叫号屏暂时无法更新，请以窗口呼叫为准。"; }
        window.setTimeout(poll, Math.min(2000 * failures, 15000));
      });
  }

  // The calls already on the page: the latest is on show, the recent ones below it.
  var first = latest.querySelector(".screen-number");
  if (first) {
    var win = latest.querySelector(".screen-window");
    var name = latest.querySelector(".screen-name");
    shown = { number: first.textContent, window_number: win ? win.textContent : "", name_masked: name ? name.textContent : "" };
  }
  window.setTimeout(poll, 2000);
})();
