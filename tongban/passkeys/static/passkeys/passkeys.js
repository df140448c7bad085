// 通行密钥: the browser half of adding a passkey and of the passkey login step. The server
// makes the options (with a single-use challenge) and checks the answer; this file only
// converts between JSON (base64url) and the ArrayBuffers the WebAuthn API wants, and says in
// Chinese what happened. Forms stay hidden until the browser is known to support passkeys.
(function () {
  "use strict";

  function toBuffer(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeIds(list) {
    (list || []).forEach(function (c) { c.id = toBuffer(c.id); });
  }

  function credentialJson(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = toText(r.userHandle);
    }
    return {
      id: cred.id,
      rawId: toText(cred.rawId),
      type: cred.type,
      response: response,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  // The browser's own error names, said as a person needs to hear them.
  function browserMessage(err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "AbortError") {
      return "操作已取消或超时。如需继续，请再点一次按钮，并按设备提示确认。";
    }
    if (name === "InvalidStateError") return "这台设备上已经有本账户的通行密钥，无需重复添加。";
    if (name === "SecurityError") return "当前网址不能使用通行密钥，请通过本平台的正式网址访问。";
    if (name === "NotSupportedError") return "这台设备不支持本平台使用的通行密钥类型，请换一台设备。";
    return "设备未能完成验证，请重试。";
  }

  function post(url, form, body) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var headers = { "X-CSRFToken": token, "Accept": "application/json" };
    if (body === undefined) body = new FormData(form);
    else { headers["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body })
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (data) {
          if (!resp.ok) {
            if (data.redirect) { window.location.assign(data.redirect); }
            var error = new Error(data.message || "系统暂时无法处理，请稍后再试。");
            error.fromServer = true;
            throw error;
          }
          return data;
        });
      });
  }

  function wire(form, ceremony) {
    var errorBox = form.querySelector("[data-passkey-error]");
    var statusBox = form.querySelector("[data-passkey-status]");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      errorBox.textContent = "";
      statusBox.textContent = "请按设备提示确认（指纹、面容或锁屏密码）……";
      button.disabled = true;
      ceremony(form)
        .then(function (data) { window.location.assign(data.redirect); })
        .catch(function (err) {
          statusBox.textContent = "";
          errorBox.textContent = err.fromServer ? err.message : browserMessage(err);
          button.disabled = false;
          button.focus();
        });
    });
  }

  function register(form) {
    return post(form.action, form).then(function (options) {
      options.challenge = toBuffer(options.challenge);
      options.user.id = toBuffer(options.user.id);
      decodeIds(options.excludeCredentials);
      return navigator.credentials.create({ publicKey: options });
    }).then(function (cred) {
      var name = form.querySelector("input[name=name]").value;
      return post(form.dataset.finish, form, { name: name, credential: credentialJson(cred) });
    });
  }

  function login(form) {
    return post(form.action, form).then(function (options) {
      options.challenge = toBuffer(options.challenge);
      decodeIds(options.allowCredentials);
      return navigator.credentials.get({ publicKey: options });
    }).then(function (cred) {
      return post(form.dataset.finish, form, { credential: credentialJson(cred) });
    });
  }

  function run() {
    var supported = !!(window.PublicKeyCredential && navigator.credentials && window.fetch);
    if (!supported) return;
    Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-unsupported]"),
      function (el) { el.hidden = true; });
    Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-register]"),
      function (form) { form.hidden = false; wire(form, register); });
    Array.prototype.forEach.call(document.querySelectorAll("[data-passkey-login]"),
      function (form) { form.hidden = false; wire(form, login); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
