"""Playwright walks through the pages: the shared Chromium fixtures (`browser`, `new_page`,
`shot`) live in tests/conftest.py so that one Playwright serves every folder."""
