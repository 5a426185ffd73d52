"""Frontier-model reporting: incident clocks, report inputs, BIS/SB 53/EU reports, evidence.

```python
from distillguard.reports.clocks import due_items, nearest_deadline_seconds, plan
from distillguard.reports.store import ReportsStore       # rp_ tables
from distillguard.reports.incidents import open_incident, open_campaign_incident,
                                           import_weights_incidents
```
User doc: docs/reports.md.
"""
