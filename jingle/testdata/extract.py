#!/usr/bin/env python3
"""Regenerates jingle/testdata/golden/ from the XEP sources and captures.

Usage: python3 jingle/testdata/extract.py SHARED_DIR OUT_DIR

SHARED_DIR holds xeps/*.xml and interop/*.xml (the project's shared/ folder,
which tests cannot reach: that is why the result is committed). Every
<iq/> and <message/> stanza that carries a urn:xmpp:jingle namespace or an
error is written to its own file, byte for byte as it appears in the source,
behind a comment naming where it came from. Files written by hand
(constructed-*.xml, see README.md) are not touched.
"""
import os
import re
import sys
import xml.parsers.expat

XEPS = ["0166", "0167", "0176", "0234", "0353"]



def top_level(text):
    """Yields (start, end) byte offsets of the top-level elements of text."""
    data = ("<r>" + text + "</r>").encode()
    p = xml.parsers.expat.ParserCreate()
    depth = [0]
    spans = []
    cur = [None]

    def start(name, attrs):
        depth[0] += 1
        if depth[0] == 2:
            cur[0] = p.CurrentByteIndex

    def end(name):
        if depth[0] == 2:
            i = data.index(b">", p.CurrentByteIndex) + 1
            # A self-closed element reports its start as its end.
            spans.append((cur[0] - 3, i - 3))
        depth[0] -= 1

    p.StartElementHandler = start
    p.EndElementHandler = end
    p.Parse(data, True)
    b = text.encode()
    return [b[s:e].decode() for s, e in spans]


def wanted(stanza):
    root = re.match(r"<(\w+)", stanza).group(1)
    if root not in ("iq", "message"):
        return False
    if "disco#info" in stanza:
        return False
    return ("urn:xmpp:jingle:1" in stanza or "urn:xmpp:jingle-message:0" in stanza
            or re.search(r"type=['\"]error['\"]", stanza))


def xeps(shared, out):
    n = 0
    for x in XEPS:
        src = open(os.path.join(shared, "xeps", f"xep-{x}.xml")).read()
        ex = re.finditer(r"<example caption=([\"'])(.*?)\1\s*>\s*<!\[CDATA\[(.*?)\]\]>", src, re.S)
        for i, m in enumerate(ex, 1):
            caption, body = m.group(2), m.group(3).strip()
            note = ""
            if x == "0353" and i == 11:
                body = body.replace("<retract xmlns='urn:xmpp:jingle-message:0' id='fecbea35-08d3-404f-9ec7-2b57c566fa74'>\n    <reason xmlns=\"urn:xmpp:jingle:1\">\n      <expired/>\n      <text>Tie-Break</text>\n    </reason>\n    <tie-break/>\n  </reject>",
                                    "<retract xmlns='urn:xmpp:jingle-message:0' id='fecbea35-08d3-404f-9ec7-2b57c566fa74'>\n    <reason xmlns=\"urn:xmpp:jingle:1\">\n      <expired/>\n      <text>Tie-Break</text>\n    </reason>\n    <tie-break/>\n  </retract>")
                note = " (spec typo fixed: </reject> closed <retract>)"
            parts = [s for s in top_level(body) if wanted(s)]
            for j, s in enumerate(parts):
                suffix = "" if len(parts) == 1 else "abcdefghij"[j]
                name = f"xep{x}-ex{i:02d}{suffix}.xml"
                with open(os.path.join(out, name), "w") as f:
                    f.write(f"<!-- XEP-{x} Example {i}{suffix}: {caption}{note} -->\n{s}\n")
                n += 1
    return n


def captures(shared, out):
    """Captured stanzas, keeping the first of each kind per test and side.

    StanzaJS's bob perspective mirrors alice's (the same stanzas, re-serialised
    by Prosody), so only alice's is kept.
    """
    n = 0
    for fname, tag in (("stanzajs-12.22.1-session.xml", "stanzajs"), ("dino-0.4.2-session.xml", "dino")):
        src = open(os.path.join(shared, "interop", fname)).read()
        seen = set()
        # Walk the capture line by line: each stanza is on one line, after
        # a comment (StanzaJS) or inside <stanza dir=...> (Dino).
        test, persp, direction, count = "", "", "", {}
        for line in src.splitlines():
            m = re.search(r"<test name=\"([^\"]+)\" perspective=\"([^@\"]+)@", line)
            if m:
                test, persp = m.group(1), m.group(2)
                continue
            m = re.search(r"<dino-log source='([^@']+)@", line)
            if m:
                test, persp = "dino-log", m.group(1)
                continue
            m = re.search(r"<jingle-capture[^>]*peer=\"stanzajs\"", line)
            if m:
                tag = "dino-stanzajs"
                continue
            m = re.search(r"<!-- \S+ (OUT|IN) ", line)
            if m:
                direction = m.group(1).lower()
                continue
            m = re.match(r"\s*<stanza dir='(\w+)'[^>]*>(.*)</stanza>\s*$", line)
            if m:
                direction, stanza = m.group(1), m.group(2)
            elif re.match(r"\s*<(iq|message)\b", line):
                stanza = line.strip()
            else:
                continue
            if persp == "bob" and tag == "stanzajs" or not wanted(stanza):
                continue
            action = re.search(r"action=['\"]([\w-]+)", stanza)
            kinds = tuple(sorted(set(re.findall(r"<([\w:-]+)", stanza))))
            key = (test, persp, direction, action.group(1) if action else "", kinds)
            if key in seen:
                continue
            seen.add(key)
            k = (test, persp)
            count[k] = count.get(k, 0) + 1
            name = f"{tag}-{test}-{persp}-{count[k]:02d}.xml"
            with open(os.path.join(out, name), "w") as f:
                f.write(f"<!-- {fname}: test {test}, {persp}, {direction} -->\n{stanza}\n")
            n += 1
    return n


if __name__ == "__main__":
    shared, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    print("xep examples:", xeps(shared, out))
    print("captured stanzas:", captures(shared, out))
