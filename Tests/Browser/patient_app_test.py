"""The patient's phone app in a real Chromium against a real `yibao serve --demo` (scripts/browser-test).

Each scenario drives the app as a patient would and checks the outcome through the platform: a new
patient signs up with the authenticator, enrols the browser, shows a code the "cashier" settles; the
code keeps refreshing with the network cut and settles once the cashier is back; a family binding
confirmed in a second browser and payments for the member; a premium and its receipt verified; a
credit line, a frictionless visit and a repayment from the personal account; refusals shown in plain
language; axe-core on every screen; screenshots at 360x640."""

import argparse
import os
import sys
import tempfile
import time
import traceback

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from yibao_browser import OPS, Browser, Platform, busy_once, demo_card, fresh_totp, new_key, zbar_decode

PASSWORD = "Yibao-phone-2026"
LINES = [
    {"line_number": "1", "item_code": "XD00000000003", "unit_price": 2850, "quantity": 2},
    {"line_number": "2", "item_code": "S000000000061", "unit_price": 1000, "quantity": 1},
]
# 王芳, a Guangzhou employee with 1,800 yuan; 马丽, a Guangzhou resident of 27 (no personal account).
WANG = {"number": "P440100000002", "id": "440106199007251029", "phone": "13800100002", "card": demo_card(1)}
MA = {"number": "P440100000013", "id": "440106199901011134", "phone": "13800100013", "card": demo_card(12)}

checks = []


def resident_premium(year):
    """The Guangzhou resident contribution of a year, from the demo policy file the server loaded."""
    import json
    import os

    path = os.path.join(os.path.dirname(__file__), f"../../Sources/YibaoServer/Assets/demo/policies/440100-{year}.json")
    policies = json.load(open(path))["policies"]
    return next(p["amount"] for q in policies if q["insurance_type"] == "390" for p in q["premiums"] if p["kind"] == "resident_annual")


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


spent_codes = set()


def unspent_code(app):
    """The code on the page once it is one the cashier has not used (a code is accepted once)."""
    deadline = time.time() + 40
    # Not in the last seconds of a step: the cashier (and the screenshots) read the same code.
    while int("".join(ch for ch in app.text("#countdown") if ch.isdigit()) or "0") < 6 and time.time() < deadline:
        time.sleep(0.5)
    code = shown_code(app)
    while code in spent_codes and time.time() < deadline:
        time.sleep(0.5)
        code = shown_code(app)
    spent_codes.add(code)
    return code


