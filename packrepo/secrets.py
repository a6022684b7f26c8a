"""Secrets left out of packs: private keys, tokens and credentials, found by detect-secrets.

Only text that would be emitted is checked (a block as rendered), so the cost is bounded by
the budget, not by the tree, and a secret in a file the pack leaves out costs nothing.
The detectors are detect-secrets' own (Yelp, maintained; its plugins' ``analyze_string``,
which for JWTs also checks that the token decodes), chosen by measurement
(``python -m benchmarks.secrets_bench --tree ...``, every detector over every text file;
figures for requests 2.32.3 and jinja2 3.1.4 in the README):

* kept: the detectors of distinctive formats (PEM/OpenSSH/PGP/PuTTY private keys, AWS,
  GitHub, GitLab, Slack, Stripe, PyPI, npm, OpenAI, SendGrid, Twilio, Discord, Telegram,
  Mailchimp, Square, Azure storage keys, JWTs): in requests they flag exactly the 6
  private keys of its test fixtures, in jinja2 nothing;
* left out: the entropy detectors (36 and 9 of requests' 84 files, 59 and 27 of jinja2's
  89: changelogs, hashes, metadata), the keyword detector (the slowest by far: 3.6 s on
  requests, more than all the others together), public IP addresses and basic-auth URLs
  (addresses and ``user:pass@host`` examples in code, docs and changelogs are not
  credentials), and the context detectors of Cloudant, IBM, Artifactory and Softlayer
  (nothing flagged, three quarters of the remaining time: 1.91 of 2.54 s on requests).
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
