/* 自助终端 (kiosk mode): the idle countdown with 继续使用, the scan field that keeps the
   hardware scanner's text, and the print buttons. The server ends an idle session whatever
   this script does (middleware_kiosk); the countdown only tells the person in time.

   The countdown restarts when the server hears from the page (the page itself, or a
   keep-alive sent when the person touches the screen), so it never promises more time than
   the server will give. */
(function () {
  "use strict";
  var script = document.querySelector("script[data-kiosk-idle]");
  if (!script) { return; }
  var idle = parseInt(script.getAttribute("data-kiosk-idle"), 10) || 120;
  var bar = script.hasAttribute("data-kiosk-bar");
  var person = bar || script.hasAttribute("data-kiosk-person");
  var returnHome = script.hasAttribute("data-kiosk-return");
  var WARN = Math.min(30, Math.floor(idle / 2));
  var KEEPALIVE_EVERY = 10;
  var contactAt = Date.now();
  var lastKeepalive = 0;
  var ending = false;

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) { return field.value; }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function post(path) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = path;
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = csrfToken();
    form.appendChild(token);
    document.body.appendChild(form);
    form.submit();
  }

  // ---- the bar over the rest of the portal's pages (the kiosk's own pages have theirs)
  var countdownText, alertBox, alertSeconds, continueButton;
  if (bar) {
    var el = document.createElement("div");
    el.className = "kiosk-bar";
    el.setAttribute("role", "region");
    el.setAttribute("aria-label", "自助终端");
    var text = document.createElement("p");
    text.textContent = "自助终端：";
    countdownText = document.createElement("span");
    text.appendChild(countdownText);
    var home = document.createElement("a");
    home.href = "/kiosk/";
    home.textContent = "返回自助首页";
    continueButton = document.createElement("button");
    continueButton.type = "button";
    continueButton.textContent = "继续使用";
    var exit = document.createElement("button");
    exit.type = "button";
    exit.textContent = "退出";
    exit.setAttribute("data-kiosk-leave", "");
    exit.addEventListener("click", function () { ending = true; post("/kiosk/logout/"); });
    el.appendChild(text);
    el.appendChild(continueButton);
    el.appendChild(home);
    el.appendChild(exit);
    document.body.insertBefore(el, document.body.firstChild);
    alertBox = el;
  } else {
    countdownText = document.getElementById("kiosk-countdown");
    alertBox = document.getElementById("kiosk-idle");
    alertSeconds = document.getElementById("kiosk-idle-seconds");
    continueButton = document.getElementById("kiosk-continue");
  }

  function keepalive() {
    lastKeepalive = Date.now();
    if (!person) { contactAt = Date.now(); return; }
    fetch("/kiosk/keepalive/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() }
    }).then(function (response) {
      if (ending) { return; }
      if (response.ok) { contactAt = Date.now(); tick(); }
      else { location.href = "/kiosk/?ended=idle"; }
    }).catch(function () { /* the server decides at the next request */ });
  }

  function remaining() {
    return Math.max(0, idle - Math.floor((Date.now() - contactAt) / 1000));
  }

  function tick() {
    if (ending) { return; }
    var left = remaining();
    if (countdownText && person) { countdownText.textContent = left + " 秒后自动退出"; }
    var urgent = left <= WARN;
    if (alertBox) {
      if (bar) { alertBox.classList.toggle("urgent", urgent); }
      else if (person) {
        if (urgent && alertBox.hidden) {
          alertBox.hidden = false;
          if (continueButton) { continueButton.focus(); }
        } else if (!urgent) { alertBox.hidden = true; }
      }
    }
    if (alertSeconds) { alertSeconds.textContent = String(left); }
    if (left > 0) { return; }
    ending = true;
    if (person) { post("/kiosk/logout/"); }
    else if (returnHome) { location.href = "/kiosk/"; }
  }

  if (continueButton) {
    continueButton.addEventListener("click", function () {
      if (alertBox && !bar) { alertBox.hidden = true; }
      keepalive();
    });
  }
  if (person || returnHome) {
    ["pointerdown", "keydown"].forEach(function (kind) {
      document.addEventListener(kind, function (event) {
        // A link or a submit button makes its own request (activity enough); a keep-alive
        // racing 退出 would try to save a session the logout just deleted.
        var target = event.target && event.target.closest ?
          event.target.closest("a, [type=submit], [data-kiosk-leave]") : null;
        if (ending || target) { return; }
        if ((Date.now() - lastKeepalive) / 1000 >= KEEPALIVE_EVERY) { keepalive(); }
      }, { passive: true });
    });
    tick();
    setInterval(tick, 1000);
  }

  // ---- scan fields: the hardware scanner types into the focused field and presses Enter
  var scanForms = document.querySelectorAll("form[data-kiosk-scan]");
  Array.prototype.forEach.call(scanForms, function (form) {
    var field = form.querySelector("input[name=code]");
    if (!field) { return; }
    field.value = "";
    field.focus();
    // Back to the field when focus falls to nothing (a tap on empty screen), never away
    // from a button or link someone reached with the keyboard.
    document.addEventListener("focusout", function () {
      setTimeout(function () {
        if (!ending && (document.activeElement === document.body || document.activeElement === null)) {
          field.focus();
        }
      }, 50);
    });
    var again = form.querySelector("[data-kiosk-refocus]");
    if (again) {
      again.addEventListener("click", function () { field.value = ""; field.focus(); });
    }
    form.addEventListener("submit", function (event) {
      if (!field.value.trim()) { event.preventDefault(); field.focus(); }
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-kiosk-print]"), function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
}());