def scenario_sign_up_code_wallet(app, platform, used):
    sign_up(app, platform, WANG, True, used, wrong_sms_first=True)
    app.axe("home")
    app.shot("03-home")
    check("1800.00" in app.text("#home-balance"), "home shows the personal account (1,800.00)")
    app.go("code")
    app.fill("#device-name", "王芳的手机")
    app.axe("enrol device")
    app.submit("#enrol-form")
    code = unspent_code(app)
    check(len(code) == 21 and code.startswith("88"), "the code page shows a 21-digit e-voucher code")
    app.axe("pay code")
    shot = app.shot("04-pay-code")
    # A phone's screen has 2-3 device pixels per CSS pixel: read the drawn codes as a scanner sees them there.
    app.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 360, "height": 640, "deviceScaleFactor": 3, "mobile": True})
    try:
        for css, what in (("#qr svg", "QR code"), ("#barcode svg", "barcode")):
            handle, path = tempfile.mkstemp(suffix=".png")
            os.write(handle, app.find(css).screenshot_as_png)
            os.close(handle)
            decoded = zbar_decode(path)
            if decoded is not None:
                check(code in decoded, f"zbarimg reads the drawn {what} as the shown digits ({decoded})")
    finally:
        app.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 360, "height": 640, "deviceScaleFactor": 1, "mobile": True})
    settlement = platform.settle_with_code(code, "MZ-APP-0001", LINES)
    breakdown = settlement.get("breakdown", settlement)
    app.go("wallet")
    app.find("#history [data-event]")
    # The date filter: nothing until yesterday; today's movements again once it is cleared.
    set_filter = "const f = document.getElementById('history-until'); f.value = arguments[0]; f.dispatchEvent(new Event('change'))"
    app.driver.execute_script(set_filter, time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400)))
    emptied = app.wait_text("#history", lambda text: text == "暂无")
    app.driver.execute_script(set_filter, "")
    entry = app.find("#history [data-event]")
    shown = len(app.driver.find_elements(By.CSS_SELECTOR, "#history [data-event]"))
    check(emptied == "暂无" and shown > 0, f"the history's date filter hides what falls outside it, and shows it again once cleared ({shown})")
    widths = app.driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    check(widths[0] <= widths[1], f"the wallet fits the phone's width, its two date filters side by side ({widths})")
    # Each amount on one line beside a long institution name (once "67." above "00").
    broken = app.driver.execute_script("""
        return [...document.querySelectorAll('#history [data-event] .num')].filter((e) => {
          const style = getComputedStyle(e);
          const line = parseFloat(style.lineHeight) || 1.3 * parseFloat(style.fontSize);
          return e.getBoundingClientRect().height > 1.6 * line;
        }).map((e) => e.textContent);""")
    check(not broken, f"every amount in the history is on one line ({broken})")
    app.axe("wallet")
    app.shot("05-wallet")
    # The history saved as CSV from the page is the API's file, byte for byte (its name from the server).
    export = next(b for b in app.driver.find_elements(By.CSS_SELECTOR, "button") if b.text == "导出 CSV")
    app.click(export)
    saved = app.downloaded("yibao-history.csv")
    api_csv = patient_call(platform, app, WANG, used, "GET", "/v1/patient/history.csv", expect=200)
    check(saved == api_csv and "67.00" in saved, f"the history saved from the wallet is the API's CSV ({len(saved)} bytes)")
    app.click(entry)
    fund, account, cash = (app.text(css) for css in ("#entry-fund", "#entry-account", "#entry-cash"))
    expected = [f"{breakdown[k] / 100:.2f}" for k in ("hifp_pay", "acct_pay", "psn_cash_pay")]
    check([fund, account, cash] == expected, f"the wallet entry shows the settlement's split {expected} (fund, account, cash)")
    app.find("#receipt-lines")
    # Why the fund paid what it paid, from the settlement's own buckets: in scope, the deductible, the ratio.
    why = app.find("#entry-why")
    ratio, paid, in_scope = f"{breakdown['pool_prop_selfpay'] / 100:g}%", f"{breakdown['hifp_pay'] / 100:.2f}", f"{breakdown['inscp_scp_amt'] / 100:.2f}"
    said = (f"医保范围内 {in_scope} 元：起付线 {breakdown['act_pay_dedc'] / 100:.2f} 元由您负担，其余按 {ratio} 由统筹基金支付 {paid} 元"
            if breakdown["act_pay_dedc"] else f"医保范围内 {in_scope} 元，按 {ratio} 由统筹基金支付 {paid} 元（这次无需再付起付线）")
    check(breakdown["hifp_pay"] > 0 and why.get_attribute("data-why") == "covered" and said in why.text, f"the wallet entry says how the fund's part was reached ({why.text})")
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
    spent_codes.add(fresh)
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
        other.open("reset")
        other.find("#reset-phone")
        other.axe("password reset")
        other.open("signin")
        other.find("#signin-phone")
        other.axe("sign-in")
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


