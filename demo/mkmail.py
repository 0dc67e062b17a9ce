#!/usr/bin/env python3
"""mkmail.py: realistic messages for demo/run, one file each.

  mkmail.py DIR [COUNT]

Writes COUNT (default 36) messages into DIR (created) as NN-slug.eml,
made with the standard email package: plain text, multipart/alternative,
RFC 2047 subjects (German, Japanese), 8-bit UTF-8 and base64 bodies, a
generated PNG and a generated PDF attachment, a CSV report of about
100 KB (base64), a calendar invitation, a reply with quoted text, one message with
CRLF line ends, one without a final newline, and one whose body has lines
starting with a dot (a lone "." is the POP3 end marker: popd must
dot-stuff it, the client must undo it).  Every message has its own
Message-ID, which demo/check.py uses to pair copies.  The set is the same
on every run but for the dates, which are recent.
"""
import datetime
import os
import random
import struct
import sys
import zlib
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

ME = Address("Demo User", "demo", "example.org")
DOMAIN = "demo.example.org"


def png(width=48, height=32):
    """A small RGB gradient as a PNG file (zlib + CRCs, no library)."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160))
                                       for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def pdf(text):
    """A one-page PDF showing text (Helvetica), with a correct xref table."""
    stream = b"BT /F1 20 Tf 72 760 Td (" + text.encode("ascii") + b") Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


class Maker:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0
        self.now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.rng = random.Random(42)
        self.ids = []

    def new(self, sender, subject, **headers):
        m = EmailMessage()
        m["From"] = sender
        m["To"] = ME
        m["Subject"] = subject
        # Oldest first, a few hours apart, ending about an hour ago.
        m["Date"] = format_datetime(self.now - datetime.timedelta(hours=2 * (40 - self.n)))
        m["Message-ID"] = "<%02d.%08x@%s>" % (self.n + 1, self.rng.getrandbits(32), DOMAIN)
        self.ids.append(m["Message-ID"])
        for k, v in headers.items():
            m[k.replace("_", "-")] = v
        return m

    def write(self, slug, msg, crlf=False, final_newline=True):
        self.n += 1
        data = msg.as_bytes(policy=policy.SMTP if crlf else policy.default)
        if not final_newline:
            data = data.rstrip(b"\r\n")
        path = os.path.join(self.outdir, "%02d-%s.eml" % (self.n, slug))
        with open(path, "wb") as fh:
            fh.write(data)


def special(mk):
    """The messages that each show one thing."""
    m = mk.new(Address("Anna Schmidt", "anna", "example.de"), "Lunch on Friday?")
    m.set_content("Hi,\n\nare you free for lunch on Friday? The new place by the station\n"
                  "opens at 12:00.\n\nAnna\n")
    mk.write("plain", m)

    m = mk.new(Address("Jürgen Weiß", "juergen", "example.de"), "Grüße aus Köln")
    m.set_content("Hallo!\n\nViele Grüße aus Köln – das Wetter ist großartig, der Dom\n"
                  "steht noch, und das Kölsch ist kalt.  Bis bald,\nJürgen\n",
                  charset="utf-8", cte="8bit")
    mk.write("utf8-subject-de", m)

    m = mk.new(Address("佐藤 花子", "hanako", "example.jp"), "会議の議事録（１０月分）")
    m.set_content("山田様\n\nお疲れ様です。先日の会議の議事録を送ります。\n"
                  "ご確認のほど、よろしくお願いいたします。\n\n佐藤\n", charset="utf-8", cte="base64")
    mk.write("utf8-subject-ja", m)

    m = mk.new(Address("Zoë Łukasiewicz", "zoe", "example.pl"), "Unicode body, 8-bit")
    m.set_content("Plain UTF-8 in an 8-bit body, no encoding:\n"
                  "  Ελληνικά · Русский · עברית · العربية · 한국어 · 🙂🚀✉️\n"
                  "  naïve café, smørrebrød, Straße, ½ € 100 °C\n", charset="utf-8", cte="8bit")
    mk.write("utf8-body", m)

    m = mk.new(Address("Example Weekly", "news", "example.com"), "This week: from RFC 918 to RFC 1939",
               List_Id="Example Weekly <weekly.example.com>",
               List_Unsubscribe="<https://example.com/unsubscribe?u=demo>")
    m.set_content("This week\n=========\n\n* POP3 from RFC 918 (1984) to RFC 1939 (1996)\n"
                  "* Why devices still fetch mail over pop3s\n")
    m.add_alternative("<html><body><h1>This week</h1><ul><li>POP3 from RFC&nbsp;918 "
                      "(1984) to RFC&nbsp;1939 (1996)</li><li>Why devices still fetch "
                      "mail over <b>pop3s</b></li></ul></body></html>\n", subtype="html")
    mk.write("multipart-alternative", m)

    m = mk.new(Address("Camera 3", "cam3", "cams.example.net"), "Motion detected: garage (snapshot)")
    m.set_content("Motion detected at the garage door. Snapshot attached.\n")
    m.add_attachment(png(), maintype="image", subtype="png", filename="garage.png")
    mk.write("png-attachment", m)

    m = mk.new(Address("Billing", "billing", "example.net"), "Your invoice 2024-117")
    m.set_content("Dear customer,\n\nplease find your invoice attached.\n\nKind regards\n")
    m.add_attachment(pdf("Invoice 2024-117: EUR 42.00"), maintype="application",
                     subtype="pdf", filename="invoice-2024-117.pdf")
    mk.write("pdf-attachment", m)

    m = mk.new(Address("Ops Robot", "robot", "example.com"), "No newline at the end")
    m.set_content("This message ends without a line end: popd adds CRLF on the wire,\n"
                  "its size in LIST counts it.  The last line is this one.")
    mk.write("no-final-newline", m, final_newline=False)

    m = mk.new(Address("Dot Tester", "dots", "example.com"), "Lines that start with a dot")
    m.set_content("The next line is a single dot, the POP3 end-of-message marker:\n.\n"
                  "..and this one starts with two dots\n.hidden-file\n"
                  "The message goes on after them.\n.\n")
    mk.write("dot-lines", m)

    m = mk.new(Address("Legacy Gateway", "gw", "example.com"), "Stored with CRLF line ends")
    m.set_content("This one was written with CRLF line ends, as it came over SMTP.\n")
    mk.write("crlf", m, crlf=True)

    m = mk.new(Address("Anna Schmidt", "anna", "example.de"), "Re: Lunch on Friday?",
               In_Reply_To=mk.ids[0], References=mk.ids[0])
    m.set_content("Great, see you at 12:00.\n\nOn Monday, Demo User wrote:\n"
                  "> Sounds good.  Friday works for me.\n>\n> > are you free for lunch on Friday?\n")
    mk.write("reply", m)

    m = mk.new(Address("Team Calendar", "calendar", "example.org"), "Invitation: Release review")
    m.set_content("You are invited to the release review.\n")
    m.add_alternative("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//demo//popd//EN\r\n"
                      "METHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:release-review@example.org\r\n"
                      "DTSTART:20300101T100000Z\r\nDTEND:20300101T110000Z\r\n"
                      "SUMMARY:Release review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                      subtype="calendar", params={"method": "REQUEST"})
    mk.write("calendar", m)

    m = mk.new(Address("Reports", "reports", "example.com"), "Monthly traffic report (CSV)")
    m.set_content("The monthly report is attached (about 70 KB).\n")
    rows = ["day,host,requests,bytes"]
    for i in range(1700):
        rows.append("2024-10-%02d,web%d.example.com,%d,%d" % (
            i % 31 + 1, i % 7, mk.rng.randrange(1000, 99999), mk.rng.randrange(10 ** 6, 10 ** 9)))
    m.add_attachment(("\n".join(rows) + "\n").encode(), maintype="text", subtype="csv",
                     filename="traffic-2024-10.csv")
    mk.write("csv-report", m)


def filler(mk, count):
    """Everyday mail until there are count messages."""
    kinds = [
        (Address("CI", "ci", "git.example.com"), "Pipeline #%d passed on main",
         "Pipeline #{n} passed in 4 min 12 s.\n\n  build   ok\n  test    ok\n  deploy  ok\n"),
        (Address("Shop", "orders", "shop.example.com"), "Your order %d has shipped",
         "Good news: order {n} is on its way.\nTracking: https://track.example.com/{n}\n"),
        (Address("Bob Martin", "bob", "example.com"), "Notes from standup %d",
         "Yesterday: fixed the flaky test ({n}).\nToday: reviews.\nBlockers: none.\n"),
        (Address("Monitoring", "alerts", "example.net"), "[RESOLVED] disk usage on db%d",
         "Disk usage on db{n} is back under 80 %.\n"),
    ]
    i = 0
    while mk.n < count:
        sender, subj, body = kinds[i % len(kinds)]
        num = 1000 + 17 * i
        m = mk.new(sender, subj % num)
        m.set_content(body.format(n=num))
        if i % 3 == 2:
            m.add_alternative("<html><body><pre>%s</pre></body></html>\n" %
                              body.format(n=num).replace("&", "&amp;").replace("<", "&lt;"),
                              subtype="html")
        mk.write("everyday", m)
        i += 1


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 64
    os.makedirs(argv[1], exist_ok=True)
    mk = Maker(argv[1])
    special(mk)
    filler(mk, int(argv[2]) if len(argv) == 3 else 36)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
