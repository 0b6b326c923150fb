# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # CI 上的 Docker 29：工作流步骤里的每条命令
#
# **演示什么**：CI runner 上全新安装的 Docker 29 使用 containerd 镜像存储。流水线拉取一个
# 多平台镜像，再 `kind load docker-image`，真实的 kind 以 `content digest …: not found` 失败。
# 然后原样执行“CI 上的 Docker 29”一页里两种工作流步骤的命令：先 `docker save --platform` 再
# `kind load image-archive`；或者关闭 containerd 镜像存储。每一种都在同一个镜像上成功。
#
# **需要**：root；实验环境里从源码构建的 dockerd 和 docker CLI 29.8.1、buildx 0.38.2、distribution
# 仓库 3.1.2，以及真实的 kind v0.33.0 CLI 和运行 containerd 2.3.4 的节点容器（跑在这台 Docker 29
# 里，由 kind 按标签找到）。
#
# **你会看到**：`docker info` 报告的存储类型；`kind load docker-image` 的完整报错；两种修复各自的
# `kind load` 输出，以及节点上 `UNPACKED` 为 `true` 的镜像。

# %% [markdown] lang="en"
# # Docker 29 in CI: every command of the workflow step
#
# **What this shows**: a fresh Docker 29 install on a CI runner uses the containerd image store.
# The pipeline pulls a multi-platform image and runs `kind load docker-image`; the real kind
# fails with `content digest …: not found`.
# Then the commands of the page's two workflow steps run as they are written there:
# `docker save --platform` followed by `kind load image-archive`, or turning the containerd image
# store off. Each works on the same image.
#
# **Needs**: root; the lab's dockerd and docker CLI 29.8.1, buildx 0.38.2 and the distribution
# registry 3.1.2, all built from source, and the real kind v0.33.0 CLI with node containers
# running containerd 2.3.4 in that Docker 29 (kind finds them by its labels).
#
# **You will see**: the store `docker info` reports; the full error of `kind load docker-image`;
# the `kind load` output of each fix, and the image `UNPACKED` `true` on the node.

# %%

from runbook_exec import proc
from runbook_exec.lab import Engine, KindCluster, open_target, workspace

proc.echo_to_stdout()
scratch = workspace("ci-docker29")  # this run's own dir under the lab's temp root
lab = open_target(docker="29.8.1", kind="v0.33.0")
registry = lab.registry()
print(registry.description)

# %% [markdown] lang="zh"
# ## 流水线要用的镜像
#
# 一个 `linux/amd64` + `linux/arm64` 的镜像，由 buildx 推送到实验环境的仓库，代替 Docker Hub
# 上的多平台镜像（比如流水线里 `docker pull` 的基础镜像或依赖服务）。

# %% [markdown] lang="en"
# ## The image the pipeline uses
#
# A `linux/amd64` + `linux/arm64` image that buildx pushes to the lab's registry, standing in
# for a multi-platform image on Docker Hub (a base image or a service the pipeline pulls).

# %%
ref = f"{registry.host}/demo/service:1.4"
with proc.quiet():
    lab.engine.buildx_push(ref, [b"service 0\n", b"service 1\n"],
                           platforms=["linux/amd64", "linux/arm64"], provenance=False)
print(f"$ docker buildx build --platform linux/amd64,linux/arm64 --push -t {ref} .")
print(f"pushed {ref} (linux/amd64, linux/arm64)")

# %% [markdown] lang="zh"
# ## runner 上的 Docker：版本和存储
#
# 一台全新的 Docker 29（runner 镜像里新装的就是这样），先跑页面上“我受影响吗？”的两条命令。

# %% [markdown] lang="en"
# ## The runner's Docker: version and store
#
# A fresh Docker 29 (what a runner image installs from scratch), asked the two questions of the
# page's "am I affected?" step.

# %%
runner = Engine("29.8.1").start()
print(runner.description)
version = runner.cli("version", "--format", "{{.Server.Version}}").stdout.strip()
store = runner.cli("info", "-f", "{{.DriverStatus}}").stdout.strip()
platform = runner.cli("version", "--format", "{{.Server.Os}}/{{.Server.Arch}}").stdout.strip()
print(version, store, platform, sep="\n")
assert version == "29.8.1" and "io.containerd.snapshotter.v1" in store

# %% [markdown] lang="zh"
# ## 出错的那一步：`kind load docker-image`
#
# 真实的 kind v0.33.0 找到 runner 这台 Docker 里带 kind 标签的节点容器，先在主机上 `docker save`，
# 再在节点里执行它固定的导入命令（`--all-platforms`）。

