# The portal for production: gunicorn behind a TLS-terminating proxy, static files by WhiteNoise.
# The same image runs the web server, the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim

# DEBUG=0: the image is production (no sandbox, secrets required) unless a run says otherwise.
ENV DEBUG=0 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VAR_DIR=/app/var \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 1000 portal

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# collectstatic needs the production settings to load; these throwaway values are never used at run time.
RUN DEBUG=0 SANDBOX=0 SECRET_KEY=collectstatic-only-not-a-real-key \
    FIELD_ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput -v0 \
 && mkdir -p /app/var/media \
 && chown -R portal:portal /app/var

USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
