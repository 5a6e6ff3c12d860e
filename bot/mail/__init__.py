"""Notices by e-mail: the message (`message.py`), one SMTP session (`smtp.py`), the outbox's
sender for them (`sender.py`). Who gets which notice is the domain's (handover/comms/mail.py)."""
