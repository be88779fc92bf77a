"""The cashier console, the bureau dashboard and the front door in a real Chromium against a real
`yibao serve --demo` (scripts/browser-test).

A cashier signs in and, with the keyboard only, scans a patient's code (typed into the scan field as a
wedge scanner types it), adds lines by catalogue search, pre-settles, settles and prints the receipt;
refunds one line and sees the refund; a reversal of the partly refunded settlement is refused with the
reason shown. An operator approves an under-16 binding and the binder's phone app then shows it bound;
a viewer sees no action buttons; the overview's list of what waits for someone equals the API's counts; the fund overview's totals equal the fund report's (from the ledger)
and the counter's for the day; a policy opened shows the API's figures, and an administrator's policy
file is saved whole or, with a problem in any policy, not at all, and a commercial plan's file likewise (new,
then replaced, then refused with nothing changed); an administrator creates an operator
and issues a new token after a revocation (each shown once, each signing in), changes a partner bank's
credit terms (saved as typed; a bad figure refused with its field), subscribes a partner to three webhook
events, sees a settlement's delivery to its unreachable endpoint wait (tries and answer as the API has them,
and on the overview) and cancels it, opens a clearing after the demo's
clock steps a day ahead and deducts on one of its settlements, then closes the demo's first day (before
the clock moved, no day is offered: none ended in service), reconciles the bank's statement of it and
saves the month's fund report and the bank's payment file as the API has them; issues and revokes an institution key and revokes and
disables operators, each refused by the API afterwards. axe-core on every screen; screenshots at 1280x860."""

import argparse
import datetime
import glob
import json
import os
import sys
import time
import traceback
import uuid

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from yibao_browser import OPS, Browser, Platform, busy_once, demo_card, fresh_totp

PASSWORD = "Yibao-desk-2026"
# 周秀英, a Guangzhou resident (no personal account; card index 8), pays at the counter; 杨丽 (index 5)
# binds her son 徐小明, 11.
HUANG = {"number": "P440100000009", "id": "440106195206031098", "phone": "13800100009", "card": demo_card(8)}
YANG = {"number": "P440100000006", "id": "440106198810051064", "phone": "13800100006", "card": demo_card(5)}
XU = {"number": "P440100000011", "id": "440106201506011118"}
VIEWER = "op_demo_viewer_token"
OPERATOR = "op_demo_operator_token"

checks = []


def check(condition, what):
    assert condition, what
    checks.append(what)


def patient(platform, person, used):
    """Registers a demo person through the API and signs them in; returns their bearer token."""
    platform.call("POST", "/v1/patient/registration/sms", {"id_number": person["id"], "person_number": person["number"], "phone": person["phone"]}, auth="", expect=202)
    body = {"id_number": person["id"], "person_number": person["number"], "phone": person["phone"], "sms_code": platform.sms_code(person["phone"]), "password": PASSWORD}
    _, registered = platform.call("POST", "/v1/patient/registration", body, auth="", expect=201)
    person["key"] = registered["totp_secret"]
    return sign_in_api(platform, person, used)


def sign_in_api(platform, person, used):
    _, session = platform.call("POST", "/v1/patient/sessions", {"phone": person["phone"], "password": PASSWORD, "totp_code": fresh_totp(person["key"], used)}, auth="", expect=201)
    person["token"] = "Bearer " + session["token"]
    return person["token"]


def live_code(platform, person, used):
    """The patient's current pay code, as the phone shows it (a device enrolled once)."""
    if "device" not in person:
        _, device = platform.call("POST", "/v1/patient/devices", {"name": "desk test"}, auth=person["token"], expect=201)
        person["device"] = device["device_id"]
    _, code = platform.call("GET", f"/v1/patient/devices/{person['device']}/code", auth=person["token"], expect=200)
    return code["code"]


class Desk(Browser):
    def __init__(self, base, screenshots):
        super().__init__(base, screenshots, width=1280, height=860)

    def page(self, path):
        self.driver.get(f"{self.base}{path}")
        return self

    def keys(self, *keys):
        """Types into whatever has the focus, as a person at the keyboard (or a wedge scanner) does."""
        self.driver.switch_to.active_element.send_keys(*keys)

    def focused_id(self):
        return self.driver.switch_to.active_element.get_attribute("id")


def cashier_sign_in(desk, signins, used, who="demo-cashier"):
    staff = next(s for s in signins["staff"] if s["name"] == who)
    desk.page("/cashier/")
    desk.find("#signin-institution")
    desk.axe("cashier sign-in")
    desk.shot("desk-01-cashier-sign-in")
    # Keyboard only: the institution field has the focus; Tab moves on; Enter submits.
    check(desk.focused_id() == "signin-institution", "the cashier sign-in opens with the focus in the first field")
    desk.keys(staff["institution_code"], Keys.TAB, staff["name"], Keys.TAB, staff["password"], Keys.TAB, fresh_totp(staff["totp_key"], used), Keys.ENTER)
    desk.find("#scan")
    return staff


def scenario_cashier(desk, platform, signins, used):
    cashier_sign_in(desk, signins, used)
    check(desk.focused_id() == "scan", "after sign-in the focus is in the scan field")
    desk.axe("counter (empty)")
    code = live_code(platform, HUANG, used)
    # The scanner types the code and Enter.
    desk.keys(code, Keys.ENTER)
    desk.wait_text("#patient-number", lambda text: text == HUANG["number"])
    check(desk.focused_id() == "item-search", "the scanned code identifies the patient and moves the focus to the item search")
    # A line by name: type, Enter takes the first match, quantity, Enter adds it.
    desk.keys("头孢克肟")
    desk.find("#item-results [role=option]")
    desk.keys(Keys.ENTER)
    WebDriverWait(desk.driver, 10).until(lambda d: desk.focused_id() == "item-qty")
    desk.keys(Keys.BACKSPACE, "2", Keys.TAB, Keys.CONTROL, "a", Keys.NULL, "28.50")
    # A drug: its usage for the patient's medication reminder (three times a day, five days).
    desk.find("#item-usage")
    desk.driver.execute_script("document.getElementById('item-frequency').value = 'tid'; document.getElementById('item-days').value = '5'")
    desk.keys(Keys.ENTER)
    desk.find("#lines tr[data-line='1']")
    check("tid × 5天" in desk.text("#lines tr[data-line='1']"), "a drug's usage entered at the counter is on its line")
    # A line by code prefix.
    desk.keys("S000000000061")
    desk.find("#item-results [role=option]")
    desk.keys(Keys.ENTER)
    WebDriverWait(desk.driver, 10).until(lambda d: desk.focused_id() == "item-qty")
    check(not desk.driver.find_element(By.ID, "item-usage").is_displayed(), "a service line asks for no usage")
    desk.keys(Keys.TAB, Keys.CONTROL, "a", Keys.NULL, "10.00", Keys.ENTER)
    desk.find("#lines tr[data-line='2']")
    check(desk.text("#visit-total") == "67.00", f"two lines added by search from the keyboard: 2 × 28.50 + 10.00 ({desk.text('#visit-total')})")
    desk.keys(Keys.F8)
    desk.find("#preview")
    pre = {k: desk.text(f"#pre-{k}") for k in ("total", "fund", "account", "cash")}
    reasons = desk.text("#split-lines")
    check("乙类先行自付" in reasons, "the pre-settlement explains the self-paid part of a class B line")
    desk.axe("counter (pre-settled)")
    desk.shot("desk-02-cashier-pre-settlement")
    settlement_id, record = settle_at_counter(desk, platform)
    b = record["breakdown"]
    paid = {k: desk.text(f"#paid-{k}") for k in ("total", "fund", "account", "cash")}
    expected = {"total": b["medfee_sumamt"], "fund": b["fund_pay_sumamt"], "account": b["acct_pay"], "cash": b["psn_cash_pay"]}
    check(paid == {k: f"{v / 100:.2f}" for k, v in expected.items()}, f"the settled split on screen is the platform's ({paid})")
    check(pre == paid, "the pre-settlement showed what the settlement then paid")
    # Why the fund paid nothing: a resident's general outpatient care at a level-3 hospital is not covered.
    why = desk.find("#paid-why")
    check(b["pool_prop_selfpay"] == 0 and b["inscp_scp_amt"] > 0 and why.get_attribute("data-why") == "not-covered"
          and f"{b['inscp_scp_amt'] / 100:.2f} 元由个人负担" in why.text, f"the counter says why the fund paid nothing, with the amount in scope ({why.text})")
    check(b["psn_cash_pay"] > 0 and record["cash_collection"] != "counter", "the cash part was collected from the patient's card")
    dosage = record["lines"][0]["split"].get("dosage")
    check(dosage == {"frequency": "tid", "days": 5}, f"the usage went to the platform with the line, for the patient's reminder ({dosage})")
    check(desk.focused_id() == "print-receipt", "after settling, the focus is on printing the receipt")
    desk.shot("desk-03-cashier-settled")
    receipt = printed_receipt(desk, settlement_id, "desk-04-receipt")
    check(settlement_id in receipt and f"{b['medfee_sumamt'] / 100:.2f}" in receipt, "F10 opens the printable receipt of the settlement")
    check(True, "the whole settlement ran from the keyboard: scan, search, quantity, price, F8, F9, F10")
    return settlement_id, record


