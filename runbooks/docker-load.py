# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # `docker load` 在 containerd 镜像存储上
#
# **演示什么**：Docker 25.0.0 写出的坏归档，graphdriver 存储的 `docker load` 读 `manifest.json`，
# 所以能加载。开启 containerd 镜像存储的 Docker 把归档交给 containerd 的导入器，而它读的是
# `index.json` 和 OCI 清单，也就是 25.0.0 写错的那部分。这里用真实的 Docker 29.8.1 在两种存储下各
# `docker load` 一次同一份归档。
#
# **需要**：root；实验环境里从源码构建的 dockerd 25.0.0（Go 1.21.6）和 29.8.1，各带同版本的
# docker CLI。
#
# **你会看到**：两种存储下 `docker load` 的输出和退出码，以及用加载的镜像创建容器的结果。

# %% [markdown] lang="en"
# # `docker load` on the containerd image store
#
# **What this shows**: with the graphdriver store, `docker load` reads `manifest.json`, so it
# loads the broken archives Docker 25.0.0 writes. With the containerd image store, Docker hands
# the archive to containerd's importer, which reads `index.json` and the OCI manifest: the part
# 25.0.0 got wrong. The real Docker 29.8.1 loads the same archive with each store.
#
# **Needs**: root; the lab's dockerd 25.0.0 (Go 1.21.6) and 29.8.1, built from source, each with
# the docker CLI of its release.
#
# **You will see**: the output and exit status of `docker load` with each store, and whether a
# container can be created from the loaded image.

# %%

from runbook_exec import proc
from runbook_exec.lab import Engine, open_target, workspace

proc.echo_to_stdout()
scratch = workspace("docker-load")  # this run's own dir under the lab's temp root
lab = open_target(docker="25.0.0", kind="v0.33.0")

# %% [markdown] lang="zh"
# ## 一份坏归档
#
# 三层里有一层重复：25.0.0 的 OCI 清单只列出两层（见“层数对不上”一页），`manifest.json` 仍是三层。

# %% [markdown] lang="en"
# ## A broken archive
#
# Three layers, one repeated: 25.0.0's OCI manifest lists two (see the page on the layer count),
# while `manifest.json` still lists three.

# %%
built = lab.engine.build("demo/load:1", [b"base\n", b"app\n", b"base\n"])
lab.engine.save([built.ref], "broken.tar")
print(f"config diff_ids: {len(built.diff_ids)}")

# %% [markdown] lang="zh"
# ## 两种存储下的 `docker load`

# %% [markdown] lang="en"
# ## `docker load` with each store

# %%
results = {}
for store in (True, False):
    with Engine("29.8.1", containerd_store=store) as engine:
        print(f"--- {engine.description}")
        res = engine.cli("load", "-i", "broken.tar", check=False)
        print(res.output.rstrip())
        print(f"exit status {res.returncode}")
        # a container needs the image unpacked: create one (no need to start it)
        made = engine.cli("create", "--name", "probe", built.ref, "/app", check=False)
        print("container created" if made.ok else made.output.rstrip().splitlines()[-1])
        results[store] = (res.returncode, res.output, made.ok)
assert results[False] == (0, f"Loaded image: {built.ref}\n", True)  # reads manifest.json
code, output, created = results[True]
assert code == 0 and not created
assert f"Error unpacking image {built.ref}: mismatched image rootfs and manifest layers" in output

# %% [markdown] lang="zh"
# ## 结论
#
# - graphdriver 存储按 `manifest.json` 加载，容器能正常创建；
# - containerd 镜像存储下 `docker load` 打印 `Loaded image`，接着是 containerd 的
#   `mismatched image rootfs and manifest layers`，退出码却是 0；镜像记录在，但没有解包，
#   创建容器失败。“`docker load` 不受影响”只对 graphdriver 存储成立。

# %% [markdown] lang="en"
# ## Conclusion
#
# - the graphdriver store loads from `manifest.json`, and a container is created fine;
# - with the containerd image store `docker load` prints `Loaded image`, then containerd's
#   `mismatched image rootfs and manifest layers`, and still exits 0; the image record exists
#   but is not unpacked, and creating a container fails. "`docker load` is not affected" holds
#   for the graphdriver store only.

# %%
lab.close()
scratch.close()
print("lab closed, work directory removed")
