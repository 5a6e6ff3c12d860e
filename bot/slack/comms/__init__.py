"""Stakeholder notices in Slack: the draft in the card's thread, Send and Edit, the
update drafted on demand, the executive summary.
"""
