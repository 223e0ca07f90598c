/* TrustPoll embed loader: <div data-trustpoll="TOKEN" [data-mode="popup" data-label="…"]></div>
   or, on an order confirmation page, <div data-trustpoll-purchase="BRAND/SURVEY" data-order="…" data-amount="…"
   data-currency="…" data-t="…" data-sig="…"></div> (signed by the shop's server). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__trustpoll) { return; }
  window.__trustpoll = true;
  var base = new URL(script.src).origin;
  var frames = [];

  function pollUrl(token) {
    var url = new URL(base + "/s/" + encodeURIComponent(token) + "/embed/");
    url.searchParams.set("origin", location.origin);
    new URLSearchParams(location.search).forEach(function (value, key) {
      if (/^utm_(source|medium|campaign|content|term)$/.test(key)) { url.searchParams.set(key, value); }
    });
    return url.href;
  }
  function purchaseUrl(div) {
    var path = (div.getAttribute("data-trustpoll-purchase") || "").split("/");
    if (path.length !== 2) { return null; }
    var url = new URL(base + "/o/" + encodeURIComponent(path[0]) + "/" + encodeURIComponent(path[1]) + "/embed/");
    ["order", "amount", "currency", "t", "sig"].forEach(function (key) {
      url.searchParams.set(key, div.getAttribute("data-" + key) || "");
    });
    url.searchParams.set("origin", location.origin);
    return url.href;
  }
  function frame(src, title) {
    var f = document.createElement("iframe");
    f.src = src;
    f.title = title;
    f.setAttribute("scrolling", "no");
    f.style.cssText = "display:block;width:100%;height:480px;border:0;overflow:hidden";
    frames.push(f);
    return f;
  }
  function popup(div, token) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = div.getAttribute("data-label") || "Take the poll";
    var dialog = document.createElement("dialog");
    dialog.setAttribute("aria-label", button.textContent);
    dialog.style.cssText = "width:min(40rem,96vw);max-height:92vh;padding:0;border:0;border-radius:8px;overflow:auto";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.style.cssText = "position:sticky;top:0;float:right;margin:8px;z-index:1";
    close.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { button.focus(); });
    dialog.appendChild(close);
    var f = null;
    button.addEventListener("click", function () {
      if (!f) { f = frame(pollUrl(token), button.textContent); dialog.appendChild(f); }
      dialog.showModal();
    });
    div.appendChild(button);
    div.appendChild(dialog);
  }
  function mount(div) {
    if (div.getAttribute("data-trustpoll-mounted")) { return; }
    div.setAttribute("data-trustpoll-mounted", "1");
    var token = div.getAttribute("data-trustpoll");
    var title = div.getAttribute("data-title") || "Poll";
    if (div.hasAttribute("data-trustpoll-purchase")) {
      var src = purchaseUrl(div);
      if (src) { div.appendChild(frame(src, title)); }
      return;
    }
    if (!token) { return; }
    if (div.getAttribute("data-mode") === "popup") { popup(div, token); }
    else { div.appendChild(frame(pollUrl(token), title)); }
  }
  window.addEventListener("message", function (event) {
    if (event.origin !== base || !event.data) { return; }
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow !== event.source) { continue; }
      var f = frames[i], dialog = f.closest("dialog");
      if (event.data.type === "trustpoll:height") {
        var h = Number(event.data.height);
        if (h > 0 && h < 100000) { f.style.height = h + "px"; }
      } else if (event.data.type === "trustpoll:close" && dialog && dialog.open) {
        dialog.close();
      }
    }
  });
  function mountAll() { Array.prototype.forEach.call(document.querySelectorAll("[data-trustpoll],[data-trustpoll-purchase]"), mount); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", mountAll); } else { mountAll(); }
})();
