#!/usr/bin/env python3
"""Interop: QR codes made by the PyPI package `cwa-qr` (an independent implementation of
the Corona-Warn-App event format) decode with `openstopcovid venue decode` to the same
fields and the same locationId, computed here from the payload bytes with the CWA formula
SHA256("CWA-GUID" || payload) (and locationIdHash = SHA256(locationId)).

Usage: cwa_qr_interop.py PATH-TO-openstopcovid   (run by .ci/run in a venv with cwa-qr)
"""

import base64
import hashlib
import json
import subprocess
import sys
from datetime import datetime, timezone

import cwa_qr

BINARY = sys.argv[1] if len(sys.argv) > 1 else "openstopcovid"


def event(description, address, location_type, minutes=None, start=None, end=None, seed=None):
    e = cwa_qr.CwaEventDescription()
    e.location_description = description
    e.location_address = address
    e.location_type = location_type
    e.default_check_in_length_in_minutes = minutes
    e.start_date_time = start
    e.end_date_time = end
    e.seed = seed
    return e


CASES = [
    event("Bäckerei Müller", "Hauptstraße 1, 10115 Berlin", cwa_qr.CwaLocation.permanent_retail, 15, seed="bakery"),
    event("Café des Arts – Terrasse", "1 place du Marché, Lyon", cwa_qr.CwaLocation.permanent_food_service, 90),
    event("Office", "Street 2", cwa_qr.CwaLocation.permanent_workplace),
    event("Sommerkonzert", "Stadtpark", cwa_qr.CwaLocation.temporary_cultural_event, 120,
          datetime(2026, 7, 14, 18, 0, tzinfo=timezone.utc), datetime(2026, 7, 14, 22, 30, tzinfo=timezone.utc)),
    event("Hochzeit", "Rathaus", cwa_qr.CwaLocation.temporary_private_event, None,
          datetime(2026, 8, 1, 10, 0, tzinfo=timezone.utc), datetime(2026, 8, 2, 2, 0, tzinfo=timezone.utc), seed=b"0123456789abcdef"),
    event("x" * 100, "y" * 100, cwa_qr.CwaLocation.permanent_public_building, 24 * 60),
]


def decode(url):
    result = subprocess.run([BINARY, "venue", "decode", url], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"decode failed ({result.returncode}) for {url}: {result.stderr}")
    return json.loads(result.stdout)


def check(e):
    url = cwa_qr.generate_url(e)
    payload = base64.urlsafe_b64decode(url.split("#", 1)[1] + "=" * (-len(url.split("#", 1)[1]) % 4))
    assert payload == cwa_qr.generate_payload(e).SerializeToString()
    location_id = hashlib.sha256(b"CWA-GUID" + payload).digest()
    decoded = decode(url)
    expected = {
        "format": "cwa",
        "description": e.location_description,
        "address": e.location_address,
        "type": int(e.location_type),
        "startTimestamp": int(e.start_date_time.timestamp()) if e.start_date_time else 0,
        "endTimestamp": int(e.end_date_time.timestamp()) if e.end_date_time else 0,
        "locationId": location_id.hex(),
        "locationIdHash": hashlib.sha256(location_id).hexdigest(),
    }
    for key, value in expected.items():
        assert decoded.get(key) == value, f"{e.location_description!r}: {key} is {decoded.get(key)!r}, expected {value!r}"
    minutes = decoded.get("defaultCheckInLengthInMinutes")
    if e.default_check_in_length_in_minutes:
        assert minutes == e.default_check_in_length_in_minutes, f"defaultCheckInLengthInMinutes is {minutes!r}"
    else:
        assert minutes in (None, 0), f"defaultCheckInLengthInMinutes is {minutes!r} for a code without one"


def refused(url):
    result = subprocess.run([BINARY, "venue", "decode", url], capture_output=True, text=True)
    assert result.returncode == 2, f"{url!r} should be refused with status 2, got {result.returncode}"
    assert result.stderr.strip(), "a refusal says why"


def main():
    for e in CASES:
        check(e)
    # Broken copies of a cwa-qr code are refused with a message, not a crash.
    good = cwa_qr.generate_url(CASES[0])
    for bad in [good[: len(good) // 2], good.replace("#", "#!!"), "https://e.coronawarn.app?v=1#", "hello"]:
        refused(bad)
    print(f"cwa-qr interop: {len(CASES)} codes decoded with the right locationId; 4 broken codes refused")


if __name__ == "__main__":
    main()
