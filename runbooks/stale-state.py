# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 失败的导入留下的“already present”状态
#
# **演示什么**：kind 的导入失败之后，镜像记录仍留在节点上。`ctr images ls` 和 `ctr images check`
# 能看到它们（内容齐全、未解包）；节点的 CRI 插件回答“镜像存在”，所以 kubelet 记录 `already present
# on machine`，kind 下一次 `kind load` 也会跳过这个节点。然后按 kind
# 节点上的原样命令清理、重新加载好的归档、确认已解包。
#
# **需要**：root；本项目的实验环境：kind v0.20.0 节点里的 containerd 1.7.1（开启 CRI
# 插件）和 crictl，用来对照的 kind v0.27.0、v0.33.0 节点里的 containerd 2.0.2、2.3.4，
# 真实的 dockerd 25.0.0 写出坏归档、25.0.1 写出好归档，都从源码构建。
#
# **你会看到**：失败后的三条记录、CRI 的 `ImageStatus` 回答、kind 的判断、清理命令，以及重新加载后
# `UNPACKED` 变为 `true`。

# %% [markdown] lang="en"
# # The stale "already present" state a failed import leaves
#
# **What this shows**: after kind's import fails, the image records stay on the node.
# `ctr images ls` and `ctr images check` show them (content complete, not unpacked); the node's
# CRI plugin answers "present", so the kubelet logs `already present on machine` and the next
# `kind load` skips the node. Then the exact cleanup commands for a kind node, a reload of a good
# archive, and a check that it is unpacked.
#
# **Needs**: root and this project's lab: the containerd 1.7.1 of kind v0.20.0 nodes (CRI plugin
# on) with crictl, and for comparison the containerd 2.0.2 and 2.3.4 of kind v0.27.0 and v0.33.0
# nodes; the real dockerd 25.0.0 writes the broken archive and 25.0.1 the good one, all built
# from source.
#
# **You will see**: the three records left after the failure, the CRI `ImageStatus` answer, kind's
# decision, the cleanup commands, and `UNPACKED` turning `true` after the reload.

# %%
import re
import time

from runbook_exec import proc
from runbook_exec.lab import KindCluster, Node, open_target, pause_program, workspace

proc.echo_to_stdout()
scratch = workspace("stale-state")  # this run's own dir under the lab's temp root
lab = open_target(docker="25.0.0", kind="v0.20.0")

# %% [markdown] lang="zh"
# ## 一次失败的 `kind load`
#
# 镜像含重复层，25.0.0 写出的归档每次都会失败（见 mismatched-rootfs 运行手册）。第一个命令相当于
# kind 的第一步 `docker image inspect -f {{ .Id }}`。

# %% [markdown] lang="en"
# ## A failed `kind load`
#
# The image has a repeated layer, so the 25.0.0-written archive fails every time (see the
# mismatched-rootfs runbook). The first command stands for kind's first step,
# `docker image inspect -f {{ .Id }}`.

# %%
built = lab.engine.build("demo/stale:1", [b"base\n", b"app v1\n", b"base\n"])
name = "docker.io/" + built.ref
proc.echo(f"docker image inspect -f '{{{{ .Id }}}}' {built.ref}")
image_id = lab.engine.image_id(built.ref)
print(image_id)
print(lab.save([built.ref], "broken.tar"))
failed = lab.node.load("broken.tar")
print(failed.output.rstrip())
assert failed.error == "ctr: mismatched image rootfs and manifest layers"

# %% [markdown] lang="zh"
# ## 记录还在
#
# `ctr images import` 先写镜像记录、再解包（containerd 1.6/1.7
# 的客户端导入）。解包失败时记录不会回滚：镜像名、`--digests` 生成的 `import-<日期>@sha256:…`，以及
# CRI 插件收到事件后补上的镜像 ID 引用 `sha256:<镜像 ID>`。`check` 说内容完整，但 `UNPACKED` 是
# `false`。

# %% [markdown] lang="en"
# ## The records are still there
#
# `ctr images import` writes the image records first and unpacks afterwards (client-side import in
# containerd 1.6/1.7). A failed unpack does not roll them back: the name, the
# `import-<date>@sha256:…` record from `--digests`, and the image-ID reference `sha256:<image ID>`
# the CRI plugin adds when it sees the new image. `check` says the content is complete, but
# `UNPACKED` is `false`.