def scenario_family(app, platform, used, base, screenshots):
    """王芳 binds 马丽 (27: she confirms in her own app), pays her premium and, at the counter, her visit."""
    member = Browser(base, screenshots)
    try:
        sign_up(member, platform, MA, False, used)
        app.go("family")
        app.find("#family-rules")
        app.fill("#bind-member", MA["number"])
        app.fill("#bind-member-id", MA["id"])
        app.submit("#bind-form")
        app.answer_step_up(WANG["key"], used)
        state = app.find("[data-binding] .binding-state")
        check(state.text == "待确认", f"the binder sees the request waiting for the member ({state.text})")
        member.go("family")
        member.click(member.find("[data-binding] button.primary"))
        member.answer_step_up(MA["key"], used)
        try:
            member.wait_text("[data-binding] .binding-state", lambda text: text == "已绑定")
        except Exception:
            member.shot("failure-member")
            print("member page:", member.driver.find_element(By.TAG_NAME, "main").text)
            raise
        member.axe("family (member)")
        app.go("family")
        app.wait_text("[data-binding] .binding-state", lambda text: text == "已绑定")
        check(True, "the member confirmed in her own browser session; both see the binding in force")
        app.axe("family")
        app.shot("09-family")
        app.go(f"member/{MA['number']}")
        app.find("#history")
        app.axe("a member's account")

        # 王芳 binds her card, then pays 马丽's resident contribution from the phone.
        app.go("credit")
        app.fill("#card-number", WANG["card"])
        app.submit("#card-form")
        app.answer_step_up(WANG["key"], used)
        app.find("#sources li")
        app.go(f"premiums/{MA['number']}")
        form = app.find("#premium-options form")
        form_id = form.get_attribute("id")
        code_inputs = form.find_elements(By.CSS_SELECTOR, "input")
        if code_inputs:
            code_inputs[0].send_keys(fresh_totp(WANG["key"], used))
        app.submit(f"#{form_id}")
        app.answer_step_up(WANG["key"], used)
        amount = app.text("#premium-amount")
        expected = resident_premium(2027)
        check(amount.startswith(f"{expected / 100:.2f}"), f"the member's premium, {expected / 100:.2f} yuan per the 2027 policy, is paid from the binder's card ({amount})")
        link = app.find("#premium-verify-link").get_attribute("href")
        app.axe("premium receipt")
        app.shot("10-premium-receipt")
        # Anyone with the link can check the receipt: a fresh browser, not signed in.
        stranger = Browser(base, None)
        try:
            stranger.driver.get(link)
            result = stranger.text("#verify-result")
            stranger.axe("receipt verification")
            check(result == "票据真实有效", f"the receipt's link, opened by anyone, says it is authentic ({result})")
        finally:
            stranger.close()

        # At the counter: 王芳's code pays for 马丽 (a resident, no personal account): mutual aid.
        app.go("code")
        code = unspent_code(app)
        settlement = platform.settle_with_code(code, "MZ-APP-0003", LINES, for_person=MA["number"])
        breakdown = settlement.get("breakdown", settlement)
        check(breakdown.get("acct_mulaid_pay", 0) > 0, f"the binder's account paid for the member as mutual aid ({breakdown.get('acct_mulaid_pay')} fen)")
        app.go("wallet")
        app.find("#history [data-event]")
        kinds = [e.text for e in app.driver.find_elements(By.CSS_SELECTOR, "#history [data-event] strong")]
        check("家庭共济" in kinds, f"the binder's wallet shows the mutual aid given ({kinds})")
        member.go("wallet")
        member.find("#history [data-event]")
        member.axe("member wallet")
    finally:
        member.close()


def counter_figures(platform, person, number, lines):
    """What a counter settlement of the same lines would pay now: a pre-settlement (nothing moves)."""
    _, visit = platform.call("POST", "/v1/visits", {"person_number": person, "category": "11", "hospital_visit_number": number, "lines": lines}, expect=201)
    _, preview = platform.call("POST", f"/v1/visits/{visit['id']}/pre-settlement", {}, expect=200)
    return preview["breakdown"]


def pay_order_in_app(app, used, order_id):
    app.go("orders")
    app.submit(f"#order-form-{order_id}")
    app.answer_step_up(WANG["key"], used)
    app.find("#paid-fund")
    return {k: app.text(f"#paid-{k}") for k in ("total", "fund", "account", "mutual-aid", "cash")}


