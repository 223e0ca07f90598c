/* TrustPoll inside an iframe: tell the embedding page our height whenever it changes. */
(function () {
  "use strict";
  var parentOrigin = document.documentElement.getAttribute("data-parent-origin");
  var token = document.documentElement.getAttribute("data-token");
  if (!parentOrigin || window.parent === window) { return; }
  var last = -1;
  function send() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === last) { return; }
    last = height;
    window.parent.postMessage({ type: "trustpoll:height", token: token, height: height }, parentOrigin);
  }
  if (window.ResizeObserver) { new ResizeObserver(send).observe(document.body); }
  window.addEventListener("load", send);
  document.addEventListener("DOMContentLoaded", send);
  document.addEventListener("change", send);
  // Escape inside the poll closes a popup: the key never reaches the embedding page's dialog.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { window.parent.postMessage({ type: "trustpoll:close", token: token }, parentOrigin); }
  });
  send();
})();
