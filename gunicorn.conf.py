"""gunicorn settings for the web processes of the production image; tunable from the environment."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# A request still running after this many seconds is killed and its worker replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Workers are replaced now and then, so a slow leak never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# Heartbeat files in memory: a slow disk must not make the arbiter think a worker hung.
worker_tmp_dir = "/dev/shm"
# The application logs one JSON line per request (with its id and user); errors go to stderr.
accesslog = None
errorlog = "-"
# Longer request lines are refused by gunicorn itself; the application answers JSON 414 under
# /api/ from API_MAX_URL_LENGTH (4096) up to this.
limit_request_line = 8190
# The reverse proxy in front sets X-Forwarded-Proto; only trust it from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
