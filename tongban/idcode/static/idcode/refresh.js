// 随申码: fetch a fresh code shortly before the shown one expires and swap it in place.
// The page's <noscript> meta refresh covers browsers without JavaScript.
(function () {
  "use strict";
  var box = document.querySelector(".idcode[data-api-url]");
  if (!box || !window.fetch) { return; }
  var qr = document.getElementById("idcode-qr");
  var expires = document.getElementById("idcode-expires");
  var status = document.getElementById("idcode-status");
  var url = box.getAttribute("data-api-url");
  var failures = 0;

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function schedule(seconds) {
    window.setTimeout(refresh, Math.max(1, seconds) * 1000);
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        failures = 0;
        qr.innerHTML = body.svg;
        var at = new Date(body.expires_at);
        expires.setAttribute("datetime", body.expires_at);
        expires.textContent = two(at.getHours()) + ":" + two(at.getMinutes()) + ":" + two(at.getSeconds());
        schedule(body.refresh_after);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 3) {
          status.textContent = "无法更新随申码，请检查网络后刷新页面。";
          return;
        }
        schedule(5);
      });
  }

  schedule(parseInt(box.getAttribute("data-refresh-after"), 10) || 30);
})();
