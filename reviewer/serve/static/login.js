// A login link carries the token after '#' (never sent to a server, a proxy's log or a
// referrer): this posts it to the server, which answers with a session cookie, then opens the app.
async function logIn(token) {
  const message = document.getElementById("message");
  const body = new URLSearchParams({ token });
  let response;
  try {
    response = await fetch("/login", {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
  } catch (error) {
    message.innerHTML = '<p class="error"></p>';
    message.firstChild.textContent = "The server cannot be reached.";
    return;
  }
  if (response.ok) {
    // a link to a queue (/login?queue=NAME#token=...) opens that queue
    const queue = new URLSearchParams(window.location.search).get("queue");
    window.location.replace(queue ? "/?queue=" + encodeURIComponent(queue) : "/");
    return;
  }
  let text = "Logging in failed (" + response.status + ").";
  try {
    text = (await response.json()).error || text;
  } catch (error) {}
  message.innerHTML = '<p class="error"></p>';
  message.firstChild.textContent = text;
}

window.addEventListener("DOMContentLoaded", () => {
  const hash = new URLSearchParams(window.location.hash.slice(1));
  const token = hash.get("token");
  if (token) {
    // the token leaves the address bar
    history.replaceState(null, "", window.location.pathname + window.location.search);
    logIn(token);
  }
  document.getElementById("login").addEventListener("submit", (event) => {
    event.preventDefault();
    logIn(document.getElementById("token").value);
  });
});
