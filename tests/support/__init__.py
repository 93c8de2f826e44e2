"""What the test folders share, in one place: plain helpers imported by the tests, and the fixtures that
``tests/conftest.py`` registers on top of them.

- ``databases``: the backend of the run, throwaway databases, the table cleaner;
- ``seed``: the hand-made market whose figures can be computed by hand;
- ``app``: a running app with an HTTP client over ASGI, or behind a real uvicorn server, and the error body;
- ``accounts``: users and their credentials, signed in over HTTP or written straight into the database;
- ``redis``: a redis-server of a test's own, to stop, start, pause and resume;
- ``logs``: a recorder that stands in for a module's structlog logger.

No test imports a ``conftest.py``: a folder's conftest holds only that folder's fixtures, and the helpers that
only one folder's tests use stay in that folder (its ``helpers.py``, or the test module that defines them).
"""
