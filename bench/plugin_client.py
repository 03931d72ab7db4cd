# SPDX-License-Identifier: MIT
"""A plugin client as dockerd's: one connection to the plugin socket, kept.

Used by bench/burst.sh (burst_calls) and bench/lib.sh (api_pairs), so that
what they time is vxov's answer, not a process start-up per call.
"""
import http.client
import socket
import time


class Plugin(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("x", timeout=timeout)
        self.upath = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.upath)

    def call(self, method, body):
        """POST /METHOD: (answer text, milliseconds); a failed connection is
        an answer with "Err" (and the next call connects again)."""
        t0 = time.monotonic_ns()
        try:
            self.request("POST", "/" + method, body,
                         {"Accept": "application/vnd.docker.plugins.v1.2+json"})
            r = self.getresponse().read().decode()
        except OSError as e:
            r = '{"Err":"%s"}' % e
            self.close()
        return r, (time.monotonic_ns() - t0) / 1e6
