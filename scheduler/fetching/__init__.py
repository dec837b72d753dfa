"""Fetching from the outlets' systems (edge): an HTTP client that refuses
private and loopback addresses (unless configured), bounds time and size,
sends one request per host at a time with a pause and says who it is.

May use: the pure core, ``scheduler.store``, settings. Not the web, the
daemon or the command line.
"""
