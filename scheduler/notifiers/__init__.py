"""Where messages go (edge): letters composed from outbox messages, and the
mailers that send them by SMTP or write them as .eml files.

May use: the pure core, ``scheduler.store`` (atomic files), settings. Not the
web, the daemon or the command line.
"""
