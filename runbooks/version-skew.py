# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # kind CLI 与节点版本不匹配：加载时才暴露的错误
#
# **演示什么**：`kind load` 先在节点里执行 `containerd config dump`，从中读出快照器，再拼出导入
# 命令。旧版 kind CLI 读不懂新节点的配置格式时，加载在导入之前就失败。这里用真实的 kind v0.20.0、
# v0.31.0（只认配置版本 2 和 3 的最后一个版本）和 v0.33.0 CLI，分别对 kind v0.20.0、v0.27.0、v0.33.0
# 节点（containerd 1.7.1、2.0.2、2.3.4）执行 `kind load docker-image`。
#
# **需要**：root；实验环境里从源码构建的 dockerd 25.0.3、kind v0.20.0、v0.31.0 和 v0.33.0 CLI，
# 以及各节点的 containerd 和 crictl（节点容器由 kind 按标签找到）。
#
# **你会看到**：每个节点 `containerd config dump` 的配置版本；每种组合下 kind 的输出。

# %% [markdown] lang="en"
# # kind CLI and node out of step: errors that surface at load time
#
# **What this shows**: `kind load` first runs `containerd config dump` in the node, reads the
# snapshotter from it and builds its import command. A kind CLI that cannot read a newer node's
# config format fails before any import. The real kind v0.20.0, v0.31.0 (the last release that
# reads only config versions 2 and 3) and v0.33.0 CLIs each run `kind load docker-image` against
# kind v0.20.0, v0.27.0 and v0.33.0 nodes (containerd 1.7.1, 2.0.2, 2.3.4).
#
# **Needs**: root; the lab's dockerd 25.0.3, the kind v0.20.0, v0.31.0 and v0.33.0 CLIs, and each
# node's containerd and crictl, all built from source (kind finds the node containers by its
# labels).
#
# **You will see**: the config version each node's `containerd config dump` prints, and kind's
# output for each pairing.

# %%

from runbook_exec import proc
from runbook_exec.lab import Engine, KindCluster, workspace

proc.echo_to_stdout()
scratch = workspace("version-skew")  # this run's own dir under the lab's temp root
engine = Engine("25.0.3").start()
print(engine.description)
with proc.quiet():
    image = engine.build("demo/skew:1", [b"skew\n"])
NODES = ("v0.20.0", "v0.27.0", "v0.33.0")
CLIS = ("v0.20.0", "v0.31.0", "v0.33.0")

# %% [markdown] lang="zh"
# ## 每种组合执行一次 `kind load docker-image`

# %% [markdown] lang="en"
# ## One `kind load docker-image` per pairing

# %%
outcomes: dict[tuple[str, str], str] = {}
versions: dict[str, str] = {}
for node_release in NODES:
    for cli in CLIS:
        with proc.quiet(), KindCluster(engine, kind=node_release, cli=cli) as cluster:
            dump = cluster.node_exec(cluster.nodes[0], "containerd", "config", "dump").stdout
            versions[node_release] = next(line for line in dump.splitlines()
                                          if line.startswith("version"))
            result = cluster.kind_cmd("load", "docker-image", image.ref)
        last = result.output.rstrip().splitlines()[-1]
        outcomes[(node_release, cli)] = "loaded" if result.ok else last
for node_release in NODES:
    print(f"node of kind {node_release}: containerd config dump says {versions[node_release]}")
    for cli in CLIS:
        print(f"    kind {cli} CLI: {outcomes[(node_release, cli)]}")

# %%
assert outcomes[("v0.20.0", "v0.20.0")] == "loaded"
assert outcomes[("v0.20.0", "v0.33.0")] == "loaded"
assert outcomes[("v0.33.0", "v0.33.0")] == "loaded"
assert outcomes[("v0.20.0", "v0.31.0")] == outcomes[("v0.27.0", "v0.31.0")] == "loaded"
assert outcomes[("v0.33.0", "v0.31.0")] == (
    "ERROR: unknown containerd config version: 4 (supported versions: 2 and 3)")
for node_release in ("v0.27.0", "v0.33.0"):
    assert outcomes[(node_release, "v0.20.0")] == "ERROR: failed to detect containerd snapshotter"
assert versions["v0.20.0"] == "version = 2" and versions["v0.33.0"] == "version = 4"

# %% [markdown] lang="zh"
# ## 结论
#
# - 新版 kind CLI 能读旧节点的配置；kind v0.20.0 CLI 遇到 containerd 2.x 节点的配置（版本 3、4）就报
#   `failed to detect containerd snapshotter`，根本没有开始导入；
# - kind v0.31.0 CLI 认得版本 3，但遇到 kind v0.33.0 节点的版本 4 就报
#   `unknown containerd config version: 4 (supported versions: 2 and 3)`；
# - kind v0.33.0 节点里的 containerd 2.3.4 打印的是版本 4 的配置。

# %% [markdown] lang="en"
# ## Conclusion
#
# - a newer kind CLI reads an older node's config; the kind v0.20.0 CLI meets a containerd 2.x
#   node's config (versions 3 and 4) with `failed to detect containerd snapshotter` and never
#   starts the import;
# - the kind v0.31.0 CLI reads version 3, but a kind v0.33.0 node's version 4 stops it with
#   `unknown containerd config version: 4 (supported versions: 2 and 3)`;
# - the containerd 2.3.4 of kind v0.33.0 nodes prints a version 4 config.

# %%
engine.close()
scratch.close()
print("lab closed, work directory removed")
