"""Listening tests and a gallery in the browser (``tunelab serve``, ``tunelab listen``).

- :mod:`tunelab.web.store`: the SQLite database (WAL, schema version, migrations).
- :mod:`tunelab.web.design`: picking and rendering the melodies of a test, and each listener's
  counterbalanced order.
- :mod:`tunelab.web.analysis`: the statistics of the ratings and preferences.
- :mod:`tunelab.web.app`: the FastAPI app; :mod:`tunelab.web.pages`: its HTML.

Needs the ``web`` extra (fastapi, uvicorn), installed by ``make``.
"""