def scenario_orders(app, platform, used):
    """Hospital payment orders paid on the phone: one by the patient, one by the binder for 马丽."""
    counter = counter_figures(platform, WANG["number"], "MZ-APP-TWIN1", LINES)
    _, order = platform.call(
        "POST", "/v1/payment-orders", {"person_number": WANG["number"], "category": "11", "hospital_visit_number": "MZ-APP-ORD1", "lines": LINES}, expect=201
    )
    app.go("orders")
    app.find(f"[data-order='{order['id']}']")
    app.axe("bills to pay")
    app.shot("14-orders")
    # The database does not answer in time when the patient pays: the first answer is 503 `unavailable`
    # (the payment may or may not have been made). A payment carries its Idempotency-Key, so the app says
    # so on its busy banner, waits and pays again with the same key, whose answer is what was done; the
    # patient does nothing. (The console's settlement meets a full instance, `overloaded`, the same way.)
    busy_once(app.driver, r"/v1/patient/payment-orders/[^/]+/payment$", code="unavailable")
    app.submit(f"#order-form-{order['id']}")
    banner = app.wait_text("#busy", lambda text: "系统繁忙" in text)
    app.shot("14b-orders-busy")
    app.answer_step_up(WANG["key"], used)
    app.find("#paid-fund")
    shown = {k: app.text(f"#paid-{k}") for k in ("total", "fund", "account", "mutual-aid", "cash")}
    sent = app.driver.execute_script("return window.busyKeys")
    check(len(sent) >= 2 and sent[0] and len(set(sent)) == 1,
          f"a payment the database did not answer in time is sent again by itself, with the same Idempotency-Key ({len(sent)} sent; {banner})")
    check(not app.driver.find_element(By.ID, "busy").is_displayed(), "the busy banner goes once the payment went through")
    app.driver.execute_script("window.fetch = window.realFetch")
    _, queried = platform.call("GET", f"/v1/payment-orders/{order['id']}", expect=200)
    paid = queried["settlement"]["breakdown"]
    check(queried["state"] == "paid", "the hospital's query shows the order paid")
    buckets = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")
    check([paid[k] for k in buckets] == [counter[k] for k in buckets], f"the order paid on the phone has a counter settlement's figures {[paid[k] for k in buckets]}")
    check([shown[k] for k in ("total", "fund", "account", "cash")] == [f"{paid[k] / 100:.2f}" for k in buckets], f"the app shows the figures the hospital sees ({shown})")

    counter = counter_figures(platform, MA["number"], "MZ-APP-TWIN2", LINES)
    _, order = platform.call(
        "POST", "/v1/payment-orders", {"person_number": MA["number"], "category": "11", "hospital_visit_number": "MZ-APP-ORD2", "lines": LINES}, expect=201
    )
    shown = pay_order_in_app(app, used, order["id"])
    _, queried = platform.call("GET", f"/v1/payment-orders/{order['id']}", expect=200)
    paid = queried["settlement"]["breakdown"]
    check(queried["payer_number"] == WANG["number"], "the hospital's query names the binder who paid for the member")
    check(paid["acct_mulaid_pay"] > 0 and shown["mutual-aid"] == f"{paid['acct_mulaid_pay'] / 100:.2f}", f"the member's order drew mutual aid from the binder's account ({shown['mutual-aid']})")
    check(
        [paid[k] for k in ("medfee_sumamt", "fund_pay_sumamt")] == [counter[k] for k in ("medfee_sumamt", "fund_pay_sumamt")],
        "the member's order has the fund figures of a counter settlement of the same lines",
    )


def scenario_credit(app, platform, used):
    """A credit line, frictionless payment signed, a visit the hospital settles, a repayment from the account."""
    app.go("credit")
    app.submit("#apply-form")
    app.answer_step_up(WANG["key"], used)
    decision = app.text("#credit-decision")
    check("额度" in decision, f"the credit decision and limit are shown ({decision})")
    select = app.find("#frictionless-source")
    options = [o.get_attribute("value") for o in select.find_elements(By.TAG_NAME, "option")]
    _, lines = platform.call("GET", "/v1/admin/accounts/personal:" + WANG["number"], auth=OPS)
    app.driver.execute_script("arguments[0].value = arguments[1]", select, options[-1])
    app.driver.execute_script("document.getElementById('frictionless-priority').value = 'source_first'")
    app.submit("#frictionless-form")
    app.answer_step_up(WANG["key"], used)
    app.find("#frictionless-state")
    app.wait_text("#frictionless-state", lambda text: text.startswith("已签约"))
    _, visit = platform.call(
        "POST", "/v1/visits",
        {"person_number": WANG["number"], "category": "11", "hospital_visit_number": "MZ-APP-0004", "frictionless": True, "lines": LINES[:1]},
        expect=201,
    )
    platform.call("POST", f"/v1/visits/{visit['id']}/settlement", {}, key="MZ-APP-0004-settle", expect=201)
    app.go("home")
    app.go("credit")
    used_text = app.text("#credit-used")
    check(used_text != "0.00", f"the frictionless visit was paid from the credit line ({used_text} used)")
    app.axe("credit")
    app.shot("11-credit")
    line_form = app.find("form[id^=repay-form]")
    form_id = line_form.get_attribute("id")
    app.fill(f"#{form_id} input", used_text)
    app.submit(f"#{form_id}")
    app.wait_text("#credit-used", lambda text: text == "0.00")
    check(True, f"the repayment of {used_text} from the personal account brings the line back to nothing used")


