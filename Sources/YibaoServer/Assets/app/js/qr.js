// A compact QR Code encoder (ISO/IEC 18004): byte mode, level M, versions 1-10 — a port of
// Sources/YibaoCore/QRCode.swift so the phone draws its code with no network. Checked in the browser
// tests by decoding the drawn image with zbarimg.

const BLOCKS = [
  [10, [[1, 16]]], [16, [[1, 28]]], [26, [[1, 44]]], [18, [[2, 32]]], [24, [[2, 43]]],
  [16, [[4, 27]]], [18, [[4, 31]]], [22, [[2, 38], [2, 39]]], [22, [[3, 36], [2, 37]]], [26, [[4, 43], [1, 44]]],
];
const ALIGNMENT = [[], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]];
const REMAINDER_BITS = [0, 7, 7, 7, 7, 7, 0, 0, 0, 0];

const capacity = (version) => BLOCKS[version - 1][1].reduce((sum, [count, data]) => sum + count * data, 0);

function gfMultiply(x, y) {
  let result = 0;
  let a = x;
  let b = y;
  while (b > 0) {
    if (b & 1) result ^= a;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
    b >>= 1;
  }
  return result;
}

function generator(degree) {
  const coefficients = new Array(degree).fill(0);
  coefficients[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      coefficients[j] = gfMultiply(coefficients[j], root);
      if (j + 1 < degree) coefficients[j] ^= coefficients[j + 1];
    }
    root = gfMultiply(root, 2);
  }
  return coefficients;
}

function remainder(data, gen) {
  let result = new Array(gen.length).fill(0);
  for (const byte of data) {
    const factor = byte ^ result[0];
    result = result.slice(1).concat([0]);
    for (let i = 0; i < gen.length; i++) result[i] ^= gfMultiply(gen[i], factor);
  }
  return result;
}

function dataCodewords(bytes, version) {
  const bits = [];
  const append = (value, count) => {
    for (let shift = count - 1; shift >= 0; shift--) bits.push((value >> shift) & 1);
  };
  append(0b0100, 4);
  append(bytes.length, version < 10 ? 8 : 16);
  for (const byte of bytes) append(byte, 8);
  const capacityBits = capacity(version) * 8;
  append(0, Math.min(4, capacityBits - bits.length));
  while (bits.length % 8) bits.push(0);
  const codewords = [];
  for (let i = 0; i < bits.length; i += 8) codewords.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  let pad = 0xec;
  while (codewords.length < capacity(version)) {
    codewords.push(pad);
    pad = pad === 0xec ? 0x11 : 0xec;
  }
  return codewords;
}

function interleave(data, version) {
  const [ecPerBlock, groups] = BLOCKS[version - 1];
  const blocks = [];
  let offset = 0;
  for (const [count, size] of groups) {
    for (let i = 0; i < count; i++) {
      blocks.push(data.slice(offset, offset + size));
      offset += size;
    }
  }
  const gen = generator(ecPerBlock);
  const ec = blocks.map((block) => remainder(block, gen));
  const result = [];
  const longest = Math.max(...blocks.map((b) => b.length));
  for (let i = 0; i < longest; i++) for (const block of blocks) if (i < block.length) result.push(block[i]);
  for (let i = 0; i < ecPerBlock; i++) for (const block of ec) result.push(block[i]);
  return result;
}

function template(version) {
  const size = 17 + 4 * version;
  const matrix = Array.from({ length: size }, () => new Array(size).fill(false));
  const fn = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (x, y, dark) => {
    matrix[y][x] = dark;
    fn[y][x] = true;
  };
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx;
        const y = cy + dy;
        if (x < 0 || x >= size || y < 0 || y >= size) continue;
        const distance = Math.max(Math.abs(dx), Math.abs(dy));
        set(x, y, distance !== 2 && distance !== 4);
      }
    }
  }
  const positions = ALIGNMENT[version - 1];
  const last = positions.length - 1;
  positions.forEach((ay, i) => {
    positions.forEach((ax, j) => {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    });
  });
  for (let i = 0; i < 9; i++) {
    fn[8][i] = true;
    fn[i][8] = true;
  }
  for (let i = 0; i < 8; i++) {
    fn[8][size - 1 - i] = true;
    fn[size - 1 - i][8] = true;
  }
  set(8, size - 8, true);
  if (version >= 7) {
    let rem = version;
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >> 11) * 0x1f25);
    const bits = (version << 12) | rem;
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >> i) & 1) === 1;
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      set(a, b, dark);
      set(b, a, dark);
    }
  }
  return { matrix, fn };
}

