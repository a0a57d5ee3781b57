"""The one settings object: every knob, its default and what it is for.

Values come from ``NOTRAIN_*`` environment variables (or a ``.env`` file); command-line
options override them for one run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from notrain.engine_names import EngineName

__all__ = ["EngineName", "Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTRAIN_", env_file=".env", extra="ignore")

    build_memory_limit: str = Field(
        "1GB", description="Memory the build engine may use before spilling to disk."
    )
    build_threads: int | None = Field(
        None, description="Worker threads for the build engine (default: one per core)."
    )
    build_chunk_rows: int = Field(
        4_000_000,
        gt=0,
        description="Input rows scored at a time; each chunk's kept rows make one shard.",
    )
    build_engine: EngineName = Field(
        EngineName.DUCKDB,
        description="Build engine: duckdb (in-process, one machine) or spark (Apache Spark; "
        "needs the spark extra and Java 17).",
    )
    spark_master: str | None = Field(
        None,
        description="Spark master URL for --engine spark (local[4], spark://host:7077, yarn); "
        "unset: the one spark-submit was given, else local mode on every core.",
    )
    spark_broadcast_rows: int = Field(
        2_000_000,
        ge=0,
        description="Registry-derived tables (decisions, objectors, authors) up to this many "
        "rows are broadcast to every Spark executor; larger ones are joined by shuffle.",
    )
    # -- registry ---------------------------------------------------------------------------
    database_url: str = Field(
        "sqlite:///notrain-registry.db",
        description="Registry database (SQLAlchemy URL): a SQLite file by default, "
        "postgresql://user:pass@host/db in production.",
    )
    accounts_path: str | None = Field(
        None,
        description="The platform's accounts (Parquet file, directory or glob) that requesters "
        "are matched against; unset, every requester is treated as a non-member.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key for the keyed hash (HMAC-SHA256) of verification codes; unset, a random "
        "key is created in NOTRAIN_SECRET_KEY_FILE.",
    )
    secret_key_file: str = Field(
        "notrain-secret.key",
        description="Where the generated secret key is kept (mode 0600) when "
        "NOTRAIN_SECRET_KEY is unset.",
    )
    code_ttl_minutes: int = Field(
        15, gt=0, description="Minutes an e-mail verification code stays valid."
    )
    code_max_attempts: int = Field(5, gt=0, description="Tries allowed on one code.")
    code_resend_cooldown_seconds: int = Field(
        60, ge=0, description="Seconds before another code may be sent to the same address."
    )
    code_hourly_cap: int = Field(
        5,
        gt=0,
        description="Codes one client (its IPv4 address or IPv6 /64) may have sent to one "
        "address within an hour.",
    )
    code_daily_cap: int = Field(
        10,
        gt=0,
        description="Codes one client may have sent to one address within 24 hours; with the "
        "tries per code, it bounds the guesses one client gets at one address a day.",
    )
    code_address_hourly_ceiling: int = Field(
        20,
        gt=0,
        description="Codes sent to one address within an hour, all clients together, past "
        "which only a client's first code of the hour still goes out (so others cannot keep "
        "the owner from a code); bounds mail to one address (RELIABILITY.md).",
    )
    code_address_daily_ceiling: int = Field(
        50, gt=0, description="The same ceiling per address over 24 hours."
    )
    code_failure_ceiling: int = Field(
        600,
        ge=0,
        description="Failed verifications per hour across all addresses past which "
        "verification slows down for everyone to one attempt per 3600/ceiling seconds; "
        "bounds code guessing over all addresses (RELIABILITY.md). 0 turns it off.",
    )
    code_reminder_hours: int = Field(
        24,
        ge=0,
        description="A request still awaiting its code this many hours after it was made "
        "gets one reminder with a fresh code; 0 turns reminders off.",
    )
    due_soon_days: int = Field(
        7, ge=0, description="Requests due within this many days are listed as due soon."
    )
    supervisory_authority: str = Field(
        "the data protection authority of your country of residence",
        description="Named in rejections of requesters from a country with no authority "
        "listed in notrain.registry.authorities (GDPR Art. 12(4)); the listed ones are "
        "named by country.",
    )
    public_url: str = Field(
        "http://localhost:8000",
        description="The portal's public address (scheme, host, optional path): every mail "
        "links to the request's status page under it.",
    )
    transparency_key: SecretStr | None = Field(
        None,
        description="Ed25519 seed (64 hex digits) that signs the transparency log's heads and "
        "the datasets' commitments; unset, a key is created in NOTRAIN_TRANSPARENCY_KEY_FILE.",
    )
    transparency_key_file: str = Field(
        "notrain-transparency.key",
        description="Where the generated transparency log key is kept (PEM, mode 0600) when "
        "NOTRAIN_TRANSPARENCY_KEY is unset.",
    )
    transparency_mail_receipts: bool = Field(
        True,
        description="Attach the request's receipt (JSON) to the notices the portal mails "
        "after a code is confirmed (acceptance, review, rejection, answer).",
    )
    transparency_seal_ms: int = Field(
        200,
        gt=0,
        description="How often (milliseconds) the portal's sealer appends committed audit "
        "events to the transparency log and signs a new head.",
    )
    # -- mail -------------------------------------------------------------------------------
    mail_from: str = Field(
        "notrain privacy <privacy@localhost>", description="Sender of every message."
    )
    outbox_dir: str = Field(
        "outbox",
        description="Folder the messages are written to as .eml files when NOTRAIN_SMTP_HOST "
        "is unset.",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server; unset, messages go to NOTRAIN_OUTBOX_DIR instead."
    )
    smtp_port: int = Field(587, gt=0, lt=65536, description="SMTP server port.")
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls (upgrade a plain connection), tls (implicit TLS, usually port "
        "465) or none (loopback test servers only).",
    )
    smtp_username: str | None = Field(None, description="SMTP login, if the server wants one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_timeout_seconds: float = Field(
        10.0, gt=0, description="Seconds to wait for the SMTP server before giving up."
    )
    mail_retry_seconds: int = Field(
        60,
        gt=0,
        description="Wait before retrying a message that could not be sent; doubles per "
        "failure, up to an hour. Messages are never dropped.",
    )
    mail_batch_size: int = Field(
        100,
        gt=0,
        le=1000,
        description="Queued messages sent per delivery transaction, over one SMTP connection "
        "(one audit-chain append for the batch).",
    )
    # -- portal ----------------------------------------------------------------------------
    policy_path: str | None = Field(
        None,
        description="The policy the portal explains to people (TOML); unset, the shipped "
        "default policy.",
    )
    portal_secure_cookies: bool = Field(
        True,
        description="Mark the portal's cookies Secure (HTTPS only, __Host- names); turn off "
        "only for plain-HTTP tests on localhost.",
    )
    portal_session_minutes: int = Field(
        30, gt=0, description="A console session ends after this many idle minutes."
    )
    portal_session_max_hours: int = Field(
        12, gt=0, description="A console session ends this many hours after sign-in, whatever."
    )
    portal_max_body_bytes: int = Field(
        65_536, gt=0, description="Request bodies larger than this are refused with 413."
    )
    portal_ip_rate_limit: int = Field(
        30,
        ge=0,
        description="Form posts and API writes one client address may make per minute "
        "(in-process, per server process); 0 turns the limit off.",
    )
    portal_email_rate_limit: int = Field(
        10,
        ge=0,
        description="Requests that may be submitted for one e-mail address per hour "
        "(in-process, per server process); 0 turns the limit off.",
    )
    portal_mail_workers: int = Field(
        1,
        gt=0,
        le=32,
        description="Threads of the portal that send queued mail. Each sent message appends "
        "to the audit chain under one lock, so more threads mostly wait on each other.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token that /metrics asks for; unset, /metrics answers only "
        "clients on the loopback interface.",
    )
    portal_login_rate_limit: int = Field(
        10,
        gt=0,
        description="Console sign-in attempts per client address and per officer name, per "
        "15 minutes (in-process).",
    )

    # -- members' sign-in with the platform (OpenID Connect) --------------------------------
    oidc_issuer: str | None = Field(
        None,
        description="The platform's OpenID provider (its issuer URL); with the client id and "
        'secret set, the request pages offer "Continue as a member". Unset: no sign-in.',
    )
    oidc_client_id: str | None = Field(
        None, description="The portal's client id at the platform's OpenID provider."
    )
    oidc_client_secret: SecretStr | None = Field(
        None, description="The portal's client secret at the platform's OpenID provider."
    )
    oidc_user_claim: str = Field(
        "sub",
        description="The ID token claim that holds the account's accounts.user_id (the "
        "provider's subject by default).",
    )
    oidc_redirect_uri: str | None = Field(
        None,
        description="The callback address registered at the provider "
        "(https://portal.example/members/callback); unset, derived from the request.",
    )

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)


def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # every field has a default