def scenario_screens(app):
    """The remaining screens pass axe; elderly mode and English are one tap away."""
    for route, name in (("inbox", "inbox"), ("settings", "settings"), ("premiums", "premiums")):
        app.go(route)
        app.find("h2")
        time.sleep(0.5)
        app.axe(name)
    app.shot("12-settings")
    app.go("home")
    app.click("#elder-toggle")
    app.find("#home-balance")
    size = app.driver.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)")
    check(size >= 20, f"elderly mode enlarges the type ({size}px)")
    app.axe("home (elderly mode)")
    app.shot("13-home-elderly")
    app.click("#elder-toggle")
    app.click("#lang-toggle")
    heading = app.text("h2")
    check(heading.startswith("Hello"), f"the English switch translates the screen ({heading})")
    app.axe("home (English)")
    app.click("#lang-toggle")


def patient_call(platform, app, person, used, method, path, body=None, key=None, expect=None):
    """The platform as the signed-in patient of a browser (its session token), proving the second factor when asked."""
    token = "Bearer " + app.driver.execute_script("return sessionStorage.getItem('yibao.token')")
    status, answer = platform.call(method, path, body, auth=token, key=key)
    if status == 403 and isinstance(answer, dict) and answer.get("code") == "second_factor_required":
        platform.call("POST", "/v1/patient/sessions/current/second-factor", {"totp_code": fresh_totp(person["key"], used)}, auth=token, expect=200)
        status, answer = platform.call(method, path, body, auth=token, key=key)
    if expect is not None:
        assert status == expect, f"{method} {path}: expected {expect}, got {status}: {answer}"
    return answer


def scenario_estimate(app, platform, used):
    """How much will I be reimbursed: the screen shows the platform's estimate, its assumptions in words."""
    app.go("estimate")
    select = "const s = document.getElementById(arguments[0]); s.value = arguments[1]; s.dispatchEvent(new Event('change'))"
    app.find("#estimate-institution")
    app.driver.execute_script(select, "estimate-institution", "H44010000004")
    app.driver.execute_script(select, "estimate-category", "11")
    app.submit("#estimate-form")
    message = app.alert_text("#estimate-form")
    check(message == "请至少填写一项费用", f"an estimate without amounts says what is missing ({message})")
    app.fill("#estimate-a", "200")
    app.fill("#estimate-b", "100")
    app.submit("#estimate-form")
    fund = app.text("#estimate-fund")
    body = {"institution_code": "H44010000004", "category": "11", "amounts": [{"item_class": "A", "amount": 20000}, {"item_class": "B", "amount": 10000}]}
    expected = patient_call(platform, app, WANG, used, "POST", "/v1/patient/estimate", body, expect=200)["breakdown"]
    check(fund == f"{expected['fund_pay_sumamt'] / 100:.2f}" and app.text("#estimate-cash") == f"{expected['psn_cash_pay'] / 100:.2f}",
          f"the estimate screen shows the platform's estimate (fund {fund})")
    assumptions = app.text("#estimate-assumptions")
    check("乙类费用按本地区最常见的先行自付比例" in assumptions, "the estimate says in words what it assumed for class B")
    check("未参加本年度惠民保" in assumptions, "the estimate says the region's inclusive plan is not counted because she has not joined it")
    app.axe("estimate")
    app.shot("15-estimate")


