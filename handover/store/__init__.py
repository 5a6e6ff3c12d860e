"""Storage: the database and its unit of work, the outbox of what Baton has to say,
and receipts of requests taken once.
"""
