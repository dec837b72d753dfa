"""The HTTP edge (FastAPI): the app (``app``), the dependencies every handler
takes (``deps``), and one module per area: feeds, the API, sign-in, pages for
producers, the calendar, the DHA's dashboard, the admin pages.

May use: the core, ``scheduler.store``, settings and the clock, FastAPI and
Starlette. Not the daemon (``create_app`` is handed one) or the command line.
"""
