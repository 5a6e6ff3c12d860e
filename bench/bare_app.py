"""The yardstick for bench/ack_latency.py: a bolt App whose listeners only ack, on the same
server stack as Baton (waitress with Baton's thread counts, bolt's WSGI handling, signature
checks), answering the same three requests.

    .venv/bin/python -m bench.bare_app PORT SLACK_API_URL SIGNING_SECRET
"""

from __future__ import annotations

import contextlib
import sys
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.slack.app import LISTENER_THREADS
from bot.slack.transport.server import make_http_server, stop_on_sigterm


def main() -> None:
    port, api_url, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = App(
        client=WebClient(token="xoxb-bench", base_url=api_url),
        signing_secret=secret,
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS),
    )

    @app.command("/major-incident")
    @app.view_submission("handover_step")
    @app.action("incident_accept")
    def empty(ack: Ack) -> None:
        ack()

    server = make_http_server(SlackRequestHandler(app), port, host="127.0.0.1")
    stop_on_sigterm(server)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()


if __name__ == "__main__":
    main()
