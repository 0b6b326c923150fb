# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
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
# 2. Go map 的模拟（按 go1.21.6 的 `runtime/map.go` 用 Python 复刻），每个 n 做 20000 次；
# 3. 真实的 dockerd 25.0.0（从源码构建，Go 1.21.6）：n ∈ {2, 5, 8}，反复 `docker save`，数清单顺序
#    正确的次数；每个 n 抽几个归档导入全新的 kind v0.20.0 节点（containerd 1.7.1）核对成败；
# 4. 真实 Go 1.21.6 的 map（`src/runbook_exec/writers/gomapcheck/main.go`，每个 n 做 20000 次）。
#
# **需要**：root；本项目的实验环境；matplotlib；Go（Go 1.21.6 由 Go 的工具链下载取得）。
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
# 2. the Go map model (a Python replica of go1.21.6's `runtime/map.go`), 20,000 maps per n;
# 3. the real dockerd 25.0.0 (built from source with Go 1.21.6): n ∈ {2, 5, 8}, `docker save`
#    again and again, counting the saves in config order; a few archives per n go into fresh kind
#    v0.20.0 nodes (containerd 1.7.1) to confirm the verdict;
# 4. real Go 1.21.6 maps (`src/runbook_exec/writers/gomapcheck/main.go`, 20,000 maps per n).
#
# **Needs**: root, this project's lab, matplotlib, Go (Go 1.21.6 comes from Go's toolchain
# download).
#
# **You will see**: one plot and one table where all of them agree: P falls by 1/8 per layer up
# to n = 8 and is near zero from n = 9.

# %%
import os
import random
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from runbook_exec import engines, proc
from runbook_exec.archive import open_archive
from runbook_exec.engines import toolchain
from runbook_exec.lab import Node, open_target, workspace
from runbook_exec.writers import GO_CHECK, p_in_order

proc.echo_to_stdout()
scratch = workspace("intermittent")  # this run's own dir under the lab's temp root
N_MAX, TRIALS = 16, 20_000
MEASURED_N = (2, 5, 8)
SAVES = {2: 40, 5: 80, 8: 40}
IMPORTS_PER_N = 4

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
# ## 2. Go map 的模拟

# %% [markdown] lang="en"
# ## 2. The Go map model

# %%
rng = random.Random(2024)
model = {n: p_in_order(n, TRIALS, rng) for n in range(1, N_MAX + 1)}
print({n: round(p, 4) for n, p in model.items()})
for n in range(1, 9):
    assert abs(model[n] - formula[n]) < 0.015, (n, model[n], formula[n])
assert model[9] < 0.02 and max(model[n] for n in range(13, N_MAX + 1)) < 0.002

# %% [markdown] lang="zh"
# ## 3. 真实的 Docker 25.0.0：反复保存，数顺序正确的次数
#
# 对每个 n 构建一个 n 层的镜像，交给从源码构建的 dockerd 25.0.0（Go 1.21.6）反复
# `docker save`：5 层保存 80 次，2 层和 8 层各 40 次，逐个读出 OCI
# 清单的层顺序。每种顺序都应是配置顺序的一次旋转（单个桶里遍历从随机槽位开始）。再从每个 n
# 里抽 4 个归档，导入全新的 kind v0.20.0 节点（containerd 1.7.1；已有层链的节点会跳过解压，见
# wrong-diff-id 运行手册里的陷阱），核对：导入成功当且仅当顺序正确。

# %% [markdown] lang="en"
# ## 3. The real Docker 25.0.0: save again and again, count the right orders
#
# For each n, build an n-layer image and have the dockerd 25.0.0 built from source (Go 1.21.6)
# `docker save` it again and again: 80 saves at 5 layers, 40 each at 2 and 8, reading the OCI
# manifest's layer order every time. Every order should be a rotation of the config order (in one
# bucket, iteration starts at a random slot). Then 4 archives per n go into fresh kind v0.20.0
# nodes (containerd 1.7.1; a node that has the chain skips extraction, see the trap in the
# wrong-diff-id runbook) to check that an import succeeds exactly when the order is right.


# %%
def manifest_order(path: str, diff_ids: list[str]) -> list[int]:
    with open_archive(path) as ar:
        manifest = ar.manifest(ar.index().entries[0].digest)
    return [diff_ids.index(layer.digest) for layer in manifest.layers]


def is_rotation(order: list[int]) -> bool:
    return order == [(order[0] + i) % len(order) for i in range(len(order))]


measured: dict[int, tuple[int, int]] = {}
with proc.quiet(), open_target(docker="25.0.0", kind="v0.20.0",
                               sandbox_only="it counts how often the real Docker 25.0.0 "
                               "shuffles layers") as lab:
    for n in MEASURED_N:
        built = lab.engine.build(f"demo/n{n}:1", [f"n{n} layer {i}\n".encode() for i in range(n)])
        diff_ids = list(built.diff_ids)
        hits, orders, checked = 0, set(), []
        for attempt in range(SAVES[n]):
            archive = f"n{n}-{attempt}.tar"
            lab.save([built.ref], archive)
            order = manifest_order(archive, diff_ids)
            assert sorted(order) == list(range(n)) and is_rotation(order), (n, order)
            hits += order == list(range(n))
            orders.add(tuple(order))
            if attempt < IMPORTS_PER_N:
                with Node(kind="v0.20.0") as node:
                    result = node.load(archive)
                assert result.ok == (order == list(range(n))), (n, order, result.error)
                checked.append("ok" if result.ok else "fail")
            os.remove(archive)
        measured[n] = (hits, SAVES[n])
        print(f"n={n}: {hits}/{SAVES[n]} saves in config order; {len(orders)} distinct orders, "
              f"all rotations; fresh-node imports of the first {IMPORTS_PER_N}: "
              f"{' '.join(checked)}")