def settle_at_counter(desk, platform):
    """F9 on a pre-settled visit: waits for 结算完成 and returns the settlement's id and its record as the API has it."""
    desk.keys(Keys.F9)
    desk.wait_text("#settlement-state", lambda text: text == "结算完成")
    settlement_id = desk.text("#settlement-id")
    _, record = platform.call("GET", f"/v1/settlements/{settlement_id}", expect=200)
    return settlement_id, record


def printed_receipt(desk, settlement_id, shot):
    """F10 after a settlement: the receipt page opens in a new window; its text (and a screenshot), then back."""
    windows = set(desk.driver.window_handles)
    desk.keys(Keys.F10)
    WebDriverWait(desk.driver, 10).until(lambda d: len(d.window_handles) > len(windows))
    main = desk.driver.current_window_handle
    desk.driver.switch_to.window((set(desk.driver.window_handles) - windows).pop())
    WebDriverWait(desk.driver, 10).until(lambda d: settlement_id in d.find_element(By.TAG_NAME, "body").text)
    receipt = desk.driver.find_element(By.TAG_NAME, "body").text
    desk.shot(shot)
    desk.driver.close()
    desk.driver.switch_to.window(main)
    return receipt


def scenario_refund_and_reversal(desk, platform, settlement_id, record):
    desk.driver.execute_script("location.hash = '#/today'")
    row = desk.find(f"#day-table tr[data-settlement='{settlement_id}']")
    desk.axe("today's settlements")
    desk.click(row.find_element(By.CSS_SELECTOR, "[data-action=refund]"))
    desk.find("#refund-form")
    desk.click("#refund-lines input[data-line='2']")
    desk.axe("refund form")
    desk.submit("#refund-form")
    done = desk.text("#refund-done")
    refunds = [r for r in platform.call("GET", "/v1/settlements")[1]["records"] if r["kind"] == "refund" and r.get("original_id") == settlement_id]
    check(len(refunds) == 1 and refunds[0]["state"] == "completed", "refunding line 2 wrote one completed refund")
    amount = -refunds[0]["breakdown"]["medfee_sumamt"]
    check(amount == 1000 and f"{amount / 100:.2f}" in done, f"the cashier sees the refund of the line ({done})")
    desk.find(f"#day-table tr[data-kind=refund]")
    desk.shot("desk-05-refunded")
    row = desk.find(f"#day-table tr[data-settlement='{settlement_id}']")
    desk.click(row.find_element(By.CSS_SELECTOR, "[data-action=reverse]"))
    message = desk.wait_text("#day-alert", lambda text: bool(text))
    check(message == "这笔结算已部分退费，不能整笔冲正，请退还剩余部分", f"the reversal of a partly refunded settlement is refused and says why ({message})")
    _, after = platform.call("GET", f"/v1/settlements/{settlement_id}", expect=200)
    check(not after.get("reversed_by"), "nothing was reversed")
    _, day = platform.call("GET", "/v1/settlements", expect=200)
    shown = desk.text("#day-total")
    check(shown == f"{day['totals']['total'] / 100:.2f}", f"the day's net on screen is the platform's ({shown})")
    desk.shot("desk-06-reversal-refused")
    return day


def scenario_person_number(desk, platform):
    """The insurance number typed instead of a code: the cash part is collected at the counter."""
    desk.driver.execute_script("location.hash = '#/counter'")
    # The database does not answer in time when the visit is opened (503 `unavailable`: it may have been
    # opened). Opening a visit carries no Idempotency-Key, so the console does not send it again by
    # itself: it says so, and the cashier scans again.
    busy_once(desk.driver, r"/v1/visits$", code="unavailable")
    desk.find("#scan").send_keys("P440100000008", Keys.ENTER)
    refused = desk.wait_text("#counter-alert", lambda text: bool(text))
    time.sleep(2.5)
    sent = desk.driver.execute_script("return window.busyKeys")
    notices = desk.driver.find_elements(By.ID, "busy-notice")
    check(len(sent) == 1 and not any(notice.is_displayed() for notice in notices),
          f"a visit the database did not answer for is not opened again by itself ({len(sent)} sent; {refused})")
    # The message stays: the waiting list, refreshed after the refused scan, has an alert of its own (it
    # used to wipe the scan's message at once, so a refused code showed nothing).
    still = desk.text("#counter-alert")
    check(still == "系统暂时无法确认这笔操作是否完成，请查看后再试", f"the cashier is told the visit may or may not be open ({still})")
    desk.shot("desk-07a-open-unavailable")
    desk.driver.execute_script("window.fetch = window.realFetch")
    desk.find("#scan").send_keys("P440100000008", Keys.ENTER)
    desk.wait_text("#patient-number", lambda text: text == "P440100000008")
    options = [o.get_attribute("value") for o in desk.driver.find_elements(By.CSS_SELECTOR, "#cash-collection option")]
    check(options == ["counter"], "a visit opened by insurance number offers only collecting cash at the counter")
    desk.keys("XD0000000000")
    desk.find("#item-results [role=option]")
    desk.keys(Keys.ARROW_DOWN, Keys.ENTER)
    WebDriverWait(desk.driver, 10).until(lambda d: desk.focused_id() == "item-qty")
    desk.keys(Keys.TAB, Keys.CONTROL, "a", Keys.NULL, "abc", Keys.ENTER)
    message = desk.wait_text("#counter-alert", lambda text: bool(text))
    check(message and not desk.driver.find_elements(By.CSS_SELECTOR, "#lines tr[data-line]"), "a price that is not an amount adds nothing and says so")
    desk.keys(Keys.CONTROL, "a", Keys.NULL, "12.00", Keys.ENTER)
    desk.find("#lines tr[data-line='1']")
    check("XD00000000002" in desk.text("#lines"), "arrow down chose the second match")
    # The instance is full when F9 is pressed: the platform's first answer is its admission refusal (503
    # `overloaded`, Retry-After 1, before any work is done). The console says so, waits and sends the same
    # settlement again, with the same Idempotency-Key; the cashier does nothing.
    busy_once(desk.driver, r"/v1/visits/[^/]+/settlement$")
    desk.keys(Keys.F9)
    notice = desk.wait_text("#busy-notice", lambda text: "系统繁忙" in text)
    desk.shot("desk-03a-busy")
    desk.wait_text("#settlement-state", lambda text: text == "结算完成")
    sent = desk.driver.execute_script("return window.busyKeys")
    check(len(sent) == 2 and sent[0] and sent[0] == sent[1],
          f"a settlement refused because the platform was full is sent again by itself, with the same Idempotency-Key ({sent}; {notice})")
    check(not desk.driver.find_element(By.ID, "busy-notice").is_displayed(), "the busy notice goes once the settlement went through")
    _, settled = platform.call("GET", f"/v1/settlements/{desk.text('#settlement-id')}", expect=200)
    check(settled["state"] == "completed", "the retried settlement completed once")
    desk.driver.execute_script("window.fetch = window.realFetch")
    # A visit the HIS registered and nobody settled waits at the counter; the cashier takes it and settles.
    _, waiting = platform.call("POST", "/v1/visits", {"person_number": "P440100000008", "category": "11", "hospital_visit_number": "MZ-DESK-W1",
                                                      "lines": [{"line_number": "1", "item_code": "XD00000000001", "unit_price": 1280, "quantity": 1}]}, expect=201)
    desk.keys(Keys.F2)
    row = desk.find(f"#waiting-table tr[data-visit='{waiting['id']}']")
    desk.axe("counter (visits waiting)")
    desk.shot("desk-03b-waiting")
    desk.click(row.find_element(By.CSS_SELECTOR, "[data-action=take]"))
    desk.wait_text("#patient-line", lambda text: "MZ-DESK-W1" in text)
    desk.keys(Keys.F9)
    desk.wait_text("#settlement-state", lambda text: text == "结算完成")
    _, visit = platform.call("GET", f"/v1/visits/{waiting['id']}", expect=200)
    check(visit["state"] == "settled", "a visit waiting at the counter is taken and settled")
    # A registration made by mistake: the cashier takes it and cancels it (two clicks); it leaves the waiting list.
    _, mistaken = platform.call("POST", "/v1/visits", {"person_number": "P440100000008", "category": "11", "hospital_visit_number": "MZ-DESK-W2",
                                                       "lines": [{"line_number": "1", "item_code": "XD00000000001", "unit_price": 1280, "quantity": 1}]}, expect=201)
    desk.keys(Keys.F2)
    desk.click(desk.find(f"#waiting-table tr[data-visit='{mistaken['id']}'] [data-action=take]"))
    desk.wait_text("#patient-line", lambda text: "MZ-DESK-W2" in text)
    desk.click(desk.find("#cancel-visit"))
    desk.wait_text("#cancel-visit", lambda text: "再按一次" in text)
    _, still = platform.call("GET", f"/v1/visits/{mistaken['id']}", expect=200)
    check(still["state"] == "open", "the first click on cancel only asks")
    desk.shot("desk-03b1-cancel-asks")
    desk.click(desk.find("#cancel-visit"))
    desk.wait_text("#counter-alert", lambda text: "MZ-DESK-W2" in text and "已取消" in text)
    _, cancelled = platform.call("GET", f"/v1/visits/{mistaken['id']}", expect=200)
    check(cancelled["state"] == "cancelled", "the second click cancels the visit")
    WebDriverWait(desk.driver, 10).until(lambda d: not d.find_elements(By.CSS_SELECTOR, f"#waiting-table tr[data-visit='{mistaken['id']}']"))
    desk.shot("desk-03b2-cancelled")


