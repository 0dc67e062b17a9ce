#!/bin/sh
# Local faults under imapfetch (a real Dovecot, IMAPS): a read-only
# maildrop, .imapfetch/, new/ or tmp/ not writable, and an I/O error
# (EIO) from the disk.  Each faulty run exits 73 and flags nothing that
# is not durable in the maildrop; once fixed, the next run delivers
# everything exactly once.  ENOSPC: tests/30-imapfetch-enospc.t.
. tests/lib.sh
. tests/lib-dovecot.sh

CASES="rofs dotdir newdir tmpdir eio"
for u in $CASES; do imap_user "$u" pw; done
if ! dovecot_start; then nok "dovecot starts"; done_testing; exit; fi
# Five messages for a first, healthy run (the state exists), then 35 more
# (3 of 200 KB) for the faulty one.
python3 tests/mkcorpus.py --seed 51 --mean 8000 --prefix a "$T/a" 5
python3 tests/mkcorpus.py --seed 52 --mean 8000 --big 3 --bigsize 200000 \
    --prefix b "$T/b" 35
# For the EIO case, 150 small ones instead: two batches (100 at most).
python3 tests/mkcorpus.py --seed 53 --mean 1500 --prefix c "$T/c" 150
{ corpus_hashes "$T/a"; corpus_hashes "$T/b"; } | sort > "$T/b.h"
{ corpus_hashes "$T/a"; corpus_hashes "$T/c"; } | sort > "$T/c.h"

# invariants NAME DROP: what the server holds, then the checks of
# lib-dovecot.sh.
invariants() {
	imaptool seen-hashes "$1" pw > "$T/$1.seen"
	imaptool hashes "$1" pw > "$T/$1.all"
	lines_missing "$T/$1.all" "$T/$1.seen" > "$T/$1.unseen"
	check_invariants "$1" "$2"
}

