# lib-nspawn.sh: a real systemd for the deployment tests (tests/60-systemd.t,
# tests/bench/systemd.sh).  Source it after lib.sh.  A Debian 12 root made
# by debootstrap is cached outside the tree, once; each run boots a fresh
# copy of it with systemd-nspawn.  The container shares the host's network
# namespace: its sockets are reachable on 127.0.0.1, and it reaches the
# host's (a Dovecot on 127.0.0.1).
#
#   nspawn_usable             root, systemd-nspawn, debootstrap (installed
#                             when missing); else returns 1 with the reason
#                             in $NSPAWN_WHY
#   nspawn_base               the cached root (built once, under a lock)
#   nspawn_root DIR           a fresh copy of it at DIR (overlay, else cp -a);
#                             waits until no other test here has a container
#   nspawn_boot DIR           boots it: $NSPAWN_INIT is its PID 1
#   nsx CMD...                runs CMD inside the booted container
#   nspawn_install DIR        installs the project into the booted root DIR:
#                             the .deb of "make deb" when debian/ exists and
#                             builds, else make install install-units; sets
#                             $NSPAWN_INSTALLED_BY ("deb FILE..." or "make")
#                             and $NSPAWN_DEB: "" (no debian/), "ok",
#                             "no build dependencies: ..." or "failed: ..."
#                             (then $T/deb.log says why; make install ran)
#   nspawn_stop               stops the container, removes the copy (also
#                             at exit)
#   port_free PORT            nothing listens on TCP port PORT (any address)
#   nspawn_wait_listen PORT   waits until something does
#
# NSPAWN_CACHE (default /var/cache/popd-tests) holds bookworm-root; remove
# it to rebuild.  NSPAWN_BASE_VERSION changes when what goes into it does.

NSPAWN_CACHE=${NSPAWN_CACHE:-/var/cache/popd-tests}
NSPAWN_BASE=$NSPAWN_CACHE/bookworm-root
NSPAWN_BASE_VERSION=1
# What popd and imapfetch link with (ldd); nothing more, so that a missing
# dependency shows.
NSPAWN_PKGS="libtls26 libetpan20 libcrypt1"
NSPAWN_WHY=""
NSPAWN_PID="" NSPAWN_INIT="" NSPAWN_DIR="" _nspawn_overlay="" _nspawn_atexit=""

nspawn_usable() {
	if [ "$(id -u)" -ne 0 ]; then NSPAWN_WHY="not root (systemd-nspawn boots a container)"; return 1; fi
	_missing=""
	command -v systemd-nspawn >/dev/null || _missing="$_missing systemd-container"
	command -v debootstrap >/dev/null || _missing="$_missing debootstrap"
	command -v nsenter >/dev/null || _missing="$_missing util-linux"
	command -v flock >/dev/null || _missing="$_missing util-linux"
	if [ -n "$_missing" ]; then
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
		    install -y -q --no-install-recommends $_missing \
		    </dev/null >"$T/nspawn-apt.log" 2>&1 || {
			NSPAWN_WHY="cannot install$_missing: $(tail -n 1 "$T/nspawn-apt.log")"
			return 1
		}
	fi
	# systemd in the container needs a cgroup file system to mount.
	if [ ! -d /sys/fs/cgroup ]; then NSPAWN_WHY="no /sys/fs/cgroup"; return 1; fi
	return 0
}

# nspawn_base: builds $NSPAWN_BASE when missing or of another version.  Two
# runs at once: the second waits for the first's lock, then reuses.
nspawn_base() {
	mkdir -p "$NSPAWN_CACHE" || return 1
	(
		flock -w 1800 9 || { echo "nspawn_base: lock timeout" >&2; exit 1; }
		if [ "$(cat "$NSPAWN_BASE/.popd-tests-version" 2>/dev/null)" = "$NSPAWN_BASE_VERSION" ]; then
			exit 0
		fi
		rm -rf "$NSPAWN_BASE" "$NSPAWN_BASE.new"
		echo "nspawn_base: debootstrap bookworm into $NSPAWN_BASE (once)" >&2
		debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus \
		    bookworm "$NSPAWN_BASE.new" http://deb.debian.org/debian \
		    >"$NSPAWN_CACHE/debootstrap.log" 2>&1 ||
		    { echo "nspawn_base: debootstrap failed, see $NSPAWN_CACHE/debootstrap.log" >&2; exit 1; }
		_b=$NSPAWN_BASE.new
		# Each boot gets its own machine id (systemd makes one when empty).
		: > "$_b/etc/machine-id"
		echo popd-test > "$_b/etc/hostname"
		# No getty: nobody logs in on the console (tests use nsenter).
		rm -f "$_b/etc/systemd/system/getty.target.wants/"* 2>/dev/null
		chroot "$_b" env DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y -q --no-install-recommends $NSPAWN_PKGS \
		    >>"$NSPAWN_CACHE/debootstrap.log" 2>&1 ||
		    { echo "nspawn_base: apt-get install $NSPAWN_PKGS failed, see $NSPAWN_CACHE/debootstrap.log" >&2; exit 1; }
		chroot "$_b" apt-get clean
		echo "$NSPAWN_BASE_VERSION" > "$_b/.popd-tests-version"
		mv "$_b" "$NSPAWN_BASE"
	) 9>"$NSPAWN_CACHE/.lock"
}

