// The redraw preview: a problem in the list zooms the preview map (a sandboxed
// frame, so the page asks it by message) to the problem's place.
(function () {
  "use strict";
  var frame = document.getElementById("preview-map");
  if (!frame) return;
  document.querySelectorAll("[data-zoom-bounds]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      var bounds = JSON.parse(a.getAttribute("data-zoom-bounds"));
      frame.contentWindow.postMessage({geogrid: "zoom", bounds: bounds}, "*");
      document.querySelectorAll("li.focused").forEach(function (li) {
        li.classList.remove("focused");
      });
      a.parentNode.classList.add("focused");
      frame.scrollIntoView({block: "nearest", behavior: "smooth"});
    });
  });
})();