# %% [markdown] lang="en"
# ## The failing step: `kind load docker-image`
#
# The real kind v0.33.0 finds the node container by kind's labels in the runner's Docker, runs
# `docker save` on the host, then its fixed import command (`--all-platforms`) in the node.

# %%
runner.pull(ref)
with proc.quiet():
    cluster = KindCluster(runner, kind="v0.33.0").start()
print(cluster.description)
node = cluster.nodes[0]
failed = cluster.kind_cmd("load", "docker-image", ref)
print(failed.output, end="")
assert not failed.ok
assert "ctr: content digest sha256:" in failed.output
assert failed.output.rstrip().endswith(": not found")


# %%
def records(name: str) -> list[str]:
    """The node's `ctr images check` lines for `name` (REF TYPE DIGEST STATUS SIZE UNPACKED)."""
    check = cluster.node_exec(node, "ctr", "-n", "k8s.io", "images", "check")
    return [line for line in check.stdout.splitlines() if line.startswith(name)]


left = records(ref)
print("records left on the node:", left)
assert left == []


def report_and_close(loaded: proc.Result) -> None:
    """kind's output, then whether the node unpacked the image; then remove the nodes."""
    print(loaded.output, end="")
    lines = records(ref)
    print("unpacked:", [line.split()[-1] for line in lines])
    assert loaded.ok and lines and lines[0].split()[-1] == "true"
    with proc.quiet():
        cluster.close()

# %% [markdown] lang="zh"
# ## 步骤一：只保存 runner 的平台，再加载归档
#
# 页面上第一种工作流步骤的命令：`docker save --platform`（平台取自上面的 `docker version`），
# 然后 `kind load image-archive`。

# %% [markdown] lang="en"
# ## Step one: save the runner's platform only, load the archive
#
# The commands of the page's first workflow step: `docker save --platform` (the platform from
# `docker version` above), then `kind load image-archive`.

# %%
print(runner.cli("save", "--platform", platform, "-o", "image.tar", ref).output, end="")
loaded = cluster.kind_cmd("load", "image-archive", "image.tar")
report_and_close(loaded)

# %% [markdown] lang="zh"
# ## 步骤二：关闭 containerd 镜像存储
#
# 第二种工作流步骤把 `"features": {"containerd-snapshotter": false}` 写进 `daemon.json` 并重启
# Docker。这里用同一个 dockerd 29.8.1 以这个设置在新的数据目录上启动（runner 上重启后也是如此：
# 之前拉取的镜像留在另一种存储里，要重新拉取），再原样执行 `kind load docker-image`。

# %% [markdown] lang="en"
# ## Step two: turn the containerd image store off
#
# The second workflow step writes `"features": {"containerd-snapshotter": false}` into
# `daemon.json` and restarts Docker. Here the same dockerd 29.8.1 starts with that setting on a
# fresh data root (on a runner the effect is the same: images pulled before stay in the other
# store and are pulled again), then `kind load docker-image` runs unchanged.

# %%
classic = Engine("29.8.1", containerd_store=False).start()
print(classic.description)
print(classic.cli("info", "-f", "{{.Driver}}").stdout.strip())
classic.pull(ref)
with proc.quiet():
    cluster = KindCluster(classic, kind="v0.33.0").start()
node = cluster.nodes[0]
loaded = cluster.kind_cmd("load", "docker-image", ref)
report_and_close(loaded)

# %% [markdown] lang="zh"
# ## 结论
#
# - runner 上全新安装的 Docker 29 用的是 containerd 镜像存储，`docker info` 里能看出来；
# - 拉取的多平台镜像经 `kind load docker-image` 失败，节点上不留记录；
# - `docker save --platform <runner 的平台>` 加 `kind load image-archive`，或者关闭 containerd
#   镜像存储，都能让同一个镜像加载成功。

# %% [markdown] lang="en"
# ## Conclusion
#
# - a fresh Docker 29 on a runner uses the containerd image store, and `docker info` shows it;
# - a pulled multi-platform image fails through `kind load docker-image`, leaving no record on
#   the node;
# - `docker save --platform <the runner's platform>` plus `kind load image-archive`, or turning
#   the containerd image store off, loads the same image.

# %%
classic.close()
runner.close()
lab.close()
scratch.close()
print("lab closed, work directory removed")
