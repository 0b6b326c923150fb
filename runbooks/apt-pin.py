# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] lang="zh"
# # 用 apt 固定和升级 Docker：页面上的每条命令
#
# **演示什么**：“固定在 Docker 24.x”“升级 Docker”和“预防”三页让读者敲的 apt 命令——
# `apt-cache madison`、`apt-get install docker-ce=<版本>`、`apt-mark hold`、
# `/etc/apt/preferences.d/` 里的版本钉、`apt-cache policy`，以及解除固定后的升级——在一个一次性的
# Debian 12 chroot 里由 Debian 自己的 apt 原样执行，看 hold 和 pin 是不是真的挡住了升级。
#
# **软件包是替身**：这台机器连不上 download.docker.com，所以 apt 仓库是本地的（`file:` 源，目录
# 结构和 Docker 的仓库一样），里面的 `docker-ce`、`docker-ce-cli`、`containerd.io` 用的是 Docker
# 仓库里真实的包名和版本号（`5:24.0.9-1~debian.12~bookworm`），内容是从源码构建的真实
# `dockerd`、`docker`、`containerd` 二进制，所以 chroot 里 `dockerd --version` 打印的就是那个版本。
# 打包是我们做的：没有 systemd 单元，没有维护者脚本，装上不会启动任何服务；依赖只保留
# `docker-ce-cli` 和 `containerd.io`。
#
# **需要**：root；第一次运行要能访问 Debian 的软件源（`mmdebstrap` 生成 chroot，之后用缓存）；
# 实验环境里从源码构建的 Docker 24.0.7、24.0.9、25.0.0–25.0.3、29.8.1 和 containerd 1.7.24、2.3.4。
#
# **你会看到**：每一步之后 `dockerd --version` / `docker --version` 的输出，以及 apt 在 hold 和
# pin 下的真实反应。

# %% [markdown] lang="en"
# # Pinning and upgrading Docker with apt: every command of the pages
#
# **What this shows**: the apt commands the pages "pin Docker 24.x", "upgrade Docker" and
# "prevention" tell you to type — `apt-cache madison`, `apt-get install docker-ce=<version>`,
# `apt-mark hold`, a version pin in `/etc/apt/preferences.d/`, `apt-cache policy`, and the
# upgrade once the pin is lifted — run as written by Debian's own apt in a throwaway Debian 12
# chroot, to see whether a hold and a pin really keep an upgrade out.
#
# **The packages are stand-ins**: this machine cannot reach download.docker.com, so the apt
# repository is a local one (a `file:` source laid out like Docker's), holding `docker-ce`,
# `docker-ce-cli` and `containerd.io` under the names and version strings of Docker's
# repository (`5:24.0.9-1~debian.12~bookworm`). Their payload is the real `dockerd`, `docker` and
# `containerd` built from source, so `dockerd --version` in the chroot prints that release.
# The packaging is ours: no systemd units, no maintainer scripts, nothing starts on install;
# of the dependencies only `docker-ce-cli` and `containerd.io` are kept.
#
# **Needs**: root; Debian's package mirror on the first run (`mmdebstrap` makes the chroot,
# cached afterwards); the lab's Docker 24.0.7, 24.0.9, 25.0.0–25.0.3 and 29.8.1 and containerd
# 1.7.24 and 2.3.4, built from source.
#
# **You will see**: `dockerd --version` / `docker --version` after each step, and what apt
# really does under a hold and under a pin.

# %%
from runbook_exec import proc
from runbook_exec.lab import DebianChroot, deb_version, docker_repo, workspace

proc.echo_to_stdout()
scratch = workspace("apt-pin")  # this run's own dir under the lab's temp root
print("target: a throwaway Debian 12 chroot (sandbox and live alike: it never touches your "
      "apt, your dpkg or your Docker)")
repo = docker_repo()
chroot = DebianChroot()
print(chroot.description)
for pkg in repo.packages:
    payload = ", ".join(f"/{path} = {binary} of engine {engine}" for path, engine, binary
                        in pkg.files)
    print(f"stand-in {pkg.package} {pkg.version}: {payload}")


def sh(script: str) -> None:
    """Run ``script`` in the chroot as the page writes it (without ``sudo``: the chroot's
    shell is root's) and print what it printed; a failure stops the runbook."""
    out = chroot.run(script).output.rstrip()
    if out:
        print(out)


def refused(script: str) -> int:
    """Run ``script``, which apt is expected to refuse; print its output and exit status."""
    res = chroot.run(script, check=False)
    print(res.output.rstrip())
    print("exit status:", res.returncode)
    return res.returncode


