"""Harvesting evidence from the outlets' own systems (pure core): as-run logs
of playout systems, articles of a website's feeds and sitemaps, daily checks
of portal pages, each read from bytes or values into **proposals** that a
producer confirms (or an outlet records automatically). Fetching the bytes
is ``scheduler.fetching``'s; keeping proposals, ``scheduler.store``'s.

May use: ``scheduler.plan``, the shared words, feedparser and defusedxml
(parsers of bytes, no I/O). No database, web, network or clock.
"""
