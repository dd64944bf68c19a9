// Light/dark theme: follows the system setting until the reader picks one; the choice is remembered.
(function () {
  "use strict";
  var key = "corpus-site-theme";
  var root = document.documentElement;
  var stored = null;
  try { stored = localStorage.getItem(key); } catch (e) { /* file:// or private mode */ }
  if (stored === "light" || stored === "dark") root.setAttribute("data-theme", stored);

  function current() {
    var chosen = root.getAttribute("data-theme");
    if (chosen) return chosen;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme-toggle");
    if (!button) return;
    function label() {
      var next = current() === "dark" ? "light" : "dark";
      button.setAttribute("aria-pressed", current() === "dark" ? "true" : "false");
      button.textContent = next === "dark" ? "Dark theme" : "Light theme";
    }
    button.hidden = false;
    label();
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      try { localStorage.setItem(key, next); } catch (e) { /* not persisted */ }
      label();
    });
  });
})();
