"""Upload benchmark: a large file through the portal to the sandbox, beside a raw upload.

    .venv/bin/python bench/upload.py [--size-mb 200]

Starts, in a scratch folder with SQLite and the filesystem broker: the sandbox (gunicorn), the
portal (gunicorn, its Clearfacts pointing at that sandbox) and a Celery worker. Signs in through
the sandbox's OpenID Connect pages, then uploads the same file
  1. raw: streamed with requests straight to the sandbox's GraphQL endpoint (the baseline), and
  2. through the portal: streamed to the upload page, then sent on by the worker.
It prints the throughputs and the peak memory growth of the portal's web and worker processes
over their resting size. The last line is JSON with `throughput_ratio` and `peak_rss_growth_mb`.

`throughput_ratio` compares like with like: the portal's upload to the sandbox (its worker
streaming the stored file, from the start of the send to the answer) against the raw upload of
the same file. The end-to-end figure (the browser's upload to the portal, then the send) is
printed too, with its own ratio: the file crosses the network twice on that path and once on the
raw one, so it sits near one half by construction.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

import requests
from requests_toolbelt import MultipartEncoder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import free_port  # noqa: E402
from tests.samples import pdf, write_large_pdf  # noqa: E402

BIN = Path(sys.executable).parent
USER = "an.maes@bakkerij-maes.be"
PASSWORD = "clearfacts-demo"  # noqa: S105 (the sandbox's published demo password)
COMPANY = "0652381715"
UPLOAD_QUERY = """mutation upload($vatnumber: String!, $filename: String!, $invoicetype: InvoiceTypeArgument!) {
  uploadFile(vatnumber: $vatnumber, filename: $filename, invoicetype: $invoicetype) { uuid amountOfPages }
}"""


def rss_kb(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak since start) of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


class Stack:
    def __init__(self, folder: Path):
        self.folder = folder
        self.sandbox_port, self.portal_port = free_port(), free_port()
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.portal_url = f"http://127.0.0.1:{self.portal_port}"
        issuer = f"{self.sandbox_url}/sandbox/clearfacts"
        base = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"}
        }
        base |= {
            "VAR_DIR": str(folder / "var"),
            "DEBUG": "1",
            "SANDBOX": "1",
            "LOG_LEVEL": "WARNING",
            "DOCUMENT_MAX_UPLOAD_MB": "1024",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        self.sandbox_env = base | {"SITE_URL": self.sandbox_url, "PORT": str(self.sandbox_port)}
        self.portal_env = base | {
            "SITE_URL": self.portal_url,
            "PORT": str(self.portal_port),
            "CLEARFACTS_OIDC_ISSUER": issuer,
            "CLEARFACTS_GRAPHQL_URL": f"{issuer}/graphql",
        }
        self.processes = []

    def manage(self, *args, env=None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env or self.portal_env, capture_output=True, text=True
        )
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append((process, log))
        return process

    def gunicorn(self, name, port, env):
        return self.start(
            name,
            [
                str(BIN / "gunicorn"),
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "8",
                "--timeout",
                "600",
            ],
            env,
        )

    def up(self):
        self.manage("migrate", "--noinput", "-v0")
        self.manage("sandbox_seed")  # registers the portal's callback at its port
        self.sandbox = self.gunicorn("sandbox", self.sandbox_port, self.sandbox_env)
        self.web = self.gunicorn("portal", self.portal_port, self.portal_env)
        self.worker = self.start(
            "worker",
            [str(BIN / "celery"), "-A", "portal", "worker", "--pool=solo", "--loglevel=WARNING"],
            self.portal_env,
        )
        for url in (self.sandbox_url, self.portal_url):
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except requests.RequestException:  # refused, or a worker still booting (a timeout)
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not start; see {self.folder}")
                time.sleep(0.3)
        time.sleep(3)  # the worker connects to the broker

    def web_pid(self) -> int:
        return children(self.web.pid)[0]  # the gunicorn worker, not its master

    def down(self):
        for process, log in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            log.close()


def csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]


def sign_in(stack: Stack) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{stack.portal_url}/accounts/oidc/start/", timeout=30)
    page = browser.post(
        page.url,
        data={"csrfmiddlewaretoken": csrf(page.text), "username": USER, "password": PASSWORD},
        headers={"Referer": page.url},
        timeout=30,
    )
    if 'name="decision"' in page.text:
        page = browser.post(
            page.url,
            data={"csrfmiddlewaretoken": csrf(page.text), "decision": "allow"},
            headers={"Referer": page.url},
            timeout=30,
        )
    if page.url.rstrip("/") != stack.portal_url:
        raise RuntimeError(f"sign-in failed at {page.url}")
    browser.post(
        f"{stack.portal_url}/i18n/setlang/",
        data={"language": "en", "next": "/", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
    )
    return browser


def raw_upload(stack: Stack, path: Path, token: str) -> float:
    """Seconds for a streaming multipart upload straight to the sandbox (the baseline)."""
    with path.open("rb") as file:
        encoder = MultipartEncoder(
            fields={
                "query": UPLOAD_QUERY,
                "variables": json.dumps({"vatnumber": COMPANY, "filename": path.name, "invoicetype": "PURCHASE"}),
                "file": (path.name, file, "application/pdf"),
            }
        )
        started = time.perf_counter()
        response = requests.post(
            f"{stack.sandbox_url}/sandbox/clearfacts/graphql",
            data=encoder,
            headers={"Content-Type": encoder.content_type, "Authorization": f"Bearer {token}"},
            timeout=600,
        )
        elapsed = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"raw upload failed: {response.status_code} {response.text[:300]}")
    return elapsed


def portal_upload(stack: Stack, browser: requests.Session, path: Path) -> float:
    """Seconds from the first byte sent to the portal until the document is sent to the sandbox."""
    upload_url = f"{stack.portal_url}/administrations/{COMPANY}/documents/upload/"
    with path.open("rb") as file:
        encoder = MultipartEncoder(
            fields={
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                "destination": "inbox",
                "invoice_type": "PURCHASE",
                "files": (path.name, file, "application/pdf"),
            }
        )
        started = time.perf_counter()
        response = browser.post(
            upload_url, data=encoder, headers={"Content-Type": encoder.content_type, "Referer": upload_url}, timeout=600
        )
    status_path = re.search(r'hx-get="(/administrations/\d+/documents/\d+/status/)"', response.text)
    if not status_path:
        raise RuntimeError(f"the portal refused the upload: {response.status_code} {response.text[-500:]}")
    status_url = urljoin(stack.portal_url, status_path[1])
    while True:
        row = browser.get(status_url, timeout=30)
        state = re.search(r'data-status="([^"]+)"', row.text)[1]
        if state == "sent":
            return time.perf_counter() - started
        if state not in ("queued", "sending"):
            raise RuntimeError(f"the document ended {state}: {row.text[:500]}")
        time.sleep(0.05)


def last_send_seconds(stack: Stack) -> float:
    """How long the worker's upload of the newest document took (send start to answer)."""
    script = (
        "from clearfacts_app.models import Document\n"
        "d = Document.objects.latest('sent_at')\n"
        "print((d.sent_at - d.sending_started_at).total_seconds())\n"
    )
    return float(stack.manage("shell", "--no-imports", "-c", script).strip().splitlines()[-1])


