"""Stable links to the data lake for people: `llm-assets datalake serve-links`.

A presigned S3 URL lasts at most 7 days, so a link stored with a materialization would die
long before the run is deleted.  Links made with LLM_ASSETS_LINKS_URL point here instead:
`GET /<key>` checks the object exists and redirects (302) to a presigned URL made at that
moment, signed for the endpoint the browser reaches (LLM_ASSETS_S3_PUBLIC_ENDPOINT).  Only
keys under `runs/` (executed notebooks) and `export/` (results) are served; the server holds
the data lake credentials, the browser only ever sees short-lived signed URLs.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import click

from llm_assets.core.errors import LlmAssetsError

SERVED = ("runs/", "export/")


def resolve(lake, raw_path: str) -> tuple[int, str]:
    """(HTTP status, Location or message) for a request path."""
    key = unquote(urlsplit(raw_path).path).lstrip("/")
    if not key.startswith(SERVED) or ".." in key.split("/"):
        return 404, f"only keys under {', '.join(SERVED)} are served here\n"
    try:
        if not lake.exists(key):
            return 404, f"no object {key!r} in the data lake ({lake.describe()})\n"
        return 302, lake.url(key)
    except LlmAssetsError as err:  # the data lake is unreachable: say so, it is not the link
        return 503, f"{err}\n"


def handler_for(lake) -> type[BaseHTTPRequestHandler]:
    class LinkHandler(BaseHTTPRequestHandler):
        def _answer(self, body: bool) -> None:
            status, value = resolve(lake, self.path)
            self.send_response(status)
            if status == 302:
                self.send_header("Location", value)
                self.send_header("Cache-Control", "no-store")
                value = f"see {value}\n"
            data = value.encode()
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self._answer(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(body=False)

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            # the request line only: a query string could carry a signature
            click.echo(f"{self.address_string()} {self.command} "
                       f"{urlsplit(self.path).path} {args[1] if len(args) > 1 else ''}")

    return LinkHandler


def serve(lake, host: str, port: int) -> None:
    server = ThreadingHTTPServer((host, port), handler_for(lake))
    click.echo(f"serving links to {lake.describe()} on http://{host}:{port}/<key>")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
