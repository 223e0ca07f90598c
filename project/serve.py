"""Serve TrustPoll like production: gunicorn web workers and one task worker on PostgreSQL and Redis.

``make serve`` runs ``python -m project.serve``. Settings come from the
environment as always; this fills in what a single machine needs when they
are missing, and refuses what would be unsafe:

- ``DEBUG=0``; ``SECRET_KEY`` from the environment, else from ``var/secret_key``
  (made once, readable only by its owner). An insecure key stops the start.
- ``DATABASE_URL`` defaults to the local PostgreSQL (database ``trustpoll``,
  created when missing); ``REDIS_URL`` to the local Redis.
- Migrations and ``collectstatic`` run first; then one ``db_worker`` and
  gunicorn with ``WEB_CONCURRENCY`` workers (default 2 × CPUs + 1).
- ``HTTPS=0`` (the default here) serves plain http on loopback: HTTPS
  redirects and secure-only cookies are off. Behind a TLS proxy set ``HTTPS=1``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/trustpoll"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def secret_key(var_dir: Path) -> str:
    """Return SECRET_KEY from the environment, or the machine's own key under ``var_dir`` (made once)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as stream:
            stream.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        return
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Created database {name}.", flush=True)


def environment(*, port: int, workers: int | None) -> dict[str, str]:
    """Return the environment of the served processes."""
    env = dict(os.environ)
    var_dir = Path(env.get("TRUSTPOLL_VAR_DIR", BASE_DIR / "var"))
    env["DEBUG"] = "0"
    env["SECRET_KEY"] = secret_key(var_dir)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    env.setdefault("CONN_MAX_AGE", "60")
    env.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1")
    env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    if env.get("HTTPS", "0") != "1":
        for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS"):
            env.setdefault(name, "0")
    env["WEB_CONCURRENCY"] = str(workers or int(env.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)))
    return env


def run(*, port: int, workers: int | None, bind: str, task_workers: int) -> int:
    env = environment(port=port, workers=workers)
    python = sys.executable
    manage = [python, str(BASE_DIR / "manage.py")]
    try:
        ensure_database(env["DATABASE_URL"])
        # Refuse insecure settings before anything else starts (settings raise on a weak SECRET_KEY).
        for step in (["check", "--deploy", "--fail-level", "ERROR"], ["migrate", "--noinput", "-v", "0"],
                     ["collectstatic", "--noinput", "-v", "0"], ["recover_stalled_tasks"]):
            subprocess.run([*manage, *step], env=env, check=True, cwd=BASE_DIR)
    except subprocess.CalledProcessError as exc:
        print(f"Not starting: `manage.py {exc.cmd[2]}` failed (see above).", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - e.g. PostgreSQL unreachable: say so in one line
        print(f"Not starting: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    children = [subprocess.Popen([*manage, "db_worker", "--no-reload"], env=env, cwd=BASE_DIR) for _ in range(task_workers)]
    web = subprocess.Popen(
        [python, "-m", "gunicorn", "project.wsgi:application", "--bind", f"{bind}:{port}",
         "--workers", env["WEB_CONCURRENCY"], "--worker-class", "sync", "--timeout", "60",
         "--graceful-timeout", "20", "--max-requests", "5000", "--max-requests-jitter", "500",
         "--forwarded-allow-ips", env.get("FORWARDED_ALLOW_IPS", "127.0.0.1")],
        env=env, cwd=BASE_DIR,
    )
    children.append(web)
    print(f"Serving http://{bind}:{port}/ with {env['WEB_CONCURRENCY']} web workers and {task_workers} task "
          f"worker(s) on {urlsplit(env['DATABASE_URL']).hostname}/{urlsplit(env['DATABASE_URL']).path.lstrip('/')}. "
          "Admin: create one with `.venv/bin/python manage.py createsuperuser` (same environment).", flush=True)

    def stop(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = web.wait()
    stop(signal.SIGTERM, None)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1"))
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default WEB_CONCURRENCY or 2 × CPUs + 1)")
    parser.add_argument("--task-workers", type=int, default=int(os.environ.get("TASK_WORKERS", "1")))
    args = parser.parse_args()
    sys.exit(run(port=args.port, workers=args.workers, bind=args.bind, task_workers=args.task_workers))


if __name__ == "__main__":
    main()
