"""Jinja2 templates for stakeholder comms (organisations may point to their own folder)."""
