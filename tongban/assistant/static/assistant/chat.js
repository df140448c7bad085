// 智能客服: the page's forms post to the API and the answer is appended without a reload.
// Without JavaScript the same forms post to the page, which shows the whole conversation.
(function () {
  "use strict";
  var form = document.getElementById("ask-form");
  var log = document.getElementById("chat-log");
  if (!form || !log || !window.fetch) return;
  var api = form.getAttribute("data-api");
  var errors = document.getElementById("ask-errors");
  var handoff = document.getElementById("handoff-form");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var seq = log.querySelectorAll(".turn").length;

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    return String(Date.now()) + String(Math.random()).slice(2);
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function conversationId() {
    return form.querySelector("input[name=conversation]").value;
  }

  function turn(role) {
    seq += 1;
    var li = el("li", "turn turn-" + role);
    li.id = "t-js-" + seq;
    li.tabIndex = -1;
    li.appendChild(el("p", "who", role === "resident" ? "您" : "智能客服"));
    log.appendChild(li);
    return li;
  }

  function postForm(url, label, cls) {
    var f = el("form", "inline");
    f.method = "post";
    f.action = url;
    var token = el("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = csrf;
    f.appendChild(token);
    var b = el("button", cls || "secondary", label);
    b.type = "submit";
    f.appendChild(b);
    return f;
  }

  function showAnswer(answer) {
    var li = turn("assistant");
    var box = el("div", "answer answer-" + answer.kind);
    var rows = answer.sentences;
    rows.forEach(function (s, n) {
      var p = el("p", "sentence", s.text);
      // A run of sentences from one source cites it once, after the last of them.
      var next = rows[n + 1];
      var same = next && next.source && s.source && next.source.url === s.source.url &&
        next.source.label === s.source.label && next.source.field === s.source.field;
      if (s.source && !same) {
        p.appendChild(document.createTextNode(" "));
        var a = el("a", "source", "出处：" + s.source.label);
        a.href = s.source.url;
        p.appendChild(a);
      }
      box.appendChild(p);
    });
    if (answer.asks) {
      var q = el("p", "asks");
      q.appendChild(el("strong", "", answer.asks.question));
      box.appendChild(q);
      if (answer.asks.help) box.appendChild(el("p", "hint", answer.asks.help));
      var row = el("div", "option-row js-options");
      row.setAttribute("role", "group");
      row.setAttribute("aria-label", answer.asks.question);
      answer.asks.options.forEach(function (o) {
        var b = el("button", "secondary", o.label);
        b.type = "button";
        b.addEventListener("click", function () { ask("", o.value, o.label); });
        row.appendChild(b);
      });
      box.appendChild(row);
    }
    if (answer.actions.length) {
      var ul = el("ul", "actions");
      answer.actions.forEach(function (a) {
        var item = el("li");
        if (a.method === "post") {
          item.appendChild(postForm(a.url, a.label));
        } else {
          var link = el("a", "button secondary", a.label);
          link.href = a.url;
          item.appendChild(link);
        }
        ul.appendChild(item);
      });
      box.appendChild(ul);
    }
    li.appendChild(box);
    li.focus();
  }

  function retireOptions() {
    // An ask-back is answered once: older option buttons become plain text.
    Array.prototype.forEach.call(log.querySelectorAll(".js-options, .js-ask"), function (node) {
      var labels = Array.prototype.map.call(node.querySelectorAll("button"), function (b) { return b.textContent; });
      node.parentNode.replaceChild(el("p", "muted", "可选：" + labels.join("、")), node);
    });
  }

  function showError(message) {
    errors.textContent = "";
    errors.appendChild(el("p", "", message));
    errors.hidden = false;
  }

  var busy = false;
  function ask(question, answerTo, label) {
    if (busy) return;
    busy = true;
    errors.hidden = true;
    var keyInput = form.querySelector("input[name=key]");
    var body = { question: question, answer_to: answerTo || "" };
    var id = conversationId();
    if (id) body.conversation_id = parseInt(id, 10);
    fetch(api, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": csrf,
        "Idempotency-Key": keyInput.value
      },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (!result.ok) {
        showError(result.data.message || "暂时无法回答，请稍后再试");
        return;
      }
      keyInput.value = newKey();
      retireOptions();
      var mine = turn("resident");
      mine.appendChild(el("p", "said", question || label));
      var data = result.data;
      form.querySelector("input[name=conversation]").value = data.conversation_id;
      handoff.action = "/assistant/" + data.conversation_id + "/handoff/";
      handoff.hidden = false;
      showAnswer(data.answer);
      form.querySelector("textarea").value = "";
    }).catch(function () {
      showError("网络连接失败，请稍后再试");
    }).then(function () { busy = false; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = form.querySelector("textarea").value.trim();
    if (!text) {
      showError("请输入您的问题");
      form.querySelector("textarea").focus();
      return;
    }
    ask(text, "", "");
  });

  Array.prototype.forEach.call(document.querySelectorAll("form.js-ask"), function (f) {
    f.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button) return;
      event.preventDefault();
      ask("", button.value, button.textContent);
    });
  });
})();