print(f"saved by the real {lab.engine.description}")


# %% [markdown] lang="zh"
# 实测比例与公式 (9−n)/8 的对照，带 99% 置信区间（Wilson 区间）：

# %% [markdown] lang="en"
# The measured fractions next to the formula (9−n)/8, with 99% intervals (Wilson):


# %%
def wilson(hits: int, k: int, z: float) -> tuple[float, float]:
    """The Wilson score interval for hits out of k at normal quantile z."""
    p = hits / k
    centre = (p + z * z / (2 * k)) / (1 + z * z / k)
    half = z * ((p * (1 - p) / k + z * z / (4 * k * k)) ** 0.5) / (1 + z * z / k)
    return centre - half, centre + half


Z99, Z999 = 2.576, 3.291
for n, (hits, k) in measured.items():
    lo, hi = wilson(hits, k, Z99)
    print(f"n={n}: measured {hits}/{k} = {hits / k:.3f}, 99% interval [{lo:.3f}, {hi:.3f}], "
          f"formula (9-n)/8 = {formula[n]:.3f}")
    # the check allows a 0.1% chance of a false alarm per n, not the 1% of the shown interval
    lo3, hi3 = wilson(hits, k, Z999)
    assert lo3 <= formula[n] <= hi3, (n, hits, k)

# %% [markdown] lang="zh"
# ## 4. 真实的 Go map：用构建 Docker 25.0.0 的 Go 1.21.6
#
# `src/runbook_exec/writers/gomapcheck/main.go`（和它检验的 map 模型放在一起）按
# moby v25.0.0 的方式填充 `map[string]…`（每次新 map、新的 sha256 键），然后遍历一次，
# 统计顺序正确的比例。Go 1.21.6 由 Go 自己的工具链下载取得，与构建
# dockerd 25.0.0 的是同一个版本。（Go 1.21 把 map 的扩容阈值从 6.5 降到了 6，所以 13 个键时结果与
# Go 1.20 不同。）

# %% [markdown] lang="en"
# ## 4. Real Go maps, with the Go 1.21.6 that built Docker 25.0.0
#
# `src/runbook_exec/writers/gomapcheck/main.go` (shipped beside the map model it checks) fills
# a `map[string]…` the way moby v25.0.0 does (a fresh map and fresh sha256 keys each time),
# ranges over it once and counts how often the order is right. Go 1.21.6
# comes from Go's own toolchain download, the same release that built dockerd 25.0.0. (Go 1.21
# lowered the map's growth threshold from 6.5 to 6 keys per bucket, so 13 keys behave differently
# from Go 1.20.)

# %%
docker25 = engines.spec("dockerd-25.0.0")
env = dict(toolchain.go_env(docker25), GOFLAGS="")
env.setdefault("GOCACHE", str(Path(tempfile.gettempdir()) / "runbook-gocache"))
out = proc.run([toolchain.go_binary(), "run", str(GO_CHECK), "-trials", str(TRIALS),
                "-max", str(N_MAX)], timeout=300, env=env,
               display=[f"GOTOOLCHAIN=go{docker25.go}", "go", "run",
                        "src/runbook_exec/writers/gomapcheck/main.go",
                        "-trials", str(TRIALS), "-max", str(N_MAX)]).stdout
go_measured: dict[int, float] = {}
for line in out.splitlines():
    fields = line.split()
    go_measured[int(fields[0])] = float(fields[1])
print({n: round(p, 4) for n, p in go_measured.items()})
for n in range(1, N_MAX + 1):
    assert abs(go_measured[n] - model[n]) < 0.015, (n, go_measured[n], model[n])

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
fig, ax = plt.subplots(figsize=(7, 4.2))
ax.plot(list(formula), list(formula.values()), "k-", lw=2, label="formula (9-n)/8, n <= 8")
ax.plot(list(model), list(model.values()), "o--", color="tab:blue", ms=5,
        label=f"Go 1.21.6 map model ({TRIALS} maps per n)")
ax.plot(list(go_measured), list(go_measured.values()), "x", color="tab:green", ms=9, mew=2,
        label=f"real Go 1.21.6 maps, gomapcheck ({TRIALS} per n)")
fractions = {n: hits / k for n, (hits, k) in measured.items()}
# at 0/k or k/k the interval's far end equals the fraction up to rounding: never below 0
bars = [(max(0.0, fractions[n] - lo), max(0.0, hi - fractions[n]))
        for n, (lo, hi) in ((n, wilson(h, k, Z99)) for n, (h, k) in measured.items())]
ax.errorbar(list(fractions), list(fractions.values()), yerr=list(zip(*bars, strict=True)), fmt="s",
            color="tab:red", ms=10, mfc="none", mew=2, capsize=4,
            label="real dockerd 25.0.0 saves in config order (99% interval)")
ax.set_xlabel("distinct layers n")
ax.set_ylabel("P(layers in the right order)")
ax.set_xticks(range(1, N_MAX + 1))
ax.set_ylim(-0.03, 1.05)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
print(f"{'n':>3} {'formula':>8} {'model':>8} {'go1.21.6':>8} {'docker':>8}")
for n in range(1, N_MAX + 1):
    cells = [formula.get(n), model.get(n), go_measured.get(n), fractions.get(n)]
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
scratch.close()
print("lab closed, work directory removed")
