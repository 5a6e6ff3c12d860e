"""Taking a handover in Slack: the `/major-incident` command and the checklist modal
built from the one checklist definition (handover/checklist/definition.py).
"""
