// 我的排队: ask for the person's tickets every 30 seconds and update each one's state (how many
// ahead, estimated wait, the window to go to) in place. Without JavaScript the page reloads.
(function () {
  "use strict";
  var list = document.getElementById("queue-mine");
  if (!list || !window.fetch) { return; }
  var url = list.getAttribute("data-api-url");

  function strong(text) {
    var s = document.createElement("strong");
    s.textContent = text;
    return s;
  }

  function render(cell, t) {
    cell.textContent = "";
    var parts = [];
    if (t.status === "waiting") {
      if (t.transferred_to) { parts.push("已转至" + t.transferred_to + "窗口，"); }
      if (t.ahead) {
        parts.push("前面还有 ", strong(String(t.ahead)), " 人，预计等候约 ", strong(String(t.estimated_minutes)), " 分钟");
      } else {
        parts.push(strong("马上轮到您"), "，请留意叫号屏");
      }
    } else if (t.status === "called") {
      parts.push(strong("请到 " + t.window + " 号窗口办理"));
    } else if (t.status === "serving") {
      parts.push("正在 " + t.window + " 号窗口办理");
    } else {
      parts.push(t.status_label);
    }
    parts.forEach(function (p) { cell.appendChild(typeof p === "string" ? document.createTextNode(p) : p); });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (tickets) {
        tickets.forEach(function (t) {
          var item = list.querySelector('[data-ticket="' + t.id + '"] [data-field="state"]');
          if (item) { render(item, t); }
        });
      })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, 30000); });
  }
  window.setTimeout(poll, 30000);
})();
