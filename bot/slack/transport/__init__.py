"""How Slack's requests arrive: HTTP (waitress, signature and replay checks) or Socket
Mode (a WebSocket), plus /healthz and /metrics.
"""
