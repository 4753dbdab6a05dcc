"""Thin Celery tasks: ids in, a use case call, nothing else."""