# local_fault NAME DROP BREAK FIX [CORPUS]: a healthy run with five
# messages, the 35 of $T/b (or CORPUS) more, BREAK, a run that must exit
# 73, FIX, a run that must deliver the rest.
local_fault() {
	name=$1 drop=$2 brk=$3 fix=$4 more=${5:-b}
	nmore=$(ls "$T/$more" | wc -l)
	cp "$T/$more.h" "$T/corpus.h"
	IMAP_LOGIN=$name IMAP_PASSWORD=pw fetchconf "$T/$name.conf" "$drop"
	imap_put "$name" "$T"/a/*
	fetch -c "$T/$name.conf"
	is "$name: first run exits 0" "$rc" 0
	imap_put "$name" "$T/$more"/*
	eval "$brk"
	fetch -c "$T/$name.conf"
	is "$name: faulty run exits 73" "$rc" 73
	cp "$T/err" "$T/$name.err1"
	diag "$(cat "$T/err")"
	unseen=$(imaptool unseen "$name" pw)
	if [ "$name" = eio ]; then
		eio_flagged=$((nmore - unseen))
		diag "eio: $eio_flagged of the $nmore new flagged"
	else
		is "$name: none of the $nmore new flagged" "$unseen" "$nmore"
	fi
	eval "$fix"
	invariants "$name" "$drop"
	fetch -c "$T/$name.conf"
	is "$name: fixed: exit 0" "$rc" 0
	[ "$rc" -eq 0 ] || diag "$(cat "$T/err")"
	is "$name: fixed: every message exactly once" "$(drop_hashes "$drop")" \
	    "$(cat "$T/corpus.h")"
	is "$name: fixed: tmp/ empty" "$(ls -A "$drop/tmp" | wc -l)" 0
	is "$name: fixed: server all \\Seen" "$(imaptool unseen "$name" pw)" 0
}

# A read-only maildrop (a read-only bind mount of itself: EROFS).
if [ "$(id -u)" -eq 0 ]; then
	at_exit 'umount "$T/rofs" 2>/dev/null'
	local_fault rofs "$T/rofs" \
	    'mount --bind "$T/rofs" "$T/rofs" && mount -o remount,bind,ro "$T/rofs"' \
	    'umount "$T/rofs"'
else
	skip "read-only maildrop: needs root for a read-only bind mount"
fi

# Permissions (imapfetch runs as the test user: the modes hold).
local_fault dotdir "$T/dotdir" 'chmod 555 "$T/dotdir/.imapfetch"' \
    'chmod 700 "$T/dotdir/.imapfetch"'
local_fault newdir "$T/newdir" 'chmod 555 "$T/newdir/new"' \
    'chmod 755 "$T/newdir/new"'
local_fault tmpdir "$T/tmpdir" 'chmod 555 "$T/tmpdir/tmp"' \
    'chmod 755 "$T/tmpdir/tmp"'

# EIO.  No device-mapper here to put an "error" target under a file
# system, so: ext4 (no journal) on a loop device whose capacity is cut
# down, after the first run, to $EIO_MARGIN blocks (4 KB) past the blocks
# in use.  Writes beyond it fail with EIO (the kernel's "attempt to access
# beyond end of device"), and fsync says so.  mb_stream_req = 0 makes ext4
# allocate every file after the last one (no per-CPU preallocation that
# leaves holes for a later run to fill), so the first batch of 100 small
# messages fits and the second does not.  The directories are grown first
# (300 names made and removed): a new directory block beyond the end
# would make rename() fail with ENOMEM, not EIO.  The fix: the device
# back to its size, e2fsck, mount again: what the checks then see is
# what reached the disk, not the page cache.
eio_skip="" EIO_MARGIN=${EIO_MARGIN:-130}
if [ "$(id -u)" -ne 0 ]; then
	eio_skip="needs root for a loop device"
else
	for c in losetup mkfs.ext4 e2fsck dumpe2fs; do
		command -v $c >/dev/null || eio_skip="$c not installed"
	done
fi
if [ -z "$eio_skip" ]; then
	truncate -s 64M "$T/eio.img"
	mkfs.ext4 -q -F -b 4096 -O ^has_journal "$T/eio.img" 2>"$T/eio.mkfs" ||
	    eio_skip="mkfs.ext4 failed: $(cat "$T/eio.mkfs")"
fi
eio_mount() {
	mount "$loop" "$T/eio" 2>"$T/eio.mount" &&
	    echo 0 > "/sys/fs/ext4/${loop#/dev/}/mb_stream_req"
}
if [ -z "$eio_skip" ]; then
	if loop=$(losetup -f --show "$T/eio.img" 2>"$T/eio.losetup"); then
		at_exit 'umount "$T/eio" 2>/dev/null; losetup -d "$loop"'
		mkdir "$T/eio"
		eio_mount || eio_skip="cannot mount ext4 on $loop: $(cat "$T/eio.mount")"
	else
		eio_skip="no loop device: $(cat "$T/eio.losetup")"
	fi
fi
eio_cut() {
	for d in new cur tmp .imapfetch; do
		i=0
		while [ $i -lt 300 ]; do
			: > "$T/eio/drop/$d/padding-padding-padding-padding-padding-padding-$i"
			i=$((i+1))
		done
		rm -f "$T/eio/drop/$d"/padding-*
	done
	sync
	umount "$T/eio" && eio_mount || return 1
	# The start of the last free extent: nothing in use beyond it.
	last=$(dumpe2fs "$loop" 2>/dev/null | awk '/^  Free blocks: /{print $NF}' |
	    tail -1 | sed 's/-.*//')
	diag "eio: device cut to $((last + EIO_MARGIN)) blocks of 4 KB"
	truncate -s $(( (last + EIO_MARGIN) * 4096 )) "$T/eio.img" &&
	    losetup -c "$loop"
}
eio_fix() {
	umount "$T/eio"
	truncate -s 64M "$T/eio.img" && losetup -c "$loop"
	e2fsck -fy "$loop" > "$T/eio.fsck" 2>&1
	[ $? -le 1 ] || diag "e2fsck:" "$(cat "$T/eio.fsck")"
	eio_mount
}
if [ -n "$eio_skip" ]; then
	skip "EIO: $eio_skip"
else
	mkmaildir "$T/eio/drop"
	local_fault eio "$T/eio/drop" 'eio_cut' 'eio_fix' c
	check "eio: imapfetch says Input/output error" \
	    grep -q "Input/output error" "$T/eio.err1"
	# Not the contract, the setting: makes "flagged => in the maildrop"
	# above a check of what reached the disk.
	check "eio: the first batch was flagged before the disk failed" \
	    test "$eio_flagged" -gt 0 -a "$eio_flagged" -lt 150
fi

done_testing
