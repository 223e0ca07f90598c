"""`make serve`'s stack for tests: gunicorn and a task worker on a fresh PostgreSQL database, reached through a
TCP proxy the test can cut and restore (a database outage without stopping the shared PostgreSQL server)."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG = ("127.0.0.1", 5432)


IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


class SourcedConnection(http.client.HTTPConnection):
    """An HTTP connection from a chosen loopback address (127.0.0.x), as if from another client.

    The source port is picked at connect() (IP_BIND_ADDRESS_NO_PORT), when the
    kernel can avoid 4-tuples still in TIME-WAIT; picked at bind(), hundreds of
    rapid connections from one address sooner or later reuse one and stall.
    """

    def __init__(self, host: str, port: int, *, source: str, timeout: float = 10):
        super().__init__(host, port, timeout=timeout)
        self.source = source

    def connect(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((self.source, 0))
        sock.settimeout(self.timeout)
        sock.connect((self.host, self.port))
        self.sock = sock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpProxy:
    """Forward 127.0.0.1:<port> to ``target``; ``cut()`` drops every connection and refuses new ones until ``restore()``."""

    def __init__(self, target: tuple[str, int] = PG):
        self.target, self.port = target, free_port()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        chooser = selectors.DefaultSelector()
        chooser.register(a, selectors.EVENT_READ, b)
        chooser.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in chooser.select(timeout=1):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass

    def cut(self) -> None:
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread; close() alone would not
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for sock in (a, b):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self.cut()


class Stack:
    """gunicorn + one db_worker, production settings, on a fresh database reached through ``proxy``."""

    def __init__(self, name: str, *, workers: int = 2, env: dict[str, str] | None = None, own_redis: bool = False,
                 pg_port: int = PG[1]):
        self.database = name
        self.server_url = f"postgresql://postgres@127.0.0.1:{pg_port}/postgres"
        self.proxy = TcpProxy(("127.0.0.1", pg_port))
        self.port = free_port()
        self.redis: subprocess.Popen | None = None
        redis_url = "redis://127.0.0.1:6379/12"
        if own_redis:  # a Redis of its own, so a test can stop it
            self.redis_port = free_port()
            self.start_redis()
            redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        self.direct_url = f"postgresql://postgres@127.0.0.1:{pg_port}/{name}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))},
            "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{self.proxy.port}/{name}", "CONN_MAX_AGE": "60",
            "REDIS_URL": redis_url, "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0", "SECURE_HSTS_SECONDS": "0", "LOG_LEVEL": "WARNING", "REQUEST_LOG": "0",
            "TRUSTPOLL_VAR_DIR": str(ROOT / "var" / f"stack-{name}"), "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.port}",
            "DJANGO_SETTINGS_MODULE": "project.settings",
            **(env or {}),
        }
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        self.processes: list[subprocess.Popen] = []
        self.web = self._spawn([sys.executable, "-m", "gunicorn", "project.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                                "--workers", str(workers), "--timeout", "30", "--log-level", "warning"])
        self.worker = self._spawn([sys.executable, "manage.py", "db_worker", "--no-reload"])
        self.wait_ready()

    def add_node(self, workers: int = 2) -> int:
        """Start a second web node (another gunicorn, another port) on the same database and Redis; return its port."""
        port = free_port()
        self._spawn([sys.executable, "-m", "gunicorn", "project.wsgi:application", "--bind", f"127.0.0.1:{port}",
                     "--workers", str(workers), "--timeout", "30", "--log-level", "warning"])
        original, self.port = self.port, port
        try:
            self.wait_ready()
        finally:
            self.port = original
        return port

    def add_worker(self) -> subprocess.Popen:
        return self._spawn([sys.executable, "manage.py", "db_worker", "--no-reload"])

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop_redis(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            self.redis.kill()
            self.redis.wait()

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        # Logs go to a file: a pipe nobody reads fills up (64 KB of warnings) and then blocks the server.
        log_dir = Path(self.env["TRUSTPOLL_VAR_DIR"])
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = log_dir / "stack.log"
        with self.log.open("a") as log:
            process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=log,
                                       start_new_session=True)
        self.processes.append(process)
        return process

    def manage(self, *args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 10, port: int | None = None, source: str | None = None) -> tuple[int, dict[str, str], bytes]:
        """Send one request (to another node with ``port``, from another client address with ``source``)."""
        connection = (SourcedConnection("127.0.0.1", port or self.port, source=source, timeout=timeout) if source
                      else http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout))
        try:
            connection.request(method, path, body=body, headers=headers or {})
            reply = connection.getresponse()
            return reply.status, dict(reply.getheaders()), reply.read()
        finally:
            connection.close()

    def json(self, path: str) -> tuple[int, Any]:
        status, _, body = self.request("GET", path)
        return status, json.loads(body) if body else None

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/readyz/", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError("the stack did not become ready")

    def sql(self, query: str, *params: Any) -> list[tuple]:
        with psycopg.connect(self.direct_url) as connection:
            return connection.execute(query, params).fetchall()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.proxy.close()
        self.stop_redis()
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


class PrivatePostgres:
    """A PostgreSQL server of the test's own (initdb in a temporary folder, another port), so it can really be restarted."""

    def __init__(self, folder: Path):
        import glob
        import shutil

        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
        self.data, self.port = folder / "pgdata", free_port()
        folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(folder, "postgres")
        self._as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])
        self.start()

    def _as_postgres(self, command: list[str]) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        self._as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l", str(self.data / "log"), "start"])

    def stop(self) -> None:
        self._as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