def scenario_plan(desk, platform):
    """The patient joined the city's inclusive plan on his phone; his inpatient stay, registered by the HIS and
    taken at the counter, shows the plan's part in the pre-settlement, the settlement and the receipt."""
    year = str(time.gmtime(time.time() + 8 * 3600).tm_year)
    _, options = platform.call("GET", "/v1/patient/premiums", auth=HUANG["token"], expect=200)
    options = options.get("options", options) if isinstance(options, dict) else options
    offer = next(o for o in options if o["kind"] == "commercial_plan" and o["period"] == year)
    status, _ = platform.call("POST", "/v1/patient/premiums", {"person_number": HUANG["number"], "kind": "commercial_plan", "period": year,
                                                               "amount": offer["amount"]}, auth=HUANG["token"], key=f"desk-plan-{uuid.uuid4()}")
    check(status in (200, 201), f"the patient joined the inclusive plan ({status})")
    _, stay = platform.call("POST", "/v1/visits", {"person_number": HUANG["number"], "category": "21", "hospital_visit_number": "ZY-DESK-1",
                                                   "lines": [{"line_number": "1", "item_code": "S000000000068", "unit_price": 12000, "quantity": 10},
                                                             {"line_number": "2", "item_code": "XD00000000003", "unit_price": 2850, "quantity": 20}]}, expect=201)
    desk.keys(Keys.F2)
    row = desk.find(f"#waiting-table tr[data-visit='{stay['id']}']")
    desk.click(row.find_element(By.CSS_SELECTOR, "[data-action=take]"))
    desk.wait_text("#patient-line", lambda text: "ZY-DESK-1" in text)
    check(desk.text("#visit-category") == "普通住院", f"the counter says the visit taken is an inpatient stay, as the HIS registered it ({desk.text('#patient-line')})")
    desk.keys(Keys.F8)
    pre_plan = desk.text("#pre-plan")
    desk.axe("counter (pre-settled, with the plan)")
    desk.shot("desk-03c-cashier-plan")
    pre_why = desk.text("#pre-why")
    settlement_id, record = settle_at_counter(desk, platform)
    oth = record["breakdown"]["oth_pay"]
    b = record["breakdown"]
    said = f"政策范围内 {b['inscp_scp_amt'] / 100:.2f} 元：起付线 {b['act_pay_dedc'] / 100:.2f} 元由个人负担，其余按 {b['pool_prop_selfpay'] / 100:g}% 由统筹基金支付 {b['hifp_pay'] / 100:.2f} 元"
    check(b["hifp_pay"] > 0 and said in pre_why and said in desk.text("#paid-why"), f"the counter says how the fund's part was reached: in scope, deductible, ratio ({pre_why})")
    check(oth > 0 and pre_plan == desk.text("#paid-plan") == f"{oth / 100:.2f}", f"the counter shows the plan's part, pre-settled and paid ({pre_plan})")
    receipt = printed_receipt(desk, settlement_id, "desk-04b-receipt-plan")
    check(f"其中惠民保（商业保险）of which the commercial plan: {oth / 100:.2f}" in receipt, "the receipt names the plan's part")


def scenario_manager(desk, platform, signins, used):
    desk.click("#sign-out")
    cashier_sign_in(desk, signins, used, who="demo-manager")
    desk.driver.execute_script("location.hash = '#/staff'")
    desk.find("#staff-list tr[data-member='demo-cashier']")
    desk.fill("#new-name", "desk-trainee")
    desk.fill("#new-display", "王实习")
    desk.fill("#new-password", "Trainee-desk-2026")
    desk.submit("#staff-form")
    key = desk.text("#created-key")
    check(len(key) >= 16, "a manager creates a cashier and is shown the authenticator key once")
    desk.axe("staff")
    desk.shot("desk-07-staff")
    trainee = {"institution_code": "H44010000004", "name": "desk-trainee", "password": "Trainee-desk-2026", "totp_code": fresh_totp(key, used)}
    status, session = platform.call("POST", "/v1/staff/sessions", trainee, auth="", expect=201)
    row = desk.find("#staff-list tr[data-member='desk-trainee']")
    desk.click(row.find_element(By.CSS_SELECTOR, "button"))
    desk.wait_text("#staff-list tr[data-member='desk-trainee']", lambda text: "已停用" in text)
    status, _ = platform.call("GET", "/v1/staff/me", auth="Bearer " + session["token"])
    check(status == 401, "disabling the trainee ends their session at once")
    status, audit = platform.call("GET", "/v1/admin/audit/verification", auth=OPS, expect=200)
    check(not audit["problems"], "the audit log still verifies")


def bureau_sign_in(desk, token):
    desk.page("/bureau/")
    desk.find("#signin-token")
    desk.fill("#signin-token", token)
    desk.submit("#signin-form")
    desk.find("#nav-overview")


def scenario_review(desk, platform, used):
    patient(platform, YANG, used)
    _, binding = platform.call(
        "POST", "/v1/patient/family/bindings",
        {"member_number": XU["number"], "member_id_number": XU["id"], "relationship": "child", "document_type": "出生医学证明", "document_reference": "SCAN-2026-0042"},
        auth=YANG["token"], expect=201)
    desk.page("/bureau/")
    desk.find("#signin-token")
    desk.axe("bureau sign-in")
    desk.shot("desk-08-bureau-sign-in")
    bureau_sign_in(desk, OPERATOR)
    desk.driver.execute_script("location.hash = '#/reviews'")
    row = desk.find(f"#reviews-table tr[data-binding='{binding['id']}']")
    check("SCAN-2026-0042" in row.text, "the operator sees the document's reference")
    desk.axe("binding reviews")
    desk.shot("desk-09-reviews")
    row.find_element(By.CSS_SELECTOR, "input[data-note]").send_keys("出生证明与户籍一致")
    desk.click(row.find_element(By.CSS_SELECTOR, "[data-action=approve]"))
    desk.wait_text("#reviews-alert", lambda text: XU["number"] in text)
    # The binder's phone app shows the binding approved.
    phone = Browser(desk.base, desk.screenshots)
    try:
        phone.open("signin")
        phone.fill("#signin-phone", YANG["phone"])
        phone.fill("#signin-password", PASSWORD)
        phone.fill("#signin-code", fresh_totp(YANG["key"], used))
        phone.submit("#signin-form")
        phone.find("#home-balance")
        phone.go("family")
        state = phone.wait_text(f"[data-binding='{binding['id']}'] .binding-state", lambda text: bool(text))
        check(state == "已绑定", f"after the operator's approval the binder's app shows the child bound ({state})")
    finally:
        phone.close()


