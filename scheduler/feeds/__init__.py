"""Calendar feeds (pure core): iCalendar (RFC 5545) rendering of occurrences and
milestones with stable UIDs, and the month grid the calendar page draws.

May use: the shared words, icalendar, babel. No database, web or clock.
"""
