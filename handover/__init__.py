"""Baton's domain core: the checklist, records, phases, clock, comms and quality.

Never imports Slack: it takes plain values and returns plain results.
"""