def versions() -> str:
    """What the installed binaries say about themselves."""
    out = ""
    for command in ("dockerd --version", "docker --version"):
        line = chroot.run(command).output.strip()
        print(line)
        out += line + "\n"
    return out


# %% [markdown] lang="zh"
# ## 仓库和可选版本
#
# apt 源和 Docker 官方的写法只差在地址（`file:` 而不是 `https://download.docker.com`）和
# `trusted=yes`（本地仓库没有签名）。`apt-cache madison` 列出仓库里的每个版本；真实仓库里的版本
# 更多，这里只有实验环境构建过的这几个。

# %% [markdown] lang="en"
# ## The repository and its versions
#
# The apt source differs from Docker's only in its address (`file:` instead of
# `https://download.docker.com`) and `trusted=yes` (the local repository is not signed).
# `apt-cache madison` lists every version in it; Docker's real repository has many more, this
# one only the releases the lab builds.

# %%
print(chroot.add_repo(repo), "  # /etc/apt/sources.list.d/docker.list")
sh("apt-get --version | head -1")
sh("apt-get update")
sh("apt-cache madison docker-ce")

# %% [markdown] lang="zh"
# ## 2024 年 1 月：装上了 25.0.0
#
# 25.0.0 发布后的几天里，`apt-get install docker-ce` 拿到的最新版就是它。这里用版本号装上它，
# 还原那台机器的状态。

# %% [markdown] lang="en"
# ## January 2024: the machine got 25.0.0
#
# In the days after 25.0.0 was released, it was the newest version `apt-get install docker-ce`
# could get. Installing it by its version string rebuilds that machine.

# %%
v25 = deb_version("25.0.0")
sh(f"apt-get install -y docker-ce={v25} docker-ce-cli={v25}")
assert "Docker version 25.0.0," in versions()

# %% [markdown] lang="zh"
# ## 固定在 24.x：降级并 hold
#
# “固定在 Docker 24.x”一页的步骤，逐字执行：先找版本号，再降级安装，再 `apt-mark hold`。
# 固定的是 24.0.9，24.0 分支的最后一个版本（那篇文章和 GitHub 托管的 runner 用的是 24.0.7，
# 仓库里也有它）。

# %% [markdown] lang="en"
# ## Pin 24.x: downgrade and hold
#
# The steps of the "pin Docker 24.x" page, word for word: find the version string, install it
# (a downgrade here), then `apt-mark hold`. The version pinned is 24.0.9, the last release of
# the 24.0 branch (the write-up and GitHub's hosted runners used 24.0.7, which the repository
# holds too).

# %%
v24 = deb_version("24.0.9")
sh("apt-cache madison docker-ce | grep 24.0")
sh(f"apt-get install -y --allow-downgrades docker-ce={v24} docker-ce-cli={v24}")
sh("apt-mark hold docker-ce docker-ce-cli")
assert "Docker version 24.0.9," in versions()

# %% [markdown] lang="zh"
# hold 之后，`apt-get upgrade` 把这两个包留在原地（“kept back”）；点名安装 `docker-ce` 时
# apt 拒绝改动被 hold 的包，以非零状态退出。`apt-cache policy` 里 Candidate 仍然是最新版：hold 不改
# 候选版本，只是不让 apt 去装它。

# %% [markdown] lang="en"
# Under the hold, `apt-get upgrade` leaves both packages where they are ("kept back"); asked by
# name to install `docker-ce`, apt refuses to change a held package and exits non-zero.
# `apt-cache policy` still shows the newest release as Candidate: a hold does not change the
# candidate, it stops apt from installing it.

# %%
sh("apt-get upgrade -y")
held = refused("apt-get install -y docker-ce")
sh("apt-cache policy docker-ce")
assert held != 0
assert "Docker version 24.0.9," in versions()

# %% [markdown] lang="zh"
# ## 另一种固定：preferences 里的版本钉
#
# 去掉 hold，改用 `/etc/apt/preferences.d/` 里的版本钉。优先级高于 1000 时，apt 即使要降级也选它；
# `apt-cache policy` 的 Candidate 变成钉住的版本，`apt-get install -y docker-ce` 装的也是它。

# %% [markdown] lang="en"
# ## The other pin: a version pin in preferences
#
# Lift the hold and pin the version in `/etc/apt/preferences.d/` instead. With a priority
# above 1000 apt picks that version even where it is a downgrade; `apt-cache policy` shows it
# as Candidate, and `apt-get install -y docker-ce` installs it.