def scenario_bureau_screens(desk, platform):
    desk.driver.execute_script("location.hash = '#/overview'")
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    desk.find("#daily-chart")
    shown = {k: desk.text(f"#today-{k}") for k in ("total", "fund", "ownAccount", "cash")}
    _, report = platform.call("GET", f"/v1/admin/fund-report?from={today}&through={today}&verify=true", auth=OPS, expect=200)
    f = report["totals"]
    expected = {"total": f["total"], "fund": f["pooled_fund"] + f["above_cap_fund"] + f.get("plan", 0), "ownAccount": f["own_account"] + f["mutual_aid"], "cash": f["cash"]}
    check(report["anchor"].get("ledger_verified") is True, "the ledger verifies")
    check(shown == {k: f"{v / 100:.2f}" for k, v in expected.items()}, f"the overview's day totals are the fund report's from the ledger ({shown})")
    check(f.get("plan", 0) > 0 and desk.text("#today-plan") == f"{f['plan'] / 100:.2f}", f"the overview shows what the inclusive plan paid today, within the funds' ({f.get('plan')})")
    _, counter = platform.call("GET", "/v1/settlements", expect=200)
    _, ledger = platform.call("GET", "/v1/admin/ledger/verification", auth=OPS, expect=200)
    check(ledger["passed"], "the ledger's verification passes")
    bars = desk.driver.find_elements(By.CSS_SELECTOR, f"#daily-chart g[data-day='{today}']")
    check(bars and int(bars[0].get_attribute("data-total")) == f["total"], "today's bar in the chart carries the day's total")
    check(f["total"] == counter["totals"]["total"], "the overview's day total equals the counter's net (the only institution that settled today)")
    check_attention(desk, platform, "nothing waits yet")
    desk.axe("fund overview")
    desk.shot("desk-10-overview")
    for screen in ("reports", "people", "reference", "credit", "clearing", "close", "ledger"):
        desk.driver.execute_script("location.hash = arguments[0]", f"#/{screen}")
        desk.find(f"#nav-{screen}[aria-current=page]")
        time.sleep(0.5)
        desk.axe(screen)
    desk.driver.execute_script("location.hash = '#/credit'")
    desk.find("#credit-delinquency")
    _, watch = platform.call("GET", "/v1/admin/credit/delinquency", auth=OPS, expect=200)
    rows = desk.driver.find_elements(By.CSS_SELECTOR, "#credit-delinquency tr[data-line]")
    check(len(rows) == len(watch), f"the credit screen lists the lines overdue or suspended ({len(watch)})")
    _, partners = platform.call("GET", "/v1/admin/credit/partners", auth=OPS, expect=200)
    sandbox = next(p for p in partners if p["partner"] == "sandbox")
    cells = [c.text for c in desk.driver.find_elements(By.CSS_SELECTOR, "#credit-terms tr[data-partner='sandbox'] td")]
    check(cells[2:6] == [str(sandbox["billing_day"]), str(sandbox["grace_days"]), f"{sandbox['penalty_basis_points_per_day'] / 100:g}%", f"{sandbox['late_fee'] / 100:.2f}"],
          f"the partner's credit terms are shown as the API has them ({cells})")
    check(not desk.driver.find_elements(By.CSS_SELECTOR, "[data-edit]"), "an operator is not offered a change of terms (administrators only)")
    # Clearing: the period of today has not ended; the refusal is said in words and nothing is started.
    desk.driver.execute_script("location.hash = '#/clearing'")
    desk.fill("#clearing-institution", "H44010000004")
    desk.driver.execute_script("const f = document.getElementById('clearing-from'); f.value = arguments[0]", today)
    desk.submit("#clearing-form")
    message = desk.wait_text("#clearing-alert", lambda text: bool(text))
    check(message == "清算期间尚未结束，结束后才能申请", f"a clearing of a period not ended is refused in words ({message})")
    _, clearings = platform.call("GET", "/v1/admin/clearings", auth=OPS, expect=200)
    check(clearings == [], "nothing was started")
    desk.axe("clearing")
    desk.shot("desk-11b-clearing")
    desk.driver.execute_script("location.hash = '#/people'")
    desk.fill("#find-number", HUANG["number"])
    desk.submit("#find-form")
    person = desk.wait_text("#person", lambda text: "****" in text)
    check(HUANG["id"] not in person and "****" in person, "a person's ID number is shown masked")
    _, found = platform.call("GET", f"/v1/admin/people/{HUANG['number']}", auth=OPS, expect=200)
    check(found["status"] == "active" and "正常参保" in person, "the enrolment status is said in words (正常参保 for active)")
    desk.shot("desk-11-people")
    # The reference screen lists this year's inclusive plans with what each paid this month.
    desk.driver.execute_script("location.hash = '#/reference'")
    plans = desk.wait_text("#plans", lambda text: "穗岁康" in text and "兰州惠民保" in text)
    check("180.00" in plans and "穗岁康共保体" in plans, f"the bureau sees the region's inclusive plans, their insurers and premiums ({plans[:120]})")
    desk.axe("reference")
    desk.shot("desk-11c-reference")
    scenario_policies(desk, platform)
    # A catalogue imported as CSV (the one body the desks send as text, not JSON): the good row is
    # taken, the bad one listed with its reason, and the platform has the new item.
    desk.fill("#catalogue-csv", "region,code,name,specification,category,class,price_cap_yuan,first_self_pay_percent\n"
              "440100,XT0000000099,浏览器导入测试药品,10mg,drug,A,12.50,0\n440100,XT0000000098,坏行,10mg,drug,Z,1,0\n")
    desk.click("#import-button")
    imported = desk.wait_text("#import-result", lambda text: "class must be A, B or C" in text)
    check(imported.startswith("接受 1 · 新增 1") and "3 class must be A, B or C" in desk.text("#rejected-rows"), f"a CSV catalogue import takes the good row and lists the bad one ({imported[:60]})")
    _, item = platform.call("GET", "/v1/admin/catalogue/440100/XT0000000099", auth=OPS, expect=200)
    check(item["name"] == "浏览器导入测试药品" and item["price_cap"] == 1250, f"the imported item is in the catalogue ({item})")
    desk.shot("desk-11d-catalogue-import", bottom=True)
    # The daily close before any day ended in service: the demo's database was made today, so no day
    # is offered for closing (not fourteen days "not closed"), and the page says when the first is.
    _, calendar = platform.call("GET", "/v1/admin/calendar", auth=OPS, expect=200)
    desk.driver.execute_script("location.hash = '#/close'")
    if calendar["in_service_since"] == calendar["today"]:
        empty = desk.wait_text("#close-empty", lambda text: calendar["in_service_since"] in text)
        check(not desk.driver.find_elements(By.CSS_SELECTOR, "#closes, [data-close]"),
              f"before its first day in service ended, the daily close offers no day to close ({empty})")
    desk.driver.execute_script("location.hash = '#/ledger'")
    desk.wait_text("#ledger-state", lambda text: text == "通过")
    desk.wait_text("#audit-state", lambda text: text == "通过")
    desk.shot("desk-12-ledger")


def policy_file(platform, region, year, change):
    """The region's policies for the year as the API has them, as a policy file, after `change`; its path."""
    policies = [p for p in platform.call("GET", "/v1/admin/policies", auth=OPS, expect=200)[1] if p["region"] == region and p["year"] == year]
    body = {"region": region, "year": year, "policies": policies}
    change(body)
    path = f"/tmp/yibao-desk-policy-{uuid.uuid4().hex}.json"
    with open(path, "w", encoding="utf-8") as out:
        json.dump(body, out, ensure_ascii=False)
    return path


def ratio_at(platform, region, year, type, pool, level):
    _, policy = platform.call("GET", f"/v1/admin/policies/{region}/{year}/{type}", auth=OPS, expect=200)
    return next(rule["ratio"] for rule in policy[pool]["levels"] if rule["level"] == level)


def check_attention(desk, platform, when):
    """The overview's list of what waits for someone equals the API's counts, item by item; "nothing
    waits" when every count is 0. Returns what was shown."""
    def count(path, pick=len):
        return pick(platform.call("GET", path, auth=OPS, expect=200)[1])
    _, calendar = platform.call("GET", "/v1/admin/calendar", auth=OPS, expect=200)
    yesterday = datetime.date.fromisoformat(calendar["today"]) - datetime.timedelta(days=1)
    first = max(yesterday - datetime.timedelta(days=13), datetime.date.fromisoformat(calendar["in_service_since"]))
    days = (yesterday - first).days + 1 if first <= yesterday else 0
    closed = count(f"/v1/admin/daily-closes?from={first}&through={yesterday}") if days else 0
    expected = {"exceptions": count("/v1/admin/exceptions?state=open"), "reviews": count("/v1/admin/family/reviews"),
                "reports": count("/v1/admin/reports?state=open"), "adjustments": count("/v1/admin/adjustments?state=pending"),
                "clearings": count("/v1/admin/clearings?state=applied"), "closes": days - closed,
                "webhooks": count("/v1/admin/webhooks", lambda subs: sum(1 for s in subs if s["backlog"]["attempts"]))}
    waiting = {k: n for k, n in expected.items() if n}
    desk.find("#attention")
    shown = {li.get_attribute("data-attention"): int(li.get_attribute("data-count")) for li in desk.driver.find_elements(By.CSS_SELECTOR, "#attention li[data-attention]")}
    none = bool(desk.driver.find_elements(By.CSS_SELECTOR, "#attention [data-attention='none']"))
    check(shown == waiting and none == (not waiting), f"{when}: the overview lists what waits for someone as the API counts it ({shown or 'nothing'})")
    return shown


def scenario_policies(desk, platform):
    # A policy opened shows its figures as the API has them.
    desk.click("[data-open='440100-2026-390']")
    row = "#policy-inpatient-levels tr[data-level='3']"
    desk.wait_text(row, lambda text: "%" in text)
    _, policy = platform.call("GET", "/v1/admin/policies/440100/2026/390", auth=OPS, expect=200)
    rule = next(r for r in policy["inpatient"]["levels"] if r["level"] == "3")
    cells = [c.text for c in desk.driver.find_elements(By.CSS_SELECTOR, f"{row} td")]
    check(cells[1] == f"{rule['deductible'] / 100:.2f}" and cells[2] == f"{rule['ratio'] / 100:g}%",
          f"a policy opened shows each level's deductible and fund share as the API has them ({cells})")
    check("18000.00" in desk.text("#policy-inpatient-above") and "450000.00" in desk.text("#policy-inpatient-above"),
          "the catastrophic insurance's deductible and cap are shown")
    check(not desk.driver.find_elements(By.CSS_SELECTOR, "#policy-file, #plan-file"), "an operator is not offered the policy or plan upload (administrators only)")
    desk.axe("policy detail")
    desk.shot("desk-11f-policy", at=desk.find("#policy-detail"))


