"""The tiny deterministic HTTP server the network fixtures talk to.

Started by scripts/regen_fixtures.py (for `vera run`) and by
crates/vera-rt/tests/fixtures.rs (for vera-rt), so both hosts fetch the
same bytes. It listens on an ephemeral 127.0.0.1 port and also holds a
second port bound but not listening (a connection to it is refused). It
prints one line, `PORT CLOSED_PORT`, then serves until its stdin closes.
The runners hand the addresses to programs as
VERA_RT_FIXTURE_HTTP=http://127.0.0.1:PORT and
VERA_RT_FIXTURE_CLOSED=http://127.0.0.1:CLOSED_PORT (read with IO.get_env).

Routes (every answer is fixed; nothing depends on time or order):
  GET  /hello           text/plain greeting
  GET  /catalog.json    a small JSON catalogue
  GET  /page.html       a small HTML page
  GET  /bytes           invalid UTF-8 (b"A\\xffB")
  GET  /empty           200 with an empty body
  GET  /redirect        302 to /hello
  GET  /status/CODE     that status, with the standard reason phrase
  GET  /slow/MS         waits MS milliseconds (at most 2000), then names itself
  POST /echo            JSON: the request's content type and body
  POST /count           text: how many bytes and words the body has
  POST /redirect        302 to /hello (followed as a GET)
  POST /redirect307     307 to /echo
anything else           404
Every answer allows any origin (CORS), and OPTIONS answers a preflight,
so the browser runtime's pages (browser/e2e/pages.mjs) can fetch too.
"""

import http.server
import json
import socket
import sys
import threading
import time

CATALOG = {
    "store": "Corner Books",
    "items": [
        {"sku": "BK-001", "title": "The Rust Book", "price": 39.5, "qty": 2, "tags": ["rust", "programming"]},
        {"sku": "BK-002", "title": "Café Stories", "price": 12.25, "qty": 1, "tags": ["fiction"]},
        {"sku": "BK-003", "title": "Wasm Internals", "price": 54.0, "qty": 0, "tags": []},
        {"sku": "BK-004", "title": "Tiny Poems", "price": 7.75, "qty": 5, "tags": ["poetry", "short"]},
    ],
}

PAGE = """<!DOCTYPE html>
<html><head><title>Fixture News</title></head>
<body>
<h1>Headlines</h1>
<ul id="news">
<li class="story"><a href="/a/1">Local runtime passes its tests</a></li>
<li class="story hot"><a href="/a/2">WebAssembly &amp; you</a></li>
<li class="story"><a href="https://example.invalid/a/3">Third &lt;story&gt;</a></li>
</ul>
<p class="footer">3 stories</p>
</body></html>
"""


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "FixtureServer/1"
    sys_version = ""

    def log_message(self, *_args):
        pass

    def reply(self, code, body=b"", ctype="text/plain; charset=utf-8", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path
        if path == "/hello":
            self.reply(200, "hello from the fixture server\n".encode())
        elif path == "/catalog.json":
            self.reply(200, json.dumps(CATALOG, ensure_ascii=False).encode(), "application/json")
        elif path == "/page.html":
            self.reply(200, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/bytes":
            self.reply(200, b"A\xffB", "text/plain; charset=latin-1")
        elif path == "/empty":
            self.reply(200)
        elif path == "/redirect":
            self.reply(302, b"moved", headers=[("Location", "/hello")])
        elif path.startswith("/status/") and path[8:].isdigit():
            code = int(path[8:])
            self.reply(code, f"status {code}\n".encode())
        elif path.startswith("/slow/") and path[6:].isdigit():
            ms = min(int(path[6:]), 2000)
            time.sleep(ms / 1000)
            self.reply(200, f"slow {ms}".encode())
        else:
            self.reply(404, b"no such fixture route\n")

    def do_OPTIONS(self):
        self.reply(204, headers=[
            ("Access-Control-Allow-Methods", "GET, POST"),
            ("Access-Control-Allow-Headers", "Content-Type"),
        ])

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        if self.path == "/echo":
            doc = {"content_type": self.headers.get("Content-Type"), "body": body}
            self.reply(200, json.dumps(doc, ensure_ascii=False).encode(), "application/json")
        elif self.path == "/redirect":
            self.reply(302, b"moved", headers=[("Location", "/hello")])
        elif self.path == "/redirect307":
            self.reply(307, b"moved", headers=[("Location", "/echo")])
        elif self.path == "/count":
            self.reply(200, f"{len(body.encode())} bytes, {len(body.split())} words".encode())
        else:
            self.reply(404, b"no such fixture route\n")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that left early (a program that exited) is no news


def main():
    server = Server(("127.0.0.1", 0), Handler)
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    print(server.server_address[1], closed.getsockname()[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
