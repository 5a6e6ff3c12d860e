"""Looking back: exception reports for the service desk lead, and the measures of
`baton report` over a period.
"""
