"""Page weight of an embedded 15-item trust poll, cold, in Chromium.

A host page on 127.0.0.1 embeds the poll served by the app on localhost
(production settings: DEBUG off, hashed and compressed static files through
whitenoise, GZip for HTML). Chromium records every response it needs to show
the poll (loader, iframe HTML, CSS, JS); the figure is the sum of their
encoded transfer sizes (headers + compressed body). The baseline, measured in
the same run, is the same set of requests without compression
(Accept-Encoding: identity). Budgets: everything ≤ 15 KB, the loader ≤ 3 KB.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import Request, urlopen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, configure, trust_survey  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BUDGET_TOTAL, BUDGET_LOADER = 15 * 1024, 3 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    if not Path(CHROMIUM).exists():
        sys.exit("Chromium is not installed: apt-get install chromium")
    port = free_port()
    app = f"http://localhost:{port}"
    configure(PUBLIC_BASE_URL=app)
    import django

    django.setup()
    from django.core.management import call_command

    from surveys.embed import script_snippet

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    link = trust_survey()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"localhost:{port}"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    host_html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Blog</title></head>"
        f"<body><h1>My blog</h1>{script_snippet(link)}</body></html>"
    ).encode()

    class Host(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(host_html)

        def log_message(self, *args) -> None:
            pass

    host = ThreadingHTTPServer(("127.0.0.1", 0), Host)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    try:
        for _ in range(100):
            try:
                urlopen(f"{app}/healthz/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        from playwright.sync_api import sync_playwright

        records: list[tuple[str, int, int]] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 375, "height": 700}).new_page()

            def finished(request) -> None:
                if request.url.startswith(app):
                    sizes = request.sizes()
                    records.append((request.url, sizes["responseHeadersSize"], sizes["responseBodySize"]))

            page.on("requestfinished", finished)
            page.goto(f"http://127.0.0.1:{host.server_address[1]}/")
            frame = page.wait_for_selector("iframe").content_frame()
            frame.wait_for_selector("form#poll-form")
            page.wait_for_load_state("networkidle")
            browser.close()

        total = sum(h + b for _, h, b in records)
        loader = sum(h + b for url, h, b in records if url.endswith("/embed.js"))
        identity = 0
        for url, headers, _ in records:
            with urlopen(Request(url, headers={"Accept-Encoding": "identity"})) as reply:
                identity += headers + len(reply.read())
        print(f"page weight of an embedded 15-item poll, cold load in Chromium ({len(records)} requests)")
        for url, headers, body in records:
            print(f"  {url.removeprefix(app)[:60]:<60} {headers + body:6d} B")
        print(f"  loader      {loader:6d} B  budget {BUDGET_LOADER} B   ratio to budget {loader / BUDGET_LOADER:.2f}")
        print(f"  total       {total:6d} B  budget {BUDGET_TOTAL} B  ratio to budget {total / BUDGET_TOTAL:.2f}")
        print(f"  uncompressed baseline {identity:6d} B   ratio {total / identity:.2f}")
        if total > BUDGET_TOTAL or loader > BUDGET_LOADER:
            sys.exit("over budget")
    finally:
        host.shutdown()
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
