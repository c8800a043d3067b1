"""The benchmark harness behind `make bench`: seeds a large trail, serves it with gunicorn and the
production settings, drives it with wrk and compares it with a floor and a django-viewflow peer."""
