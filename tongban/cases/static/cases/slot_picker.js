// 预约时段: a hall's slots over two weeks make a long list. Where scripts run, a first list
// chooses the hall and day, and the time list then holds only that day's times. Without
// scripts the one grouped list still works; the server checks whatever is sent.
(function () {
  "use strict";
  function enhance(select) {
    var groups = Array.prototype.slice.call(select.querySelectorAll("optgroup"));
    if (select.dataset.enhanced || groups.length < 2) return;
    select.dataset.enhanced = "1";
    var placeholder = select.querySelector('option[value=""]');
    var picker = document.createElement("select");
    picker.id = select.id + "-day";
    var label = document.createElement("label");
    label.htmlFor = picker.id;
    label.className = "slot-day-label";
    label.textContent = "① 办理地点和日期";
    var first = document.createElement("option");
    first.value = "";
    first.textContent = "请选择地点和日期";
    picker.appendChild(first);
    groups.forEach(function (g, i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = g.label;
      picker.appendChild(o);
    });
    var timeLabel = document.createElement("label");
    timeLabel.htmlFor = select.id;
    timeLabel.className = "slot-day-label";
    timeLabel.textContent = "② 时段";
    function show(index) {
      while (select.firstChild) select.removeChild(select.firstChild);
      if (placeholder) {
        placeholder.textContent = index === "" ? "请先选择地点和日期" : "请选择时段";
        select.appendChild(placeholder);
      }
      if (index === "") return;
      Array.prototype.forEach.call(groups[Number(index)].children, function (o) {
        select.appendChild(o.cloneNode(true));
      });
    }
    var chosen = select.value;
    var start = "";
    groups.forEach(function (g, i) {
      if (chosen && g.querySelector('option[value="' + chosen + '"]')) start = String(i);
    });
    picker.value = start;
    show(start);
    if (chosen) select.value = chosen;
    picker.addEventListener("change", function () { show(picker.value); });
    select.insertAdjacentElement("beforebegin", label);
    select.insertAdjacentElement("beforebegin", picker);
    select.insertAdjacentElement("beforebegin", timeLabel);
  }
  function run() {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-slot-picker]"), enhance);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run);
  else run();
})();
