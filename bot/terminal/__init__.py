"""Front ends in the terminal, no Slack needed: the handover drill and `baton report`
(table, CSV, HTML page).
"""
