#!/usr/bin/env python3
"""Phones against the scale-out deployment that .ci/scale-out starts (standard library only).

upload:   PHONES phones each get a code from the lab (API key), check it, and upload 10 real
          keys through the CDN and the balancer, sending the same upload again on no answer
          or a 5xx, as a phone does. Halfway, instance "two" is killed (SIGKILL); it is
          started again a little later. Writes the acknowledged keys (hex) to a file.
          A code check whose answer died with the instance may have used the code: its
          retry is then "used code" (404, as API.md says), and the patient, as in real
          life, asks the lab for another code; those are counted and printed.
download: DOWNLOADS full downloads of keys and of venue warnings through the CDN, from
          PHONES threads, while instance "two" is killed and restarted again. Prints the
          CDN's cache statuses, and fails if any download fails or if the answers differ.
"""

import argparse
import base64
import collections
import datetime
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

REAL_KEYS = 10


def request(url, method="GET", body=None, bearer=None, timeout=40):
    """(status, headers, bytes); status 0 when there was no answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if bearer:
        req.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, {}, b""


def until_answered(url, method="GET", body=None, bearer=None, statuses=None):
    """Sends until the answer is not 'try again' (none, 408, 5xx), as a phone does."""
    deadline = time.monotonic() + 120
    while True:
        status, headers, payload = request(url, method, body, bearer)
        if statuses is not None:
            statuses[status] += 1
        if status not in (0, 408) and status < 500:
            return status, headers, payload
        if time.monotonic() > deadline:
            raise SystemExit(f"{method} {url}: no answer in 120 s (last {status})")
        time.sleep(0.1)


class Instance:
    """Instance "two", which this script kills and starts again."""

    def __init__(self, command, log):
        self.command = command
        self.log = log
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=open(self.log, "ab")
        )
        line = self.process.stdout.readline().decode()
        if not line.startswith("listening on "):
            raise SystemExit(f"instance two printed {line!r}")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


FAILURES = []


def chaos(instance, progress, total):
    """Kills instance two once a third of the work is done, starts it at two thirds."""
    while progress() < total // 3 and not FAILURES:
        time.sleep(0.05)
    instance.kill()
    print(f"killed instance two after {progress()} of {total}", flush=True)
    while progress() < 2 * total // 3 and not FAILURES:
        time.sleep(0.05)
    instance.start()
    print(f"started instance two again after {progress()} of {total}", flush=True)


def upload(args, instance):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    onset = (today - datetime.timedelta(days=8)).isoformat()
    now = int(time.time())
    day_start = now // 600 // 144 * 144
    lock = threading.Lock()
    statuses = collections.Counter()
    acknowledged = []
    refused = []
    codes_lost = [0]
    done = [0]

    def new_code():
        status, _, body = until_answered(
            f"{args.url}/v1/authority/codes", "POST", {"onsetDate": onset}, args.api_key
        )
        assert status == 201, (status, body)
        return json.loads(body)["code"]

    def access_token():
        """Checks a code; a code used by a check whose answer was lost is replaced."""
        code = new_code()
        deadline = time.monotonic() + 120
        answer_lost = False
        while True:
            status, _, body = request(
                f"{args.url}/v1/codes/verify", "POST", {"code": code, "fake": False}
            )
            if status == 200:
                return json.loads(body)["accessToken"]
            if status == 404 and answer_lost:
                with lock:
                    codes_lost[0] += 1
                code = new_code()
                answer_lost = False
                continue
            assert status in (0, 408) or status >= 500, (status, body)
            assert time.monotonic() < deadline, f"no code check answered in 120 s ({status})"
            answer_lost = True
            time.sleep(0.1)

    def phone(number):
        token = access_token()
        real = [
            hashlib.sha256(f"{args.seed}/{number}/{day}".encode()).digest()[:16]
            for day in range(1, REAL_KEYS + 1)
        ]
        keys = [
            {
                "keyData": base64.b64encode(key).decode(),
                "rollingStartNumber": day_start - day * 144,
                "rollingPeriod": 144,
                "fake": 0,
            }
            for day, key in zip(range(1, REAL_KEYS + 1), real)
        ]
        keys += [
            {
                "keyData": base64.b64encode(bytes([i]) * 16).decode(),
                "rollingStartNumber": day_start,
                "rollingPeriod": 144,
                "fake": 1,
            }
            for i in range(20)
        ]
        status, _, body = until_answered(
            f"{args.url}/v2/gaen/exposed", "POST", {"gaenKeys": keys}, token, statuses
        )
        with lock:
            if status == 200:
                acknowledged.extend(real)
            else:
                refused.append((status, body[:200]))
            done[0] += 1

    def worker(numbers):
        try:
            for number in numbers:
                phone(number)
        except BaseException as error:  # noqa: BLE001 - any failure fails the run
            FAILURES.append(f"phone failed: {error!r}")
            raise

    threads = [
        threading.Thread(target=worker, args=(range(t, args.phones, args.threads),))
        for t in range(args.threads)
    ]
    killer = threading.Thread(target=chaos, args=(instance, lambda: done[0], args.phones))
    killer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    killer.join()
    print(f"uploads: {done[0]} phones, answers by status (0: none): {dict(statuses)}")
    print(f"codes used by a check whose answer was lost, replaced by the lab: {codes_lost[0]}")
    if FAILURES or done[0] != args.phones:
        raise SystemExit(f"{args.phones - done[0]} phones did not finish: {FAILURES[:5]}")
    if refused:
        raise SystemExit(f"{len(refused)} uploads refused: {refused[:5]}")
    if statuses.get(500):
        raise SystemExit("an upload was answered 500")
    with open(args.keys_out, "w") as out:
        out.writelines(key.hex() + "\n" for key in acknowledged)


def download(args, instance):
    lock = threading.Lock()
    statuses = collections.Counter()
    cache = collections.Counter()
    bodies = collections.defaultdict(set)
    done = [0]
    paths = ["/v2/gaen/exposed", "/v1/warnings"]

    def worker(count):
        for number in range(count):
            path = paths[number % len(paths)]
            status, headers, body = until_answered(f"{args.url}{path}", statuses=statuses)
            with lock:
                cache[headers.get("X-Cache-Status", "none")] += 1
                bodies[path].add(hashlib.sha256(body).hexdigest())
                if status != 200:
                    FAILURES.append(f"GET {path}: {status}")
                    return
                done[0] += 1

    # All downloads inside one release bucket (of a minute here): start just after one
    # begins. The first answers of each URL fill the cache; every other one should hit.
    time.sleep((62 - time.time() % 60) % 60)

    per_thread = args.downloads // args.threads
    total = per_thread * args.threads
    threads = [threading.Thread(target=worker, args=(per_thread,)) for _ in range(args.threads)]
    killer = threading.Thread(target=chaos, args=(instance, lambda: done[0], total))
    killer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    killer.join()
    if FAILURES:
        raise SystemExit(f"downloads failed: {FAILURES[:5]}")
    hits = cache["HIT"]
    ratio = hits / total
    print(f"downloads: {total}, statuses {dict(statuses)}, cache {dict(cache)}, "
          f"hit ratio {ratio:.4f}", flush=True)
    for path, seen in bodies.items():
        if len(seen) != 1:
            raise SystemExit(f"{path}: {len(seen)} different answers inside one bucket")
    if ratio < args.min_hit_ratio:
        raise SystemExit(f"cache hit ratio {ratio:.4f} below {args.min_hit_ratio}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=["upload", "download"])
    parser.add_argument("--url", required=True, help="the CDN's URL")
    parser.add_argument("--api-key", help="the lab's API key (upload)")
    parser.add_argument("--phones", type=int, default=300)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--downloads", type=int, default=4000)
    parser.add_argument("--min-hit-ratio", type=float, default=0.99)
    parser.add_argument("--seed", default=str(os.getpid()))
    parser.add_argument("--keys-out", help="file for the acknowledged keys (upload)")
    parser.add_argument("--instance-log", required=True)
    parser.epilog = "After the options: -- and the command line of instance two."
    argv = sys.argv[1:]
    if "--" not in argv:
        parser.error("the command line of instance two must follow --")
    split = argv.index("--")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    instance = Instance(command, args.instance_log)
    instance.start()
    try:
        upload(args, instance) if args.phase == "upload" else download(args, instance)
    finally:
        if instance.process and instance.process.poll() is None:
            instance.process.terminate()
            instance.process.wait()


if __name__ == "__main__":
    sys.exit(main())
