// idbroker console: the expiry countdown and the copy buttons. The pages work without it.
(function () {
  "use strict";
  var c = document.getElementById("countdown");
  if (c) {
    var end = Number(c.getAttribute("data-expires")) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.floor((end - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      c.textContent = (h ? h + "h " : "") + m + "m " + (s < 10 ? "0" : "") + s + "s";
      if (left === 0) { window.location.reload(); return; }
      setTimeout(tick, 1000);
    };
    tick();
  }
  document.querySelectorAll("button.copy").forEach(function (b) {
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      if (!el || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(el.textContent).then(function () {
        var was = b.textContent; b.textContent = "Copied"; setTimeout(function () { b.textContent = was; }, 1500);
      });
    });
  });
})();