def scenario_policy_upload(desk, platform):
    desk.driver.execute_script("location.hash = '#/reference'")
    desk.find("#policy-file")
    # An administrator uploads Lanzhou's 2027 file with one figure changed: the page says what it
    # replaces, the second press saves it, and the API has the new figure.
    before = ratio_at(platform, "620100", 2027, "310", "inpatient", "3")
    others = ratio_at(platform, "620100", 2027, "390", "inpatient", "3")

    def changed(ratio):
        def change(body):
            for rule in body["policies"][0]["inpatient"]["levels"]:
                if rule["level"] == "3":
                    rule["ratio"] = ratio
        return change
    desk.driver.find_element(By.ID, "policy-file").send_keys(policy_file(platform, "620100", 2027, changed(before + 100)))
    preview = desk.wait_text("#policy-upload-result", lambda text: "将替换" in text)
    check("统筹区 620100，2027 年度" in preview and "现有的 2 项政策" in preview, f"the page says what the file holds and what it replaces ({preview[:120]})")
    check(ratio_at(platform, "620100", 2027, "310", "inpatient", "3") == before, "choosing the file saves nothing")
    desk.click("[data-action='save-policies']")
    desk.click("[data-confirm='save-policies']")
    saved = desk.wait_text("#policy-upload-result", lambda text: "已保存" in text)
    check(ratio_at(platform, "620100", 2027, "310", "inpatient", "3") == before + 100 and ratio_at(platform, "620100", 2027, "390", "inpatient", "3") == others,
          f"the uploaded file is saved as it was written ({saved})")
    # A file with a problem in its second policy saves none of it, and the page names the field.
    def broken(body):
        changed(before + 200)(body)
        body["policies"][1]["inpatient"]["levels"][0]["ratio"] = 12000
    desk.driver.find_element(By.ID, "policy-file").send_keys(policy_file(platform, "620100", 2027, broken))
    desk.wait_text("#policy-upload-result", lambda text: "将替换" in text)
    desk.click("[data-action='save-policies']")
    desk.click("[data-confirm='save-policies']")
    refused = desk.wait_text("#policy-upload-result", lambda text: "policies[1].inpatient.levels[0].ratio" in text)
    check(ratio_at(platform, "620100", 2027, "310", "inpatient", "3") == before + 100, f"a file with a problem saves none of its policies and names the field ({refused})")
    desk.shot("desk-11g-policy-refused", at=desk.find("#policy-upload"))
    path = f"/tmp/yibao-desk-policy-{uuid.uuid4().hex}.json"
    with open(path, "w") as out:
        out.write("region,year\n")
    desk.driver.find_element(By.ID, "policy-file").send_keys(path)
    message = desk.wait_text("#policy-upload-result", lambda text: "不是 JSON" in text)
    check(not desk.driver.find_elements(By.CSS_SELECTOR, "[data-action='save-policies']"), f"a file that is not JSON is refused before anything is sent ({message})")
    desk.axe("policy upload")
    for written in glob.glob("/tmp/yibao-desk-policy-*.json"):
        os.remove(written)


def scenario_plan_upload(desk, platform):
    """An administrator uploads Lanzhou's commercial plan for a year it has none: the page says it is
    new, the second press saves it and the API has it as written; the same file with another premium
    replaces it; one whose ratio is above 1 is refused with the problem in words and the saved plan
    does not change; a file that is not a plan is refused before anything is sent."""
    def plans():
        return platform.call("GET", "/v1/admin/plans", auth=OPS, expect=200)[1]

    current = [p for p in plans() if p["region"] == "620100"]
    year = max(p["year"] for p in current) + 1
    template = dict(max(current, key=lambda p: p["year"]), year=year, id=f"lanzhou-browser-{year}", name=f"兰州惠民保（浏览器测试 {year}）")
    template.pop("enrolment_opens", None)
    template.pop("enrolment_closes", None)

    def plan_file(**changes):
        path = f"/tmp/yibao-desk-plan-{uuid.uuid4().hex}.json"
        with open(path, "w", encoding="utf-8") as out:
            json.dump({**template, **changes}, out, ensure_ascii=False)
        return path

    def saved():
        status, plan = platform.call("GET", f"/v1/admin/plans/620100/{year}", auth=OPS)
        return plan if status == 200 else None

    def upload(path, expect):
        desk.driver.find_element(By.ID, "plan-file").send_keys(path)
        preview = desk.wait_text("#plan-upload-result", lambda text: expect in text)
        desk.click("[data-action='save-plan']")
        desk.click("[data-confirm='save-plan']")
        return preview

    desk.driver.execute_script("location.hash = '#/reference'")
    desk.find("#plan-file")
    preview = upload(plan_file(), "将新增")
    done = desk.wait_text("#plan-upload-result", lambda text: "已保存" in text)
    plan = saved()
    check(f"统筹区 620100，{year} 年度" in preview and plan is not None and plan["premium"] == template["premium"] and plan["name"] == template["name"],
          f"a new year's plan is described, then saved as written ({done})")
    desk.find(f"#plans tr[data-plan='{template['id']}']")
    upload(plan_file(premium=template["premium"] + 1000), "将替换")
    desk.wait_text("#plan-upload-result", lambda text: "已保存" in text)
    check(saved()["premium"] == template["premium"] + 1000, "the same region and year uploaded again replaces the plan")
    upload(plan_file(premium=1, ratios=dict(template["ratios"], in_scope_self_borne=12000)), "将替换")
    refused = desk.wait_text("#plan-upload-result", lambda text: "ratios are 0 to 1" in text)
    check(saved()["premium"] == template["premium"] + 1000, f"a plan with a ratio above 1 is refused in words and nothing changes ({refused})")
    desk.shot("desk-11k-plan-refused", at=desk.find("#plan-upload"))
    desk.driver.find_element(By.ID, "plan-file").send_keys(policy_file(platform, "620100", year, lambda body: None))
    message = desk.wait_text("#plan-upload-result", lambda text: "不是惠民保方案文件" in text)
    check(not desk.driver.find_elements(By.CSS_SELECTOR, "[data-action='save-plan']"), f"a policy file chosen as a plan is refused before anything is sent ({message})")
    desk.axe("plan upload")
    for written in glob.glob("/tmp/yibao-desk-plan-*.json") + glob.glob("/tmp/yibao-desk-policy-*.json"):
        os.remove(written)


def scenario_viewer(desk):
    desk.click("#sign-out")
    bureau_sign_in(desk, VIEWER)
    links = [a.get_attribute("id") for a in desk.driver.find_elements(By.CSS_SELECTOR, "#nav a")]
    check("nav-reviews" not in links and "nav-reports" not in links and "nav-access" not in links, f"a viewer is not offered the queues or the access screen ({links})")
    for screen, refused in (("people", "#enrol-form"), ("reference", "#import-button, #policy-file"), ("clearing", "#exceptions button, #clearing-form, #channel-form, #payment-file"), ("close", "[data-close]")):
        desk.driver.execute_script("location.hash = arguments[0]", f"#/{screen}")
        desk.find(f"#nav-{screen}[aria-current=page]")
        time.sleep(0.8)
        check(not desk.driver.find_elements(By.CSS_SELECTOR, refused), f"a viewer's {screen} screen has no action that would be refused ({refused})")
        # What is left out for a viewer leaves nothing behind (once, the word "null" was shown instead).
        stray = desk.driver.execute_script("return [...document.querySelector('main').childNodes].filter((n) => n.nodeType === 3 && n.textContent.trim()).map((n) => n.textContent)")
        check(not stray, f"a viewer's {screen} screen has no stray text where an action was left out ({stray})")
    desk.driver.execute_script("location.hash = '#/reviews'")
    time.sleep(0.5)
    check(desk.driver.find_elements(By.CSS_SELECTOR, "#overview-body, #daily-chart"), "a viewer sent to the review queue sees the overview instead")
    desk.shot("desk-13-viewer")


