/* TrustPoll admin: copy buttons for share snippets, and moving questions up and down. */
(function () {
  "use strict";
  function copy(button) {
    var input = button.parentNode.querySelector("input");
    input.select();
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard) { navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); }); }
    else { document.execCommand("copy"); done(); }
  }
  function renumber(group) {
    var n = 1;
    group.querySelectorAll(".inline-related:not(.empty-form)").forEach(function (form) {
      var pos = form.querySelector("input[name$='-position']");
      if (pos) { pos.value = n++; }
    });
  }
  function addMovers(group) {
    group.querySelectorAll(".inline-related:not(.empty-form)").forEach(function (form) {
      var header = form.querySelector("h3");
      if (!header || header.querySelector(".trustpoll-move")) { return; }
      [["↑", "Move question up", -1], ["↓", "Move question down", 1]].forEach(function (spec) {
        var b = document.createElement("button");
        b.type = "button"; b.className = "button trustpoll-move"; b.textContent = spec[0];
        b.setAttribute("aria-label", spec[1]);
        b.addEventListener("click", function () {
          var sibling = spec[2] < 0 ? form.previousElementSibling : form.nextElementSibling;
          if (!sibling || !sibling.classList.contains("inline-related") || sibling.classList.contains("empty-form")) { return; }
          if (spec[2] < 0) { form.parentNode.insertBefore(form, sibling); } else { form.parentNode.insertBefore(sibling, form); }
          renumber(group); b.focus();
        });
        header.appendChild(b);
      });
    });
  }
  document.addEventListener("click", function (e) {
    if (e.target.classList && e.target.classList.contains("trustpoll-copy")) { copy(e.target); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var group = document.getElementById("questions-group");
    if (group) { addMovers(group); }
  });
})();
