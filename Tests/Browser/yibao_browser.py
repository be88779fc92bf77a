"""Helpers for the browser tests: a real Chromium through Selenium, the platform over HTTP (the
hospital's cashier system, the bureau's operator), TOTP codes computed from the otpauth key, axe-core
accessibility checks and screenshots."""

import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

HIS = "Bearer Kdemo-H44010000004.demo-secret"  # 广州示例市第二人民医院 (demo key, published on purpose)
OPS = "Bearer op_demo_administrator_token"  # the bureau's demo administrator


def busy_once(driver, pattern, code="overloaded"):
    """Makes the page's next POST whose path matches `pattern` (a JavaScript regular expression) answered
    as a full instance answers it (AdmissionMiddleware: 503, Retry-After 1, the `overloaded` problem
    document) — or, with `code="unavailable"`, as an instance whose database did not answer — without
    reaching the platform, and records the Idempotency-Key of every matching POST in `window.busyKeys`.
    `window.fetch = window.realFetch` undoes it."""
    driver.execute_script(
        """
        window.realFetch = window.realFetch ?? window.fetch;
        window.busyKeys = [];
        const pattern = new RegExp(arguments[0]);
        window.fetch = async (input, init = {}) => {
          if ((init.method ?? 'GET') === 'POST' && pattern.test(String(input))) {
            window.busyKeys.push(init.headers?.['Idempotency-Key'] ?? null);
            if (window.busyKeys.length === 1) {
              const code = arguments[1];
              const problem = { type: 'https://yibao.dev/problems/' + code, title: 'Service unavailable', status: 503,
                detail: 'retry after the time in Retry-After', code, number: 900 };
              return new Response(JSON.stringify(problem),
                { status: 503, headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '1' } });
            }
          }
          return window.realFetch(input, init);
        };
        """,
        pattern,
        code,
    )


