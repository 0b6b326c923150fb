# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 我用的是哪个 Docker、哪种镜像存储？
#
# **演示什么**：页面开头那几条“我受影响吗？”的命令，在真实的引擎上逐条执行，看它们各自回答什么：
# Docker 25.0.0（graphdriver 存储）、Docker 29.8.1 开启和关闭 containerd 镜像存储，以及
# kind v0.20.0 和 v0.33.0 的节点里的 containerd。页面上“每种回答的含义”一表里的输出都出自这里。
#
# **需要**：root；实验环境里从源码构建的 dockerd 和 docker CLI 25.0.0、29.8.1，kind v0.20.0 和
# v0.33.0 的 CLI，以及运行这两个版本的 containerd 的节点容器。Docker Desktop、OrbStack、Colima、
# Rancher Desktop 在这台 Linux 机器上跑不了，它们的部分是页面上标明来源的资料，不在这里执行。
#
# **你会看到**：每台引擎对 `docker version`、`docker info -f`、`docker context show` 的回答，
# `docker info` 里 `Storage Driver` 那几行，节点的 `containerd --version`，最后是一张汇总表。

# %% [markdown] lang="en"
# # Which Docker, which image store?
#
# **What this shows**: the page's "am I affected?" one-liners, run one by one against real
# engines, and what each answers: Docker 25.0.0 (graphdriver store), Docker 29.8.1 with the
# containerd image store on and off, and the containerd inside kind v0.20.0 and v0.33.0 nodes.
# The outputs in the page's "what each answer means" table come from here.
#
# **Needs**: root; the lab's dockerd and docker CLI 25.0.0 and 29.8.1, the kind v0.20.0 and
# v0.33.0 CLIs and node containers running those releases' containerd, all built from source.
# Docker Desktop, OrbStack, Colima and Rancher Desktop cannot run on this Linux machine: their
# parts of the page are sourced facts, not executed here.
#
# **You will see**: each engine's answers to `docker version`, `docker info -f` and
# `docker context show`, the `Storage Driver` lines of `docker info`, the nodes'
# `containerd --version`, and a summary table.

# %%

from runbook_exec import proc
from runbook_exec.lab import Engine, KindCluster, workspace

proc.echo_to_stdout()
scratch = workspace("which-docker")  # this run's own dir under the lab's temp root

# the page's one-liners, exactly as a reader pastes them
QUESTIONS = {
    "version": ("version", "--format", "{{.Server.Version}}"),
    "platform": ("version", "--format", "{{.Server.Platform.Name}}"),
    "os": ("info", "-f", "{{.OperatingSystem}}"),
    "driver_status": ("info", "-f", "{{.DriverStatus}}"),
    "driver": ("info", "-f", "{{json .Driver}}"),
    "context": ("context", "show"),
}


def ask(engine: Engine) -> dict[str, str]:
    """Run each one-liner against ``engine``; print and return the answers."""
    print(f"--- {engine.description}")
    answers: dict[str, str] = {}
    for key, argv in QUESTIONS.items():
        answer = engine.cli(*argv).stdout.strip()
        print(answer if answer else "(empty line)")
        answers[key] = answer
    # what the same looks like in the full `docker info` a reader may paste instead
    lines = engine.cli("info").stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("Storage Driver:"))
    block = [lines[at]] + [x for x in lines[at + 1:at + 6] if x.startswith("  ")][:5]
    print("# its Storage Driver lines:", *block, sep="\n")
    return answers


# %% [markdown] lang="zh"
# ## Docker 25.0.0：graphdriver 存储
#
# 25.0.0 只有 graphdriver 存储（它也能用 containerd 镜像存储，但要显式开启，这里不开）。实验环境用
# `vfs`，因为 `overlay2` 不能叠在实验环境自己的存储上；普通 Linux 主机上这里会是 `overlay2`。

# %% [markdown] lang="en"
# ## Docker 25.0.0: the graphdriver store
#
# 25.0.0 runs the graphdriver store (it can run the containerd image store too, but only when
# turned on, which it is not here). The lab uses `vfs`, as `overlay2` cannot stack on the lab's
# own storage; on an ordinary Linux host this line says `overlay2`.

# %%
answers: dict[str, dict[str, str]] = {}
with Engine("25.0.0") as engine:
    answers["25.0.0"] = ask(engine)

# %% [markdown] lang="zh"
# ## Docker 29.8.1：全新安装，containerd 镜像存储
#
# 没有 `daemon.json` 设置、数据目录是新的：Docker 29 全新安装的情形。

# %% [markdown] lang="en"
# ## Docker 29.8.1: a fresh install, the containerd image store
#
# No `daemon.json` setting and a fresh data root: a fresh Docker 29 install.

# %%
with Engine("29.8.1") as engine:
    answers["29.8.1"] = ask(engine)

# %% [markdown] lang="zh"
# ## Docker 29.8.1，`"containerd-snapshotter": false`
#
# 同一个 dockerd，`daemon.json` 里写了 `"features": {"containerd-snapshotter": false}`（修复页上
# 关闭 containerd 镜像存储的那一步）。

