"""Model weights under export control: registry, classification, signatures, vault, transfers.

Public API (see docs/weights.md):

    from distillguard.weights.service import WeightsService, ComputeEntry
    svc = WeightsService(db)                      # db: distillguard.store.Database
    ref, c = svc.register("m", "1", Path("model/"), actor="alice", compute=[...])
    c, changed = svc.classify("m@1")              # per-regime result, history kept
    svc.encrypt("m@1", src, dst, provider, actor="alice")
    svc.decrypt(src, provider, actor="bob", dst=dst)   # grant + custody checked
    svc.scan([Path("/mnt")])                      # unexpected copies -> incidents

    from distillguard.weights.transfers import Transfers, Recipient, receive
    from distillguard.weights import signing, vault, keys   # the building blocks

Other parts are reached only through `distillguard.weights.deps` (rules, ledger,
screening), so this package works, failing closed, when one of them is absent.
"""