# nspawn_root DIR: DIR becomes a writable copy of the base: an overlay
# mount (DIR.upper, DIR.work beside it) when the kernel allows, else cp -a.
# Holds $NSPAWN_CACHE/run.lock (fd 8) until this shell exits.
nspawn_root() {
	# One container at a time on this host: they would share its ports.
	exec 8>"$NSPAWN_CACHE/run.lock"
	flock -w 900 8 || { echo "nspawn_root: another container test runs for 15 min" >&2; return 1; }
	NSPAWN_DIR=$1
	mkdir -p "$1" "$1.upper" "$1.work"
	if mount -t overlay overlay -o "lowerdir=$NSPAWN_BASE,upperdir=$1.upper,workdir=$1.work" "$1" 2>/dev/null; then
		_nspawn_overlay=$1
	else
		rmdir "$1.upper" "$1.work"
		cp -a "$NSPAWN_BASE/." "$1" || return 1
	fi
	if [ -z "$_nspawn_atexit" ]; then _nspawn_atexit=1; at_exit nspawn_stop; fi
}

# nspawn_boot DIR: boots DIR with systemd as PID 1; waits until the boot
# is done (60 s at most).  The console goes to $T/nspawn.log.  nspawn's
# own filter of systemd 252 forbids Landlock, which popd's sandbox uses
# (units/popd@.service allows it): let it through, as a host has it.
nspawn_boot() {
	systemd-nspawn --register=no --keep-unit -q -D "$1" -b --console=pipe \
	    --system-call-filter='landlock_create_ruleset landlock_add_rule landlock_restrict_self' \
	    </dev/null >"$T/nspawn.log" 2>&1 &
	NSPAWN_PID=$!
	NSPAWN_INIT=""
	_i=0
	while [ $_i -lt 600 ]; do
		kill -0 "$NSPAWN_PID" 2>/dev/null || { echo "nspawn_boot: systemd-nspawn exited" >&2; return 1; }
		# PID 1 of the container: the child of systemd-nspawn that runs systemd.
		for _c in $(cat /proc/"$NSPAWN_PID"/task/*/children 2>/dev/null); do
			[ "$(cat /proc/"$_c"/comm 2>/dev/null)" = systemd ] && NSPAWN_INIT=$_c
		done
		if [ -n "$NSPAWN_INIT" ]; then
			_s=$(nsx systemctl is-system-running 2>/dev/null)
			case $_s in running|degraded) return 0 ;; esac
		fi
		sleep 0.1; _i=$((_i+1))
	done
	echo "nspawn_boot: not booted after 60 s (state: ${_s:-none})" >&2
	return 1
}

nsx() { nsenter -t "$NSPAWN_INIT" -a -- "$@"; }

# nspawn_stop: SIGRTMIN+4 asks systemd for a clean poweroff; nspawn exits
# when it is done (30 s, else it is killed).  Then the copy goes.
nspawn_stop() {
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		[ -n "$NSPAWN_INIT" ] && kill -s RTMIN+4 "$NSPAWN_INIT" 2>/dev/null
		_i=0
		while kill -0 "$NSPAWN_PID" 2>/dev/null && [ $_i -lt 300 ]; do
			sleep 0.1; _i=$((_i+1))
		done
		if kill -0 "$NSPAWN_PID" 2>/dev/null; then
			echo "nspawn_stop: the container did not stop in 30 s: killed" >&2
			kill -9 "$NSPAWN_PID" 2>/dev/null
		fi
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	NSPAWN_PID="" NSPAWN_INIT=""
	if [ -n "$_nspawn_overlay" ]; then
		umount "$_nspawn_overlay" 2>/dev/null || umount -l "$_nspawn_overlay"
		rm -rf "$_nspawn_overlay.upper" "$_nspawn_overlay.work"
		rmdir "$_nspawn_overlay" 2>/dev/null
		_nspawn_overlay=""
	elif [ -n "$NSPAWN_DIR" ]; then
		rm -rf "$NSPAWN_DIR"
	fi
	NSPAWN_DIR=""
	return 0
}

# _nspawn_make ARGS...: make, without what the calling make passes down
# (make check CFLAGS=-fsanitize=... would build a popd that needs libasan,
# which the container does not have).
_nspawn_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CFLAGS -u LDFLAGS -u CC -u WERROR \
	    make "$@"
}

# _nspawn_src DIR: a private copy of the working tree (other builds in it
# would race with ours), without objects and binaries.
_nspawn_src() {
	mkdir -p "$1"
	(cd "$TOP" && tar -c --exclude=.git --exclude='*.o' --exclude='*.d' \
	    --exclude='*.a' --exclude=popd/popd --exclude=imapfetch/imapfetch \
	    --exclude='tests/unit/*.t' .) | tar -x -C "$1"
}

# nspawn_install ROOT: ROOT is a booted container's root.  With debian/
# and a "deb" make target, builds the package (make deb copies the tree
# into a directory of its own: no race with other builds in it) and
# installs it with apt-get inside the container, so that its maintainer
# scripts run under the container's systemd (the .deb goes through
# /var/tmp: nspawn mounts a tmpfs on /tmp).  Otherwise, or when that
# fails: make install install-units from a private copy into ROOT, then
# what a package's postinst does (sysusers, tmpfiles, daemon-reload).
# NSPAWN_NO_DEB set: make install only.  Build output: $T/build.log.
nspawn_install() {
	_r=$1
	NSPAWN_INSTALLED_BY=""
	NSPAWN_DEB=""
	if [ -z "${NSPAWN_NO_DEB:-}" ] && [ -f "$TOP/debian/control" ] &&
	    grep -q '^deb:' "$TOP/Makefile" &&
	    ! _unmet=$(cd "$TOP" && dpkg-checkbuilddeps 2>&1); then
		NSPAWN_DEB="no build dependencies: ${_unmet##*: }"
	elif [ -z "${NSPAWN_NO_DEB:-}" ] && [ -f "$TOP/debian/control" ] &&
	    grep -q '^deb:' "$TOP/Makefile"; then
		rm -rf "$T/debs"
		# nocheck: make check runs the unit tests already.
		if (export DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}"
		    _nspawn_make -s -C "$TOP" deb DEBDIR="$T/debs") >"$T/build.log" 2>&1; then
			_debs=$(find "$T/debs" -name '*.deb' ! -name '*dbgsym*' | sort)
			if [ -n "$_debs" ]; then
				mkdir -p "$_r/var/tmp/debs"
				cp $_debs "$_r/var/tmp/debs/"
				_in=""
				for _d in $_debs; do _in="$_in /var/tmp/debs/${_d##*/}"; done
				if nsx env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				    --no-install-recommends $_in >>"$T/build.log" 2>&1; then
					NSPAWN_INSTALLED_BY="deb$(for _d in $_debs; do printf ' %s' "${_d##*/}"; done)"
					NSPAWN_DEB=ok
					rm -rf "$_r/var/tmp/debs"
					return 0
				fi
				NSPAWN_DEB="failed: apt-get install of the .deb in the container"
			else
				NSPAWN_DEB="failed: make deb made no .deb"
			fi
		else
			NSPAWN_DEB="failed: make deb"
		fi
		cp "$T/build.log" "$T/deb.log"
	fi
	rm -rf "$T/src"
	_nspawn_src "$T/src"
	(cd "$T/src" && _nspawn_make -s && _nspawn_make -s install install-units DESTDIR="$_r" PREFIX=/usr \
	    SYSCONFDIR=/etc UNITDIR=/lib/systemd/system SYSUSERSDIR=/usr/lib/sysusers.d \
	    TMPFILESDIR=/usr/lib/tmpfiles.d) >>"$T/build.log" 2>&1 || return 1
	nsx systemd-sysusers /usr/lib/sysusers.d/popd.conf >>"$T/build.log" 2>&1 &&
	nsx systemd-tmpfiles --create /usr/lib/tmpfiles.d/popd.conf >>"$T/build.log" 2>&1 &&
	nsx systemctl daemon-reload >>"$T/build.log" 2>&1 || return 1
	NSPAWN_INSTALLED_BY="make"
}

# nspawn_wait_listen PORT: waits (5 s at most) until something listens on
# PORT, without connecting (a probe would start a session).
nspawn_wait_listen() {
	_i=0
	while port_free "$1"; do
		[ $_i -lt 100 ] || return 1
		sleep 0.05; _i=$((_i+1))
	done
}

port_free() {
	! awk -v p=":$(printf '%04X' "$1")" \
	    '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
	    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
