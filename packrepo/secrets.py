"""Secrets left out of packs: private keys, tokens and credentials, found by detect-secrets.

Only text that would be emitted is checked (a block as rendered), so the cost is bounded by
the budget, not by the tree, and a secret in a file the pack leaves out costs nothing.
The detectors are detect-secrets' own (Yelp, maintained; its plugins' ``analyze_string``,
which for JWTs also checks the token decodes), chosen by measurement
(``python -m benchmarks.secrets_bench``, figures in the README) on requests 2.32.3,
jinja2 3.1.4, sympy 1.13.3 and Django 5.1.3:

* kept: the detectors of distinctive formats (PEM/OpenSSH/PGP/PuTTY private keys, AWS,
  GitHub, GitLab, Slack, Stripe, PyPI, npm, OpenAI, SendGrid, Twilio, Discord, Telegram,
  Mailchimp, Square, Azure storage keys, JWTs): the 6 private keys of requests' test
  fixtures found, no other file flagged;
* left out: the entropy and keyword detectors (they flagged 81 of requests' 84 files),
  public IP addresses (30 Django files: addresses in tests and docs are not credentials),
  basic-auth URLs (example ``user:pass@host`` URLs in docs and tests), and the
  keyword-context detectors of Cloudant, IBM, Artifactory and Softlayer (no hit anywhere,
  four fifths of the detection time).
"""

from __future__ import annotations

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import BasePlugin
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

DETECTORS: tuple[BasePlugin, ...] = tuple(
    detector()
    for detector in (
        PrivateKeyDetector, AWSKeyDetector, GitHubTokenDetector, GitLabTokenDetector,
        SlackDetector, StripeDetector, PypiTokenDetector, NpmDetector, OpenAIDetector,
        SendGridDetector, TwilioKeyDetector, DiscordBotTokenDetector,
        TelegramBotTokenDetector, MailchimpDetector, SquareOAuthDetector,
        AzureStorageKeyDetector, JwtTokenDetector,
    )
)  # fmt: skip


def find_secret(text: str) -> str | None:
    """The kind of the first secret in ``text`` (e.g. ``Private Key``), or None."""
    for detector in DETECTORS:
        for _ in detector.analyze_string(text):
            return str(detector.secret_type)
    return None