# %%
# The CRI plugin adds its image-ID record when the create event reaches it: wait for it quietly.
with proc.quiet():
    deadline = time.monotonic() + 10
    while image_id not in {r.ref for r in lab.node.images()} and time.monotonic() < deadline:
        time.sleep(0.2)
records = lab.node.images()
for record in records:
    print(record.ref)
checks = lab.node.check()
for c in checks:
    print(f"{c.ref[:40]:40} {c.status:16} unpacked={c.unpacked}")
stale = [r.ref for r in records]
assert name in stale and image_id in stale and any(r.startswith("import-") for r in stale)
assert all(c.complete and not c.unpacked for c in checks)

# %% [markdown] lang="zh"
# ## kubelet 看到的：镜像“存在”
#
# kubelet 通过 CRI 的 `ImageStatus` 询问镜像是否存在。这里用 `crictl inspecti`
# 问节点的 CRI 插件，发出的正是同一个调用。回答“存在”时，`imagePullPolicy: IfNotPresent`
# 的 Pod 不会去拉取，事件里写 `Container image
# "…" already present on machine`；随后创建容器时 CRI 需要解包，于是报 `failed to create containerd
# container: error unpacking image: …`。

# %% [markdown] lang="en"
# ## What the kubelet sees: the image is "present"
#
# The kubelet asks the runtime through CRI `ImageStatus` whether an image exists; here
# `crictl inspecti` asks the node's CRI plugin with that very call. With a "present" answer,
# a Pod with `imagePullPolicy: IfNotPresent`
# does not pull, its events say `Container image "…" already present on machine`, and creating
# the container needs an unpack, which fails with
# `failed to create containerd container: error unpacking image: …`.

# %%
view = lab.node.kubelet_view(name)
print(view)
assert view.present

# %% [markdown] lang="zh"
# ## kind 的判断：跳过这个节点
#
# kind 用主机上的镜像 ID 问节点（`crictl inspecti <ID>`）；如果镜像名在返回的 `repoTags`
# 里，就认为节点已经有了这个镜像，不再加载。这里用同一个 crictl 命令复现这个判断。

# %% [markdown] lang="en"
# ## kind's decision: skip this node
#
# kind asks the node about the host's image ID (`crictl inspecti <ID>`); when the image name is
# among the returned `repoTags`, it considers the node done and does not load again. The same
# crictl command reproduces that decision here.

# %%
by_id = lab.node.kubelet_view(image_id)
print("repoTags of", image_id[:19] + "…:", list(by_id.repo_tags))
if name in by_id.repo_tags:
    # kind's own rule (pkg/cmd/kind/load/docker-image at v0.20.0), applied to crictl's answer;
    # the kind binary itself does not run against this node yet
    print("by kind's rule the node is skipped; kind would print:")
    print(f'  Image: "{built.ref}" with ID "{image_id}" found to be already present on all nodes.')
assert name in by_id.repo_tags

# %% [markdown] lang="zh"
# ## 清理：删掉全部三条记录
#
# 在真实的 kind 节点上，命令是 `docker exec <节点名> ctr -n k8s.io images rm …`，引用用上面 `ls`
# 列出的那几条。

# %% [markdown] lang="en"
# ## Clean up: remove all three records
#
# On a real kind node the command is `docker exec <node> ctr -n k8s.io images rm …` with the refs
# `ls` listed above.

# %%
lab.node.remove(*stale)
left = [r.ref for r in lab.node.images()]
print("records left:", left)
after = lab.node.kubelet_view(name)
print(after)
assert left == [] and not after.present

# %% [markdown] lang="zh"
# ## 重新加载好的归档，确认已解包
#
# 好归档由真实的 dockerd 25.0.1 保存：层顺序按配置来，重复层保留（moby#47161）。

# %% [markdown] lang="en"
# ## Reload a good archive and check it is unpacked
#
# The good archive is saved by the real dockerd 25.0.1: layers in config order, the repeated one
# kept (moby#47161).

