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
check "installed sysusers.d/popd.conf" grep -q '^u popd ' "$D/usr/lib/sysusers.d/popd.conf"
check "installed tmpfiles.d/popd.conf" grep -q '^d /var/lib/popd ' "$D/usr/lib/tmpfiles.d/popd.conf"
# A local edit survives a second install-units: the new file goes beside.
echo "# local edit" >> "$U/popd.socket"
out=$(make -s install-units DESTDIR="$D" 2>&1)
check "install-units keeps a locally edited unit" grep -q "^# local edit" "$U/popd.socket"
check "...puts the new one beside it" cmp -s "$U/popd.socket.new" units/popd.socket
check "...and says so" sh -c "echo '$out' | grep -q 'popd.socket differs'"
mv "$U/popd.socket.new" "$U/popd.socket"
# Exposure (systemd-analyze security, offline): 2.0 at most for each service.
if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
	for u in units/*.service; do
		sed 's|/usr/local/s*bin/[a-z]*|/bin/true|' "$u" > "$T/${u#units/}"
		score=$(systemd-analyze security --offline=true "$T/${u#units/}" 2>&1 |
		    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		check "exposure of ${u#units/}: $score <= 2.0" \
		    awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 2.0) }'
	done
else
	skip "systemd-analyze has no --offline"
fi
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