# %%
sh("apt-mark unhold docker-ce docker-ce-cli")
sh("""tee /etc/apt/preferences.d/docker-ce <<'EOF'
Package: docker-ce docker-ce-cli
Pin: version 5:24.0.9*
Pin-Priority: 1001
EOF""")
sh("apt-cache policy docker-ce")
sh("apt-get upgrade -y")
sh("apt-get install -y docker-ce")
assert "Docker version 24.0.9," in versions()

# %% [markdown] lang="zh"
# ## 升级到当前版本
#
# 先看一个坑：版本钉还在的时候，`--only-upgrade` 什么也不升级，因为 Candidate 就是钉住的版本。
# 然后是“升级 Docker”一页的步骤：删掉版本钉，`apt-mark unhold`（这台机器上已经没有 hold，
# apt 会说明），`apt-get update`，再只升级已安装的三个包。仓库里最新的是 29.8.1；containerd.io
# 在装 25.0.0 时已经拿到了仓库里最新的 2.3.4。

# %% [markdown] lang="en"
# ## Upgrade to a current release
#
# A pitfall first: while the version pin is in place, `--only-upgrade` upgrades nothing, since
# the Candidate is the pinned version. Then the steps of the "upgrade Docker" page: delete the
# pin, `apt-mark unhold` (no hold is left on this machine, and apt says so), `apt-get update`,
# then upgrade only the three installed packages. The repository's newest is 29.8.1;
# containerd.io already got the repository's newest, 2.3.4, when 25.0.0 was installed.

# %%
sh("apt-get install -y --only-upgrade docker-ce docker-ce-cli containerd.io")
assert "Docker version 24.0.9," in versions()
sh("""rm -f /etc/apt/preferences.d/docker-ce
apt-mark unhold docker-ce docker-ce-cli
apt-get update
apt-get install -y --only-upgrade docker-ce docker-ce-cli containerd.io""")
assert "Docker version 29.8.1," in versions()

# %% [markdown] lang="zh"
# ## 预防：CI 里固定一个测过的当前版本
#
# 把这台机器清空（`apt-get purge`，相当于一台新的 runner），再执行“预防”一页给 CI 的写法：从
# `apt-cache madison` 里挑测过的最新版，装上并 hold。之后想退回 25.0.0，被 hold 拦下。

# %% [markdown] lang="en"
# ## Prevention: pin a tested current release in CI
#
# Empty the machine (`apt-get purge`, as good as a fresh runner), then run what the
# "prevention" page gives for CI: pick the newest release you tested from `apt-cache madison`,
# install it and hold it. A later attempt to go back to 25.0.0 is stopped by the hold.

# %%
sh("apt-get purge -y docker-ce docker-ce-cli containerd.io")
v_current = deb_version("29.8.1")
sh(f"""apt-cache madison docker-ce | head -3
v='{v_current}'
apt-get install -y "docker-ce=$v" "docker-ce-cli=$v"
apt-mark hold docker-ce docker-ce-cli""")
sh("apt-mark showhold")
back = refused(f"apt-get install -y --allow-downgrades docker-ce={v25} docker-ce-cli={v25}")
assert back != 0
assert "Docker version 29.8.1," in versions()

# %% [markdown] lang="zh"
# ## 结论
#
# - `apt-mark hold` 让 `apt-get upgrade` 留下这两个包，点名安装或降级时 apt 直接报错退出；
#   `apt-cache policy` 的 Candidate 不受 hold 影响；
# - `/etc/apt/preferences.d/` 里 `Pin: version 5:24.0.9*`、`Pin-Priority: 1001` 改的是 Candidate，
#   `apt-get install docker-ce` 装的就是钉住的版本；
# - 去掉钉和 hold 之后，`apt-get install -y --only-upgrade docker-ce docker-ce-cli containerd.io`
#   装上仓库里的最新版。

# %% [markdown] lang="en"
# ## Conclusion
#
# - `apt-mark hold` makes `apt-get upgrade` keep both packages back, and apt exits with an
#   error when asked by name to change them; `apt-cache policy`'s Candidate ignores the hold;
# - `Pin: version 5:24.0.9*` with `Pin-Priority: 1001` in `/etc/apt/preferences.d/` changes the
#   Candidate, so `apt-get install docker-ce` installs the pinned version;
# - with pin and hold gone, `apt-get install -y --only-upgrade docker-ce docker-ce-cli
#   containerd.io` installs the repository's newest release.

# %%
chroot.close()
scratch.close()
print("chroot removed, work directory removed")
