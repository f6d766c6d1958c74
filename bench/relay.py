# SPDX-License-Identifier: MIT
"""A byte-counting TCP relay on loopback: clients talk to it, it talks
to the stand-in, and it counts the bytes each way (TLS records as they
are, so the count is what the network would carry above TCP).  It is
the one place both clients of the origin benchmark, cfwatch and the AWS
CLI, can be measured the same way: neither says how much it sent.

It runs in a child process (so its CPU time is its own, and reported:
it is on the path of every request) and moves the bytes with splice(2)
through a pipe, two threads a connection, without copying them through
Python.  TLS is end to end: the stand-in's certificate names 127.0.0.1,
which the relay's address is too."""

import multiprocessing
import os
import socket
import threading

UP, DOWN, CONNS = 0, 1, 2  # the counters: bytes client->server, back
CHUNK = 1 << 16


def _pump(src, dst, counters, idx, lock):
    """Moves src's bytes to dst until src's end, then ends dst's side."""
    r, w = os.pipe()
    try:
        while True:
            try:
                n = os.splice(src.fileno(), w, CHUNK)
            except OSError:
                break
            if n == 0:
                break
            left = n
            while left:
                left -= os.splice(r, dst.fileno(), left)
            with lock:
                counters[idx] += n
    except OSError:
        pass  # the other end went away: the connection is over
    finally:
        os.close(r)
        os.close(w)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _connection(client, target, counters, lock):
    try:
        server = socket.create_connection(target)
    except OSError:
        client.close()
        return
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with lock:
        counters[CONNS] += 1
    up = threading.Thread(target=_pump, args=(client, server, counters, UP,
                                              lock), daemon=True)
    up.start()
    _pump(server, client, counters, DOWN, lock)
    up.join()
    client.close()
    server.close()


def _serve(listener, target, counters):
    lock = threading.Lock()
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_connection, daemon=True,
                         args=(client, target, counters, lock)).start()


class Relay:
    """Listens on 127.0.0.1 (port chosen by the kernel) and relays to
    target_port.  Attributes: port, pid; counts() gives the counters."""

    def __init__(self, target_port):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self.counters = multiprocessing.Array("q", 3, lock=False)
        self.proc = multiprocessing.get_context("fork").Process(
            target=_serve, daemon=True,
            args=(listener, ("127.0.0.1", target_port), self.counters))
        self.proc.start()
        listener.close()
        self.pid = self.proc.pid

    def counts(self):
        """(bytes up, bytes down, connections) so far."""
        return tuple(self.counters[i] for i in (UP, DOWN, CONNS))

    def stop(self):
        self.proc.terminate()
        self.proc.join(10)
