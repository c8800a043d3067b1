# Production image: the same code for web (gunicorn), Celery worker and beat.
# Stage 1 fetches the front-end libraries with npm; the runtime image gets their files only, no
# node. Stage 2 builds the Python environment, compiles translations and collects static files.

FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 VAR_DIR=/srv/var
RUN python -m venv /venv
ENV PATH=/venv/bin:$PATH
WORKDIR /srv/app
COPY pyproject.toml ./
COPY changemgmt ./changemgmt
COPY approvals ./approvals
COPY integrations ./integrations
COPY notifications ./notifications
RUN pip install .
COPY templates ./templates
COPY static ./static
COPY locale ./locale
COPY manage.py gunicorn.conf.py ./
COPY --from=assets /assets/node_modules ./node_modules
# Settings need their essentials to load; none of these values is used or kept.
RUN export DJANGO_SETTINGS_MODULE=changemgmt.settings.production SECRET_KEY=build \
        ALLOWED_HOSTS=build DATABASE_URL=postgres://build@localhost/build \
        REDIS_URL=redis://localhost:6379/0 \
    && python manage.py compile_translations \
    && python manage.py collectstatic --noinput

FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=changemgmt.settings.production VAR_DIR=/srv/var
# Chinese glyphs for anything the server draws (charts, exports opened on the host) and the time
# zone database that each person's time zone is read from.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk tzdata \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /venv /venv
WORKDIR /srv/app
COPY --from=build /srv/app /srv/app
COPY --from=build /srv/var/staticfiles /srv/var/staticfiles
RUN useradd --system --home /srv app && mkdir -p /srv/var/attachments && chown -R app /srv/var
USER app
EXPOSE 8000
CMD ["gunicorn", "changemgmt.wsgi:application", "--config", "gunicorn.conf.py"]
