"""The phase clock: deadlines as rows (planned, fired exactly once), APScheduler as the
alarm that wakes Baton up, and the incident's timeline of events.
"""
