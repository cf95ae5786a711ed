"""Reference EscalaFin service: the contract the deployment relies on.

Kept import-free so `python -m escalafin_app.healthcheck` starts in milliseconds.
"""
