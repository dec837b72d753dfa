"""Compliance (pure core): each occurrence's status as of a moment (pending,
at risk, on time, late, missing, …), the summaries, and the report documents
(CSV, XLSX, HTML) built from them.

May use: ``scheduler.plan``, ``scheduler.evidence``, the shared words and
openpyxl, jinja2 (through ``scheduler.rendering``). No database, web or clock.
"""
