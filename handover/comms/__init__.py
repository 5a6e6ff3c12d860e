"""Stakeholder comms: notices drafted from Jinja2 templates, checked, edited and sent by
the owner; what changed since the last notice.
"""
