/* corpus-site parallel view: focusing or hovering a segment highlights its counterpart; Enter jumps to it.
   No libraries, no modules (they do not load from file://), nothing but this file. */
(function () {
  "use strict";
  var view = document.querySelector("[data-parallel]");
  if (!view) {
    return;
  }
  var lit = [];

  function segmentOf(node) {
    return node && node.closest ? node.closest(".seg") : null;
  }

  function counterparts(segment) {
    return (segment.getAttribute("data-counterpart") || "")
      .split(" ")
      .map(function (id) { return id ? document.getElementById(id) : null; })
      .filter(Boolean);
  }

  function clear() {
    lit.forEach(function (element) { element.classList.remove("active", "counterpart"); });
    lit = [];
  }

  function outOfView(element) {
    var box = element.getBoundingClientRect();
    return box.top < 0 || box.bottom > window.innerHeight;
  }

  function show(segment, scroll) {
    clear();
    segment.classList.add("active");
    lit.push(segment);
    var others = counterparts(segment);
    others.forEach(function (element) {
      element.classList.add("counterpart");
      lit.push(element);
    });
    // Only a focus scrolls: scrolling under a moving pointer would pick the next segment by itself.
    if (scroll && others.length && outOfView(others[0])) {
      others[0].scrollIntoView({ block: "nearest" });
    }
  }

  function showFocused() {
    var focused = segmentOf(document.activeElement);
    if (focused && view.contains(focused)) {
      show(focused, false);
    } else {
      clear();
    }
  }

  view.addEventListener("focusin", function (event) {
    var segment = segmentOf(event.target);
    if (segment) {
      show(segment, true);
    }
  });
  view.addEventListener("focusout", function (event) {
    if (!view.contains(event.relatedTarget)) {
      clear();
    }
  });
  view.addEventListener("mouseover", function (event) {
    var segment = segmentOf(event.target);
    if (segment) {
      show(segment, false);
    }
  });
  view.addEventListener("mouseleave", showFocused);
  view.addEventListener("keydown", function (event) {
    var segment = segmentOf(event.target);
    if (segment && event.key === "Enter") {
      var others = counterparts(segment);
      if (others.length) {
        event.preventDefault();
        others[0].focus();
      }
    }
  });
})();
