"""The real Celery app for the fault test's worker, with unacknowledged tasks redelivered after
seconds instead of the Redis transport's default hour, so a SIGKILLed task comes back in the test.
https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
"""

from service.worker import celery_app

celery_app.conf.broker_transport_options = {"visibility_timeout": 5}
