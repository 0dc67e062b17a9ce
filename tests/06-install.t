#!/bin/sh
# make install and make install-units put every file in place, and
# systemd-analyze finds nothing to say about the units.
. tests/lib.sh
D=$T/root
make -s install DESTDIR="$D" >"$T/out" 2>&1; check "make install" test $? -eq 0
for f in usr/local/sbin/popd usr/local/bin/imapfetch \
    usr/local/share/man/man1/imapfetch.1 usr/local/share/man/man5/popd.conf.5 \
    usr/local/share/man/man8/popd.8; do
	check "installed $f" test -s "$D/$f"
done
make -s install-units DESTDIR="$D" >>"$T/out" 2>&1; check "make install-units" test $? -eq 0
U=$D/etc/systemd/system
for u in units/*.socket units/*.service units/*.timer; do
	check "installed $u" test -s "$U/${u#units/}"
done
if command -v systemd-analyze >/dev/null; then
	# ExecStart must name an existing file: point it into $D.
	sed -i "s|/usr/local/|$D/usr/local/|" "$U"/*.service
	for u in "$U"/*; do
		out=$(systemd-analyze verify --man=no "$u" 2>&1)
		if [ -z "$out" ]; then ok "systemd-analyze verify ${u##*/}"; else
			nok "systemd-analyze verify ${u##*/}"; diag "$out"; fi
	done
else
	skip "systemd-analyze is missing"
fi
check "the xinetd file names the installed popd" \
    grep -q '^[[:space:]]*server[[:space:]]*= /usr/local/sbin/popd$' units/popd.xinetd
done_testing
