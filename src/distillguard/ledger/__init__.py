"""Tamper-evident compliance ledger: an RFC 9162 Merkle log with signed C2SP checkpoints.

```python
from distillguard.ledger import open_ledger
led = open_ledger(url=None, key_path=None)   # sqlite:///<data_dir>/ledger.db, <data_dir>/ledger.key
idx = led.append({"type": "decision", ...})  # durable when it returns
w = led.writer(); w.enqueue(record); w.flush(); w.close()   # close() also checkpoints
c = led.commit_payload("prompt", text)       # {"alg", "digest", "payload_id", "kind"}
cp = led.checkpoint()                        # signed note text (C2SP tlog-checkpoint)
proof = led.prove_inclusion(idx)             # JSON-able dict, verifiable offline
led.public_key_pem()
```
Additions to the agreed interface: `commit_payload` also returns `kind` (and takes
`retention_days=`); `prove_inclusion` issues a checkpoint first when none covers the
record; `prove_consistency`, `verifier_key`, `open_payload`, `delete_payload`,
`purge_expired_payloads`, `get_record`, `size`, `origin`, `public_key`, `storage`; and
`distillguard.ledger.verify`: `verify_log(led.storage, led.public_key, led.origin)` (whole
log, returns a report naming the first bad record) and `verify_inclusion_proof(proof,
record, checkpoint_note, public_key)` / `verify_consistency_proof(...)` for offline checks.
This package imports nothing of the project but `errors` and `paths`.
"""

from __future__ import annotations

from .ledger import Ledger
from .open import default_key_path, default_url, open_ledger
from .writer import LedgerWriter

__all__ = ["Ledger", "LedgerWriter", "default_key_path", "default_url", "open_ledger"]
