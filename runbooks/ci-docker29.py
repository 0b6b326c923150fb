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
# # CI 上的 Docker 29：工作流步骤里的每条命令
#
# **演示什么**：CI runner 上全新安装的 Docker 29 使用 containerd 镜像存储。流水线拉取一个
# 多平台镜像，再 `kind load docker-image`，真实的 kind 以 `content digest …: not found` 失败。
# 然后原样执行“CI 上的 Docker 29”一页里两种工作流步骤的命令：先 `docker save --platform` 再
# `kind load image-archive`；或者关闭 containerd 镜像存储。每一种都在同一个镜像上成功。
#
# **需要**：root；实验环境里从源码构建的 dockerd 和 docker CLI 29.8.1、buildx 0.38.2、distribution
# 仓库 3.1.2，以及 kind v0.33.0 节点里的 containerd 2.3.4。kind 的两步（主机上 `docker save`，
# 节点里它固定的 `ctr images import` 命令）由实验环境原样执行：真实的 kind CLI 需要在这台 Docker 29
# 里运行节点容器，而实验环境的 runc（Debian 的 1.1.5）拒绝 Docker 29 写出的容器配置（见下文）。
#
# **你会看到**：`docker info` 报告的存储类型；`kind load docker-image` 的完整报错；两种修复各自的
# `kind load` 输出，以及节点上 `UNPACKED` 为 `true` 的镜像。

# %% [markdown] lang="en"
# # Docker 29 in CI: every command of the workflow step
#
# **What this shows**: a fresh Docker 29 install on a CI runner uses the containerd image store.
# The pipeline pulls a multi-platform image and runs `kind load docker-image`: `docker save` on
# the host plus kind's import command in the node fail with `content digest …: not found`.
# Then the commands of the page's two workflow steps run as they are written there:
# `docker save --platform` followed by `kind load image-archive`, or turning the containerd image
# store off. Each works on the same image.
#
# **Needs**: root; the lab's dockerd and docker CLI 29.8.1, buildx 0.38.2 and the distribution
# registry 3.1.2, all built from source, and the containerd 2.3.4 of kind v0.33.0 nodes. The lab
# runs kind's two steps as kind does (`docker save` on the host, its fixed `ctr images import`
# in the node): the real kind CLI would need node containers in this Docker 29, and the lab's
# runc (Debian's 1.1.5) refuses the container spec Docker 29 writes (shown below).
#
# **You will see**: the store `docker info` reports; the full error of `kind load docker-image`;
# the `kind load` output of each fix, and the image `UNPACKED` `true` on the node.

# %%
import os
import shutil
import tempfile

from runbook_exec import proc
from runbook_exec.errors import CommandError
from runbook_exec.lab import Engine, KindCluster, open_target

proc.echo_to_stdout()
workdir = tempfile.mkdtemp(prefix="runbook-ci-docker29-")
os.chdir(workdir)  # relative paths keep the echoed commands the same on every run
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
# runner 拉取镜像，然后是 `kind load docker-image` 的两步：主机上 `docker save -o images.tar REF`，
# 节点里 kind 固定的导入命令（`--all-platforms`）。

# %% [markdown] lang="en"
# ## The failing step: `kind load docker-image`
#
# The runner pulls the image, then the two steps of `kind load docker-image`: on the host
# `docker save -o images.tar REF`, in the node kind's fixed import command (`--all-platforms`).

# %%
runner.pull(ref)
node = lab.node
print(node.description)
print(f"$ kind load docker-image {ref}")
runner.save([ref], "images.tar")
failed = node.load("images.tar")
print(failed.output.rstrip())
assert not failed.ok
assert failed.error.startswith("ctr: content digest sha256:")
assert failed.error.endswith(": not found")
print("records left on the node:", [r.ref for r in node.images()])
assert node.images() == []

