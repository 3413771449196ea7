// The app page's own behaviour (no inline script: the page's Content-Security-Policy allows
// none): keys go to the app from the start, without a click; the reload button.
window.addEventListener("load", () => {
  // textual.js makes the terminal in its own load handler, which runs first
  setTimeout(() => {
    const input = document.querySelector(".xterm-helper-textarea");
    if (input) input.focus();
  }, 0);
});
window.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.reload")) {
    button.addEventListener("click", () => window.location.replace("/"));
  }
});
