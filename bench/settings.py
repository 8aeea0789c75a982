"""The portal's settings with bench/urls.py's bare view added: for bench/pages.py's processes only."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
