"""Golden results of the reference simulator: recorder (``record.py``) and KPI comparison (``compare.py``)."""
