"""The peer: django-viewflow 2.4 deciding the same three-step route (head of Finance, technical
expert, CAB), installed only in the bench's own virtualenv."""