# %% [markdown] lang="en"
# ## Docker 29.8.1 with `"containerd-snapshotter": false`
#
# The same dockerd with `"features": {"containerd-snapshotter": false}` in `daemon.json` (the
# fix pages' step that turns the containerd image store off).

# %%
with Engine("29.8.1", containerd_store=False) as engine:
    answers["29.8.1, snapshotter off"] = ask(engine)

# %% [markdown] lang="zh"
# ## kind 节点里的 containerd
#
# 真实的 kind CLI 和 kind v0.20.0、v0.33.0 的节点容器，跑在一台 Docker 29.8.1 里。先用
# `kind get nodes` 找到节点，再 `docker exec <节点> containerd --version`。

# %% [markdown] lang="en"
# ## The containerd in the kind node
#
# The real kind CLI and node containers of kind v0.20.0 and v0.33.0, in a Docker 29.8.1. First
# `kind get nodes` finds the node, then `docker exec <node> containerd --version`.

# %%
nodes: dict[str, str] = {}
with Engine("29.8.1") as engine:
    for kind, name in (("v0.20.0", "old"), ("v0.33.0", "kind")):
        with proc.quiet():
            cluster = KindCluster(engine, kind=kind, name=name).start()
        print(f"--- {cluster.description}")
        print(cluster.kind_cmd("version").stdout.strip())
        node = cluster.kind_cmd("get", "nodes", "--name", name).stdout.split()[0]
        print(node)
        nodes[kind] = engine.cli("exec", node, "containerd", "--version").stdout.strip()
        print(nodes[kind])
        with proc.quiet():
            cluster.close()

# %% [markdown] lang="zh"
# ## 汇总
#
# 页面上的表就是这张表；判断只看 `DriverStatus`：里面有 `io.containerd.snapshotter.v1` 就是
# containerd 镜像存储，否则是 graphdriver 存储。

# %% [markdown] lang="en"
# ## Summary
#
# The page's table is this one; the verdict reads `DriverStatus` alone: with
# `io.containerd.snapshotter.v1` in it the engine runs the containerd image store, without it
# the graphdriver store.

# %%
print(f"{'engine':<26}{'Server.Version':<16}{'Driver':<13}{'DriverStatus':<46}store")
for label, a in answers.items():
    store = ("containerd image store" if "io.containerd.snapshotter.v1" in a["driver_status"]
             else "graphdriver")
    print(f"{label:<26}{a['version']:<16}{a['driver']:<13}{a['driver_status']:<46}{store}")
for kind, line in nodes.items():
    print(f"kind {kind} node: {line}")

assert answers["25.0.0"]["version"] == "25.0.0"
assert answers["25.0.0"]["driver"] == '"vfs"'
assert "io.containerd.snapshotter.v1" not in answers["25.0.0"]["driver_status"]
assert answers["29.8.1"]["version"] == "29.8.1"
assert answers["29.8.1"]["driver_status"] == "[[driver-type io.containerd.snapshotter.v1]]"
assert answers["29.8.1"]["driver"] == '"overlayfs"'
assert answers["29.8.1, snapshotter off"]["driver"] == '"vfs"'
assert "io.containerd.snapshotter.v1" not in answers["29.8.1, snapshotter off"]["driver_status"]
assert all(a["context"] == "default" for a in answers.values())
assert " v1.7.1 " in nodes["v0.20.0"] and " v2.3.4 " in nodes["v0.33.0"]

# %% [markdown] lang="zh"
# ## 结论
#
# - `docker version --format '{{.Server.Version}}'` 给出引擎版本：25.0.0 是唯一写出层顺序错乱
#   归档的正式版；
# - `docker info -f '{{.DriverStatus}}'` 是 `[[driver-type io.containerd.snapshotter.v1]]` 时，
#   引擎用的是 containerd 镜像存储（`Driver` 是 `"overlayfs"`），拉取的多平台镜像经
#   `kind load docker-image` 会报 `content digest … not found`；关闭 `containerd-snapshotter`
#   后回到 graphdriver 存储；
# - 节点的 `containerd --version` 决定报错的措辞（1.7 还是 2.x）。

# %% [markdown] lang="en"
# ## Conclusion
#
# - `docker version --format '{{.Server.Version}}'` gives the engine release: 25.0.0 is the one
#   release that writes archives with layers out of order;
# - when `docker info -f '{{.DriverStatus}}'` says `[[driver-type io.containerd.snapshotter.v1]]`
#   the engine runs the containerd image store (`Driver` is `"overlayfs"`), and a pulled
#   multi-platform image fails through `kind load docker-image` with `content digest … not
#   found`; with `containerd-snapshotter` off the engine is back on the graphdriver store;
# - the node's `containerd --version` decides the wording of the errors (1.7 or 2.x).

# %%
scratch.close()
print("lab closed, work directory removed")
