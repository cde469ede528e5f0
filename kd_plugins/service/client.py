"""Drive a running segmentation service: start ``tools/serve_seg.py`` as a subprocess and
call its API with the standard library only (the tests and the latency benchmark).

    server = ServerProcess(config, checkpoint, log_path='serve.log').wait_ready()
    client = SegmentClient(server.url)
    status, headers, body = client.segment(open('tile.png', 'rb').read(), fmt='png')
    server.stop()
"""
import http.client
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import time
import urllib.parse

from .toy_student import project_root


def free_port():
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def multipart_file(data, filename='image.png', field='file'):
    """``(body, content_type)`` of a multipart/form-data upload of ``data``."""
    boundary = f'kdserve{os.getpid()}x{time.monotonic_ns()}'
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n')
    body = head.encode() + data + f'\r\n--{boundary}--\r\n'.encode()
    return body, f'multipart/form-data; boundary={boundary}'


class SegmentClient:
    """One keep-alive HTTP connection to the service (not shared between threads)."""

    def __init__(self, url, timeout=120):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self._conn = None

    def request(self, method, path, body=None, headers=None):
        """``(status, headers, body bytes)``; reconnects once if the server closed."""
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port,
                                                        timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                res = self._conn.getresponse()
                data = res.read()
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt:
                    raise
                continue
            if res.getheader('connection', '').lower() == 'close':
                self.close()
            return res.status, dict(res.getheaders()), data

    def segment(self, data, fmt='json', filename='image.png'):
        body, content_type = multipart_file(data, filename)
        return self.request('POST', f'/api/segment?format={fmt}', body,
                            {'Content-Type': content_type})

    def get_json(self, path):
        status, _, data = self.request('GET', path)
        return status, json.loads(data)

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class ServerProcess:
    """``tools/serve_seg.py --config C --checkpoint K`` on a free port of 127.0.0.1.

    Its output goes to ``log_path``; :meth:`wait_ready` returns once ``/api/health``
    answers ``ok`` (or raises with the log's tail when the process exits first).
    """

    def __init__(self, config, checkpoint, log_path, extra_args=(), env=None, port=None):
        self.port = port or free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log_path = log_path
        self._log = open(log_path, 'w')
        script = osp.join(project_root(), 'tools', 'serve_seg.py')
        self.proc = subprocess.Popen(
            [sys.executable, script, '--config', config, '--checkpoint', checkpoint,
             '--port', str(self.port), '--log-level', 'warning', *extra_args],
            cwd=project_root(), env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def wait_ready(self, timeout=120):
        deadline = time.time() + timeout
        client = SegmentClient(self.url, timeout=5)
        try:
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f'serve_seg.py exited ({self.proc.returncode}):'
                                       f'\n{self.log()}')
                try:
                    status, health = client.get_json('/api/health')
                    if status == 200 and health.get('status') == 'ok':
                        return self
                except (OSError, ValueError, http.client.HTTPException):
                    client.close()
                time.sleep(0.3)
        finally:
            client.close()
        raise RuntimeError(f'serve_seg.py not ready after {timeout} s:\n{self.log()}')

    def log(self, tail=4000):
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path) as f:
            return f.read()[-tail:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()


def rss_mb(pid):
    """Resident memory of process ``pid`` in MiB (``VmRSS`` of /proc/<pid>/status)."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f'no VmRSS in /proc/{pid}/status')
