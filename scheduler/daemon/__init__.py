"""The daemon (edge): APScheduler 3 wiring (``runner``) and the jobs it ticks
(``jobs``): plan reminders, send the outbox, close windows, write periodic
reports, refresh feed files. Each job reads the clock once and passes it down.

May use: the core, ``scheduler.store``, ``scheduler.notifiers``, settings and
the clock. Not the web or the command line.
"""
