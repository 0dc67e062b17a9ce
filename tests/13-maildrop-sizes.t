#!/bin/sh
# popd's maildrop: sizes from the names, checked before a message is sent,
# and other tools' messages given their sizes in their names with the same
# UIDL.  POP3 sessions as send/expect scripts (tests/dialogue.py; every
# RETR is checked to send exactly the octets it announced).
exec python3 tests/dialogue.py tests/maildrop/*.pop
