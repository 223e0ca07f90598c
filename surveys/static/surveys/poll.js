/* TrustPoll poll: display conditions, progress and inline checks. The server decides; this only helps. */
(function () {
  "use strict";
  var form = document.getElementById("poll-form");
  if (!form) { return; }
  var questions = Array.prototype.slice.call(form.querySelectorAll("fieldset.question[data-code]"));
  var progress = document.getElementById("progress");
  function msg(name) { return form.getAttribute("data-msg-" + name) || ""; }

  function values(code) {
    var out = [];
    Array.prototype.forEach.call(form.querySelectorAll("[name='" + code + "']"), function (el) {
      if (el.disabled) { return; }
      if ((el.type === "radio" || el.type === "checkbox") ? el.checked : el.value.trim() !== "") { out.push(el.value.trim()); }
    });
    return out;
  }
  function shown(q) { return !q.hidden; }
  function applyConditions() {
    questions.forEach(function (q) {
      var code = q.getAttribute("data-condition-code");
      if (!code) { return; }
      var source = document.getElementById("q-" + code);
      var wanted = q.getAttribute("data-condition-values").split(" ");
      var met = !!source && shown(source) && values(code).some(function (v) { return wanted.indexOf(v) >= 0; });
      q.hidden = !met;
      Array.prototype.forEach.call(q.querySelectorAll("input,textarea"), function (el) { el.disabled = !met; });
    });
  }
  function updateProgress() {
    if (!progress) { return; }
    var visible = questions.filter(shown);
    progress.max = visible.length;
    progress.value = visible.filter(function (q) { return values(q.getAttribute("data-code")).length > 0; }).length;
  }
  function setError(q, message) {
    var code = q.getAttribute("data-code");
    var box = document.getElementById("err-" + code);
    if (!box) { return; }
    box.textContent = message || "";
    box.hidden = !message;
    q.classList.toggle("has-error", !!message);
  }
  function numberProblem(input) {
    var raw = input.value.trim().replace(",", ".");
    if (raw === "") { return ""; }
    var n = Number(raw);
    if (!isFinite(n)) { return msg("number"); }
    var min = input.getAttribute("data-min"), max = input.getAttribute("data-max");
    if (min !== null && n < Number(min)) { return msg("min").replace("{min}", Number(min)); }
    if (max !== null && n > Number(max)) { return msg("max").replace("{max}", Number(max)); }
    return "";
  }
  function check(q) {
    if (!shown(q)) { setError(q, ""); return true; }
    var code = q.getAttribute("data-code");
    var message = "";
    var number = q.querySelector("input[inputmode=decimal]");
    if (number) { message = numberProblem(number); }
    if (!message && q.hasAttribute("data-required") && values(code).length === 0) {
      message = msg("required");
    }
    setError(q, message);
    return !message;
  }
  form.querySelectorAll("input[data-required][type=checkbox]").forEach(function (box) {
    box.addEventListener("change", function () {
      var err = document.getElementById("err-" + box.name);
      if (err && box.checked) { err.hidden = true; }
    });
  });
  form.addEventListener("change", function (event) {
    applyConditions();
    updateProgress();
    var q = event.target.closest && event.target.closest("fieldset.question[data-code]");
    if (q && q.classList.contains("has-error")) { check(q); }
  });
  form.addEventListener("input", updateProgress);
  form.addEventListener("submit", function (event) {
    var first = null;
    questions.forEach(function (q) { if (!check(q) && !first) { first = q; } });
    form.querySelectorAll("input[data-required][type=checkbox]").forEach(function (box) {
      var err = document.getElementById("err-" + box.name);
      if (!box.checked && err) {
        err.textContent = err.textContent || msg("tick");
        err.hidden = false;
        if (!first) { first = box; }
      }
    });
    if (first) {
      event.preventDefault();
      var target = first.querySelector ? (first.querySelector("input,textarea") || first) : first;
      first.scrollIntoView({ block: "center" });
      target.focus({ preventScroll: true });
      return;
    }
    form.querySelector("button[type=submit]").disabled = true;  // one tap, one submission
  });
  // With JavaScript the condition notes are replaced by showing and hiding.
  questions.forEach(function (q) {
    var note = q.querySelector(".condition");
    if (note) { note.hidden = true; }
  });
  if (progress) { progress.hidden = false; }
  applyConditions();
  updateProgress();
  window.addEventListener("pageshow", function () { form.querySelector("button[type=submit]").disabled = false; });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
