"""The sources the daemon reads, kept in step with the loaded production
files (helper "config" builds ``sync_sources``; called by ``store/loading.py``)."""