class Platform:
    """The platform over HTTP, as a hospital's system and the bureau's operator use it."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, auth=HIS, key=None, expect=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", auth)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        if expect is not None and status != expect:
            raise AssertionError(f"{method} {path}: expected {expect}, got {status}: {text}")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def sms_code(self, phone):
        """The last code the sandbox SMS gateway sent to a phone."""
        _, messages = self.call("GET", f"/v1/sandbox/messages?phone={phone}", auth=OPS, expect=200)
        texts = [m.get("text", m.get("body", "")) for m in (messages.get("messages", messages) if isinstance(messages, dict) else messages)]
        codes = [re.search(r"(\d{6})", text).group(1) for text in texts if re.search(r"(\d{6})", text)]
        assert codes, f"no SMS code sent to {phone}: {messages}"
        return codes[-1]

    def settle_with_code(self, code, visit_number, lines, for_person=None, use_account=True, expect=201):
        body = {"code": code, "category": "11", "hospital_visit_number": visit_number, "use_account": use_account, "lines": lines}
        if for_person:
            body["for_person_number"] = for_person
        _, answer = self.call("POST", "/v1/settlements", body, key=visit_number + "-pay", expect=expect)
        return answer


def totp(manual_key, at=None, step=30):
    """RFC 6238 with the authenticator apps' defaults (HMAC-SHA-1, 6 digits, 30 s)."""
    key = base64.b32decode(manual_key + "=" * (-len(manual_key) % 8))
    counter = int((at if at is not None else time.time()) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def fresh_totp(manual_key, used):
    """A code not used before: each is accepted once, so wait for the next step when needed."""
    while True:
        code = totp(manual_key)
        if code not in used:
            used.add(code)
            return code
        time.sleep(1)


def luhn_check(body):
    total = 0
    for index, character in enumerate(reversed(body)):
        digit = int(character)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def demo_card(index):
    """The demo data's debit card of the index-th person in people.csv (docs/payments.md)."""
    body = "622848" + f"{index:09d}"
    return body + luhn_check(body)


class Browser:
    """One Chromium session (its own profile: its own IndexedDB, storage and service worker)."""

    def __init__(self, base, screenshots, width=360, height=640):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}", "--lang=zh-CN"):
            options.add_argument(argument)
        self.profile = tempfile.mkdtemp(prefix="yibao-chromium-")
        options.add_argument(f"--user-data-dir={self.profile}")
        # Files the pages save (a CSV) land here, without asking.
        self.downloads = os.path.join(self.profile, "downloads")
        os.makedirs(self.downloads)
        options.add_experimental_option("prefs", {"download.default_directory": self.downloads, "download.prompt_for_download": False})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": self.downloads})
        self.driver.set_window_size(width, height)
        # The viewport of a 360x640 phone exactly (the window's size includes the browser's own frame).
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        self.base = base
        self.screenshots = screenshots
        self.wait = WebDriverWait(self.driver, 20)

    def downloaded(self, name, timeout=20):
        """The text of a file the page saved as `name`, once Chromium has finished writing it."""
        path = os.path.join(self.downloads, name)
        deadline = time.time() + timeout
        while not os.path.exists(path) or os.path.exists(path + ".crdownload"):
            if time.time() > deadline:
                raise AssertionError(f"no download {name} within {timeout} s (saw {os.listdir(self.downloads)})")
            time.sleep(0.1)
        with open(path, encoding="utf-8") as file:
            return file.read()

    def close(self):
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, route):
        self.driver.get(f"{self.base}/app/#/{route}")
        return self

    def go(self, route):
        if self.driver.execute_script("return location.hash") == f"#/{route}":
            self.driver.refresh()  # the same screen again: reload it, as a patient pulls to refresh
        else:
            self.driver.execute_script("location.hash = arguments[0]", f"#/{route}")
        time.sleep(0.3)
        return self

    def find(self, css, timeout=20):
        return WebDriverWait(self.driver, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))

    def gone(self, css, timeout=20):
        WebDriverWait(self.driver, timeout).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, css)))

    def fill(self, css, text):
        element = self.find(css)
        element.clear()
        element.send_keys(text)
        return element

    def click(self, css_or_element):
        element = self.find(css_or_element) if isinstance(css_or_element, str) else css_or_element
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def submit(self, form_css):
        self.click(f"{form_css} button[type=submit]")

    def alert_text(self, form_css, timeout=20):
        element = WebDriverWait(self.driver, timeout).until(
            lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, f"{form_css} .error") if e.text.strip()), None)
        )
        return element.text.strip()

    def answer_step_up(self, key, used, timeout=3):
        """When the app asks for the authenticator code (a sensitive action), type a fresh one."""
        try:
            self.find("#stepup-code", timeout=timeout)
        except Exception:
            return False
        self.fill("#stepup-code", fresh_totp(key, used))
        self.click("#stepup-ok")
        return True

    def wait_text(self, css, predicate, timeout=20):
        """Waits until the element's text satisfies the predicate (screens re-render: stale elements are retried)."""
        def ready(driver):
            try:
                text = driver.find_element(By.CSS_SELECTOR, css).text.strip()
                return text if predicate(text) else False
            except Exception:
                return False

        try:
            return WebDriverWait(self.driver, timeout).until(ready)
        except Exception:
            main = self.driver.find_element(By.TAG_NAME, "main").text
            raise AssertionError(f"{css} never matched; the screen shows: {main[:800]}")

    def text(self, css):
        return self.find(css).text.strip()

    def shot(self, name, element=None, bottom=False, at=None):
        """A screenshot of the page from its top (or its bottom, or from element `at`, scrolled to the top of
        the window), or of one element (scrolled into view)."""
        if self.screenshots:
            os.makedirs(self.screenshots, exist_ok=True)
            path = os.path.join(self.screenshots, f"{name}.png")
            if element is not None:
                element.screenshot(path)
                return path
            if at is not None:
                self.driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", at)
            else:
                self.driver.execute_script("window.scrollTo(0, arguments[0] ? document.body.scrollHeight : 0)", bottom)
            self.driver.save_screenshot(path)
            return path
        return None

    def offline(self, off):
        self.driver.set_network_conditions(offline=off, latency=0, download_throughput=-1 if not off else 0, upload_throughput=-1 if not off else 0)

    def axe(self, screen):
        """axe-core on the current screen: no serious or critical violation."""
        from axe_selenium_python import Axe

        axe = Axe(self.driver)
        axe.inject()
        results = axe.run()
        bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        assert not bad, f"accessibility on {screen}: " + "; ".join(f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in bad)
        return len(results["violations"])


def zbar_decode(png_path):
    """The text of the QR code or barcode in an image, when zbarimg is installed (CI installs it)."""
    if not shutil.which("zbarimg"):
        return None
    output = subprocess.run(["zbarimg", "--quiet", "--raw", png_path], capture_output=True, text=True)
    return output.stdout.strip().splitlines()


def new_key():
    return str(uuid.uuid4())