def scenario_reminders(app, platform, used):
    """Medication reminders: the hospital's dosage becomes a proposal the patient accepts and edits; a reversal cancels it."""
    line = {"line_number": "1", "item_code": "XD00000000003", "unit_price": 2850, "quantity": 2,
            "dosage": {"single_dose": "1片", "frequency": "tid", "days": 5, "route": "口服"}}
    _, visit = platform.call(
        "POST", "/v1/visits", {"person_number": WANG["number"], "category": "11", "hospital_visit_number": "MZ-APP-0005", "lines": [line]}, expect=201)
    _, settled = platform.call("POST", f"/v1/visits/{visit['id']}/settlement", {"use_account": True}, key="MZ-APP-0005-settle", expect=201)
    listed = patient_call(platform, app, WANG, used, "GET", "/v1/patient/medication-reminders", expect=200)
    reminder = next(r for r in listed if r["settlement_id"] == settled["id"])
    card_css = f'[data-reminder="{reminder["id"]}"]'
    app.go("reminders")
    app.find(card_css)
    check(app.text(f"{card_css} .reminder-times") == "08:00 · 12:00 · 18:00" and app.text(f"{card_css} .reminder-state") == "待确认",
          "the hospital's dosage (tid) is proposed as 08:00, 12:00, 18:00, waiting for the patient")
    undosed = next((r for r in listed if r["settlement_id"] != settled["id"] and r["assumptions"]), None)
    if undosed:
        text = app.text(f'[data-reminder="{undosed["id"]}"] .assumptions')
        check("医院未提供用药频次" in text, "a drug sent without dosage says in words what its reminder assumed")
    app.axe("medication reminders")
    app.shot("17-reminders")
    app.click(f"{card_css} button.primary")
    app.wait_text(f"{card_css} .reminder-state", lambda text: text == "提醒中")
    state = patient_call(platform, app, WANG, used, "GET", "/v1/patient/medication-reminders", expect=200)
    accepted = next(r for r in state if r["id"] == reminder["id"])
    check(accepted["state"] == "active" and accepted["next_at"], f"accepting in the app turns the reminder on (next {accepted['next_at']})")
    app.click(f"{card_css} summary")
    app.fill(f"#times-{reminder['id']}", "25:00")
    app.submit(f"#edit-{reminder['id']}")
    message = app.alert_text(f"#edit-{reminder['id']}")
    check(message.startswith("请填写时间"), f"an impossible time is refused in words ({message})")
    app.fill(f"#times-{reminder['id']}", "21:00, 7:30")
    app.fill(f"#days-{reminder['id']}", "3")
    app.submit(f"#edit-{reminder['id']}")
    app.wait_text(f"{card_css} .reminder-times", lambda text: text == "07:30 · 21:00")
    state = patient_call(platform, app, WANG, used, "GET", "/v1/patient/medication-reminders", expect=200)
    edited = next(r for r in state if r["id"] == reminder["id"])
    check(edited["times"] == ["07:30", "21:00"] and edited["days"] == 3, "the edited times and course are the platform's")
    platform.call("POST", f"/v1/settlements/{settled['id']}/reversal", None, key="MZ-APP-0005-reverse", expect=201)
    # The relative 王芳 bound (马丽) had a drug paid at the counter: 王芳 accepts its reminder for her and looks after it.
    member_base = f"/v1/patient/family/members/{MA['number']}/medication-reminders"
    theirs = patient_call(platform, app, WANG, used, "GET", member_base, expect=200)
    check(len(theirs) > 0, f"the relative's drug paid at the counter proposed a reminder ({len(theirs)})")
    if theirs:
        app.go(f"reminders/{MA['number']}")
        member_card = f'[data-reminder="{theirs[0]["id"]}"]'
        app.find(member_card)
        app.axe("a relative's medication reminders")
        app.click(f"{member_card} button.primary")
        app.wait_text(f"{member_card} .reminder-caregiver", lambda text: text == WANG["number"])
        after = patient_call(platform, app, WANG, used, "GET", member_base, expect=200)
        check(next(r for r in after if r["id"] == theirs[0]["id"])["state"] == "active",
              "the binder accepts a relative's reminder in the app and becomes its caregiver")
    app.go("reminders")
    app.find("h2")
    time.sleep(0.5)
    check(not app.driver.find_elements(By.CSS_SELECTOR, card_css), "a reversed settlement's reminder leaves the list")


