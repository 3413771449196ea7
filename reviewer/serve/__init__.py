"""`reviewer serve`: the app in a browser, one app process per tab, each with its own reviewer.

`reviewers` keeps who may log in (a SHA-256 hash of each reviewer's token, never the token),
`auth` the server-side sessions and the failed-login limit, `server` the web server (aiohttp)
that checks them on every request and runs the app for each tab (textual-serve's protocol).
Only `server` imports aiohttp and textual-serve, and only when a server starts.
"""
