"""Opening a ledger: pick the backend from the URL, bind the key to the log, fail closed.

A new log gets a random origin and records the verifier key of its signing key in
`ledger_meta`. Reopening with a different key is refused (it would sign checkpoints no
auditor could verify against the published key), and so is a log whose key file has
gone missing: the key is created only when the log itself is new.
"""

from __future__ import annotations

import os
from pathlib import Path

from distillguard.errors import DistillguardError
from distillguard.paths import data_dir

from . import note
from .keys import create_private_key, load_private_key
from .ledger import FORMAT, Ledger, default_origin
from .storage import SQLiteStorage, Storage

ENV_URL = "DISTILLGUARD_LEDGER_URL"
ENV_KEY = "DISTILLGUARD_LEDGER_KEY"


def default_url() -> str:
    return os.environ.get(ENV_URL) or f"sqlite:///{data_dir() / 'ledger.db'}"


def default_key_path() -> Path:
    env = os.environ.get(ENV_KEY)
    return Path(env) if env else data_dir() / "ledger.key"


def open_storage(url: str, *, create: bool, readonly: bool = False) -> Storage:
    """A storage backend for `sqlite:///path` or `postgresql://...`."""
    if url.startswith(("postgresql://", "postgres://")):
        from .pgstorage import PostgresStorage

        pg: Storage = PostgresStorage(url, create=create, readonly=readonly)
        return pg
    if url.startswith("sqlite:///"):
        return SQLiteStorage(Path(url[len("sqlite:///") :]), create=create, readonly=readonly)
    raise DistillguardError(
        f"unsupported ledger URL {url!r}: use sqlite:///PATH or postgresql://..."
    )


def open_ledger(
    url: str | None = None,
    key_path: str | Path | None = None,
    *,
    create: bool = True,
    need_key: bool = True,
    readonly: bool = False,
    origin: str | None = None,
) -> Ledger:
    """Open (or create) a ledger.

    `need_key=False` opens without the private key (verify, prove from stored
    checkpoints, export); the public key then comes from the key file when present,
    else from the database (and auditors should pass their own copy to verify).
    `readonly=True` (implies create=False, need_key=False) never writes to the database.
    """
    if readonly:
        create, need_key = False, False
    url = url or default_url()
    kpath = Path(key_path) if key_path else default_key_path()
    storage = open_storage(url, create=create, readonly=readonly)
    try:
        if not storage.exists():
            if not create:
                raise DistillguardError(f"{url} holds no ledger")
            storage.initialise()
        meta = storage.meta()
        new_log = "origin" not in meta
        if new_log and not create:
            raise DistillguardError(f"{url} holds no ledger")
        key = None
        if kpath.exists():
            key = load_private_key(kpath)
        elif new_log and need_key:
            key = create_private_key(kpath)
        elif need_key:
            raise DistillguardError(
                f"signing key {kpath} not found; it is needed to sign checkpoints of {url}"
            )
        if new_log:
            if key is None:
                raise DistillguardError("a new ledger needs a signing key")
            name = origin or default_origin()
            vkey = note.verifier_key(name, key.public_key())
            meta = storage.set_meta_if_absent({"format": FORMAT, "origin": name, "vkey": vkey})
        if meta.get("format") != FORMAT:
            raise DistillguardError(f"{url}: unknown ledger format {meta.get('format')!r}")
        name, stored_pub = note.parse_verifier_key(meta["vkey"])
        if name != meta["origin"]:
            raise DistillguardError(f"{url}: stored verifier key does not name the log origin")
        if key is not None and note.verifier_key(name, key.public_key()) != meta["vkey"]:
            raise DistillguardError(
                f"key {kpath} is not the signing key of this ledger "
                f"(ledger key {meta['vkey'].split('+')[1]}, "
                f"given {note.key_id(name, key.public_key()).hex()})"
            )
        pub = key.public_key() if key is not None else stored_pub
        return Ledger(storage, origin=name, public_key=pub, private_key=key)
    except BaseException:
        storage.close()
        raise
