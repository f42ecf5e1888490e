# Production image: gunicorn behind the hospital's reverse proxy; static files served by whitenoise.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# WeasyPrint (the PDF documents) needs pango and harfbuzz; the documents are set in Noto CJK.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 \
    libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config config
COPY alliance alliance
COPY referrals referrals
COPY sharedcenters sharedcenters
COPY reporting reporting
RUN pip install .
COPY . .
COPY --from=assets /build/node_modules node_modules
# Throwaway settings for collectstatic only; the real ones come from the environment at run time.
RUN SECRET_KEY=collectstatic-only PATIENT_ID_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    PATIENT_ID_HMAC_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    python manage.py collectstatic --noinput \
    && rm -rf node_modules \
    && mkdir -p /app/media \
    && useradd --system --uid 1000 alliance && chown -R alliance /app
USER alliance
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
