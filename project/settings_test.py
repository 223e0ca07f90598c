"""Test settings: the real settings with the immediate task backend and fast hashing."""

from project.settings import *  # noqa: F401,F403

TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    # The real backend, for tests that run the worker.
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SECURE_SSL_REDIRECT = False
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns about a missing root
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the tests' receivers listen on loopback
WEBHOOK_TIMEOUT = 2.0