# %% [markdown] lang="zh"
# ## 步骤一：只保存 runner 的平台，再加载归档
#
# 页面上第一种工作流步骤的命令：`docker save --platform`（平台取自上面的 `docker version`），
# 然后 `kind load image-archive`，它只做 kind 的第二步（节点里的导入）。

# %% [markdown] lang="en"
# ## Step one: save the runner's platform only, load the archive
#
# The commands of the page's first workflow step: `docker save --platform` (the platform from
# `docker version` above), then `kind load image-archive`, which is kind's second step only (the
# import in the node).

# %%
print(runner.cli("save", "--platform", platform, "-o", "image.tar", ref).output, end="")
print("$ kind load image-archive image.tar")
loaded = node.load("image.tar")
print(loaded.output.rstrip())
assert loaded.ok
print([(c.ref, c.unpacked) for c in node.check()])
assert node.unpacked(f"{ref}")
node.remove(*[r.ref for r in node.images()])

# %% [markdown] lang="zh"
# ## 步骤二：关闭 containerd 镜像存储
#
# 第二种工作流步骤把 `"features": {"containerd-snapshotter": false}` 写进 `daemon.json` 并重启
# Docker。这里用同一个 dockerd 29.8.1 以这个设置在新的数据目录上启动（runner 上重启后也是如此：
# 之前拉取的镜像留在另一种存储里，要重新拉取），再执行 `kind load docker-image` 的两步。

# %% [markdown] lang="en"
# ## Step two: turn the containerd image store off
#
# The second workflow step writes `"features": {"containerd-snapshotter": false}` into
# `daemon.json` and restarts Docker. Here the same dockerd 29.8.1 starts with that setting on a
# fresh data root (on a runner the effect is the same: images pulled before stay in the other
# store and are pulled again), then the two steps of `kind load docker-image` run unchanged.

# %%
classic = Engine("29.8.1", containerd_store=False).start()
print(classic.description)
print(classic.cli("info", "-f", "{{.Driver}}").stdout.strip())
classic.pull(ref)
print(f"$ kind load docker-image {ref}")
classic.save([ref], "images.tar")
loaded = node.load("images.tar")
print(loaded.output.rstrip())
assert loaded.ok
print([(c.ref, c.unpacked) for c in node.check()])
assert node.unpacked(ref)

# %% [markdown] lang="zh"
# ## 为什么这里不用真实的 kind CLI
#
# kind 通过 `docker exec` 进入节点容器，所以节点容器必须跑在同一台 Docker 里。在实验环境的
# Docker 29 里启动节点容器，得到的是下面这个错误（Debian 12 的 runc 1.1.5 不认识 Docker 29
# 写出的配置）；真实 runner 上的 runc 是 Docker 自带的新版本，不受影响。kind 的两步命令本身与
# kind v0.33.0 源码里的一致，在 Docker 25 上真实 kind CLI 的输出见“already present”一页。

# %% [markdown] lang="en"
# ## Why not the real kind CLI here
#
# kind reaches the node through `docker exec`, so the node container has to run in the same
# Docker. Starting one in the lab's Docker 29 gives the error below (Debian 12's runc 1.1.5 does
# not know the spec Docker 29 writes); a real runner has Docker's own, newer runc and is not
# affected. kind's two commands are those of kind v0.33.0's source; the real kind CLI's output on
# Docker 25 is on the "already present" page.

# %%
try:
    with proc.quiet():
        KindCluster(runner, kind="v0.33.0").start()
    raise AssertionError("the node container started: use the real kind CLI here")
except CommandError as exc:
    refused = [line for line in str(exc).splitlines() if "runc create failed" in line]
    print(refused[0] if refused else str(exc)[-400:])
    assert refused, str(exc)
finally:
    with proc.quiet():
        runner.cli("rm", "-f", "-v", "kind-control-plane", check=False)

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
os.chdir("/")
shutil.rmtree(workdir)
print("lab closed, work directory removed")