def until(predicate, seconds=8):
    """Whether `predicate()` holds within `seconds` (credentials are cached for 5 s per instance)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def scenario_access(desk, platform):
    """An administrator issues an institution key (its secret shown once, and it works), revokes it at
    once (refused from then on), revokes an operator's tokens and disables another: each asked to be
    confirmed first, each refused by the API afterwards."""
    desk.click("#sign-out")
    bureau_sign_in(desk, OPS.removeprefix("Bearer "))
    scenario_policy_upload(desk, platform)
    scenario_plan_upload(desk, platform)
    desk.click("#nav-access")
    desk.find("#operators tr[data-operator='demo-viewer']")
    desk.find("#keys tr[data-key]")
    check(not desk.driver.find_elements(By.CSS_SELECTOR, "#operators tr[data-operator='demo-admin'] button"), "an administrator is offered no action on their own row")
    desk.axe("access")
    # A new hospital registered, then chosen for its first key, which works at once.
    desk.fill("#institution-code", "H-1")
    desk.fill("#institution-name", "浏览器测试医院")
    desk.submit("#institution-form")
    refused = desk.wait_text("#institution-result", lambda text: bool(text))
    _, institutions = platform.call("GET", "/v1/admin/institutions", auth=OPS, expect=200)
    check(refused == "填写的内容不正确，请检查" and not any(i["name"] == "浏览器测试医院" for i in institutions), f"a code that is not letters and digits is refused, nothing registered ({refused})")
    desk.fill("#institution-code", "H44010000099")
    desk.driver.execute_script("document.getElementById('institution-level').value = '2'")
    desk.fill("#institution-payout", "BANK-0099")
    desk.submit("#institution-form")
    desk.wait_text("#institution-result", lambda text: "H44010000099" in text)
    _, institutions = platform.call("GET", "/v1/admin/institutions", auth=OPS, expect=200)
    new = next((i for i in institutions if i["code"] == "H44010000099"), None)
    check(new and new["name"] == "浏览器测试医院" and new["level"] == "2" and new["payout_account"] == "BANK-0099" and new["region"] == "440100",
          f"the new hospital is registered as entered ({new})")
    check(desk.driver.find_element(By.ID, "keys-institution").get_attribute("value") == "H44010000099", "the new hospital is chosen for its first key")
    desk.click("#issue-key")
    first_key = desk.wait_text("#issued-key-id", lambda text: text.startswith("K"))
    status, _ = platform.call("GET", "/v1/settlements", auth=f"Bearer {first_key}.{desk.text('#issued-secret')}")
    check(status == 200, f"the new hospital's first key authenticates it ({status})")
    # Institution keys: a new key for 广州示例第一医院, its secret shown once; it authenticates.
    desk.driver.execute_script("const s = document.getElementById('keys-institution'); s.value = 'H44010000002'; s.dispatchEvent(new Event('change'))")
    desk.wait_text("#keys", lambda text: "Kdemo-H44010000002" in text)
    desk.click("#issue-key")
    key_id = desk.wait_text("#issued-key-id", lambda text: text.startswith("K"))
    secret = desk.text("#issued-secret")
    row = desk.find(f"#keys tr[data-key='{key_id}']")
    old = desk.find("#keys tr[data-key='Kdemo-H44010000002'] td[data-state]")
    check(old.get_attribute("data-state") == "expiring" and "到期" in old.text, f"the earlier key now expires (rotation) ({old.text})")
    status, _ = platform.call("GET", "/v1/settlements", auth=f"Bearer {key_id}.{secret}")
    check(status == 200, f"the key whose secret was shown once authenticates the institution ({status})")
    desk.shot("desk-15-access-key-issued")
    # Revoked at once, after a confirmation.
    desk.click(row.find_element(By.CSS_SELECTOR, f"[data-action='revoke-{key_id}']"))
    desk.click(f"[data-confirm='revoke-{key_id}']")
    desk.wait_text("#access-alert", lambda text: key_id in text)
    state = desk.find(f"#keys tr[data-key='{key_id}'] td[data-state]")
    check(state.get_attribute("data-state") == "revoked" and not desk.driver.find_element(By.ID, "key-issued").text, f"the revoked key shows revoked and its secret is gone from the page ({state.text})")
    check(until(lambda: platform.call("GET", "/v1/settlements", auth=f"Bearer {key_id}.{secret}")[0] == 401), "requests with the revoked key are refused")
    # Operators: the viewer's tokens revoked; the operator disabled. A first press only asks.
    desk.click("[data-action='revoke-tokens-demo-viewer']")
    check(platform.call("GET", "/v1/admin/me", auth=f"Bearer {VIEWER}")[0] == 200, "the first press only asks: nothing is revoked yet")
    desk.click("[data-confirm='revoke-tokens-demo-viewer']")
    desk.wait_text("#operators tr[data-operator='demo-viewer'] td[data-live]", lambda text: text == "0")
    check(until(lambda: platform.call("GET", "/v1/admin/me", auth=f"Bearer {VIEWER}")[0] == 401), "the viewer's revoked token is refused")
    desk.click("[data-action='disable-demo-operator']")
    desk.click("[data-confirm='disable-demo-operator']")
    disabled = desk.wait_text("#operators tr[data-operator='demo-operator'] td[data-state]", lambda text: "已停用" in text)
    check(until(lambda: platform.call("GET", "/v1/admin/me", auth=f"Bearer {OPERATOR}")[0] == 401), f"the disabled operator's token is refused ({disabled})")
    check(not desk.driver.find_elements(By.CSS_SELECTOR, "[data-token='demo-operator']"), "a disabled operator is offered no new token")
    # The viewer whose tokens were revoked gets a new one, shown once; it works, the old one does not.
    desk.click("[data-token='demo-viewer']")
    shown = desk.wait_text("#issued-token", lambda text: text.startswith("op_"))
    _, me = platform.call("GET", "/v1/admin/me", auth=f"Bearer {shown}", expect=200)
    check(me == {"name": "demo-viewer", "role": "viewer"} and platform.call("GET", "/v1/admin/me", auth=f"Bearer {VIEWER}")[0] == 401,
          "a new token issued on the page works, and the revoked one stays refused")
    # A new operator: its first token is shown once and signs in with the role chosen.
    desk.fill("#operator-name", "desk-clerk")
    desk.driver.find_element(By.CSS_SELECTOR, "#operator-role option[value='operator']").click()
    desk.submit("#operator-form")
    created = desk.wait_text("#issued-token", lambda text: text.startswith("op_") and text != shown)
    _, me = platform.call("GET", "/v1/admin/me", auth=f"Bearer {created}", expect=200)
    check(me == {"name": "desk-clerk", "role": "operator"} and desk.find("#operators tr[data-operator='desk-clerk']"),
          "an operator created on the page signs in with its token and the role chosen, and is listed")
    check("只显示这一次" in desk.text("#operator-token"), "the page says the token is shown only once")
    desk.shot("desk-16b-operator-created")
    # Their role changed on the page, after a confirmation: the token they already have carries it.
    desk.driver.execute_script("const s = document.querySelector(\"[data-role-of='desk-clerk']\"); s.value = 'viewer'; s.dispatchEvent(new Event('change'))")
    desk.click("[data-action='role-desk-clerk']")
    check(platform.call("GET", "/v1/admin/me", auth=f"Bearer {created}", expect=200)[1]["role"] == "operator", "choosing a role changes nothing until it is confirmed")
    desk.click("[data-confirm='role-desk-clerk']")
    desk.wait_text("#access-alert", lambda text: "desk-clerk" in text)
    check(until(lambda: platform.call("GET", "/v1/admin/me", auth=f"Bearer {created}", expect=200)[1]["role"] == "viewer")
          and desk.find("#operators tr[data-operator='desk-clerk'] td[data-role]").get_attribute("data-role") == "viewer",
          "the role changed on the page is the one the operator's token carries, and the list shows it")
    check(not desk.driver.find_elements(By.CSS_SELECTOR, "[data-role-of='demo-admin']"), "an administrator cannot change their own role on the page")
    before = platform.call("GET", "/v1/admin/operators", auth=OPS, expect=200)[1]
    for taken, says in (("desk-clerk", "已经存在"), ("desk/clerk", "填写的内容不正确")):
        desk.fill("#operator-name", taken)
        desk.submit("#operator-form")
        message = desk.wait_text("#access-alert", lambda text: says in text)
        check(platform.call("GET", "/v1/admin/operators", auth=OPS, expect=200)[1] == before, f"{taken!r} is refused in words and nothing is created ({message})")
    desk.axe("access after changes")
    desk.shot("desk-16-access-operators")
    scenario_adjustments(desk, platform)


def scenario_webhooks(desk, platform):
    """An administrator subscribes a partner (a commercial insurer) to three event types from the access
    screen: the API then has exactly that subscription, and its signing secret is shown once on the
    page; an address that is not https is refused with its field and nothing is added; the
    subscription cancelled from the page is gone from the API."""
    def partner_subscriptions():
        return [s for s in platform.call("GET", "/v1/admin/webhooks", auth=OPS, expect=200)[1] if s["owner"] == "partner:浏览器测试保险公司"]

    desk.driver.execute_script("location.hash = '#/access'")
    desk.find("#webhook-form")
    desk.fill("#webhook-partner", "浏览器测试保险公司")
    desk.fill("#webhook-url", "http://insurer.example.com/hooks")
    desk.click("[data-event='plan.claim']")
    desk.submit("#webhook-form")
    refused = desk.wait_text("#access-alert", lambda text: "url" in text)
    check(not partner_subscriptions(), f"a plain-http address is refused with its field, and nothing is subscribed ({refused})")
    desk.fill("#webhook-url", "https://insurer.invalid/yibao/hooks")
    desk.click("[data-event='premium.paid']")
    desk.click("[data-event='settlement.completed']")
    desk.submit("#webhook-form")
    secret = desk.wait_text("#webhook-secret-value", lambda text: len(text) >= 24)
    subscriptions = partner_subscriptions()
    check(len(subscriptions) == 1 and subscriptions[0]["url"] == "https://insurer.invalid/yibao/hooks"
          and sorted(subscriptions[0]["events"]) == ["plan.claim", "premium.paid", "settlement.completed"] and "secret" not in subscriptions[0],
          f"the partner is subscribed to exactly the three events, at that address; the list never carries the secret ({subscriptions})")
    webhook = subscriptions[0]["id"]
    waiting = desk.find(f"#webhooks tr[data-webhook='{webhook}'] td[data-pending]")
    check(waiting.get_attribute("data-pending") == str(subscriptions[0]["backlog"]["pending"]) == "0" and waiting.text == "均已送达",
          f"the new subscription shows what waits for it, as the API has it: nothing ({waiting.text})")
    shown = {e.get_attribute("data-event-type"): e.text for e in desk.driver.find_elements(By.CSS_SELECTOR, f"#webhooks tr[data-webhook='{webhook}'] [data-event-type]")}
    check(sorted(shown) == sorted(subscriptions[0]["events"]) and shown["settlement.completed"] == "结算完成" and shown["plan.claim"] == "惠民保理赔",
          f"its events are listed in words, each the API's type ({shown})")
    desk.axe("partners' webhooks")
    desk.shot("desk-16c-webhooks", at=desk.find("#webhooks-card"))
    check(secret not in desk.driver.page_source.replace(f">{secret}<", "") , "the secret appears once on the page")
    scenario_webhook_refused(desk, platform, webhook)
    desk.click(f"[data-action='cancel-{webhook}']")
    desk.click(f"[data-confirm='cancel-{webhook}']")
    desk.wait_text("#access-alert", lambda text: "浏览器测试保险公司" in text)
    check(not partner_subscriptions() and not desk.driver.find_elements(By.CSS_SELECTOR, f"#webhooks tr[data-webhook='{webhook}']"),
          "the subscription cancelled from the page is gone from the API and the list")


def scenario_webhook_refused(desk, platform, webhook):
    """The partner's endpoint cannot be reached (insurer.invalid has no address: RFC 6761): a settlement's
    event waits for it, and the bureau sees that on the access screen as the API has it — how many wait,
    since when, how many tries, what the endpoint answered — and on the overview's list of what waits."""
    _, visit = platform.call("POST", "/v1/visits", {"person_number": "P440100000008", "category": "11", "hospital_visit_number": "MZ-DESK-WH1",
                                                    "lines": [{"line_number": "1", "item_code": "XD00000000001", "unit_price": 1280, "quantity": 1}]}, expect=201)
    platform.call("POST", f"/v1/visits/{visit['id']}/settlement", {"use_account": True}, key="MZ-DESK-WH1-pay", expect=201)

    def backlog():
        subscription = [s for s in platform.call("GET", "/v1/admin/webhooks", auth=OPS, expect=200)[1] if s["id"] == webhook]
        return subscription[0]["backlog"] if subscription else {}
    deadline = time.time() + 90
    while not backlog().get("attempts") and time.time() < deadline:
        time.sleep(1)
    waiting = backlog()
    check(waiting.get("pending", 0) >= 1 and waiting.get("attempts", 0) >= 1 and "insurer.invalid has no address" in waiting.get("last_error", ""),
          f"the delivery to an endpoint that cannot be reached was tried, failed and waits ({waiting})")
    desk.driver.execute_script("location.hash = '#/'")
    attention = desk.find("#attention li[data-attention='webhooks']")
    tried = sum(1 for s in platform.call("GET", "/v1/admin/webhooks", auth=OPS, expect=200)[1] if s["backlog"]["attempts"])
    check(attention.get_attribute("data-count") == str(tried) and tried >= 1,
          f"the overview lists the subscribers whose deliveries wait, as the API counts them ({attention.text})")
    # The delivery is tried again every few seconds: compare the page with the API when no try came
    # between the API's answer before the page was drawn and the one after.
    for _ in range(10):
        before = backlog()
        desk.driver.execute_script("location.hash = '#/'")
        desk.find("#attention")
        desk.driver.execute_script("location.hash = '#/access'")
        cell = desk.find(f"#webhooks tr[data-webhook='{webhook}'] td.error[data-pending]")
        shown = cell.text
        if backlog() == before:
            break
    waiting = before
    check(cell.get_attribute("data-pending") == str(waiting["pending"]) and f"{waiting['pending']} 条待送达" in shown
          and f"已尝试 {waiting['attempts']} 次" in shown and waiting["last_error"][:20] in shown,
          f"the access screen shows what waits for the partner as the API has it: count, tries and the endpoint's answer ({shown})")
    desk.axe("a partner whose deliveries wait")
    desk.shot("desk-16d-webhook-waiting", at=desk.find("#webhooks-card"))