def scenario_refused_in_app(app, platform, used, base, screenshots):
    """Insufficient balance on a card, and the monthly binding limit, each shown in plain words."""
    # A card with 1.00 yuan on it pays 王芳's own contribution: the bank declines.
    _, card = platform.call("POST", "/v1/sandbox/cards", {"person_number": WANG["number"], "kind": "debit", "balance": 100}, auth=OPS, expect=201)
    number = card.get("card_number") or card.get("number")
    app.go("credit")
    app.fill("#card-number", number)
    app.submit("#card-form")
    app.answer_step_up(WANG["key"], used)
    app.wait_text("#sources", lambda text: number[-4:] in text)
    app.go("premiums")
    form = app.find("#premium-options form")
    select = form.find_element(By.CSS_SELECTOR, "select")
    low = next(o.get_attribute("value") for o in select.find_elements(By.TAG_NAME, "option") if o.text.strip().endswith(number[-4:]))
    app.driver.execute_script("arguments[0].value = arguments[1]", select, low)
    form_id = form.get_attribute("id")
    app.submit(f"#{form_id}")
    app.answer_step_up(WANG["key"], used)
    message = app.alert_text(f"#{form_id}")
    check(message == "银行拒绝了这笔支付（余额不足或卡片受限）", f"a card without enough money shows the plain message ({message})")
    app.shot("15-refused-premium")
    # The city's inclusive plan is offered among the contributions with the plan's premium: paying it joins.
    plans = [li for li in app.driver.find_elements(By.CSS_SELECTOR, "#premium-options li") if "惠民保" in li.text]
    check(bool(plans) and any("180.00" in li.text for li in plans), f"the inclusive plan (惠民保) is offered with its premium ({[li.text[:40] for li in plans]})")
    if plans:
        app.shot("15b-plan-offer", element=plans[0])

    # 马丽 may be bound at most twice a month: unbind, bind again (second), unbind, ask a third time.
    member = Browser(base, screenshots)
    try:
        sign_in(member, MA, used)
        bindings = patient_call(platform, app, WANG, used, "GET", "/v1/patient/family/bindings", expect=200)
        active = next(b["id"] for b in bindings if b["member_number"] == MA["number"] and b["state"] == "approved")
        request = {"member_number": MA["number"], "member_id_number": MA["id"], "relationship": "spouse"}
        patient_call(platform, app, WANG, used, "DELETE", f"/v1/patient/family/bindings/{active}", expect=200)
        second = patient_call(platform, app, WANG, used, "POST", "/v1/patient/family/bindings", request, expect=201)
        face = {"face_evidence": f"sandbox-face:{MA['number']}"}
        patient_call(platform, member, MA, used, "POST", f"/v1/patient/family/bindings/{second['id']}/confirm", face, expect=200)
        patient_call(platform, app, WANG, used, "DELETE", f"/v1/patient/family/bindings/{second['id']}", expect=200)
        patient_call(platform, app, WANG, used, "POST", "/v1/patient/family/bindings", request, expect=201)
        member.go("family")
        member.click(member.find("[data-binding] button.primary"))
        member.answer_step_up(MA["key"], used)
        message = member.wait_text("[data-binding] .error", lambda text: bool(text))
        check(message.startswith("本月绑定次数已达上限"), f"the monthly binding limit shows the plain message ({message})")
        member.shot("16-refused-binding")
    finally:
        member.close()


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
        scenario_family(app, platform, used, args.base, args.screenshots)
        scenario_orders(app, platform, used)
        scenario_credit(app, platform, used)
        scenario_screens(app)
        scenario_estimate(app, platform, used)
        scenario_reminders(app, platform, used)
        scenario_refused_in_app(app, platform, used, args.base, args.screenshots)
        scenario_refusals(platform, args.base, args.screenshots)
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
