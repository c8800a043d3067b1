"""The production settings, served for the benchmark: the same middleware, authentication and
database settings, plus the floor endpoint (bench.urls), which production never exposes.

The runner sets DATABASE_URL, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS in the environment."""

from changemgmt.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
