# Production image: the same code for web (gunicorn), Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=changemgmt.settings.production VAR_DIR=/srv/var

RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY pyproject.toml ./
COPY changemgmt ./changemgmt
COPY approvals ./approvals
COPY integrations ./integrations
COPY notifications ./notifications
COPY templates ./templates
COPY static ./static
COPY locale ./locale
COPY manage.py ./
RUN pip install --no-cache-dir . \
    && SECRET_KEY=build ALLOWED_HOSTS=build python manage.py compile_translations \
    && SECRET_KEY=build ALLOWED_HOSTS=build python manage.py collectstatic --noinput

RUN useradd --system --home /srv app && mkdir -p /srv/var && chown -R app /srv/var
USER app
EXPOSE 8000
CMD ["gunicorn", "changemgmt.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
