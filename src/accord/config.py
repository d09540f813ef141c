"""Settings of an Accord node, read from the environment (prefix ``ACCORD_``).

Every setting has a default and a help text; the README lists them all (a test checks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of one node. Build it with ``Settings()``; nothing reads it at import time."""

    model_config = SettingsConfigDict(env_prefix="ACCORD_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="Directory holding the embedded SQLite database and other node files.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database; default: SQLite file accord.db in the data directory. "
        "Production: postgresql+psycopg://user@host/db.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8000, description="Port the HTTP server listens on.")
    page_size: int = Field(default=50, ge=1, le=1000, description="Default page size of list endpoints.")
    max_page_size: int = Field(default=1000, ge=1, description="Largest page size a client may ask for.")
    public_read: bool = Field(
        default=True,
        description="Anonymous visitors may read the public dataset (never points of contact); writes always "
        "need a signed-in user with the right role.",
    )
    session_hours: int = Field(default=12, ge=1, le=24 * 30, description="Lifetime of a web session (hours).")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per account within the window before sign-in is refused."
    )
    login_window_minutes: int = Field(default=15, ge=1, description="Throttling window for failed sign-ins (minutes).")
    sharing_unmarked_tlp: Literal["clear", "green", "amber", "amber+strict", "red"] = Field(
        default="red",
        description="TLP level applied to shared objects that carry no TLP marking (default: the restrictive choice).",
    )
    taxii_max_page: int = Field(default=1000, ge=1, le=10000, description="Most objects a TAXII page returns.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key (urlsafe base64, 32 bytes) encrypting peer credentials at rest; default: a key "
        "file node.key in the data directory, created on first use.",
    )
    node_title: str = Field(default="Accord node", description="Title of this node in TAXII discovery.")
    warninglists: str = Field(
        default="default",
        pattern=r"^(default|all|none|[A-Za-z0-9_.,:\-]+)$",
        description="Warning lists whose values never raise a sighting: default, all, none, or comma-separated "
        "list ids (accord warninglists).",
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Mark cookies Secure: auto = when the request came over HTTPS (as seen by the server).",
    )

    node_state: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 code of the state this node speaks for in crisis messages (unset: none).",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Address at which people and peers reach this node (used in signed acknowledgement links).",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for contacts without a node (unset: no mail).")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_user: str | None = Field(default=None, description="SMTP user name, if the server requires sign-in.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password (never logged).")
    smtp_from: str = Field(default="accord@localhost", description="Sender address of crisis and check e-mails.")
    worker_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="How often the background worker looks for due deadlines and deliveries.",
    )
    delivery_retry_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Wait before the second delivery attempt; doubles each time (cap 1 h)."
    )
    delivery_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="How long a claimed delivery is not claimed again (a killed sender's).",
    )
    envelope_max_age_minutes: int = Field(
        default=15, ge=1, description="Oldest signed envelope the federation inbox accepts (replay window)."
    )

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'accord.db').resolve()}"
