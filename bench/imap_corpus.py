#!/usr/bin/env python3
"""A deterministic mailbox for the IMAP benchmark (bench/README.md, "IMAP").

    python3 bench/imap_corpus.py OUT_MAILDIR [--messages 10000] [--seed 1]

Writes a Maildir (cur/ + dovecot-uidlist, so Dovecot and `sovereign import` give message i the
UID i+1) and OUT_MAILDIR/corpus.json: per search term the UIDs that must match. The same seed and
count give the same bytes.

Shape, chosen to look like a real inbox:
  * sizes 2 KB - 200 KB, skewed small: ~60 % text/plain (log-normal, median ~4 KB), ~20 %
    multipart/alternative (text + HTML), ~20 % multipart/mixed with 1-2 base64 attachments (total
    log-uniform 20-200 KB); a few RFC 2047 names and 8bit UTF-8 bodies;
  * ~300 senders with a Zipf-like spread, Re:/Fwd: threads, 75 % \\Seen, some \\Flagged/\\Answered;
  * search terms that occur in exactly 1 % of the messages, each in one place only: a SUBJECT word,
    a FROM name, a word in body text only (plain and HTML parts, never headers), and the FROM name
    also serves as a TEXT term found in headers only.
Everything is verified after generation by a case-insensitive scan of the decoded text, so a
term never matches by accident.
"""
from __future__ import annotations

import argparse
import base64
import json
import math
import os
import random
from pathlib import Path

WORDS = """
account action address advice agenda agreement analysis answer approval april area arrival
article aspect assembly attempt audit august balance bank basis batch board booking branch
brief budget building bulletin cable calendar campaign capacity carrier catalogue centre change
channel chapter charge check client climate closing colleague comment committee company
concept concern conference contact content context contract control copy corner council course
cover credit customer cycle data deadline december decision delivery department deposit design
detail device director discount draft effort element estimate event evidence example exchange
factor feature february feedback figure file finance folder forecast format forward freight
friday funding garden general goal grant growth guest guide handover harbour health holiday
hotel idea impact income index initiative input inquiry insight invoice issue item january
journey july june kitchen label ladder launch layout leader lease letter level library licence
limit list logistics march margin market material matter meeting member memo message method
metric milestone minute model monday month morning motion network notice november number
object october office offer opening option order outline output owner package page panel
paper parcel partner payment people period permit phase picture pilot plan platform point
policy portfolio position power practice premium price priority process product profile
program progress project proposal purpose quality quarter question quote range rate reason
receipt record region release remark report request research resource response result
review revision risk road roster round route salary sample saturday schedule scope season
section sector segment seminar september series service session share shipment signal site
sketch slot solution source space speaker stage standard statement station status step stock
storage strategy structure study subject summary sunday supplier supply support survey
system table target task team template tender term test thursday ticket timeline topic total
track trade training transfer travel trend trial tuesday update upgrade usage value vendor
venue version visit volume voucher warehouse wednesday week window workshop year
""".split()
VERBS = """
adjust agree approve arrange ask attach book bring build call cancel change check clarify
collect complete confirm consider cover create decide deliver discuss draft estimate expect
explain finish follow forward handle include inform keep mention move note offer organise
plan prepare present provide reach receive reconsider record reduce remind repeat reply
report request resolve review revise schedule send share sign submit suggest support update
""".split()
ADJECTIVES = """
annual brief careful clear current detailed early final first formal full general internal
large late local main minor monthly new next open outstanding overall pending previous
quick recent regional revised second short simple small special standard strong updated
urgent usual weekly whole
""".split()
FILLERS = "the and for to of in on we with a".split()
FIRST_NAMES = """
Anna Ben Carla David Elena Felix Greta Hugo Ines Jonas Karin Lukas Maria Nils Olga Pablo
Rosa Sven Tanja Ulrich Vera Walter Yara Zoe Amir Bea Chen Dmitri Emma Farid Hana Ivan Julia
Kenji Lena Marco Nora Omar Petra Rahul Sara Tomas Uma Victor Wanda Xavier Yusuf
""".split()
LAST_NAMES = """
Almeida Berger Costa Dubois Eriksen Fischer Garcia Hansen Ivanova Jansen Keller Lindqvist
Moreau Novak Olsen Petrov Quint Rossi Schmidt Tanaka Ueda Vogel Weber Young Zhang Brandt
Castillo Dahl Engel Fuchs
""".split()
DOMAINS = """
northwind.example contoso.example fabrikam.example tailspin.example wingtip.example
adventure-works.example litware.example proseware.example lucerne.example fourthcoffee.example
""".split()
# RFC 2047 display names (decoded text: Jürgen Müller, Zoë Ångström, Renée Søndergaard).
ENCODED_NAMES = ["=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?=", "=?UTF-8?B?Wm/DqyDDhW5nc3Ryw7Zt?=",
                 "=?ISO-8859-1?Q?Ren=E9e_S=F8ndergaard?="]