function place(codewords, version, base) {
  const matrix = base.matrix.map((row) => row.slice());
  const size = matrix.length;
  const totalBits = codewords.length * 8 + REMAINDER_BITS[version - 1];
  let bit = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vertical = 0; vertical < size; vertical++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const upward = ((right + 1) & 2) === 0;
        const y = upward ? size - 1 - vertical : vertical;
        if (base.fn[y][x] || bit >= totalBits) continue;
        if (bit < codewords.length * 8) matrix[y][x] = ((codewords[bit >> 3] >> (7 - (bit & 7))) & 1) === 1;
        bit++;
      }
    }
  }
  return matrix;
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

function drawFormat(mask, matrix) {
  const size = matrix.length;
  const data = mask; // level M is 00
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >> 9) * 0x537);
  const bits = ((data << 10) | rem) ^ 0x5412;
  const bit = (i) => ((bits >> i) & 1) === 1;
  for (let i = 0; i <= 5; i++) matrix[i][8] = bit(i);
  matrix[7][8] = bit(6);
  matrix[8][8] = bit(7);
  matrix[8][7] = bit(8);
  for (let i = 9; i < 15; i++) matrix[8][14 - i] = bit(i);
  for (let i = 0; i < 8; i++) matrix[8][size - 1 - i] = bit(i);
  for (let i = 8; i < 15; i++) matrix[size - 15 + i][8] = bit(i);
  matrix[size - 8][8] = true;
}

const FINDER_A = [1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0].join('');
const FINDER_B = [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1].join('');

function penalty(matrix) {
  const size = matrix.length;
  let total = 0;
  const lines = (get) => {
    for (let a = 0; a < size; a++) {
      let run = 1;
      for (let b = 1; b < size; b++) {
        if (get(a, b) === get(a, b - 1)) run++;
        else {
          if (run >= 5) total += run - 2;
          run = 1;
        }
      }
      if (run >= 5) total += run - 2;
      let line = '';
      for (let b = 0; b < size; b++) line += get(a, b) ? '1' : '0';
      for (let b = 0; b + 11 <= size; b++) {
        const pattern = line.slice(b, b + 11);
        if (pattern === FINDER_A || pattern === FINDER_B) total += 40;
      }
    }
  };
  lines((a, b) => matrix[a][b]);
  lines((a, b) => matrix[b][a]);
  for (let y = 0; y < size - 1; y++) {
    for (let x = 0; x < size - 1; x++) {
      const c = matrix[y][x];
      if (c === matrix[y][x + 1] && c === matrix[y + 1][x] && c === matrix[y + 1][x + 1]) total += 3;
    }
  }
  const dark = matrix.reduce((sum, row) => sum + row.filter(Boolean).length, 0);
  const percent = Math.floor((dark * 100) / (size * size));
  total += Math.floor(Math.abs(percent - 50) / 5) * 10;
  return total;
}

/** The modules (rows of booleans, true is dark) of a QR code holding `text`. */
export function qrModules(text) {
  const bytes = Array.from(new TextEncoder().encode(text));
  let version = 1;
  while (version <= 10 && capacity(version) * 8 < 4 + (version < 10 ? 8 : 16) + bytes.length * 8) version++;
  if (version > 10) throw new Error('too long for a QR code here');
  const codewords = interleave(dataCodewords(bytes, version), version);
  const base = template(version);
  const placed = place(codewords, version, base);
  let best = null;
  let bestPenalty = Infinity;
  for (let mask = 0; mask < 8; mask++) {
    const matrix = placed.map((row) => row.slice());
    const invert = MASKS[mask];
    for (let y = 0; y < matrix.length; y++) for (let x = 0; x < matrix.length; x++) if (!base.fn[y][x] && invert(x, y)) matrix[y][x] = !matrix[y][x];
    drawFormat(mask, matrix);
    const score = penalty(matrix);
    if (score < bestPenalty) {
      bestPenalty = score;
      best = matrix;
    }
  }
  return best;
}

/** An SVG element drawing the QR code with a four-module quiet zone. */
export function qrSVG(text, label) {
  const modules = qrModules(text);
  const size = modules.length + 8;
  let path = '';
  modules.forEach((row, y) => {
    for (let x = 0; x < row.length; ) {
      if (!row[x]) {
        x++;
        continue;
      }
      let run = 1;
      while (x + run < row.length && row[x + run]) run++;
      path += `M${x + 4},${y + 4}h${run}v1h-${run}z`;
      x += run;
    }
  });
  return svgElement(`0 0 ${size} ${size}`, `<rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${path}"/>`, label);
}

export function svgElement(viewBox, inner, label) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', viewBox);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.innerHTML = inner;
  return svg;
}
