#!/usr/bin/env python3
"""oauth2server.py: an OAuth2 token introspection endpoint (RFC 7662) for
Dovecot's oauth2 passdb in the tests.

  oauth2server.py --token-file FILE --user NAME --port-file FILE --log FILE

Listens on 127.0.0.1, on a port the kernel picks (written to --port-file
once it listens).  It knows exactly one token, the first line of
--token-file: introspecting it answers {"active": true, "username": NAME};
any other token {"active": false}.  The token is taken from a POST form
("token=..."; introspection_mode = post) or from "Authorization: Bearer"
(introspection_mode = auth).  Each request appends one line to --log:
"good" or "bad", the mode and the length of the token it carried (never the
token).  Runs until killed.
"""
import argparse
import json
import os
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    token = user = log = None

    def answer(self, token, mode):
        good = token == self.token
        with open(self.log, "a") as f:
            f.write("%s %s %d\n" % ("good" if good else "bad", mode,
                                    len(token or "")))
        doc = {"active": True, "username": self.user} if good else \
            {"active": False}
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode("latin-1"))
        self.answer((form.get("token") or [None])[0], "post")

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth[:7].lower() == "bearer " else None
        self.answer(tok, "auth")

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    with open(a.token_file) as f:
        Handler.token = f.readline().rstrip("\r\n")
    Handler.user, Handler.log = a.user, a.log
    srv = HTTPServer(("127.0.0.1", 0), Handler)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
