#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Re-verify a stockade journal from stockade-journal(5) alone (stdlib only).

usage: journal-verify.py DIR|FILE
Exit 0 when the chain is intact, 1 with "FILE:LINE: seq N: reason" for the
first bad record, 2 on usage errors."""
import hashlib, json, os, re, sys

ZERO, SUFFIX = "0" * 64, 75  # ,"hash":"<64 hex>"} is 75 bytes

def main(path):
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if re.fullmatch(r"journal-\d{6,}\.jsonl", n))
        files = [os.path.join(path, n) for n in sorted(names, key=lambda n: int(n[8:-6]))]
    else:
        files = [path]
    last_seq, last_hash, torn = 0, ZERO if files and files[0].endswith("journal-000001.jsonl") else None, None
    for f in files:
        data, off = open(f, "rb").read(), 0
        for no, raw in enumerate(data.splitlines(keepends=True), 1):
            line, start, off = raw.rstrip(b"\n"), off, off + len(raw)
            try:
                rec = json.loads(line)
                ok = isinstance(rec, dict) and all(k in rec for k in ("v", "seq", "type", "prev", "hash"))
            except ValueError:
                ok = False
            if not ok:  # torn bytes: must be sealed by the next record, a recovery
                torn = torn or [no, start, b""]
                torn[2] += (b"\n" if torn[2] or start > torn[1] else b"") + line
                continue
            if torn:
                if not (rec["type"] == "recovery" and rec.get("torn_segment") == os.path.basename(f)
                        and rec.get("torn_offset") == torn[1] and rec.get("torn_length") == len(torn[2])
                        and rec.get("torn_sha256") == hashlib.sha256(torn[2]).hexdigest()):
                    return f"{f}:{torn[0]}: seq {last_seq + 1}: not a record"
                torn = None
            canon = line[:-SUFFIX] + b"}"
            if line[-SUFFIX:] != b',"hash":"' + rec["hash"].encode() + b'"}' \
                    or hashlib.sha256(canon).hexdigest() != rec["hash"]:
                return f"{f}:{no}: seq {rec['seq']}: hash mismatch"
            if not raw.endswith(b"\n"):
                return f"{f}:{no}: seq {rec['seq']}: no final newline"
            if last_hash is not None and (rec["seq"] != last_seq + 1 or rec["prev"] != last_hash):
                return f"{f}:{no}: seq {rec['seq']}: expected seq {last_seq + 1} after {last_hash[:12]}"
            last_seq, last_hash = rec["seq"], rec["hash"]
        if torn:
            return f"{f}:{torn[0]}: seq {last_seq + 1}: torn record without recovery"
    return None

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    bad = main(sys.argv[1])
    if bad:
        print(bad)
    sys.exit(1 if bad else 0)
