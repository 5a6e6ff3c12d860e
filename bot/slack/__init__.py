"""The Slack adapter: the bolt App, its listeners by concept, Block Kit views, and the
outbox's delivery to Slack. Everything that knows Slack's shapes lives under here.
"""
