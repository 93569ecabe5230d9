# DealerCRM image: the web server (gunicorn); docker-compose.yml runs the same image
# as the Celery worker and beat. Settings come from the environment (see README).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# gettext: compilemessages for the zh_Hans catalogue.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files and the compiled catalogue are built into the image. The production
# settings insist on their secrets, so the build passes throwaway values that no
# running container ever uses.
RUN DJANGO_SETTINGS_MODULE=dealercrm.settings.production \
    DJANGO_SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-0000 \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    PHONE_ENCRYPTION_KEYS=YnVpbGQtb25seS1ub3QtYS1rZXktYnVpbGQtb25seSE= \
    PHONE_HASH_KEY=build-only-not-a-secret-build-only-not-a-secret \
    sh -c "python manage.py collectstatic --noinput && python manage.py compilemessages --ignore=.venv"

RUN useradd --system --create-home --uid 1000 dealercrm \
    && mkdir -p /app/media \
    && chown -R dealercrm /app/media
USER dealercrm

ENV DJANGO_SETTINGS_MODULE=dealercrm.settings.production
EXPOSE 8000
CMD ["gunicorn", "dealercrm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
