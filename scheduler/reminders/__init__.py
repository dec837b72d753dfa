"""Reminders (pure core): what is owed to whom and when (the reminder policy),
the outbox's rules for a message's identity and retries, and the expiry of
messages that could not be sent in time.

May use: ``scheduler.plan``, the shared words. No database, mail, web or clock.
"""
