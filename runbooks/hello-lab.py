# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 实验环境自检
#
# 这个运行手册验证执行器：启动内核、运行代码、把输出带回页面。需要：Python 3.11 与本项目的包。

# %% [markdown] lang="en"
# # Lab self-check
#
# This runbook checks the executor: a kernel starts, runs code, and its output reaches the page.
# Needs: Python 3.11 and this project's package.

# %%
import platform

import runbook_exec

print("runbook_exec", runbook_exec.__version__, "on Python", platform.python_version())
