// 选择文件 in the page's own words: a browser draws its file picker in its own language
// ("Choose Files"), so, where scripts run, the picker is hidden (still focusable and
// labelled) and its <label> becomes the button, with the chosen names said beside it.
(function () {
  "use strict";
  function enhance(input) {
    var label = input.labels && input.labels[0];
    if (!label || input.dataset.enhanced) return;
    input.dataset.enhanced = "1";
    input.classList.add("file-hidden");
    label.classList.add("file-button");
    var chosen = document.createElement("span");
    chosen.className = "file-chosen";
    chosen.setAttribute("aria-live", "polite");
    chosen.textContent = "未选择文件";
    input.insertAdjacentElement("afterend", chosen);
    input.addEventListener("change", function () {
      var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
      chosen.textContent = names.length ? "已选择：" + names.join("、") : "未选择文件";
    });
    input.addEventListener("focus", function () { label.classList.add("is-focused"); });
    input.addEventListener("blur", function () { label.classList.remove("is-focused"); });
  }
  function run() {
    Array.prototype.forEach.call(document.querySelectorAll('input[type="file"]'), enhance);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
