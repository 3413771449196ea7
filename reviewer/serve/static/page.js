// The app page's buttons (no inline script: the page's Content-Security-Policy allows none).
window.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.reload")) {
    button.addEventListener("click", () => window.location.replace("/"));
  }
});
