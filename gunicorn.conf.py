"""gunicorn's settings for production (read from the working directory: the Dockerfile's and
docker-compose's gunicorn, and tests/portal/test_processes.py's).

Threaded workers: a sync worker serving one long response (an evidence pack of a period streams
for minutes, invoicing/evidence_views.py) sends no heartbeat and is killed after `timeout`, cutting
the download short; a gthread worker's main thread keeps beating while its threads serve, so only a
worker that really hangs is replaced. The threads also keep one slow download from taking a whole
worker away from everyone else.
"""

worker_class = "gthread"
threads = 4
timeout = 30
