"""The local e-mail backend: messages saved as files, each one's link logged on one line.

With nothing configured (``DEBUG``), a sign-up's verification link must be easy to find
in ``make run``'s output: the file backend keeps the whole message under ``var/mail/``
and one line names the recipient and the first link in the body. The ``portal.mail``
logger prints that line as it is, starting with ``✉`` (``LOGGING`` in settings), in the
web server's output and in the worker's.
"""

from __future__ import annotations

import logging
import re

from django.core.mail.backends.filebased import EmailBackend

log = logging.getLogger("portal.mail")
URL = re.compile(r"https?://[^\s<>\"']+")


def first_link(body: str) -> str:
    match = URL.search(body or "")
    return match.group(0).rstrip(".,;)") if match else ""


class LinkLoggingFileBackend(EmailBackend):
    def send_messages(self, email_messages) -> int:
        sent = super().send_messages(email_messages)
        for message in email_messages or []:
            link = first_link(message.body)
            to = ", ".join(message.to)
            if link:
                log.warning("✉ %s — to %s: %s", message.subject, to, link)
            else:
                log.warning("✉ %s — to %s (saved in %s)", message.subject, to, self.file_path)
        return sent
