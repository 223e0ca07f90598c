"""Settings of the ingest benchmark's server: production settings plus the baseline view's URL."""

from project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_ingest"
