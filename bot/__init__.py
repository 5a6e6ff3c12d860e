"""Baton's Slack adapter: the bolt App, its listeners, Block Kit views and the runners."""