UTF8_WORDS = ["café", "naïve", "Größe", "résumé", "Zürich", "façade", "smörgåsbord"]
ATTACHMENTS = [("application/pdf", "pdf"), ("image/jpeg", "jpg"), ("image/png", "png"),
               ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
               ("application/zip", "zip")]

# The search terms (IMAP SEARCH is a case-insensitive substring match, RFC 9051 §6.4.4).
TERMS = {
    "subject": "Halvorsen",            # only in Subject: of 1 % of the messages
    "from": "Okonkwo",                 # only in From: of another 1 %
    "text_body": "Fernhollow",         # only in body text (plain and HTML parts) of another 1 %
}
TERM_SENDER = ("Adaeze Okonkwo", "a.okonkwo@riverbend.example")
TERM_SUBJECTS = ["Halvorsen contract renewal", "Re: Halvorsen site visit",
                 "Halvorsen invoices for {month}", "Fwd: notes from the Halvorsen call"]
TERM_SENTENCES = ["The Fernhollow figures are attached below.",
                  "Please keep Fernhollow out of the public minutes.",
                  "We still need a decision on Fernhollow before the review."]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
BASE_TIME = 1735689600  # 2025-01-01T00:00:00Z
RECIPIENT = "bench@example.test"


class Corpus:
    def __init__(self, messages: int, seed: int):
        self.count = messages
        self.rng = random.Random(seed)
        rng = self.rng
        self.senders = [(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", rng.choice(DOMAINS))
                        for _ in range(300)]
        # Zipf-like: a few correspondents write most of the mail.
        self.sender_weights = [1 / (k + 1) ** 0.9 for k in range(len(self.senders))]
        self.paragraphs = [self.paragraph() for _ in range(3000)]
        picks = rng.sample(range(messages), 3 * max(1, messages // 100))
        per = len(picks) // 3
        self.chosen = {"subject": set(picks[:per]), "from": set(picks[per:2 * per]),
                       "text_body": set(picks[2 * per:])}

    # --- text
    def sentence(self) -> str:
        rng = self.rng
        pools = (WORDS, WORDS, VERBS, ADJECTIVES, FILLERS)
        words = [rng.choice(ADJECTIVES), rng.choice(WORDS)]
        words += [rng.choice(rng.choice(pools)) for _ in range(rng.randint(4, 12))]
        words[0] = words[0].capitalize()
        return " ".join(words) + rng.choice((".", ".", ".", "?", "!"))

    def paragraph(self) -> str:
        text = " ".join(self.sentence() for _ in range(self.rng.randint(2, 7)))
        return wrap(text)

    def body_text(self, size: int, term: bool, utf8: bool) -> str:
        rng = self.rng
        parts, total = [], 0
        greeting = f"Hi {rng.choice(FIRST_NAMES)},\n\n"
        while total < size:
            p = rng.choice(self.paragraphs)
            parts.append(p)
            total += len(p) + 2
        if utf8:
            parts.insert(rng.randrange(len(parts) + 1),
                         wrap(f"Notes from {rng.choice(UTF8_WORDS)} and {rng.choice(UTF8_WORDS)}."))
        if term:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(TERM_SENTENCES))
        return greeting + "\n\n".join(parts) + f"\n\nBest regards,\n{rng.choice(FIRST_NAMES)}\n"

    @staticmethod
    def html(text: str) -> str:
        paras = "".join(f"<p>{p.replace(chr(10), ' ')}</p>\n" for p in text.split("\n\n"))
        return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body style=\""
                "font-family: Arial, sans-serif; font-size: 14px\">\n" + wrap_html(paras)
                + "</body></html>\n")

    # --- one message
    def message(self, i: int) -> tuple[bytes, str, int]:
        rng = self.rng
        date = BASE_TIME + i * 3000 + rng.randrange(3000)
        kind = rng.random()
        if i in self.chosen["from"]:
            name, addr = TERM_SENDER
        elif rng.random() < 0.03:
            name, addr = rng.choice(ENCODED_NAMES), f"intl{rng.randrange(50)}@{rng.choice(DOMAINS)}"
        else:
            name, domain = rng.choices(self.senders, self.sender_weights)[0]
            addr = f"{name.split()[0].lower()}.{name.split()[1].lower()}@{domain}"
        if i in self.chosen["subject"]:
            subject = rng.choice(TERM_SUBJECTS).format(month=rng.choice(MONTHS))
        else:
            subject = (rng.choice(("", "", "", "Re: ", "Re: ", "Fwd: ", "RE: Re: "))
                       + f"{rng.choice(ADJECTIVES).capitalize()} {rng.choice(WORDS)} "
                       f"{rng.choice(('for', 'and', 'about', 'on', '-'))} {rng.choice(WORDS)}"
                       + (f" {rng.randrange(1, 99)}" if rng.random() < 0.3 else ""))
        term = i in self.chosen["text_body"]
        utf8 = rng.random() < 0.08
        charset = "utf-8" if utf8 else "us-ascii"
        cte = "8bit" if utf8 else "7bit"
        headers = [
            f"Return-Path: <{addr}>",
            f"Received: from mx{rng.randrange(1, 9)}.{addr.split('@')[1]} (mx.{addr.split('@')[1]}"
            f" [192.0.2.{rng.randrange(1, 255)}])\n\tby mail.example.test with ESMTPS id "
            f"{rng.getrandbits(48):012x}\n\tfor <{RECIPIENT}>; {rfc2822(date)}",
            f"Received: from [10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}]"
            f" by mx.{addr.split('@')[1]}\n\twith ESMTPSA id {rng.getrandbits(40):010x}; "
            f"{rfc2822(date - 2)}",
            f"Date: {rfc2822(date - 2)}",
            f"From: {name} <{addr}>",
            f"To: Bench User <{RECIPIENT}>",
        ]
        if rng.random() < 0.25:
            cc = rng.choice(self.senders)
            headers.append(f"Cc: {cc[0]} <{cc[0].split()[0].lower()}@{cc[1]}>")
        headers.append(f"Subject: {subject}")
        headers.append(f"Message-ID: <{rng.getrandbits(64):016x}.{i}@{addr.split('@')[1]}>")
        if subject.startswith(("Re:", "RE:")):
            ref = f"<{rng.getrandbits(64):016x}@{rng.choice(DOMAINS)}>"
            headers += [f"In-Reply-To: {ref}", f"References: {ref}"]
        mailer = f"BenchMail {rng.randrange(1, 9)}.{rng.randrange(10)}"
        headers += ["MIME-Version: 1.0", f"X-Mailer: {mailer}"]
        if kind < 0.6:
            size = int(min(100_000, max(1_700, rng.lognormvariate(math.log(3_300), 0.8))))
            text = self.body_text(size, term, utf8)
            headers += [f"Content-Type: text/plain; charset={charset}; format=flowed",
                        f"Content-Transfer-Encoding: {cte}"]
            body = text
        elif kind < 0.8:
            size = int(min(60_000, max(1_000, rng.lognormvariate(math.log(2_000), 0.7))))
            text = self.body_text(size, term, utf8)
            boundary = f"=_alt_{rng.getrandbits(64):016x}"
            headers.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
            body = self.alternative(boundary, text, charset, cte)
        else:
            total = int(math.exp(rng.uniform(math.log(20_000), math.log(195_000))))
            text = self.body_text(int(rng.uniform(600, 3_000)), term, utf8)
            boundary = f"=_mixed_{rng.getrandbits(64):016x}"
            headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
            body = self.mixed(boundary, text, charset, cte, total)
        data = ("\n".join(headers) + "\n\n" + body).encode()
        flags = ""
        if rng.random() < 0.03:
            flags += "R"  # \Answered
        if rng.random() < 0.05:
            flags += "F"  # \Flagged
        if i < self.count * 0.75 or rng.random() < 0.3:
            flags += "S"  # \Seen
        return data, "".join(sorted(flags)), date

    def alternative(self, boundary: str, text: str, charset: str, cte: str) -> str:
        return (f"This is a multi-part message in MIME format.\n\n--{boundary}\n"
                f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: {cte}\n\n"
                f"{text}\n--{boundary}\nContent-Type: text/html; charset=utf-8\n"
                f"Content-Transfer-Encoding: {cte}\n\n{self.html(text)}\n--{boundary}--\n")

    def mixed(self, boundary: str, text: str, charset: str, cte: str, total: int) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            inner = f"=_alt_{rng.getrandbits(64):016x}"
            first = (f"Content-Type: multipart/alternative; boundary=\"{inner}\"\n\n"
                     + self.alternative(inner, text, charset, cte))
        else:
            first = (f"Content-Type: text/plain; charset={charset}\n"
                     f"Content-Transfer-Encoding: {cte}\n\n{text}")
        out = f"This is a multi-part message in MIME format.\n\n--{boundary}\n{first}\n"
        count = 1 if rng.random() < 0.7 else 2
        raw_total = max(2_000, (total - len(out) - 1_500) * 3 // 4)
        for k in range(count):
            mime, ext = rng.choice(ATTACHMENTS)
            name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{rng.randrange(100, 999)}.{ext}"
            payload = base64.encodebytes(rng.randbytes(raw_total // count)).decode()
            out += (f"--{boundary}\nContent-Type: {mime}; name=\"{name}\"\n"
                    f"Content-Disposition: attachment; filename=\"{name}\"\n"
                    f"Content-Transfer-Encoding: base64\n\n{payload}\n")
        return out + f"--{boundary}--\n"


def wrap(text: str, width: int = 72) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def wrap_html(html: str) -> str:
    return "\n".join(wrap(line, 76) for line in html.split("\n")) + "\n"


def rfc2822(t: int) -> str:
    import email.utils
    return email.utils.formatdate(t, usegmt=True).replace("GMT", "+0000")


def decoded_text(data: bytes) -> tuple[str, str]:
    """(headers, body text) as a searching server sees them: RFC 2047 words and base64 parts
    decoded. Used to verify that the terms occur exactly where intended."""
    import email
    import email.policy
    msg = email.message_from_bytes(data, policy=email.policy.default)
    headers = "\n".join(f"{k}: {v}" for k, v in msg.items())
    texts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        texts.append(payload.decode("utf-8", "replace") if part.get_content_maintype() == "text"
                     else payload.decode("latin-1"))
    return headers, "\n".join(texts)


def generate(out: Path, messages: int, seed: int, verify: bool = True) -> dict:
    corpus = Corpus(messages, seed)
    for sub in ("cur", "new", "tmp"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    uidlist = [f"3 V{BASE_TIME} N{messages + 1}"]
    found = {"subject": [], "from": [], "text_body": [], "text_header": []}
    total_bytes = 0
    kinds = {"text/plain": 0, "multipart/alternative": 0, "multipart/mixed": 0}
    for i in range(messages):
        data, flags, date = corpus.message(i)
        total_bytes += len(data)
        for k in kinds:
            kinds[k] += f"Content-Type: {k}".encode() in data.split(b"\n\n", 1)[0]
        # Dovecot's name: <time>.M<usec>P<pid>.<host>,S=<size>,W=<CRLF size>:2,<flags>
        vsize = len(data) + data.count(b"\n")
        base = f"{date}.M{i:06d}P{seed}.bench,S={len(data)},W={vsize}"
        path = out / "cur" / f"{base}:2,{flags}"
        path.write_bytes(data)
        os.utime(path, (date, date))  # the internal date (Maildir: the file's mtime)
        uidlist.append(f"{i + 1} :{base}")
        if verify:
            headers, text = decoded_text(data)
            hl, tl = headers.lower(), text.lower()
            subject = next((l for l in headers.splitlines() if l.startswith("Subject:")), "")
            sender = next((l for l in headers.splitlines() if l.startswith("From:")), "")
            if TERMS["subject"].lower() in subject.lower():
                found["subject"].append(i + 1)
            if TERMS["from"].lower() in sender.lower():
                found["from"].append(i + 1)
            if TERMS["text_body"].lower() in hl + tl:
                found["text_body"].append(i + 1)
            if TERMS["from"].lower() in hl + tl:
                found["text_header"].append(i + 1)
    (out / "dovecot-uidlist").write_text("\n".join(uidlist) + "\n")
    expected = {
        "subject": sorted(u + 1 for u in corpus.chosen["subject"]),
        "from": sorted(u + 1 for u in corpus.chosen["from"]),
        "text_body": sorted(u + 1 for u in corpus.chosen["text_body"]),
    }
    expected["text_header"] = expected["from"]
    if verify and found != expected:
        raise RuntimeError("a search term occurs outside the messages chosen for it: "
                           + ", ".join(k for k in found if found[k] != expected[k]))
    meta = {"messages": messages, "seed": seed, "bytes": total_bytes, "kinds": kinds,
            "terms": {**TERMS, "text_header": TERMS["from"]}, "expected_uids": expected}
    (out / "corpus.json").write_text(json.dumps(meta))
    return meta


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-verify", action="store_true", help="skip the term scan (faster)")
    args = parser.parse_args()
    meta = generate(args.out, args.messages, args.seed, verify=not args.no_verify)
    print(json.dumps({k: v for k, v in meta.items() if k != "expected_uids"}))


if __name__ == "__main__":
    main()
