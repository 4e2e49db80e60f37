# Production-like image for web, worker, beat and the carrier simulator (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY portal ./portal
COPY provisioning ./provisioning
COPY compliance ./compliance
COPY texting ./texting
RUN pip install --no-cache-dir .
COPY . .
# With DEBUG off, as the image runs: WhiteNoise then needs the hashed names and manifest collectstatic writes.
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input
# The French (Canada) and Slovak catalogues, compiled here (.mo files are not committed): gettext only for this step.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends gettext >/dev/null \
    && DEBUG=0 SECRET_KEY=compilemessages-only python manage.py compilemessages --ignore=.venv --verbosity 0 \
    && apt-get purge -y -qq gettext >/dev/null && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home app
# The eDiscovery archives' volume (docker-compose.yml): a new volume takes this directory's owner.
RUN mkdir -p /var/lib/texting-hub/exports && chown app:app /var/lib/texting-hub/exports
USER app
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