def scenario_credit_terms(desk, platform):
    """An administrator changes the sandbox bank's terms: saved exactly as typed; a billing day no month
    has is refused by the platform with the field named, and a word where a number goes is refused
    before anything is sent; neither changes anything."""
    terms = lambda: next(p for p in platform.call("GET", "/v1/admin/credit/partners", auth=OPS, expect=200)[1] if p["partner"] == "sandbox")
    before = terms()
    desk.driver.execute_script("location.hash = '#/credit'")
    desk.click(desk.find("[data-edit='sandbox']"))
    desk.fill("#terms-grace-days", str(before["grace_days"] + 1))
    desk.fill("#terms-late-fee", "12.34")
    desk.submit("#terms-form")
    desk.wait_text("#credit-alert", lambda text: "已保存 sandbox" in text)
    after = terms()
    check(after == {**before, "grace_days": before["grace_days"] + 1, "late_fee": 1234}, f"the terms are saved exactly as typed ({after})")
    desk.click(desk.find("[data-edit='sandbox']"))
    desk.fill("#terms-billing-day", "31")
    desk.submit("#terms-form")
    refused = desk.wait_text("#terms-result", lambda text: "billing_day" in text)
    check(terms() == after, f"a billing day no month has is refused with its field, and nothing changes ({refused})")
    desk.fill("#terms-billing-day", "5")
    desk.fill("#terms-suspend", "thirty")
    desk.submit("#terms-form")
    refused = desk.wait_text("#terms-result", lambda text: "请填写" in text)
    check(terms() == after, f"a word where a number goes is refused before anything is sent ({refused})")
    desk.axe("credit terms")
    desk.shot("desk-11i-credit-terms", bottom=True)


def scenario_clearing_detail(desk, platform, record):
    """The demo's sandbox clock moved a day ahead from the clearing screen; today's period, now ended,
    cleared from the page; the clearing opened shows the settlements it carries as the API has them,
    and a deduction on one settlement is taken back from exactly that one. Runs last: the clock only
    moves forward."""
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    desk.driver.execute_script("location.hash = '#/clearing'")
    desk.find("#clock-advance")
    desk.click("#clock-advance")
    desk.wait_text("#sandbox-clock", lambda text: "快 1 天" in text)
    _, clock = platform.call("GET", "/v1/sandbox/clock", auth=OPS, expect=200)
    check(clock["offset_seconds"] == 86400, f"the demo's clock moved a day ahead from the page ({clock['now']})")
    desk.fill("#clearing-institution", "H44010000004")
    desk.driver.find_element(By.CSS_SELECTOR, f"#clearing-type option[value='{record['insurance_type']}']").click()
    desk.driver.execute_script("const f = document.getElementById('clearing-from'); f.value = arguments[0]", today)
    desk.driver.execute_script("const f = document.getElementById('clearing-through'); f.value = arguments[0]", today)
    desk.submit("#clearing-form")
    desk.find("#clearings tr[data-clearing] [data-detail]")
    _, clearings = platform.call("GET", "/v1/admin/clearings", auth=OPS, expect=200)
    check(len(clearings) == 1 and clearings[0]["state"] == "applied", f"today's period, ended by the sandbox clock, is cleared from the page ({len(clearings)})")
    clearing_id = clearings[0]["id"]
    desk.click(f"[data-detail='{clearing_id}']")
    desk.find("#clearing-items")
    _, detail = platform.call("GET", f"/v1/admin/clearings/{clearing_id}", auth=OPS, expect=200)
    shown = [r.get_attribute("data-item") for r in desk.driver.find_elements(By.CSS_SELECTOR, "#clearing-items tr[data-item]")]
    check(shown == [i["settlement_id"] for i in detail["items"]] and record["id"] in shown, f"the clearing opened lists the settlements it carries, as the API has them ({len(shown)})")
    # The settlement the institution is owed most for (a resident's outpatient at level 3 is owed nothing).
    item = max((i for i in detail["items"] if i["kind"] == "settlement"), key=lambda i: i["owed"])
    row = f"#clearing-items tr[data-item='{item['settlement_id']}']"
    cells = [c.text for c in desk.driver.find_elements(By.CSS_SELECTOR, f"{row} td")]
    check(item["owed"] >= 100 and cells[4] == f"{item['total'] / 100:.2f}" and cells[5] == f"{item['owed'] / 100:.2f}",
          f"each item shows its total and what the institution is owed ({cells[:6]})")
    nothing_owed = [i["settlement_id"] for i in detail["items"] if i["owed"] <= 0]
    check(all(not desk.driver.find_elements(By.CSS_SELECTOR, f"#clearing-items tr[data-item='{sid}'] button") for sid in nothing_owed),
          f"an item the institution is owed nothing for offers no deduction ({len(nothing_owed)})")
    # A deduction of 1.00 on that settlement (审核扣款).
    inputs = desk.driver.find_elements(By.CSS_SELECTOR, f"{row} input")
    inputs[0].send_keys("1.00")
    inputs[1].send_keys("超量开药（浏览器测试）")
    desk.click(f"{row} [data-deduct='{item['settlement_id']}']")
    desk.wait_text(f"{row} td[data-deducted]", lambda text: text == "1.00")
    _, after = platform.call("GET", f"/v1/admin/clearings/{clearing_id}", auth=OPS, expect=200)
    deductions = after["clearing"]["deductions"]
    check(len(deductions) == 1 and deductions[0]["settlement_id"] == item["settlement_id"] and deductions[0]["amount"] == 100
          and after["clearing"]["payable"] == detail["clearing"]["payable"] - 100,
          f"the deduction is on that settlement, exactly 1.00, and the clearing pays 1.00 less ({after['clearing']['payable']})")
    desk.axe("clearing detail")
    desk.shot("desk-11h-clearing-detail", at=desk.find("#clearing-detail"))


WANG = "P440100000002"  # 王芳, the demo's patient, with a personal account


