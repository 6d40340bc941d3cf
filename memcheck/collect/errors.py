"""The error a host's collection ends in when nothing usable came back from it."""

from __future__ import annotations

from urllib.parse import urlsplit

from memcheck.errors import MemcheckError
from memcheck.secrets import mask_text, mask_url_passwords


class CollectError(MemcheckError):
    """A host could not be collected (unreachable, key refused, timed out, no output).

    `url` is the target without its password; `reason` is one line, without a traceback,
    the command that was sent, or secrets from the URL.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = redact(url)
        self.reason = _one_line(reason, url)
        super().__init__(f"{self.url}: {self.reason}")


def redact(url: str) -> str:
    """The URL without a password (`ssh://user:secret@host` -> `ssh://user:***@host`), by the
    one masking policy (`memcheck.secrets`)."""
    return mask_url_passwords(url)


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _one_line(text: str, url: str) -> str:
    secret = _password(url)
    if secret:
        text = text.replace(secret, "***")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # A host's complaint may quote a command line (`sh: 1: mysql -pX: not found`).
    line = mask_text(lines[0]) if lines else "failed"
    return line if len(line) <= 300 else line[:297] + "..."