# %%
print(lab.save([built.ref], "good.tar", as_docker="25.0.1"))
reloaded = lab.node.load("good.tar")
print(reloaded.output.rstrip())
assert reloaded.ok
final = lab.node.check()
for c in final:
    print(f"{c.ref[:40]:40} {c.status:16} unpacked={c.unpacked}")
assert any(c.ref == name and c.unpacked for c in final)
print(lab.node.kubelet_view(name))

# %% [markdown] lang="zh"
# ## containerd 2.x 节点上：什么记录都不留
#
# kind v0.27.0 起节点换成 containerd 2.x，kind 的导入命令走 Transfer 服务，按源码，镜像记录要等
# 解包成功才写入（`core/transfer/local/import.go`）。这里把同一份坏归档交给 kind v0.27.0 和
# v0.33.0 节点里的 containerd 2.0.2 和 2.3.4（都从源码构建），看导入失败后还剩什么。

# %% [markdown] lang="en"
# ## On containerd 2.x nodes: no record is left
#
# From kind v0.27.0 the nodes run containerd 2.x and kind's import command goes through the
# Transfer service, which by its source writes the image record only after a successful unpack
# (`core/transfer/local/import.go`). Here the same broken archive goes to the containerd 2.0.2 and
# 2.3.4 of kind v0.27.0 and v0.33.0 nodes (both built from source), to see what a failed import
# leaves.

# %%
left_on_2x = {}
for release in ("v0.27.0", "v0.33.0"):
    with Node(kind=release) as node_2x:
        print(node_2x.description)
        result_2x = node_2x.load("broken.tar")
        print(result_2x.output.rstrip())
        left_on_2x[release] = [r.ref for r in node_2x.images()]
        print("records left:", left_on_2x[release])
        view_2x = node_2x.kubelet_view(name)
        print(view_2x)
        assert not result_2x.ok and not view_2x.present
assert left_on_2x == {"v0.27.0": [], "v0.33.0": []}

# %% [markdown] lang="zh"
# ## 用真实的 kind 和 kubelet 再走一遍
#
# 上面是按 kind 的做法逐条执行的命令。这里换成真实的 kind v0.20.0 命令行（从源码构建），
# 对着实验环境里的节点容器执行。节点容器带着 kind 的标签，里面运行 kind v0.20.0 节点的
# containerd 1.7.1、runc 1.1.7 和 crictl，外加一个独立运行的 kubelet 1.26.15（没有 API
# server，Pod 来自静态清单，事件写进 kubelet 的日志）。主机上的 Docker 是真实的 25.0.0。
# 镜像里放了一个能运行的程序（Kubernetes 的 pause），好让 Pod 最后真的能起来。

# %% [markdown] lang="en"
# ## Once more with the real kind and a kubelet
#
# The steps above replay kind's commands one by one. Here the real kind v0.20.0 CLI (built from
# source) runs against node containers in the lab. They carry kind's labels and run the
# containerd 1.7.1, runc 1.1.7 and crictl of kind v0.20.0 nodes, plus a standalone kubelet
# 1.26.15 (no API server: pods come from static manifests, events go to the kubelet's log). The
# host's Docker is the real 25.0.0. The image holds a program that can run (Kubernetes' pause),
# so that the pod can start in the end.

# %%
# the sandbox's Docker 25.0.0; on the live target a private one beside your Docker
kind_engine = lab.sandbox_engine("25.0.0")
cluster = KindCluster(kind_engine, kind="v0.20.0", kubelet=True).start()
print(cluster.description)
print(cluster.kind_cmd("get", "nodes").output, end="")
fresh = kind_engine.build("demo/kindload:1", [b"base\n", b"app v2\n", b"base\n"],
                         program=pause_program())
first = cluster.kind_cmd("load", "docker-image", fresh.ref)
print(first.output, end="")
second = cluster.kind_cmd("load", "docker-image", fresh.ref)
print(second.output, end="")
assert not first.ok and first.output.rstrip().endswith(
    "ctr: mismatched image rootfs and manifest layers")
assert 'ERROR: failed to load image: command "docker exec --privileged -i kind-control-plane' \
    in first.output
assert second.ok and "found to be already present on all nodes." in second.output