def personal_token(stack: Stack) -> str:
    script = (
        "from sandbox.clearfacts.bearer import create_personal_token\n"
        "from sandbox.clearfacts.models import ClearfactsUser\n"
        f"print(create_personal_token(user=ClearfactsUser.objects.get(username={USER!r}), name='bench',"
        " scopes=['upload_document'])[1])\n"
    )
    return stack.manage("shell", "--no-imports", "-c", script, env=stack.sandbox_env).strip().splitlines()[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, files)")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    stack = Stack(folder)
    try:
        print(f"Scratch folder: {folder}")
        stack.up()
        browser = sign_in(stack)
        token = personal_token(stack)
        big = folder / f"bench-{options.size_mb}mb.pdf"
        write_large_pdf(big, options.size_mb * 1024 * 1024)
        small = folder / "warm-up.pdf"
        small.write_bytes(pdf(pages=1))

        # Warm up both paths (imports, connections), then take the processes' resting size.
        raw_upload(stack, small, token)
        portal_upload(stack, browser, small)
        web_pid, worker_pid = stack.web_pid(), stack.worker.pid
        rest = {"web": rss_kb(web_pid, "VmRSS"), "worker": rss_kb(worker_pid, "VmRSS")}

        size_mb = big.stat().st_size / (1024 * 1024)
        raw_seconds = raw_upload(stack, big, token)
        end_to_end_seconds = portal_upload(stack, browser, big)
        send_seconds = last_send_seconds(stack)
        peak = {"web": rss_kb(web_pid, "VmHWM"), "worker": rss_kb(worker_pid, "VmHWM")}
        growth = {name: (peak[name] - rest[name]) / 1024 for name in rest}

        raw_rate, send_rate, end_to_end_rate = (size_mb / s for s in (raw_seconds, send_seconds, end_to_end_seconds))
        print(f"File: {size_mb:.0f} MB PDF")
        print(f"Raw streaming upload to the sandbox (baseline):  {raw_seconds:6.2f} s {raw_rate:8.1f} MB/s")
        print(f"The portal's upload to the sandbox (worker):     {send_seconds:6.2f} s {send_rate:8.1f} MB/s")
        print(f"  ratio to the baseline:                          {send_rate / raw_rate:6.2f}")
        print(
            f"End to end: browser → portal → sandbox:          {end_to_end_seconds:6.2f} s {end_to_end_rate:8.1f} MB/s"
        )
        print(f"  ratio to the baseline (two hops against one):  {end_to_end_rate / raw_rate:6.2f}")
        print(f"Peak memory growth, web process:    {growth['web']:6.1f} MB (resting at {rest['web'] / 1024:.0f} MB)")
        print(
            f"Peak memory growth, worker process: {growth['worker']:6.1f} MB (resting at {rest['worker'] / 1024:.0f} MB)"
        )
        print(
            json.dumps(
                {
                    "size_mb": round(size_mb, 1),
                    "raw_mb_per_s": round(raw_rate, 1),
                    "portal_send_mb_per_s": round(send_rate, 1),
                    "end_to_end_mb_per_s": round(end_to_end_rate, 1),
                    "throughput_ratio": round(send_rate / raw_rate, 3),
                    "end_to_end_ratio": round(end_to_end_rate / raw_rate, 3),
                    "web_rss_growth_mb": round(growth["web"], 1),
                    "worker_rss_growth_mb": round(growth["worker"], 1),
                    "peak_rss_growth_mb": round(max(growth.values()), 1),
                }
            )
        )
    finally:
        stack.down()
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
