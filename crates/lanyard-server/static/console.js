// Lanyard console: progressive enhancement only (every page works without this file).
// Copy buttons, and the test sign-in page following its link at once.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var target = document.getElementById(b.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) { return; }
    b.hidden = false;
    var label = b.textContent;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        b.textContent = "\u2713";
        setTimeout(function () { b.textContent = label; }, 1500);
      }, function () { b.textContent = label; });
    });
  });
  var auto = document.querySelector("a[data-auto-open]");
  if (auto) { window.location.assign(auto.href); }
});
