"""OpenAI's Admin API under ``/v1/organization/…``, for admin keys only: users, invites,
projects (and their users, service accounts, keys, rate limits, spend limit), admin
keys and the audit log. Each route parses, calls one use case of ``accounts`` and shapes
the answer; the rules (roles, validation, audit entries) live in the use cases."""
