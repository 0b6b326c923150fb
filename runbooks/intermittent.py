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
# # 为什么时好时坏：层顺序正确的概率
#
# **演示什么**：Docker 25.0.0 写出的 OCI 清单里，层的顺序就是 Go map 的遍历顺序。对 n
# 个不同的层，顺序正好正确的概率 P 随 n 变化。这里用几种互相独立的方法得到 P，画在同一张图上：
#
# 1. 公式 (9−n)/8，n ≤ 8 时成立（单个桶里遍历从随机槽位开始，相当于一次随机旋转）；
# 2. 写出器所用的 Go map 模型（Python 复刻 `runtime/map.go`），每个 n 做 20000 次；
# 3. 真实节点的导入成功率：n ∈ {2, 5, 8}，每个 n 用 8 个种子各写一个归档，逐个导入一台全新的
#    containerd 1.6.20；
# 4. 如果装了 `go`：真实 Go map 的测量（`tools/gomap/main.go`，每个 n 做 20000 次）。
#
# **需要**：root；本项目的实验环境；matplotlib；`go` 可选。
#
# **你会看到**：一张图和一张表，四种结果吻合：n ≤ 8 时按 1/8 递减，n ≥ 9 后几乎为零。

# %% [markdown] lang="en"
# # Why it looked intermittent: the odds of the right layer order
#
# **What this shows**: in the OCI manifest Docker 25.0.0 wrote, the layer order is Go's map
# iteration order. For n distinct layers the probability P that the order comes out right
# depends on n. P is obtained here in independent ways and drawn on one plot:
#
# 1. the formula (9−n)/8, valid for n ≤ 8 (in a single bucket, iteration starts at a random slot,
#    which amounts to a random rotation);
# 2. the Go map model the writer uses (a Python replica of `runtime/map.go`), 20,000 maps per n;
# 3. the real node's import success rate: n ∈ {2, 5, 8}, 8 seeded archives per n, each imported into
#    a fresh containerd 1.6.20;
# 4. if `go` is installed: real Go maps (`tools/gomap/main.go`, 20,000 maps per n).
#
# **Needs**: root, this project's lab, matplotlib; `go` optional.
#
# **You will see**: one plot and one table where all of them agree: P falls by 1/8 per layer up
# to n = 8 and is near zero from n = 9.

# %%
import os
import random
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

import runbook_exec
from runbook_exec import proc, writers
from runbook_exec.archive.reader import blob_path, open_archive
from runbook_exec.lab import Node, open_target
from runbook_exec.writers.gomap import p_in_order
from runbook_exec.writers.source import image_from_save

proc.echo_to_stdout()
workdir = tempfile.mkdtemp(prefix="runbook-intermittent-")
os.chdir(workdir)  # relative paths keep the echoed commands the same on every run
N_MAX, TRIALS = 16, 20_000
MEASURED_N, SEEDS = (2, 5, 8), range(8)

# %% [markdown] lang="zh"
# ## 1. 公式
#
# n ≤ 8 时 map 只有一个桶，n 个键按插入顺序占据槽位 0…n−1；遍历从 8
# 个槽位中随机的一个开始并绕回，只有起点落在槽位 0 或 n…7 上（共 9−n 个）时顺序才正确。

# %% [markdown] lang="en"
# ## 1. The formula
#
# For n ≤ 8 the map has one bucket and the n keys fill slots 0…n−1 in insertion order; iteration
# starts at one of the 8 slots at random and wraps around, so the order is right only when it
# starts at slot 0 or at one of slots n…7: 9−n starts out of 8.

# %%
formula = {n: (9 - n) / 8 for n in range(1, 9)}
print({n: round(p, 3) for n, p in formula.items()})

# %% [markdown] lang="zh"
# ## 2. 写出器的 Go map 模型

# %% [markdown] lang="en"
# ## 2. The writer's Go map model

# %%
rng = random.Random(2024)
model = {n: p_in_order(n, TRIALS, rng) for n in range(1, N_MAX + 1)}
print({n: round(p, 4) for n, p in model.items()})
for n in range(1, 9):
    assert abs(model[n] - formula[n]) < 0.015, (n, model[n], formula[n])
assert model[9] < 0.02 and max(model[n] for n in range(13, N_MAX + 1)) < 0.002

# %% [markdown] lang="zh"
# ## 3. 真实节点：导入成功率
#
# 对每个 n 构建一个 n 层的镜像，用 8 个种子按 25.0.0
# 的写法各保存一次，每个归档导入一台全新的节点（已有层链的节点会跳过解压，见 wrong-diff-id
# 运行手册里的陷阱）。层顺序来自模型，成败由真实的 containerd
# 判定；同时核对：导入成功当且仅当清单顺序与配置顺序一致。

# %% [markdown] lang="en"
# ## 3. The real node: import success rate
#
# For each n, build an n-layer image, save it the 25.0.0 way with 8 seeds, and import each archive
# into a fresh node (a node that has the chain skips extraction; see the trap in the wrong-diff-id
# runbook). The order comes from the model, the verdict from the real containerd; the cell also
# checks that an import succeeds exactly when the manifest order equals the config order.


# %%
def manifest_in_order(path: str, diff_ids: list[str]) -> bool:
    with open_archive(path) as ar:
        index = ar.read_json("index.json")
        manifest = ar.read_json(blob_path(index["manifests"][0]["digest"]))
    return [layer["digest"] for layer in manifest["layers"]] == diff_ids


