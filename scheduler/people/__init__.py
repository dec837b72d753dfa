"""People and what they may do (pure core): roles, email addresses, languages,
feed scopes and secret tokens, and the permission rules (a producer records
only for their own agency).

May use: ``scheduler.plan`` and the shared words. No database, web or clock.
"""
