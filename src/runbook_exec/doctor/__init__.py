"""The doctor: diagnose a docker-save archive, repair it, load it into kind nodes safely.

>>> from runbook_exec.doctor import diagnose, repair
>>> report = diagnose("images.tar")          # findings with codes and predicted ctr errors
>>> repair("images.tar", "fixed.tar")        # same image ID, rebuilt OCI manifest + index
"""

from .diagnose import Report, diagnose
from .findings import Finding
from .load import safe_load
from .repair import RepairResult, repair

__all__ = ["Finding", "RepairResult", "Report", "diagnose", "repair", "safe_load"]
