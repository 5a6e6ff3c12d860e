"""Baton's front ends: `slack/` (the bolt App, its listeners by concept, Block Kit, delivery to
Slack) and `terminal/` (the drill, the report, the outbox), plus the `baton` command and runtime.
"""