# %% [markdown] lang="zh"
# 现在让 kubelet 用这个镜像起一个 Pod（`imagePullPolicy: IfNotPresent`，标签是 `:1` 而不是
# `:latest`，否则默认策略是 `Always`，kubelet 会先去拉取）。下面是 kubelet 自己记下的事件，
# 也就是在集群里 `kubectl describe pod` 会看到的那几行：

# %% [markdown] lang="en"
# Now the kubelet starts a pod with this image (`imagePullPolicy: IfNotPresent`, and a `:1` tag
# rather than `:latest`, whose default policy is `Always`, which would make the kubelet pull
# first). These are the events the kubelet itself records, the lines `kubectl describe pod`
# shows on a cluster:

# %%
pod = cluster.run_pod("web", "docker.io/demo/kindload:1")
stale_events = cluster.wait_event(pod, "Failed")
for event in stale_events:
    print(event)
reasons = {(e.reason, e.message) for e in stale_events}
assert ("Pulled", 'Container image "docker.io/demo/kindload:1" already present on machine') \
    in reasons
assert ("Failed", "Error: failed to create containerd container: error unpacking image: "
        "mismatched image rootfs and manifest layers") in reasons

# %% [markdown] lang="zh"
# 清理时 `crictl rmi` 够不够？在节点里试一下，再看还剩哪些记录：

# %% [markdown] lang="en"
# Is `crictl rmi` enough to clean up? Try it in the node, then list what is left:

# %%
node_name = cluster.control_plane
cluster.delete_pod("web")
print(cluster.node_exec(node_name, "crictl", "rmi", "docker.io/demo/kindload:1").output, end="")
left = [line.split()[0] for line in cluster.node_exec(
    node_name, "ctr", "-n", "k8s.io", "images", "ls", "-q").output.splitlines() if line.strip()]
left = [ref for ref in left if "kindload" in ref or ref.startswith(("import-", "sha256:"))]
print("records left after crictl rmi:", [re.sub(r"import-\d{4}-\d{2}-\d{2}", "import-<date>", r)
                                         for r in left])
if left:
    print(cluster.node_exec(node_name, "ctr", "-n", "k8s.io", "images", "rm", *left).output,
          end="")

# %% [markdown] lang="zh"
# 记录删干净以后，用修好的 Docker 25.0.3（真实的引擎）保存同一个镜像，交给
# `kind load image-archive`，再把 Pod 重新建一次：

# %% [markdown] lang="en"
# With every record gone, the fixed Docker 25.0.3 (the real engine) saves the same image, `kind
# load image-archive` loads it, and the pod is created again:

# %%
good = lab.save(fresh.ref, str(scratch.path / "kindload-25.0.3.tar"), as_docker="25.0.3",
                source=kind_engine)
print(good)
loaded = cluster.kind_cmd("load", "image-archive", str(good.path))
print(loaded.output, end="")
assert loaded.ok
seen = len(cluster.events(pod))
pod = cluster.run_pod("web", "docker.io/demo/kindload:1")
started = cluster.wait_event(pod, "Started", after=seen)
for event in started:
    print(event)
assert any(e.message == "Started container app" for e in started)
cluster.close()

# %% [markdown] lang="zh"
# ## 结论
#
# - “加载失败，节点却认为镜像已存在”确有其事：containerd 1.6/1.7
#   先写记录后解包，失败不回滚；
# - kubelet 和 kind 问的都是 CRI 插件，所以两者都被误导：Pod 反复报 `error unpacking image`，`kind
#   load` 跳过节点；
# - 清理要删掉全部记录，然后加载一个好的归档；
# - containerd 2.x 节点（kind v0.27.0 起）导入失败后不留记录，也就没有这种状态。

# %% [markdown] lang="en"
# ## Conclusion
#
# - "The load failed, yet the node thinks the image exists" is real: containerd 1.6/1.7 writes
#   the records before unpacking and does not roll them back;
# - the kubelet and kind both ask the CRI plugin, so both are fooled: the Pod keeps failing with
#   `error unpacking image` and `kind load` skips the node;
# - cleaning up means removing every record, then loading a good archive;
# - containerd 2.x nodes (kind v0.27.0 and later) keep no record of a failed import, so they never
#   get into this state.

# %%
lab.close()
scratch.close()
print("lab closed, work directory removed")
