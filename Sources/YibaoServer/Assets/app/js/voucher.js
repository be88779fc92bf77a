// The dynamic e-voucher code, computed on the phone (docs/e-voucher-code.md, YIBAO-EVC-1).
// The device secret becomes a non-extractable Web Crypto HMAC key kept in IndexedDB: the page can sign
// with it, nothing can read it back. The device number, the step and the clock offset sit next to it;
// nothing personal is stored.

const DB_NAME = 'yibao-device';
const STORE = 'keys';

function openDB() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(mode, action) {
  const db = await openDB();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = action(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request?.result);
    tx.onerror = () => reject(tx.error);
  });
}

/** RFC 4648 base 32 without padding → bytes. */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(c);
    if (index < 0) throw new Error('not base32');
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/** Keeps this browser's device: the key (non-extractable), its number, its step, the clock offset. */
export async function saveDevice(provisioned) {
  const key = await crypto.subtle.importKey('raw', base32Decode(provisioned.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const offsetMs = Date.parse(provisioned.server_time) - Date.now();
  const device = {
    key,
    deviceId: provisioned.device_id,
    deviceNumber: provisioned.device_number,
    stepSeconds: provisioned.step_seconds,
    offsetMs,
  };
  await transact('readwrite', (store) => store.put(device, 'device'));
  return device;
}

export async function loadDevice() {
  try {
    return (await transact('readonly', (store) => store.get('device'))) ?? null;
  } catch {
    return null;
  }
}

export async function forgetDevice() {
  await transact('readwrite', (store) => store.delete('device'));
}

/** Refreshes the clock offset from a server time (any response's Date header). */
export async function updateOffset(serverDate) {
  const device = await loadDevice();
  if (!device || !serverDate) return;
  const offsetMs = Date.parse(serverDate) - Date.now();
  // Date headers have one-second resolution: only a real drift is worth a write.
  if (Number.isFinite(offsetMs) && Math.abs(offsetMs - device.offsetMs) > 2000) {
    device.offsetMs = offsetMs;
    await transact('readwrite', (store) => store.put(device, 'device'));
  }
}

function luhnDigit(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** The code of the step `now` (ms, device clock) falls in, and when that step ends (ms, device clock). */
export async function currentCode(device, now = Date.now()) {
  const serverNow = now + device.offsetMs;
  const stepMs = device.stepSeconds * 1000;
  const step = Math.floor(serverNow / stepMs);
  const prefix = new TextEncoder().encode(`YIBAO-EVC-1|${device.deviceNumber}|`);
  const message = new Uint8Array(prefix.length + 8);
  message.set(prefix);
  new DataView(message.buffer).setBigUint64(prefix.length, BigInt(step));
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', device.key, message));
  const offset = mac[31] & 0x0f;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  const otp = String(bin % 100000000).padStart(8, '0');
  const body = `88${device.deviceNumber}${otp}`;
  return { code: body + luhnDigit(body), endsAt: (step + 1) * stepMs - device.offsetMs };
}
