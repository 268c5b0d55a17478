#!/bin/sh
# Migrate before the web process starts; workers and beat skip it (MIGRATE=0).
set -e
if [ "${MIGRATE:-1}" = "1" ]; then
  python manage.py migrate --noinput
fi
exec "$@"