proc.set_echo(None)  # 3 builds, 24 imports: a summary instead of every command
measured: dict[int, float] = {}
with open_target(engine=True) as lab:
    for n in MEASURED_N:
        built = lab.engine.build(f"demo/n{n}:1", [f"n{n} layer {i}\n".encode() for i in range(n)])
        lab.engine.save([built.ref], f"n{n}.tar")
        image = image_from_save(f"n{n}.tar", f"layers-{n}")
        outcomes = []
        for seed in SEEDS:
            archive = f"n{n}-seed{seed}.tar"
            writers.write(image, archive, profile="25.0.0", seed=seed)
            with Node() as node:
                result = node.load(archive)
            assert result.ok == manifest_in_order(archive, list(built.diff_ids)), (n, seed)
            outcomes.append("ok" if result.ok else "fail")
        measured[n] = outcomes.count("ok") / len(outcomes)
        print(f"n={n}: {' '.join(outcomes)} -> {outcomes.count('ok')}/{len(outcomes)} imported")
proc.echo_to_stdout()

# %% [markdown] lang="zh"
# ## 4. 真实的 Go map（装了 `go` 才运行）
#
# `tools/gomap/main.go` 按 moby v25.0.0 的方式填充 `map[string]…`（每次新 map、新的 sha256
# 键），然后遍历一次，统计顺序正确的比例。这里的 Go 是 Debian 的 1.19；Docker 25.0.0 用 Go 1.21.6
# 构建，两者的 map 实现在这一点上相同。

# %% [markdown] lang="en"
# ## 4. Real Go maps (only when `go` is installed)
#
# `tools/gomap/main.go` fills a `map[string]…` the way moby v25.0.0 does (a fresh map and fresh
# sha256 keys each time), ranges over it once and counts how often the order is right. The Go
# here is Debian's 1.19; Docker 25.0.0 was built with Go 1.21.6, whose map is the same in this
# respect.

# %%
repo = Path(runbook_exec.__file__).resolve().parents[2]
gomap_src = repo / "tools" / "gomap" / "main.go"
go_measured: dict[int, float] = {}
if shutil.which("go") and gomap_src.is_file():
    env = dict(os.environ)
    env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "runbook-gocache"))
    out = proc.run(["go", "run", "tools/gomap/main.go", "-trials", str(TRIALS), "-max", str(N_MAX)],
                   timeout=300, cwd=repo, env=env).stdout
    for line in out.splitlines():
        fields = line.split()
        go_measured[int(fields[0])] = float(fields[1])
    print({n: round(p, 4) for n, p in go_measured.items()})
    for n in range(1, 9):
        assert abs(go_measured[n] - formula[n]) < 0.015, (n, go_measured[n])
else:
    print("go is not installed here: no real Go map measurement in this run")

# %% [markdown] lang="zh"
# ## 图
#
# 横轴：不同层的个数 n；纵轴：OCI 清单顺序正确（导入成功）的概率。

# %% [markdown] lang="en"
# ## The plot
#
# x: the number n of distinct layers; y: the probability that the OCI manifest order is right
# (the import succeeds).

# %%
def wilson(p: float, k: int) -> tuple[float, float]:
    """95% Wilson interval half-widths below/above p for k trials: 8 saves are few."""
    z = 1.96
    centre = (p + z * z / (2 * k)) / (1 + z * z / k)
    half = z * ((p * (1 - p) / k + z * z / (4 * k * k)) ** 0.5) / (1 + z * z / k)
    return p - (centre - half), (centre + half) - p


fig, ax = plt.subplots(figsize=(7, 4.2))
ax.plot(list(formula), list(formula.values()), "k-", lw=2, label="formula (9-n)/8, n <= 8")
ax.plot(list(model), list(model.values()), "o--", color="tab:blue", ms=5,
        label=f"writer's Go map model ({TRIALS} maps per n)")
if go_measured:
    ax.plot(list(go_measured), list(go_measured.values()), "x", color="tab:green", ms=9, mew=2,
            label=f"real Go maps, go run tools/gomap ({TRIALS} per n)")

bars = [wilson(p, len(SEEDS)) for p in measured.values()]
ax.errorbar(list(measured), list(measured.values()), yerr=list(zip(*bars, strict=True)), fmt="s",
            color="tab:red", ms=10, mfc="none", mew=2, capsize=4,
            label=f"real containerd import success ({len(SEEDS)} seeded saves per n, 95% CI)")
ax.set_xlabel("distinct layers n")
ax.set_ylabel("P(layers in the right order)")
ax.set_xticks(range(1, N_MAX + 1))
ax.set_ylim(-0.03, 1.05)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
print(f"{'n':>3} {'formula':>8} {'model':>8} {'go':>8} {'node':>8}")
for n in range(1, N_MAX + 1):
    cells = [formula.get(n), model.get(n), go_measured.get(n), measured.get(n)]
    print(f"{n:>3} " + " ".join(f"{c:8.4f}" if c is not None else f"{'-':>8}" for c in cells))

# %% [markdown] lang="zh"
# ## 结论
#
# - 层越多越容易失败：2 层时 8 次里约 7 次成功，nginx:1.25.3 那样的 7 层只有 1/4，8 层 1/8；
# - 超过 8 层时 map 分成多个桶，顺序正确的概率掉到 1% 以下，几乎每次都失败；
# - 所以同一个 Dockerfile 在不同人手里表现不同，重试偶尔也能成功：这就是“时好时坏”的来源。

# %% [markdown] lang="en"
# ## Conclusion
#
# - The more layers, the likelier the failure: about 7 in 8 saves work at 2 layers, 1 in 4 at
#   7 layers (like nginx:1.25.3), 1 in 8 at 8 layers;
# - beyond 8 layers the map spreads over several buckets and the odds fall below 1%: it fails
#   nearly every time;
# - hence the same Dockerfile behaved differently for different people, and a retry sometimes
#   worked: that is where "intermittent" came from.

# %%
os.chdir("/")
shutil.rmtree(workdir)
print("lab closed, work directory removed")