def scenario_daily_close(desk, platform):
    """After the sandbox clock's day ahead, the demo's first day in service has ended: the daily close
    lists exactly that day, closes it from the page, and shows it closed with its ledger verified and
    its settlements, as the API has them. Runs after the clock moved."""
    _, calendar = platform.call("GET", "/v1/admin/calendar", auth=OPS, expect=200)
    yesterday = (datetime.date.fromisoformat(calendar["today"]) - datetime.timedelta(days=1)).isoformat()
    desk.driver.execute_script("location.hash = '#/close'")  # from the clearing screen
    row = f"#closes tr[data-day='{yesterday}']"
    desk.find(row)
    listed = [r.get_attribute("data-day") for r in desk.driver.find_elements(By.CSS_SELECTOR, "#closes tr[data-day]")]
    check(yesterday == calendar["in_service_since"] and listed == [yesterday], f"the daily close lists the days in service through yesterday, by the platform's clock ({listed})")
    desk.click(f"[data-close='{yesterday}']")
    desk.wait_text("#close-alert", lambda text: yesterday in text)
    _, closes = platform.call("GET", f"/v1/admin/daily-closes?from={yesterday}&through={yesterday}", auth=OPS, expect=200)
    check(len(closes) == 1 and closes[0]["ledger"]["passed"], f"the day closed from the dashboard is closed, its ledger verified ({[c['day'] for c in closes]})")
    check(desk.find(f"{row} td[data-state]").get_attribute("data-state") == "closed" and desk.find(f"{row} td[data-ledger]").get_attribute("data-ledger") == "passed",
          "the dashboard shows the day closed and its ledger verified")
    settled = closes[0]["fund_report"]["totals"]["settlements"]
    check(settled > 0 and desk.text(f"{row} td[data-settlements]") == str(settled), f"the day's settlements are the close's fund report's ({settled})")
    desk.axe("daily close")
    desk.shot("desk-11e-daily-close")


def scenario_bank_files(desk, platform):
    """The files a bureau takes away and the bank's day, from the pages: the month's fund report saved as
    CSV is byte for byte the API's; the bank's payment instruction file likewise; the bank's statement of
    the demo's first day (ended by the sandbox clock) reconciled from the clearing screen shows what the
    run recorded, balanced, with the day's card captures. Runs after the clock moved."""
    desk.driver.execute_script("location.hash = '#/overview'")
    shown = check_attention(desk, platform, "after the adjustment above the line and the clearing applied")
    check(shown.get("adjustments") == 1 and shown.get("clearings") == 1, f"the adjustment and the clearing waiting are among them ({shown})")
    desk.shot("desk-10b-attention", at=desk.find("#attention"))
    desk.click("#export-fund-report")
    day = desk.driver.execute_script("return document.getElementById('overview-day').value")
    month_start = day[:8] + "01"
    name = f"yibao-fund-report-{month_start}-{day}.csv"
    saved = desk.downloaded(name)
    _, api_csv = platform.call("GET", f"/v1/admin/fund-report.csv?from={month_start}&through={day}", auth=OPS, expect=200)
    check(saved == api_csv and saved.startswith("view,region,insurance_type") and "\ntotal," in saved,
          f"the month's fund report saved from the overview is the API's CSV ({name}, {len(saved)} bytes)")
    desk.driver.execute_script("location.hash = '#/clearing'")
    desk.click("#payment-file")
    saved = desk.downloaded("yibao-payment-instructions.csv")
    _, api_csv = platform.call("GET", "/v1/admin/payment-instructions.csv", auth=OPS, expect=200)
    check(saved == api_csv and saved != "", f"the bank's payment instruction file saved from the clearing screen is the API's ({len(saved)} bytes)")
    _, calendar = platform.call("GET", "/v1/admin/calendar", auth=OPS, expect=200)
    first = calendar["in_service_since"]
    desk.driver.execute_script("const f = document.getElementById('channel-day'); f.value = arguments[0]", first)
    desk.submit("#channel-form")
    result = desk.find(f"#channel-result[data-day='{first}']")
    _, runs = platform.call("GET", "/v1/admin/reconciliations", auth=OPS, expect=200)
    run = next(r for r in runs if r["kind"] == "channel" and r["period"]["from"] == first)
    shown = result.text
    statement, ours = run["summary"].split(" on the statement, ")[0], run["summary"].split(", ")[1].split(" in Yibao")[0]
    check(run["balanced"] and result.get_attribute("data-breaks") == "0" and f"对账单 {statement} 笔，平台 {ours} 笔" in shown and int(statement) > 0 and "扣款 0.00" not in shown,
          f"the bank's statement of the first day, reconciled from the page, is what the run recorded: balanced, with the day's captures ({shown})")
    desk.axe("bank files and the bank's day")
    desk.shot("desk-11j-bank-day", at=desk.find("#channel-form"))


def scenario_adjustments(desk, platform):
    """An administrator adjusts a personal account by hand: a small correction posts at once (the
    balance moves by exactly that), one above the approval line waits for another administrator (the
    balance does not move, and the requester is offered no approval), a non-amount is refused before
    anything is sent."""
    def balance():
        return platform.call("GET", f"/v1/admin/people/{WANG}", auth=OPS, expect=200)[1]["account_balance"]

    def pending():
        return platform.call("GET", "/v1/admin/adjustments?state=pending", auth=OPS, expect=200)[1]

    desk.driver.execute_script("location.hash = '#/people'")
    desk.fill("#find-number", WANG)
    desk.submit("#find-form")
    desk.wait_text("#person", lambda text: WANG in text)
    before, waiting = balance(), len(pending())
    desk.fill("#adjust-amount", "12.34")
    desk.fill("#adjust-reason", "期初余额更正（浏览器测试）")
    desk.click("[data-action='adjust']")
    desk.click("[data-confirm='adjust']")
    posted = desk.wait_text("#adjust-result", lambda text: bool(text))
    check(posted == "已入账 12.34 元" and balance() == before + 1234, f"a correction below the approval line posts at once, exactly ({posted}: {before} → {balance()})")
    shown = desk.wait_text("#person", lambda text: f"{(before + 1234) / 100:.2f}" in text)
    check(f"{(before + 1234) / 100:.2f}" in shown, "the person's balance on the page is the new one")
    desk.fill("#adjust-amount", "20000")
    desk.fill("#adjust-reason", "大额更正（浏览器测试）")
    desk.click("[data-action='adjust']")
    desk.click("[data-confirm='adjust']")
    message = desk.wait_text("#adjust-result", lambda text: "等待另一位管理员" in text)
    waits = [a for a in pending() if a["person_number"] == WANG and a["amount"] == 2_000_000]
    check(len(waits) == 1 and len(pending()) == waiting + 1 and balance() == before + 1234, f"one above the approval line waits, nothing posted ({message})")
    row = desk.find(f"#adjustments tr[data-adjustment='{waits[0]['id']}']")
    check("等待另一位管理员" in row.text and not row.find_elements(By.CSS_SELECTOR, "button"), "the administrator who asked is offered no approval of their own request")
    desk.fill("#adjust-amount", "1.234")
    desk.click("[data-action='adjust']")
    desk.click("[data-confirm='adjust']")
    refused = desk.wait_text("#adjust-result", lambda text: "请输入金额" in text)
    check(len(pending()) == waiting + 1 and balance() == before + 1234, f"a non-amount is refused before anything is sent ({refused})")
    desk.axe("people with adjustments")
    desk.shot("desk-17-adjustments", bottom=True)


def scenario_front_door(desk):
    desk.page("/")
    desk.find("#door-cashier")
    desk.wait_text("#demo-list", lambda text: "demo-cashier" in text)
    desk.axe("front door")
    desk.shot("desk-00-front-door")
    check(True, "the front door links the four doors and lists the demo sign-ins")
    desk.click("#door-api")
    desk.find("details.op[data-path='/v1/visits/{visit_id}/settlement']")
    count = len(desk.driver.find_elements(By.CSS_SELECTOR, "details.op"))
    check(count >= 150, f"the API reference renders every operation from /openapi.json ({count})")
    desk.click("details.op[data-path='/v1/visits/{visit_id}/settlement'] summary")
    desk.axe("API reference")
    desk.shot("desk-14-api-reference")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    platform = Platform(args.base)
    _, signins = platform.call("GET", "/v1/demo/sign-ins", auth="", expect=200)
    used = set()
    patient(platform, HUANG, used)
    platform.call("POST", "/v1/patient/funding-sources", {"card_number": HUANG["card"]}, auth=HUANG["token"], expect=201)
    desk = Desk(args.base, args.screenshots)
    try:
        scenario_front_door(desk)
        settlement_id, record = scenario_cashier(desk, platform, signins, used)
        scenario_refund_and_reversal(desk, platform, settlement_id, record)
        scenario_person_number(desk, platform)
        scenario_plan(desk, platform)
        scenario_manager(desk, platform, signins, used)
        scenario_review(desk, platform, used)
        scenario_bureau_screens(desk, platform)
        scenario_viewer(desk)
        scenario_access(desk, platform)
        scenario_webhooks(desk, platform)
        scenario_credit_terms(desk, platform)
        scenario_clearing_detail(desk, platform, record)
        scenario_daily_close(desk, platform)
        scenario_bank_files(desk, platform)
    except Exception:
        traceback.print_exc()
        if args.screenshots:
            desk.shot("desk-failure")
        print(f"{len(checks)} checks passed before the failure", file=sys.stderr)
        sys.exit(1)
    finally:
        desk.close()
    for what in checks:
        print(f"✔ {what}")
    print(f"desk: {len(checks)} checks passed")


if __name__ == "__main__":
    main()
