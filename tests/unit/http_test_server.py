#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Loopback HTTPS and HTTP server for tests/unit/test_http.c.

Usage: http_test_server.py DIR

Makes a self-signed certificate for 127.0.0.1/localhost in DIR (cert.pem,
key.pem) with the openssl CLI, serves HTTPS and plain HTTP on 127.0.0.1
(ports chosen by the kernel), writes "HTTPS_PORT HTTP_PORT" to DIR/ports
(atomically) and then closes stdout, so the test can block on a pipe
until the server is ready.  It exits when stdin reaches EOF, i.e. when
the test process is gone, so a killed test leaves no server behind.

Paths (any method):
  /echo            200, JSON of the request: method, path, body, headers
  /created         201 with Location, x-amz-request-id, Retry-After
  /hang            reads the request and never answers
  /reset           sends half a response, then resets the connection
  /big?n=N         N bytes of body with Content-Length
  /big?n=N&chunked=1  N bytes of body, chunked (size unknown in advance)
  /slow?ms=M       Content-Length body trickled in 10 pieces over M ms
  /digest          200, JSON: method, the request body's length and
                   SHA-256, Content-Length; X-Meta-One and X-Meta-Two
                   headers in the answer
"""

import hashlib
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def make_cert(d):
    cert = os.path.join(d, "cert.pem")
    key = os.path.join(d, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2",
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        got = self.body()
        name = "r_" + u.path.strip("/")
        fn = getattr(self, name, None)
        if fn is None:
            self.reply(404, b"no such path\n")
        else:
            fn(q, got)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = route

    def r_echo(self, q, got):
        doc = {
            "method": self.command,
            "path": self.path,
            "body": got.decode("utf-8", "replace"),
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        self.reply(200, json.dumps(doc, sort_keys=True).encode(),
                   [("Content-Type", "application/json")])

    def r_digest(self, q, got):
        doc = {
            "method": self.command,
            "length": len(got),
            "sha256": hashlib.sha256(got).hexdigest(),
            "content-length": self.headers.get("Content-Length"),
        }
        self.reply(200, json.dumps(doc, sort_keys=True).encode(),
                   [("Content-Type", "application/json"),
                    ("X-Meta-One", "1"), ("x-meta-two", "zwei")])

    def r_created(self, q, got):
        self.reply(201, b"<Invalidation/>",
                   [("Location", "https://cloudfront.example/inv/I2J0"),
                    ("x-amz-request-id", "req-1234-abcd"),
                    ("Retry-After", "7"),
                    ("Content-Type", "text/xml")])

    def r_hang(self, q, got):
        time.sleep(60)
        self.close_connection = True

    def r_reset(self, q, got):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)
        self.wfile.flush()
        time.sleep(0.1)
        # SO_LINGER 0 turns close() into a TCP RST.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def r_big(self, q, got):
        n = int(q.get("n", "0"))
        if q.get("chunked") != "1":
            self.reply(200, b"b" * n)
            return
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        piece = b"b" * 16384
        left = n
        try:
            while left > 0:
                c = piece[:min(left, len(piece))]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                left -= len(c)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def r_slow(self, q, got):
        ms = int(q.get("ms", "1000"))
        pieces = 10
        self.send_response(200)
        self.send_header("Content-Length", str(pieces))
        self.end_headers()
        self.wfile.flush()
        for _ in range(pieces):
            time.sleep(ms / 1000.0 / pieces)
            self.wfile.write(b"s")
            self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # the default 5 drops SYNs from bursts
    ctx = None

    def finish_request(self, request, client_address):
        # The handshake runs here, in the request's thread, so a client
        # that never finishes it cannot stall the accept loop.
        if self.ctx is not None:
            try:
                request = self.ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


def serve(ctx):
    srv = Server(("127.0.0.1", 0), Handler)
    srv.ctx = ctx
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def main():
    d = sys.argv[1]
    cert, key = make_cert(d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    https_port = serve(ctx)
    http_port = serve(None)
    tmp = os.path.join(d, "ports.tmp")
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (https_port, http_port))
    os.rename(tmp, os.path.join(d, "ports"))
    sys.stdout.flush()
    os.close(1)
    sys.stdin.buffer.read()
    os._exit(0)


if __name__ == "__main__":
    main()
